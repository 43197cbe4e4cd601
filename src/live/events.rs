//! EventBridge-shaped IVS events (spec 7): the envelope, the stream, recording and limit-breach
//! details with the key order of real captures, and the log that appends them as JSON lines to
//! `--events FILE`, writes one log line each, and keeps them on the stream session.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use time::OffsetDateTime;

use super::sessions::{SessionEvent, SessionRegistry};
use crate::time::rfc3339_seconds;

/// `detail-type` of stream state events.
pub const STREAM_STATE_CHANGE: &str = "IVS Stream State Change";
/// `detail-type` of recording state events.
pub const RECORDING_STATE_CHANGE: &str = "IVS Recording State Change";
/// `detail-type` of limit breaches.
pub const LIMIT_BREACH: &str = "IVS Limit Breach";

/// The `detail` of an event; serialised with the keys IVS uses, in its order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Detail {
    /// `IVS Stream State Change`.
    Stream(StreamDetail),
    /// `IVS Recording State Change`.
    Recording(RecordingDetail),
    /// `IVS Limit Breach`.
    Limit(LimitDetail),
}

/// Detail of a stream state event (`Session Created`, `Stream Start`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamDetail {
    /// e.g. `Stream Start`.
    pub event_name: String,
    /// The channel's name.
    pub channel_name: String,
    /// `st-…`.
    pub stream_id: String,
    /// On `Session Ended` and takeover failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// On `Stream Failure`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Detail of a recording state event, keys in the order of real captures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordingDetail {
    /// `Recording Start`, `Recording End`, `Recording Start Failure`, `Recording End Failure`.
    pub recording_status: String,
    /// `""`, or the failure's exception name.
    pub recording_status_reason: String,
    /// The bucket.
    pub recording_s3_bucket_name: String,
    /// The prefix (`""` on Recording Start Failure).
    pub recording_s3_key_prefix: String,
    /// Media recorded, ms (D18: exact).
    pub recording_duration_ms: u64,
    /// The channel's name.
    pub channel_name: String,
    /// The stream this event is about.
    pub stream_id: String,
    /// 16 alphanumerics, one per recording.
    pub recording_session_id: String,
    /// Every stream of the recording so far.
    pub recording_session_stream_ids: Vec<String>,
}

/// Detail of a limit breach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LimitDetail {
    /// `Ingest Bitrate`, `Ingest Resolution`, …
    pub limit_name: String,
    /// The limit.
    pub limit_value: u64,
    /// By how much it was exceeded.
    pub exceeded_by: u64,
    /// `bits per second`, `total pixels`, `pixels per edge`.
    pub limit_unit: String,
    /// The channel's name.
    pub channel_name: String,
    /// The stream that breached it.
    pub stream_id: String,
}

/// One event, before the envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct IvsEvent {
    /// When it happened.
    pub time: OffsetDateTime,
    /// The channel ARN (`resources`).
    pub channel_arn: String,
    /// What happened.
    pub detail: Detail,
}

impl IvsEvent {
    /// `detail-type`.
    pub fn detail_type(&self) -> &'static str {
        match self.detail {
            Detail::Stream(_) => STREAM_STATE_CHANGE,
            Detail::Recording(_) => RECORDING_STATE_CHANGE,
            Detail::Limit(_) => LIMIT_BREACH,
        }
    }

    /// The event's name: `event_name`, `recording_status` or `limit_name`.
    pub fn name(&self) -> &str {
        match &self.detail {
            Detail::Stream(detail) => &detail.event_name,
            Detail::Recording(detail) => &detail.recording_status,
            Detail::Limit(detail) => &detail.limit_name,
        }
    }

    /// The stream it concerns.
    pub fn stream_id(&self) -> &str {
        match &self.detail {
            Detail::Stream(detail) => &detail.stream_id,
            Detail::Recording(detail) => &detail.stream_id,
            Detail::Limit(detail) => &detail.stream_id,
        }
    }

    /// `code` of a stream event, when it has one.
    pub fn code(&self) -> Option<&str> {
        match &self.detail {
            Detail::Stream(detail) => detail.code.as_deref(),
            _ => None,
        }
    }

    /// The EventBridge envelope around it.
    pub fn envelope(&self, id: String, account: &str, region: &str) -> Envelope<'_> {
        Envelope {
            version: "0",
            id,
            detail_type: self.detail_type(),
            source: "aws.ivs",
            account: account.to_owned(),
            time: rfc3339_seconds(self.time),
            region: region.to_owned(),
            resources: vec![self.channel_arn.clone()],
            detail: &self.detail,
        }
    }
}

/// The EventBridge envelope (spec 7).
#[derive(Debug, Serialize)]
pub struct Envelope<'a> {
    /// Always `"0"`.
    pub version: &'static str,
    /// A UUID.
    pub id: String,
    /// e.g. `IVS Stream State Change`.
    #[serde(rename = "detail-type")]
    pub detail_type: &'static str,
    /// `aws.ivs`.
    pub source: &'static str,
    /// Account id.
    pub account: String,
    /// Whole seconds, `Z`.
    pub time: String,
    /// Region.
    pub region: String,
    /// The channel ARN.
    pub resources: Vec<String>,
    /// The detail.
    pub detail: &'a Detail,
}

/// A random version-4 UUID.
pub fn new_event_id() -> String {
    let bytes: [u8; 16] = rand::random();
    let hex: String = bytes
        .iter()
        .enumerate()
        .map(|(n, b)| match n {
            6 => format!("{:02x}", (b & 0x0f) | 0x40),
            8 => format!("{:02x}", (b & 0x3f) | 0x80),
            _ => format!("{b:02x}"),
        })
        .collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Why the events file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the events file {}", path.display())]
pub struct EventsFileError {
    /// The file given.
    pub path: PathBuf,
    /// What the OS said.
    #[source]
    pub source: std::io::Error,
}

/// Where events go: a log line each, the stream session, and optionally a JSON-lines file.
#[derive(Debug, Clone)]
pub struct EventLog {
    file: Option<Arc<Mutex<std::fs::File>>>,
    sessions: SessionRegistry,
    account: String,
    region: String,
}

impl EventLog {
    /// A log appending to `path` when given.
    pub fn new(
        path: Option<&Path>,
        sessions: SessionRegistry,
        account: &str,
        region: &str,
    ) -> Result<Self, EventsFileError> {
        let file = path
            .map(|path| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| EventsFileError {
                        path: path.to_owned(),
                        source,
                    })
            })
            .transpose()?;
        Ok(Self {
            file: file.map(|f| Arc::new(Mutex::new(f))),
            sessions,
            account: account.to_owned(),
            region: region.to_owned(),
        })
    }

    /// Emits `event`.
    pub fn emit(&self, event: IvsEvent) {
        tracing::info!(
            stream = event.stream_id(),
            channel = %event.channel_arn,
            "{}: {}",
            event.detail_type(),
            event.name()
        );
        self.sessions.record_event(
            event.stream_id(),
            SessionEvent {
                name: event.name().to_owned(),
                event_type: event.detail_type().to_owned(),
                event_time: event.time,
                code: event.code().map(str::to_owned),
            },
        );
        if let Some(file) = &self.file {
            let envelope = event.envelope(new_event_id(), &self.account, &self.region);
            match serde_json::to_string(&envelope) {
                Ok(line) => {
                    let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
                    if let Err(err) = writeln!(file, "{line}").and_then(|()| file.flush()) {
                        tracing::warn!(error = %err, "cannot append to the events file");
                    }
                }
                Err(err) => tracing::warn!(error = %err, "cannot serialise an event"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn recording_end_has_the_real_key_order_and_envelope() {
        let event = IvsEvent {
            time: datetime!(2020-06-24 07:51:32 UTC),
            channel_arn: "arn:aws:ivs:us-west-2:123456789012:channel/AbCdef1G2hij".to_owned(),
            detail: Detail::Recording(RecordingDetail {
                recording_status: "Recording End".to_owned(),
                recording_status_reason: String::new(),
                recording_s3_bucket_name: "b".to_owned(),
                recording_s3_key_prefix: "ivs/v1/123456789012/AbCdef1G2hij/2020/6/23/20/12/x"
                    .to_owned(),
                recording_duration_ms: 99_370,
                channel_name: "Your Channel".to_owned(),
                stream_id: "st-1".to_owned(),
                recording_session_id: "a6RfV23ES97iyfoQ".to_owned(),
                recording_session_stream_ids: vec!["st-0".to_owned(), "st-1".to_owned()],
            }),
        };
        let json =
            serde_json::to_string(&event.envelope("id-1".to_owned(), "123456789012", "us-west-2"))
                .unwrap();
        assert_eq!(
            json,
            r#"{"version":"0","id":"id-1","detail-type":"IVS Recording State Change","source":"aws.ivs","account":"123456789012","time":"2020-06-24T07:51:32Z","region":"us-west-2","resources":["arn:aws:ivs:us-west-2:123456789012:channel/AbCdef1G2hij"],"detail":{"recording_status":"Recording End","recording_status_reason":"","recording_s3_bucket_name":"b","recording_s3_key_prefix":"ivs/v1/123456789012/AbCdef1G2hij/2020/6/23/20/12/x","recording_duration_ms":99370,"channel_name":"Your Channel","stream_id":"st-1","recording_session_id":"a6RfV23ES97iyfoQ","recording_session_stream_ids":["st-0","st-1"]}}"#
        );
        assert_eq!(event.name(), "Recording End");
    }

    #[test]
    fn stream_events_omit_absent_code_and_reason() {
        let detail = Detail::Stream(StreamDetail {
            event_name: "Stream Start".to_owned(),
            channel_name: "c".to_owned(),
            stream_id: "st-1".to_owned(),
            code: None,
            reason: None,
        });
        assert_eq!(
            serde_json::to_string(&detail).unwrap(),
            r#"{"event_name":"Stream Start","channel_name":"c","stream_id":"st-1"}"#
        );
    }

    #[test]
    fn event_ids_are_version_4_uuids() {
        let id = new_event_id();
        let re = regex::Regex::new(
            "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
        )
        .unwrap();
        assert!(re.is_match(&id), "{id}");
    }
}
