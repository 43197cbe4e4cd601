//! Running a bench: each setting recorded and measured in turn, the table printed as it goes,
//! the report and charts written at the end.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use tokio::runtime::Handle;

use super::chart::{ChartError, quality_chart, speed_chart};
use super::ffmpeg_cli::ladder_command;
use super::matrix::{BenchSetting, slug};
use super::report::{
    BenchReport, CliRun, CliRung, Quality, RungResult, SettingResult, table_header, table_rows,
};
use crate::ladder::{Rendition, VideoSource};
use crate::model::{
    Channel, ChannelType, CreateRecordingConfigurationRequest, DEFAULT_BUCKET, Preset, RateControl,
};
use crate::quality::{Comparison, QualityError, compare_with_source};
use crate::recording::{RecordError, RecordRequest, RecordingResult, record_file};
use crate::storage::{Store, StoreLocation, WriterPolicy};

/// What to bench.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The media file.
    pub input: PathBuf,
    /// Whose ladder.
    pub channel_type: ChannelType,
    /// The ADVANCED channels' preset.
    pub channel_preset: Option<Preset>,
    /// The settings compared, in order.
    pub settings: Vec<BenchSetting>,
    /// Where recordings, the report and the charts go.
    pub out: PathBuf,
    /// Also run the `ffmpeg` CLI on each setting.
    pub compare_ffmpeg: bool,
}

/// Why a bench stopped.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The input could not be recorded.
    #[error("recording {setting} failed")]
    Record {
        /// The setting.
        setting: String,
        /// Why.
        #[source]
        source: RecordError,
    },
    /// A recording ended as failed.
    #[error("recording {setting} ended as failed: {reason}")]
    Failed {
        /// The setting.
        setting: String,
        /// What broke.
        reason: String,
    },
    /// The input's ladder has no transcoded rung to bench (e.g. a BASIC channel).
    #[error(
        "the {0} ladder of this input transcodes nothing: there is no encoder setting to bench"
    )]
    NothingTranscoded(String),
    /// Quality could not be measured.
    #[error("measuring the quality of {setting}")]
    Quality {
        /// The setting.
        setting: String,
        /// Why.
        #[source]
        source: QualityError,
    },
    /// A file could not be written or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The `ffmpeg` CLI failed.
    #[error("the ffmpeg CLI failed on {setting}: {why}")]
    Ffmpeg {
        /// The setting.
        setting: String,
        /// Its last words.
        why: String,
    },
    /// A chart could not be drawn.
    #[error(transparent)]
    Chart(#[from] ChartError),
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> BenchError + '_ {
    move |source| BenchError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Runs the bench; `say` gets the table's lines and progress as they come.
pub fn run_bench(
    options: &BenchOptions,
    runtime: &Handle,
    say: &mut dyn FnMut(&str),
) -> Result<BenchReport, BenchError> {
    std::fs::create_dir_all(&options.out).map_err(io_error(&options.out))?;
    let mut report = BenchReport {
        input: options.input.display().to_string(),
        channel_type: channel_type_name(options.channel_type),
        media_seconds: 0.0,
        cores: std::thread::available_parallelism().map_or(1, usize::from),
        settings: Vec::new(),
    };
    let count = options.settings.len();
    for (index, setting) in options.settings.iter().enumerate() {
        say(&format!(
            "[{}/{count}] {}: recording",
            index + 1,
            setting.name
        ));
        let recorded = record(options, setting, runtime)?;
        report.media_seconds = recorded.media_seconds;
        say(&format!(
            "[{}/{count}] {}: measuring quality",
            index + 1,
            setting.name
        ));
        let mut result = measure(options, setting, &recorded)?;
        if options.compare_ffmpeg {
            say(&format!(
                "[{}/{count}] {}: the ffmpeg CLI on the same ladder",
                index + 1,
                setting.name
            ));
            compare_ffmpeg(options, setting, &recorded, &mut result)?;
        }
        if index == 0 {
            say(&table_header());
        }
        for row in table_rows(&result) {
            say(&row);
        }
        report.settings.push(result);
    }
    write_report(&report, &options.out)?;
    Ok(report)
}

fn channel_type_name(channel_type: ChannelType) -> String {
    serde_json::to_value(channel_type)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{channel_type:?}"))
}

/// One setting's recording, as measured while it was made.
struct Recorded {
    dir: PathBuf,
    renditions: Vec<Rendition>,
    source_frame_rate: f64,
    media_seconds: f64,
    wall_seconds: f64,
    cpu_seconds: f64,
    rungs: Vec<crate::pipeline::rung::RungUsage>,
}

fn record(
    options: &BenchOptions,
    setting: &BenchSetting,
    runtime: &Handle,
) -> Result<Recorded, BenchError> {
    let failed = |source| BenchError::Record {
        setting: setting.name.clone(),
        source,
    };
    let store_dir = options.out.join("recordings").join(slug(&setting.name));
    if store_dir.exists() {
        std::fs::remove_dir_all(&store_dir).map_err(io_error(&store_dir))?;
    }
    let store = Store::new(StoreLocation::Directory(store_dir.clone()));
    let region = crate::ids::region_from_env();
    let arn = crate::ids::default_channel_arn(&region);
    let channel = Channel::new(
        arn,
        String::new(),
        options.channel_type,
        options.channel_preset,
    )
    .map_err(|err| failed(err.into()))?;
    let configuration = CreateRecordingConfigurationRequest::for_bucket(DEFAULT_BUCKET)
        .into_configuration(format!(
            "arn:aws:ivs:{region}:{}:recording-configuration/bench",
            crate::ids::DEFAULT_ACCOUNT_ID
        ))
        .map_err(|err| failed(err.into()))?;
    let bucket = store
        .bucket(DEFAULT_BUCKET)
        .map_err(|err| failed(err.into()))?;
    let probe =
        crate::ingest::FileInput::open(&options.input, false).map_err(|err| failed(err.into()))?;
    let source_frame_rate = probe.info().video.frame_rate;
    drop(probe);
    let request = RecordRequest {
        input: options.input.clone(),
        realtime: false,
        channel,
        configuration,
        bucket,
        clock: Arc::new(crate::time::SystemClock),
        progress: None,
        writer_policy: WriterPolicy {
            spool_root: options.out.join("spool"),
            ..WriterPolicy::default()
        },
        encoding: Arc::new(setting.settings.clone()),
    };
    let cpu_before = crate::cpu_time::this_process();
    let began = Instant::now();
    let outcome = record_file(request, runtime).map_err(failed)?;
    let wall_seconds = began.elapsed().as_secs_f64();
    let cpu_seconds = (crate::cpu_time::this_process().saturating_sub(cpu_before)).as_secs_f64();
    if let RecordingResult::Failed(failure) = &outcome.result {
        return Err(BenchError::Failed {
            setting: setting.name.clone(),
            reason: failure.to_string(),
        });
    }
    if outcome.rungs.is_empty() {
        return Err(BenchError::NothingTranscoded(channel_type_name(
            options.channel_type,
        )));
    }
    Ok(Recorded {
        dir: PathBuf::from(&outcome.location),
        renditions: outcome.renditions,
        source_frame_rate,
        media_seconds: outcome.duration_ms as f64 / 1000.0,
        wall_seconds,
        cpu_seconds,
        rungs: outcome.rungs,
    })
}

/// The rung's segments, in playlist order, joined into one transport stream at `to`.
fn join_segments(rendition_dir: &Path, to: &Path) -> Result<(), BenchError> {
    let playlist = rendition_dir.join("playlist.m3u8");
    let text = std::fs::read_to_string(&playlist).map_err(io_error(&playlist))?;
    let mut joined = Vec::new();
    for uri in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let segment = rendition_dir.join(uri.trim());
        joined.extend(std::fs::read(&segment).map_err(io_error(&segment))?);
    }
    std::fs::write(to, joined).map_err(io_error(to))
}

fn quality_of(
    options: &BenchOptions,
    setting: &BenchSetting,
    files: &[PathBuf],
) -> Result<Vec<Comparison>, BenchError> {
    compare_with_source(&options.input, files, &mut |_| {}).map_err(|source| BenchError::Quality {
        setting: setting.name.clone(),
        source,
    })
}

fn measure(
    options: &BenchOptions,
    setting: &BenchSetting,
    recorded: &Recorded,
) -> Result<SettingResult, BenchError> {
    let joined_dir = options.out.join("renditions").join(slug(&setting.name));
    std::fs::create_dir_all(&joined_dir).map_err(io_error(&joined_dir))?;
    let mut files = Vec::new();
    for usage in &recorded.rungs {
        let file = joined_dir.join(format!("{}.ts", usage.rendition));
        join_segments(
            &recorded.dir.join("media/hls").join(&usage.rendition),
            &file,
        )?;
        files.push(file);
    }
    let comparisons = quality_of(options, setting, &files)?;
    let media = recorded.media_seconds.max(1e-9);
    let rungs = recorded
        .rungs
        .iter()
        .zip(&comparisons)
        .map(|(usage, comparison)| {
            let rendition = recorded
                .renditions
                .iter()
                .find(|r| r.name == usage.rendition);
            let encoding = setting.settings.for_rung(&usage.rendition);
            let target_kbps = match (rendition.map(|r| r.video), &encoding.rate_control) {
                (_, RateControl::Crf(_)) | (None | Some(VideoSource::Passthrough), _) => None,
                (Some(VideoSource::Transcoded { bitrate }), _) => {
                    Some(f64::from(bitrate) * encoding.bitrate_scale / 1000.0)
                }
            };
            let kbps = usage.bytes as f64 * 8.0 / media / 1000.0;
            let wall = usage.wall.as_secs_f64().max(1e-9);
            RungResult {
                rendition: usage.rendition.clone(),
                width: comparison.size.0,
                height: comparison.size.1,
                frames: usage.frames,
                wall_seconds: usage.wall.as_secs_f64(),
                cpu_seconds: usage.cpu.as_secs_f64(),
                frames_per_second: usage.frames as f64 / wall,
                times_real_time: media / wall,
                target_kbps,
                kbps,
                bitrate_ratio: target_kbps.map(|target| kbps / target.max(1e-9)),
                quality: Quality::from(&comparison.totals),
                ffmpeg: None,
            }
        })
        .collect();
    Ok(SettingResult {
        name: setting.name.clone(),
        preset: setting.preset.clone(),
        bitrate_scale: setting.bitrate_scale,
        settings: setting.json.clone(),
        wall_seconds: recorded.wall_seconds,
        cpu_seconds: recorded.cpu_seconds,
        times_real_time: media / recorded.wall_seconds.max(1e-9),
        rungs,
        ffmpeg: None,
    })
}

/// Bytes of video in a transport stream.
fn video_bytes(path: &Path) -> Result<u64, crate::ingest::InputError> {
    let mut input = crate::ingest::FileInput::open(path, false)?;
    let mut bytes = 0;
    while let Some(packet) = input.next_video_packet()? {
        bytes += packet.size() as u64;
    }
    Ok(bytes)
}

fn compare_ffmpeg(
    options: &BenchOptions,
    setting: &BenchSetting,
    recorded: &Recorded,
    result: &mut SettingResult,
) -> Result<(), BenchError> {
    let out_dir = options.out.join("ffmpeg").join(slug(&setting.name));
    std::fs::create_dir_all(&out_dir).map_err(io_error(&out_dir))?;
    let (args, outputs) = ladder_command(
        &options.input,
        recorded.source_frame_rate,
        &recorded.renditions,
        &setting.settings,
        &out_dir,
    );
    let ffmpeg_failed = |why: String| BenchError::Ffmpeg {
        setting: setting.name.clone(),
        why,
    };
    let began = Instant::now();
    let output = std::process::Command::new("ffmpeg")
        .args(&args)
        .output()
        .map_err(|err| ffmpeg_failed(format!("cannot run ffmpeg: {err}")))?;
    let wall_seconds = began.elapsed().as_secs_f64();
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = said.lines().rev().take(3).collect();
        return Err(ffmpeg_failed(
            tail.into_iter().rev().collect::<Vec<_>>().join(" / "),
        ));
    }
    let files: Vec<PathBuf> = outputs.iter().map(|o| o.path.clone()).collect();
    let comparisons = quality_of(options, setting, &files)?;
    let media = recorded.media_seconds.max(1e-9);
    for (output, comparison) in outputs.iter().zip(&comparisons) {
        let bytes = video_bytes(&output.path).map_err(|err| ffmpeg_failed(err.to_string()))?;
        if let Some(rung) = result
            .rungs
            .iter_mut()
            .find(|r| r.rendition == output.rendition)
        {
            rung.ffmpeg = Some(CliRung {
                kbps: bytes as f64 * 8.0 / media / 1000.0,
                quality: Quality::from(&comparison.totals),
            });
        }
    }
    let mut command = vec!["ffmpeg".to_owned()];
    command.extend(args);
    result.ffmpeg = Some(CliRun {
        command,
        wall_seconds,
        ratio: wall_seconds / result.wall_seconds.max(1e-9),
    });
    Ok(())
}

fn write_report(report: &BenchReport, out: &Path) -> Result<(), BenchError> {
    let json_path = out.join("report.json");
    let json = serde_json::to_string_pretty(report).unwrap_or_default();
    std::fs::write(&json_path, json + "\n").map_err(io_error(&json_path))?;
    let csv_path = out.join("report.csv");
    std::fs::write(&csv_path, report.to_csv()).map_err(io_error(&csv_path))?;
    quality_chart(report, &out.join("quality.svg"))?;
    speed_chart(report, &out.join("speed.svg"))?;
    Ok(())
}
