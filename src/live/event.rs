//! EventBridge-shaped IVS events (spec 7), pure: the typed kinds of event, the envelope, and the
//! stream, recording and limit-breach details with the key order of real captures.

use serde::Serialize;
use time::OffsetDateTime;

use crate::time::rfc3339_seconds;

/// `detail-type` of stream state events.
pub const STREAM_STATE_CHANGE: &str = "IVS Stream State Change";
/// `detail-type` of recording state events.
pub const RECORDING_STATE_CHANGE: &str = "IVS Recording State Change";
/// `detail-type` of limit breaches.
pub const LIMIT_BREACH: &str = "IVS Limit Breach";

/// `event_name` of an `IVS Stream State Change`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum StreamEvent {
    /// A publisher connected with a valid key.
    #[serde(rename = "Session Created")]
    SessionCreated,
    /// Media started flowing.
    #[serde(rename = "Stream Start")]
    StreamStart,
    /// The publisher's stream ended.
    #[serde(rename = "Stream End")]
    StreamEnd,
    /// The session is over.
    #[serde(rename = "Session Ended")]
    SessionEnded,
    /// The stream could not be processed (`reason` says why).
    #[serde(rename = "Stream Failure")]
    StreamFailure,
}

impl StreamEvent {
    /// The name IVS gives it.
    pub fn name(self) -> &'static str {
        match self {
            Self::SessionCreated => "Session Created",
            Self::StreamStart => "Stream Start",
            Self::StreamEnd => "Stream End",
            Self::SessionEnded => "Session Ended",
            Self::StreamFailure => "Stream Failure",
        }
    }
}

/// `recording_status` of an `IVS Recording State Change`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum RecordingEvent {
    /// The recording (or a merged stream of it) started.
    #[serde(rename = "Recording Start")]
    Start,
    /// The recording ended and is complete.
    #[serde(rename = "Recording End")]
    End,
    /// The stream is not recorded.
    #[serde(rename = "Recording Start Failure")]
    StartFailure,
    /// The recording ended with a failure; some objects may be missing.
    #[serde(rename = "Recording End Failure")]
    EndFailure,
}

impl RecordingEvent {
    /// The name IVS gives it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Start => "Recording Start",
            Self::End => "Recording End",
            Self::StartFailure => "Recording Start Failure",
            Self::EndFailure => "Recording End Failure",
        }
    }
}

/// What kind of event happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A stream state change.
    Stream(StreamEvent),
    /// A recording state change.
    Recording(RecordingEvent),
    /// An ingest limit was exceeded.
    LimitBreach,
}

impl EventKind {
    /// Whether it reports a failure or a breach (`hasErrorEvent` of a stream session).
    pub fn is_error(self) -> bool {
        matches!(
            self,
            Self::Stream(StreamEvent::StreamFailure)
                | Self::Recording(RecordingEvent::StartFailure | RecordingEvent::EndFailure)
                | Self::LimitBreach
        )
    }

    /// `detail-type`.
    pub fn detail_type(self) -> &'static str {
        match self {
            Self::Stream(_) => STREAM_STATE_CHANGE,
            Self::Recording(_) => RECORDING_STATE_CHANGE,
            Self::LimitBreach => LIMIT_BREACH,
        }
    }
}

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
    pub event_name: StreamEvent,
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
    pub recording_status: RecordingEvent,
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
    /// What kind of event it is.
    pub fn kind(&self) -> EventKind {
        match &self.detail {
            Detail::Stream(detail) => EventKind::Stream(detail.event_name),
            Detail::Recording(detail) => EventKind::Recording(detail.recording_status),
            Detail::Limit(_) => EventKind::LimitBreach,
        }
    }

    /// `detail-type`.
    pub fn detail_type(&self) -> &'static str {
        self.kind().detail_type()
    }

    /// The event's name: `event_name`, `recording_status` or `limit_name`.
    pub fn name(&self) -> &str {
        match &self.detail {
            Detail::Stream(detail) => detail.event_name.name(),
            Detail::Recording(detail) => detail.recording_status.name(),
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
                recording_status: RecordingEvent::End,
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
            event_name: StreamEvent::StreamStart,
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
    fn failures_and_breaches_are_errors() {
        assert!(EventKind::Stream(StreamEvent::StreamFailure).is_error());
        assert!(EventKind::Recording(RecordingEvent::EndFailure).is_error());
        assert!(EventKind::LimitBreach.is_error());
        assert!(!EventKind::Stream(StreamEvent::SessionEnded).is_error());
        assert!(!EventKind::Recording(RecordingEvent::End).is_error());
        assert_eq!(
            serde_json::to_string(&RecordingEvent::StartFailure).unwrap(),
            r#""Recording Start Failure""#
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
