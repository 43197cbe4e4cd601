//! The channels `serve` starts with: read from the `--channels` JSON file (a list of `name`,
//! `type`, `preset`, `streamKey`, `recordingConfiguration`), or the single default channel. Each
//! gets an ARN and, when absent, a stream key shaped like IVS's; [`seed`] puts them in the catalog
//! beside what the API creates.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::control::arn::ResourceKind;
use crate::control::catalog::Catalog;
use crate::control::documents;
use crate::control::state_db::StateError;

use crate::ids::{DEFAULT_ACCOUNT_ID, DEFAULT_CHANNEL_ID, random_alphanumeric};
use crate::model::{
    Channel, ChannelType, CreateRecordingConfigurationRequest, DEFAULT_BUCKET, Preset,
    RECORDING_CONFIGURATION_OBJECT_FIELDS, RecordingConfiguration, ValidationError, expect_objects,
};

/// One channel as the `--channels` file lists it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ChannelEntry {
    #[serde(default)]
    name: String,
    #[serde(rename = "type", default)]
    channel_type: Option<ChannelType>,
    #[serde(default)]
    preset: Option<Preset>,
    #[serde(default)]
    stream_key: Option<String>,
    #[serde(default)]
    recording_configuration: Option<CreateRecordingConfigurationRequest>,
}

/// A channel ready to ingest.
#[derive(Debug, Clone)]
pub struct LiveChannel {
    /// The channel (its ARN, name, type, preset).
    pub channel: Channel,
    /// The secret that selects it in the ingest URL.
    pub stream_key: String,
    /// How it records; `None` = not recorded.
    pub recording: Option<RecordingConfiguration>,
}

/// A new stream key: `sk_<region>_<12 alphanumerics>_<30 alphanumerics>`, the shape of real keys.
pub fn new_stream_key(region: &str) -> String {
    format!(
        "sk_{region}_{}_{}",
        random_alphanumeric(12),
        random_alphanumeric(30)
    )
}

/// The channels of a `--channels` file's text, in `region`.
pub fn parse_channels(json: &str, region: &str) -> Result<Vec<LiveChannel>, ValidationError> {
    if let Ok(serde_json::Value::Array(entries)) = serde_json::from_str::<serde_json::Value>(json) {
        for (n, entry) in entries.iter().enumerate() {
            expect_objects(entry, &[""], &format!("[{n}]"))?;
            if let Some(recording) = entry.get("recordingConfiguration") {
                expect_objects(
                    recording,
                    &RECORDING_CONFIGURATION_OBJECT_FIELDS,
                    &format!("[{n}].recordingConfiguration"),
                )?;
            }
        }
    }
    let deserializer = &mut serde_json::Deserializer::from_str(json);
    let entries: Vec<ChannelEntry> =
        serde_path_to_error::deserialize(deserializer).map_err(|err| {
            let path = err.path().to_string();
            let field = if path == "." {
                "channels".to_owned()
            } else {
                path
            };
            ValidationError::new(field, format!("is not valid: {}", err.inner()))
        })?;
    if entries.is_empty() {
        return Err(ValidationError::new(
            "channels",
            "must list at least one channel",
        ));
    }
    let mut keys = HashSet::new();
    let mut channels = Vec::with_capacity(entries.len());
    for (n, entry) in entries.into_iter().enumerate() {
        let at = |field: &str| format!("[{n}].{field}");
        let channel_id = random_alphanumeric(12);
        let channel = make_channel(
            region,
            &channel_id,
            entry.name,
            entry.channel_type,
            entry.preset,
        )
        .map_err(|err| ValidationError::new(at(&err.field), err.rule))?;
        let stream_key = entry.stream_key.unwrap_or_else(|| new_stream_key(region));
        if stream_key.is_empty()
            || !stream_key
                .chars()
                .all(|c| c.is_ascii_graphic() && !matches!(c, '/' | '?' | '#'))
        {
            return Err(ValidationError::new(
                at("streamKey"),
                "must be printable ASCII without spaces, `/`, `?` or `#` (the last part of an rtmp:// URL)",
            ));
        }
        if !keys.insert(stream_key.clone()) {
            return Err(ValidationError::new(
                at("streamKey"),
                "is used by another channel",
            ));
        }
        let recording = entry
            .recording_configuration
            .map(|request| {
                request
                    .into_configuration(configuration_arn(region))
                    .map_err(|err| {
                        ValidationError::new(
                            at(&format!("recordingConfiguration.{}", err.field)),
                            err.rule,
                        )
                    })
            })
            .transpose()?;
        channels.push(with_recording(channel, stream_key, recording));
    }
    Ok(channels)
}

/// Puts `channels` (their recording configurations, channels and stream keys) in `catalog`,
/// unless a key of the same value is already there (kept from an earlier run by `--state`).
pub fn seed(catalog: &Catalog, channels: &[LiveChannel]) -> Result<(), StateError> {
    catalog.write(|txn| {
        for live in channels {
            if txn.stream_key(&live.stream_key).is_some() {
                continue;
            }
            if let Some(configuration) = &live.recording {
                txn.put(serde_json::to_value(configuration).unwrap_or(Value::Null));
            }
            let request = json!({
                "name": live.channel.name,
                "type": live.channel.channel_type.to_string(),
                "preset": live.channel.preset.map(|p| p.to_string()).unwrap_or_default(),
                "recordingConfigurationArn": live.channel.recording_configuration_arn,
            });
            let request = request.as_object().cloned().unwrap_or_default();
            txn.put(documents::channel(
                catalog.account(),
                &live.channel.arn,
                &request,
            ));
            let key_arn = catalog.account().new_arn(ResourceKind::StreamKey);
            txn.put(documents::stream_key(
                &key_arn,
                &live.channel.arn,
                &live.stream_key,
                None,
            ));
        }
        Ok(())
    })
}

/// The channel `serve` ingests without `--channels`: STANDARD, recording with the default
/// configuration into the default bucket.
pub fn default_channel(region: &str) -> LiveChannel {
    let channel = make_channel(
        region,
        DEFAULT_CHANNEL_ID,
        DEFAULT_CHANNEL_ID.to_owned(),
        None,
        None,
    )
    .expect("the default channel is valid");
    let recording = CreateRecordingConfigurationRequest::for_bucket(DEFAULT_BUCKET)
        .into_configuration(configuration_arn(region))
        .expect("the default configuration is valid");
    with_recording(channel, new_stream_key(region), Some(recording))
}

fn make_channel(
    region: &str,
    channel_id: &str,
    name: String,
    channel_type: Option<ChannelType>,
    preset: Option<Preset>,
) -> Result<Channel, ValidationError> {
    let arn = format!("arn:aws:ivs:{region}:{DEFAULT_ACCOUNT_ID}:channel/{channel_id}");
    Channel::new(
        arn,
        name,
        channel_type.unwrap_or(ChannelType::Standard),
        preset,
    )
}

fn configuration_arn(region: &str) -> String {
    format!(
        "arn:aws:ivs:{region}:{DEFAULT_ACCOUNT_ID}:recording-configuration/{}",
        random_alphanumeric(12)
    )
}

fn with_recording(
    mut channel: Channel,
    stream_key: String,
    recording: Option<RecordingConfiguration>,
) -> LiveChannel {
    if let Some(configuration) = &recording {
        channel.recording_configuration_arn = configuration.arn.clone();
    }
    LiveChannel {
        channel,
        stream_key,
        recording,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_channels_with_defaults() {
        let channels = parse_channels(
            r#"[{"name":"studio","type":"BASIC","streamKey":"sk_test_1",
                 "recordingConfiguration":{"destinationConfiguration":{"s3":{"bucketName":"b-1"}},
                                           "recordingReconnectWindowSeconds":30}},
                {"name":"plain"}]"#,
            "us-west-2",
        )
        .unwrap();
        assert_eq!(channels.len(), 2);
        assert_eq!(channels[0].stream_key, "sk_test_1");
        assert_eq!(channels[0].channel.channel_type, ChannelType::Basic);
        let recording = channels[0].recording.as_ref().unwrap();
        assert_eq!(recording.recording_reconnect_window_seconds, 30);
        assert_eq!(
            channels[0].channel.recording_configuration_arn,
            recording.arn
        );
        assert_eq!(channels[1].channel.channel_type, ChannelType::Standard);
        assert!(channels[1].recording.is_none());
        assert!(channels[1].channel.recording_configuration_arn.is_empty());
        let key = &channels[1].stream_key;
        assert!(key.starts_with("sk_us-west-2_"), "{key}");
        assert_eq!(key.len(), "sk_us-west-2_".len() + 12 + 1 + 30);
    }

    #[test]
    fn errors_name_the_channel_and_field() {
        let err = parse_channels(
            r#"[{"name":"a"},{"name":"b","recordingConfiguration":{"destinationConfiguration":{"s3":{"bucketName":"b-1"}},"recordingReconnectWindowSeconds":301}}]"#,
            "us-west-2",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "[1].recordingConfiguration.recordingReconnectWindowSeconds must be between 0 and 300, got 301"
        );
        let err =
            parse_channels(r#"[{"streamKey":"k"},{"streamKey":"k"}]"#, "us-west-2").unwrap_err();
        let slash = parse_channels(r#"[{"streamKey":"sk/extra"}]"#, "us-west-2").unwrap_err();
        assert_eq!(slash.field, "[0].streamKey");
        let array = parse_channels(r#"[["studio", "BASIC"]]"#, "us-west-2").unwrap_err();
        assert_eq!(array.to_string(), "[0] must be a JSON object, got an array");
        let nested = parse_channels(
            r#"[{"recordingConfiguration":{"destinationConfiguration":[{"bucketName":"abc"}]}}]"#,
            "us-west-2",
        )
        .unwrap_err();
        assert_eq!(
            nested.to_string(),
            "[0].recordingConfiguration.destinationConfiguration must be a JSON object, got an array"
        );
        assert_eq!(err.to_string(), "[1].streamKey is used by another channel");
        let err = parse_channels(r#"[{"type":"HUGE"}]"#, "us-west-2").unwrap_err();
        assert!(
            err.to_string().starts_with("[0].type is not valid"),
            "{err}"
        );
        assert!(parse_channels("[]", "us-west-2").is_err());
        let err = parse_channels(r#"[{"name":"x","colour":1}]"#, "us-west-2").unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
    }

    #[test]
    fn the_example_channels_file_is_valid() {
        let channels =
            parse_channels(include_str!("../../examples/channels.json"), "us-west-2").unwrap();
        assert_eq!(channels.len(), 3);
        assert_eq!(channels[0].stream_key, "sk_us-west-2_studioDemoKey");
        assert!(channels[2].recording.is_none());
    }

    #[test]
    fn default_channel_records_to_the_default_bucket() {
        let channel = default_channel("eu-west-1");
        assert_eq!(channel.channel.channel_type, ChannelType::Standard);
        assert!(channel.channel.arn.ends_with(":channel/LocalChannel"));
        assert!(channel.stream_key.starts_with("sk_eu-west-1_"));
        assert_eq!(
            channel
                .recording
                .unwrap()
                .destination_configuration
                .s3
                .unwrap()
                .bucket_name,
            DEFAULT_BUCKET
        );
    }
}
