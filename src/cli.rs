//! Command-line arguments (clap derive) and their checked form. No media or storage work here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::ids::{self, ChannelArn};
use crate::model::{
    Channel, ChannelType, CreateRecordingConfigurationRequest, EncoderSettings, Preset,
    RecordingConfiguration, ValidationError,
};
use crate::storage::{StoreLocation, WriterPolicy};

/// A local stand-in for Amazon IVS auto-record-to-S3.
#[derive(Debug, Parser)]
#[command(name = "ivs-recorder", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Record a media file exactly as IVS records a stream to S3.
    Record(RecordArgs),
    /// Upload what a recording left in its spool when the store stayed unreachable.
    FlushSpool(FlushSpoolArgs),
    /// Be the RTMP ingest: record every publisher live, as IVS does.
    Serve(Box<ServeArgs>),
    /// Replay a file to an RTMP(S) ingest at real time (stream copy), N copies at once.
    Publish(PublishArgs),
    /// Benchmark encoder settings on a file: speed, bitrate and quality per rendition, a report
    /// and charts; optionally against the ffmpeg CLI doing the same ladder.
    Bench(BenchArgs),
}

/// `ivs-recorder bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The media file to record with each setting.
    pub input: PathBuf,
    /// Channel type: decides the rendition ladder (one that transcodes).
    #[arg(long, value_enum, default_value_t = ChannelType::Standard)]
    pub channel_type: ChannelType,
    /// Preset of ADVANCED_SD and ADVANCED_HD channels.
    #[arg(long, value_enum)]
    pub channel_preset: Option<Preset>,
    /// A matrix file: `{"settings": [{"name": "…", <encoder settings>}, …]}`.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["presets", "bitrate_scales"])]
    pub matrix: Option<PathBuf>,
    /// x264 presets to compare (with every `--bitrate-scale`), e.g. `veryfast,faster,medium`.
    #[arg(long = "preset", value_name = "LIST", value_delimiter = ',')]
    pub presets: Vec<String>,
    /// Bitrate scales to compare (with every `--preset`), e.g. `0.5,1,1.5`.
    #[arg(long = "bitrate-scale", value_name = "LIST", value_delimiter = ',')]
    pub bitrate_scales: Vec<f64>,
    /// Where recordings, `report.json`, `report.csv` and the charts go.
    #[arg(long, value_name = "DIR", default_value = "bench-report")]
    pub out: PathBuf,
    /// Also run the equivalent ffmpeg CLI command for each setting and compare.
    #[arg(long)]
    pub compare_ffmpeg: bool,
    /// The base settings the lists apply over.
    #[command(flatten)]
    pub encoding: EncodingArgs,
}

impl BenchArgs {
    /// The bench's options, checked (before any media work).
    pub fn options(&self) -> Result<crate::bench::BenchOptions, SetupError> {
        Channel::new(
            ids::default_channel_arn(&ids::region_from_env()),
            String::new(),
            self.channel_type,
            self.channel_preset,
        )
        .map_err(SetupError::InvalidBenchSetting)?;
        let settings = match &self.matrix {
            Some(path) => {
                let text = read_file(path)?;
                crate::bench::matrix::from_file_json(&text).map_err(|source| {
                    SetupError::InvalidEncoderSettings {
                        path: path.clone(),
                        source,
                    }
                })?
            }
            None => {
                // The base file is checked on its own first, so its errors name it.
                self.encoding.settings()?;
                let base = match &self.encoding.encoder_settings {
                    // Valid JSON: `settings()` above has just parsed it.
                    Some(path) => serde_json::from_str(&read_file(path)?)
                        .unwrap_or_else(|_| serde_json::json!({})),
                    None => serde_json::json!({}),
                };
                crate::bench::matrix::from_lists(&base, &self.presets, &self.bitrate_scales)
                    .map_err(SetupError::InvalidBenchSetting)?
            }
        };
        Ok(crate::bench::BenchOptions {
            input: self.input.clone(),
            channel_type: self.channel_type,
            channel_preset: self.channel_preset,
            settings,
            out: self.out.clone(),
            compare_ffmpeg: self.compare_ffmpeg,
        })
    }
}

/// `ivs-recorder publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The media file to replay (H.264 and AAC, as an ingest expects them).
    #[arg(value_name = "FILE")]
    pub input: PathBuf,
    /// The ingest URL, `rtmp://host:port/app/KEY` or `rtmps://…`; with `--count` above 1, `{n}`
    /// in it is replaced by each copy's number (1, 2, …).
    #[arg(long, value_name = "URL")]
    pub url: String,
    /// Copies published at once, each on its own connection.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub count: u32,
    /// Start the file again at its end, with timestamps that keep rising, until interrupted.
    #[arg(long = "loop")]
    pub looped: bool,
}

impl PublishArgs {
    /// The publisher's options.
    pub fn options(&self) -> crate::publish::PublishOptions {
        crate::publish::PublishOptions {
            input: self.input.clone(),
            url: self.url.clone(),
            count: self.count,
            looped: self.looped,
        }
    }
}

/// `ivs-recorder serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A JSON file listing channels: `name`, `type`, `preset`, `streamKey` (generated when
    /// absent) and `recordingConfiguration` (a CreateRecordingConfiguration body; absent = not
    /// recorded). Without it: one STANDARD channel with the default recording configuration.
    #[arg(long, value_name = "FILE")]
    pub channels: Option<PathBuf>,
    /// Where RTMP listens.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:1935")]
    pub rtmp_listen: std::net::SocketAddr,
    /// RTMPS: PEM certificate chain (with `--tls-key`); IVS ingests over RTMPS on 443.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// RTMPS: PEM private key (with `--tls-cert`).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Where RTMPS listens when `--tls-cert` and `--tls-key` are given.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:443")]
    pub rtmps_listen: std::net::SocketAddr,
    /// Append every event (EventBridge shape) to this file, one JSON object a line.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// Where the IVS control-plane API (REST-JSON, as the AWS CLI and SDKs speak it) listens.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4590")]
    pub api_listen: std::net::SocketAddr,
    /// Keep the control plane's resources and stream sessions in this SQLite file, across
    /// restarts (default: in memory).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Verify the API's SigV4 signatures with these credentials: a JSON file
    /// `{"accessKeyId": …, "secretAccessKey": …}` (default: any signed request is accepted).
    #[arg(long, value_name = "FILE")]
    pub api_credentials: Option<PathBuf>,
    /// POST every event (EventBridge shape) as JSON to this URL, with retries.
    #[arg(long, value_name = "URL")]
    pub events_url: Option<String>,
    /// Seconds without data from a publisher before its session ends.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub starvation_timeout: u64,
    /// Seconds a connection has from opening to an accepted publish before it is closed.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub publish_timeout: u64,
    /// RTMP (and, separately, RTMPS) connections open at once; more are closed as they arrive.
    #[arg(long, value_name = "COUNT", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_connections: u64,
    /// How the transcoded rungs are encoded.
    #[command(flatten)]
    pub encoding: EncodingArgs,
    /// Where and how objects are stored.
    #[command(flatten)]
    pub storage: StorageArgs,
}

impl ServeArgs {
    /// RTMPS settings, when a certificate and key are given.
    pub fn rtmps(&self) -> Option<crate::live::RtmpsConfig> {
        Some(crate::live::RtmpsConfig {
            listen: self.rtmps_listen,
            cert: self.tls_cert.clone()?,
            key: self.tls_key.clone()?,
        })
    }

    /// The live server's configuration (everything but its sockets), validated.
    pub fn config(&self) -> Result<crate::live::ServeConfig, SetupError> {
        let region = ids::region_from_env();
        let account = crate::control::arn::Account {
            region: region.clone(),
            account_id: ids::DEFAULT_ACCOUNT_ID.to_owned(),
        };
        let db = self
            .state
            .as_deref()
            .map(crate::control::state_db::StateDb::open)
            .transpose()?
            .map(std::sync::Arc::new);
        let catalog = crate::control::catalog::Catalog::open(account, db.clone())?;
        let sessions = match db {
            Some(db) => {
                crate::live::sessions::SessionRegistry::load(db, time::OffsetDateTime::now_utc())?
            }
            None => crate::live::sessions::SessionRegistry::default(),
        };
        Ok(crate::live::ServeConfig {
            channels: self.channels(&region)?,
            catalog: std::sync::Arc::new(catalog),
            sessions,
            events_url: self.events_url.clone(),
            store: crate::storage::Store::new(self.storage.location()),
            writer_policy: self.storage.writer_policy(),
            events_file: self.events.clone(),
            connections: crate::live::ConnectionSettings {
                starvation_timeout: std::time::Duration::from_secs(self.starvation_timeout),
                publish_timeout: std::time::Duration::from_secs(self.publish_timeout),
                max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
            },
            clock: std::sync::Arc::new(crate::time::SystemClock),
            encoding: std::sync::Arc::new(self.encoding.settings()?),
            hooks: crate::live::channel_recorder::RecorderHooks::default(),
        })
    }

    /// The credentials SigV4 signatures are verified with, when `--api-credentials` is given.
    pub fn api_credentials(&self) -> Result<Option<crate::api::sigv4::Credentials>, SetupError> {
        let Some(path) = &self.api_credentials else {
            return Ok(None);
        };
        let fail = |why: String| SetupError::ApiCredentials {
            path: path.clone(),
            why,
        };
        let text = std::fs::read_to_string(path).map_err(|err| fail(err.to_string()))?;
        serde_json::from_str(&text).map(Some).map_err(|err| {
            fail(format!(
                "expected {{\"accessKeyId\": …, \"secretAccessKey\": …}}: {err}"
            ))
        })
    }

    /// The channels to serve, validated.
    pub fn channels(
        &self,
        region: &str,
    ) -> Result<Vec<crate::live::channels::LiveChannel>, SetupError> {
        let Some(path) = &self.channels else {
            return Ok(vec![crate::live::channels::default_channel(region)]);
        };
        let text = std::fs::read_to_string(path).map_err(|source| SetupError::ReadChannels {
            path: path.clone(),
            source,
        })?;
        crate::live::channels::parse_channels(&text, region).map_err(|source| {
            SetupError::InvalidChannels {
                path: path.clone(),
                source,
            }
        })
    }
}

/// `ivs-recorder record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The media file to record (mp4, flv, ts, mkv, …); video that is not H.264 and audio that is
    /// not AAC are transcoded where they would pass through.
    pub input: PathBuf,
    /// Channel type: decides the rendition ladder.
    #[arg(long, value_enum, default_value_t = ChannelType::Standard)]
    pub channel_type: ChannelType,
    /// Preset of ADVANCED_SD and ADVANCED_HD channels.
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// A JSON file in the body shape of CreateRecordingConfiguration; absent: the API defaults
    /// with bucket `ivs-recordings`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where and how objects are stored.
    #[command(flatten)]
    pub storage: StorageArgs,
    /// The channel's ARN; its account and id make the S3 prefix.
    #[arg(long, value_name = "ARN")]
    pub channel_arn: Option<String>,
    /// Read the input at 1x speed, as a live publisher sends it.
    #[arg(long)]
    pub realtime: bool,
    /// How the transcoded rungs are encoded.
    #[command(flatten)]
    pub encoding: EncodingArgs,
}

/// `--encoder-settings`, shared by `record`, `serve` and `bench`.
#[derive(Debug, Clone, Default, Args)]
pub struct EncodingArgs {
    /// A JSON file of x264 settings for the transcoded rungs, globally and per rung (preset,
    /// tune, profile, level, rateControl, bitrateScale, keyframes, bFrames, threads, scaler;
    /// see the README). Absent: IVS's behaviour (veryfast, ABR at the ladder's bitrates, IDRs at
    /// the source's keyframes).
    #[arg(long, value_name = "FILE")]
    pub encoder_settings: Option<PathBuf>,
}

impl EncodingArgs {
    /// The settings the file gives (the defaults without one), checked.
    pub fn settings(&self) -> Result<EncoderSettings, SetupError> {
        let Some(path) = &self.encoder_settings else {
            return Ok(EncoderSettings::default());
        };
        let text = read_file(path)?;
        EncoderSettings::from_json(&text).map_err(|source| SetupError::InvalidEncoderSettings {
            path: path.clone(),
            source,
        })
    }
}

/// `ivs-recorder flush-spool`.
#[derive(Debug, Args)]
pub struct FlushSpoolArgs {
    /// A spool directory left by a recording whose store stayed unreachable.
    #[arg(value_name = "SPOOL_DIR")]
    pub dir: PathBuf,
    /// Where the objects go (the bucket is the one the spool was made for).
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// Store options shared by every command that writes.
#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// Where to store: a directory with one folder per bucket, `memory`, or `s3`.
    #[arg(
        long,
        value_name = "LOCATION",
        default_value = "./recordings",
        env = "IVS_RECORDER_STORE"
    )]
    pub store: StoreLocation,
    /// The S3 endpoint with `--store s3` (e.g. `http://localhost:9000` for MinIO); AWS S3 when
    /// absent. Credentials and region: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN`, `AWS_REGION`.
    #[arg(long, value_name = "URL", env = "AWS_ENDPOINT_URL")]
    pub s3_endpoint: Option<String>,
    /// Where objects wait on disk while the store is unreachable.
    #[arg(long, value_name = "DIR", default_value = "ivs-recorder-spool")]
    pub spool: PathBuf,
    /// Most megabytes the spool may hold before recording waits for the store.
    #[arg(long, value_name = "MB", default_value_t = 1024)]
    pub spool_limit_mb: u64,
    /// Seconds the store may stay unreachable before the recording ends as failed.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub store_deadline: u64,
}

impl StorageArgs {
    /// Where to store, with the S3 endpoint filled in.
    pub fn location(&self) -> StoreLocation {
        match &self.store {
            StoreLocation::S3 {
                endpoint: None,
                credentials,
                region,
            } => StoreLocation::S3 {
                endpoint: self.s3_endpoint.clone(),
                credentials: credentials.clone(),
                region: region.clone(),
            },
            other => other.clone(),
        }
    }

    /// Retries, spool and deadline for store outages.
    pub fn writer_policy(&self) -> WriterPolicy {
        WriterPolicy {
            spool_root: self.spool.clone(),
            spool_limit_bytes: self.spool_limit_mb.saturating_mul(1024 * 1024),
            deadline: std::time::Duration::from_secs(self.store_deadline),
            ..WriterPolicy::default()
        }
    }
}

/// The text of a configuration or settings file named on the command line.
fn read_file(path: &std::path::Path) -> Result<String, SetupError> {
    std::fs::read_to_string(path).map_err(|source| SetupError::ReadConfig {
        path: path.to_owned(),
        source,
    })
}

/// Why arguments could not be turned into a recording setup.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The channels file could not be read.
    #[error("cannot read the channels file {}", path.display())]
    ReadChannels {
        /// The file given.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The channels file breaks a rule.
    #[error("invalid channels file {}: {source}", path.display())]
    InvalidChannels {
        /// The file given.
        path: PathBuf,
        /// The rule broken.
        source: ValidationError,
    },
    /// A configuration or settings file could not be read.
    #[error("cannot read {}", path.display())]
    ReadConfig {
        /// The file given.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The encoder settings file breaks a rule.
    #[error("invalid encoder settings {}: {source}", path.display())]
    InvalidEncoderSettings {
        /// The file given.
        path: PathBuf,
        /// The rule broken.
        source: ValidationError,
    },
    /// A `bench` argument breaks a rule.
    #[error("invalid bench setting: {0}")]
    InvalidBenchSetting(ValidationError),
    /// The state file cannot be used.
    #[error(transparent)]
    State(#[from] crate::control::state_db::StateError),
    /// The API credentials file cannot be used.
    #[error("API credentials file {}: {why}", path.display())]
    ApiCredentials {
        /// The file given.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// A setting breaks an API constraint.
    #[error("invalid recording configuration{}: {source}", file.as_ref().map(|f| format!(" {}", f.display())).unwrap_or_default())]
    Invalid {
        /// The file, when the error is in one.
        file: Option<PathBuf>,
        /// The rule broken.
        source: ValidationError,
    },
}

impl RecordArgs {
    /// The channel and recording configuration these arguments describe, validated.
    pub fn channel_and_configuration(
        &self,
    ) -> Result<(Channel, RecordingConfiguration), SetupError> {
        let invalid = |source| SetupError::Invalid { file: None, source };
        let region = ids::region_from_env();
        let arn = self
            .channel_arn
            .clone()
            .unwrap_or_else(|| ids::default_channel_arn(&region));
        let channel_arn = ChannelArn::parse(&arn).map_err(invalid)?;
        let mut channel =
            Channel::new(arn, String::new(), self.channel_type, self.preset).map_err(invalid)?;

        let request = match &self.config {
            None => CreateRecordingConfigurationRequest::for_bucket(crate::model::DEFAULT_BUCKET),
            Some(path) => {
                let text = read_file(path)?;
                CreateRecordingConfigurationRequest::from_json(&text).map_err(|source| {
                    SetupError::Invalid {
                        file: Some(path.clone()),
                        source,
                    }
                })?
            }
        };
        let config_arn = format!(
            "arn:aws:ivs:{}:{}:recording-configuration/{}",
            channel_arn.region,
            channel_arn.account_id,
            ids::random_alphanumeric(12)
        );
        let configuration =
            request
                .into_configuration(config_arn)
                .map_err(|source| SetupError::Invalid {
                    file: self.config.clone(),
                    source,
                })?;
        channel.recording_configuration_arn = configuration.arn.clone();
        Ok((channel, configuration))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> RecordArgs {
        let mut argv = vec!["ivs-recorder", "record", "in.mp4"];
        argv.extend_from_slice(extra);
        match Cli::parse_from(argv).command {
            Command::Record(args) => args,
            _ => unreachable!("parsed a record command"),
        }
    }

    #[test]
    fn defaults() {
        let args = args(&[]);
        assert_eq!(args.channel_type, ChannelType::Standard);
        assert_eq!(
            args.storage.location(),
            StoreLocation::Directory("./recordings".into())
        );
        let (channel, config) = args.channel_and_configuration().unwrap();
        assert!(
            channel.arn.ends_with(":123456789012:channel/LocalChannel"),
            "{}",
            channel.arn
        );
        assert_eq!(
            config.destination_configuration.s3.unwrap().bucket_name,
            "ivs-recordings"
        );
        assert_eq!(channel.recording_configuration_arn, config.arn);
    }

    #[test]
    fn bad_arn_and_preset_are_validation_errors() {
        let err = args(&["--channel-arn", "nope"])
            .channel_and_configuration()
            .unwrap_err();
        assert!(
            err.to_string().contains("channelArn must look like"),
            "{err}"
        );
        let err = args(&[
            "--channel-type",
            "BASIC",
            "--preset",
            "HIGHER_BANDWIDTH_DELIVERY",
        ])
        .channel_and_configuration()
        .unwrap_err();
        assert!(err.to_string().contains("preset is only allowed"), "{err}");
    }

    #[test]
    fn config_file_errors_name_the_file_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"destinationConfiguration":{"s3":{"bucketName":"b-1"}},"thumbnailConfiguration":{"targetIntervalSeconds":0}}"#,
        )
        .unwrap();
        let err = args(&["--config", path.to_str().unwrap()])
            .channel_and_configuration()
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("config.json"), "{text}");
        assert!(
            text.ends_with(
                "thumbnailConfiguration.targetIntervalSeconds must be between 1 and 60, got 0"
            ),
            "{text}"
        );
        let missing = args(&["--config", "/nonexistent/config.json"])
            .channel_and_configuration()
            .unwrap_err();
        assert!(matches!(missing, SetupError::ReadConfig { .. }));
    }
}
