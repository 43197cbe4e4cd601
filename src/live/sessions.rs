//! Stream sessions: one per publish (`st-…`), holding what GetStreamSession returns (spec 6.4):
//! the channel and recording configuration at the time of going live, the ingest configuration
//! probed from the stream, start and end times, and up to 500 events, newest first. With a state
//! file each change is stored as it happens, and a session still open when the process died is
//! closed at the next start.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::control::state_db::{StateDb, StateError, StoredSession};
use crate::ids::random_alphanumeric;
use crate::ingest::live::ProbedStream;
use crate::model::{Channel, RecordingConfiguration};

/// At most this many events are kept on a session (the model's `truncatedEvents` bound).
pub const MAX_TRUNCATED_EVENTS: usize = 500;

/// A new stream id: `st-` and 23 alphanumerics (D16).
pub fn new_stream_id() -> String {
    format!("st-{}", random_alphanumeric(23))
}

/// An item of `truncatedEvents`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionEvent {
    /// Whether it reports a failure or a breach.
    #[serde(skip)]
    pub is_error: bool,
    /// e.g. `Stream Start`.
    pub name: String,
    /// The detail-type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub event_time: OffsetDateTime,
    /// A code, when the event has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// `VideoConfiguration` of the ingest configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoConfiguration {
    /// e.g. `avc1.4D401F`.
    pub codec: String,
    /// The encoder's name, when it said.
    pub encoder: String,
    /// Bits per second (declared, else measured).
    pub target_bitrate: u64,
    /// Frames per second.
    pub target_framerate: u64,
    /// Height in pixels.
    pub video_height: u32,
    /// Width in pixels.
    pub video_width: u32,
    /// H.264 level, e.g. `3.1`.
    pub level: String,
    /// H.264 profile, e.g. `Main`.
    pub profile: String,
    /// `Track0`.
    pub track: String,
}

/// `AudioConfiguration` of the ingest configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AudioConfiguration {
    /// e.g. `mp4a.40.2`.
    pub codec: String,
    /// Bits per second (declared, else 0).
    pub target_bitrate: u64,
    /// Samples per second.
    pub sample_rate: u32,
    /// Channel count.
    pub channels: u8,
    /// `Track0`.
    pub track: String,
}

/// `ingestConfigurations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestConfigurations {
    /// One per video track.
    pub video_configurations: Vec<VideoConfiguration>,
    /// One per audio track.
    pub audio_configurations: Vec<AudioConfiguration>,
}

impl IngestConfigurations {
    /// What a probed stream reports; `measured_bitrate_bps` stands in for an undeclared bitrate.
    pub fn from_probe(probed: &ProbedStream, measured_bitrate_bps: u64) -> Self {
        let (profile_idc, level_idc) = probed.profile_level;
        let video = VideoConfiguration {
            codec: probed.video_codec.clone(),
            encoder: probed.metadata.encoder.clone().unwrap_or_default(),
            target_bitrate: probed
                .metadata
                .video_bitrate_kbps
                .map_or(measured_bitrate_bps, |kbps| u64::from(kbps) * 1000),
            target_framerate: probed.frame_rate.round() as u64,
            video_height: probed.height,
            video_width: probed.width,
            level: format!("{}.{}", level_idc / 10, level_idc % 10),
            profile: profile_name(profile_idc).to_owned(),
            track: "Track0".to_owned(),
        };
        let audio = probed
            .audio
            .as_ref()
            .map(|(codec, config)| AudioConfiguration {
                codec: codec.clone(),
                target_bitrate: probed
                    .metadata
                    .audio_bitrate_kbps
                    .map_or(0, |kbps| u64::from(kbps) * 1000),
                sample_rate: config.sample_rate,
                channels: config.channels,
                track: "Track0".to_owned(),
            });
        Self {
            video_configurations: vec![video],
            audio_configurations: audio.into_iter().collect(),
        }
    }
}

fn profile_name(profile_idc: u8) -> &'static str {
    match profile_idc {
        66 => "Baseline",
        77 => "Main",
        88 => "Extended",
        100 => "High",
        110 => "High10",
        122 => "High422",
        244 => "High444",
        _ => "Unknown",
    }
}

/// A stream session, as GetStreamSession returns it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamSession {
    /// `st-…`.
    pub stream_id: String,
    /// When the publisher went live.
    #[serde(with = "time::serde::rfc3339")]
    pub start_time: OffsetDateTime,
    /// When it ended; `null` while live.
    #[serde(with = "time::serde::rfc3339::option")]
    pub end_time: Option<OffsetDateTime>,
    /// The channel at the time of going live.
    pub channel: Channel,
    /// Probed from the stream, once known.
    pub ingest_configurations: Option<IngestConfigurations>,
    /// The recording configuration at the time of going live, when the channel records.
    pub recording_configuration: Option<RecordingConfiguration>,
    /// Newest first, at most [`MAX_TRUNCATED_EVENTS`].
    pub truncated_events: VecDeque<SessionEvent>,
    /// Whether a failure or breach was seen (kept even when its event has scrolled out).
    #[serde(skip)]
    pub error_seen: bool,
}

impl StreamSession {
    /// Whether a failure or limit breach happened (`hasErrorEvent` of the summary).
    pub fn has_error_event(&self) -> bool {
        self.error_seen
            || self
                .truncated_events
                .iter()
                .any(|e| e.is_error || e.code.is_some())
    }
}

/// Every stream session of this server, shared by connections, recorders and the API; stored in
/// the state file when there is one.
#[derive(Debug, Clone, Default)]
pub struct SessionRegistry {
    sessions: Arc<Mutex<BTreeMap<String, StreamSession>>>,
    db: Option<Arc<StateDb>>,
}

impl SessionRegistry {
    /// The sessions `db` holds; those it holds as live (the process died while they were) are
    /// closed at `now`.
    pub fn load(db: Arc<StateDb>, now: OffsetDateTime) -> Result<Self, StateError> {
        let registry = Self {
            sessions: Arc::default(),
            db: Some(Arc::clone(&db)),
        };
        for stored in db.sessions()? {
            let mut session: StreamSession = match serde_json::from_str(&stored.doc) {
                Ok(session) => session,
                Err(err) => {
                    tracing::warn!(
                        stream = stored.stream_id,
                        "skipping an unreadable stored session: {err}"
                    );
                    continue;
                }
            };
            session.error_seen = stored.has_error;
            let was_open = session.end_time.is_none();
            session.end_time.get_or_insert(now);
            if was_open {
                tracing::info!(
                    stream = stored.stream_id,
                    "closing a session left open by the last run"
                );
                registry.store(&session);
            }
            registry.lock().insert(session.stream_id.clone(), session);
        }
        Ok(registry)
    }

    /// Adds a new session.
    pub fn insert(&self, session: StreamSession) {
        self.store(&session);
        self.lock().insert(session.stream_id.clone(), session);
    }

    /// The sessions of `channel_arn`, newest first.
    pub fn of_channel(&self, channel_arn: &str) -> Vec<StreamSession> {
        let mut sessions: Vec<StreamSession> = self
            .lock()
            .values()
            .filter(|s| s.channel.arn == channel_arn)
            .cloned()
            .collect();
        sessions.sort_by(|a, b| {
            b.start_time
                .cmp(&a.start_time)
                .then(b.stream_id.cmp(&a.stream_id))
        });
        sessions
    }

    /// A copy of session `stream_id`.
    pub fn get(&self, stream_id: &str) -> Option<StreamSession> {
        self.lock().get(stream_id).cloned()
    }

    /// Sets what the stream was probed with.
    pub fn set_ingest(&self, stream_id: &str, ingest: IngestConfigurations) {
        self.change(stream_id, |session| {
            session.ingest_configurations = Some(ingest);
        });
    }

    /// Marks the session ended at `at`.
    pub fn end(&self, stream_id: &str, at: OffsetDateTime) {
        self.change(stream_id, |session| {
            session.end_time.get_or_insert(at);
        });
    }

    /// Adds an event, newest first, keeping at most [`MAX_TRUNCATED_EVENTS`].
    pub fn record_event(&self, stream_id: &str, event: SessionEvent) {
        self.change(stream_id, |session| {
            session.error_seen |= event.is_error || event.code.is_some();
            session.truncated_events.push_front(event);
            session.truncated_events.truncate(MAX_TRUNCATED_EVENTS);
        });
    }

    fn change(&self, stream_id: &str, change: impl FnOnce(&mut StreamSession)) {
        let mut sessions = self.lock();
        if let Some(session) = sessions.get_mut(stream_id) {
            change(session);
            self.store(session);
        }
    }

    /// Writes `session` to the state file, when there is one; a failure is logged (ingest and
    /// recording go on).
    fn store(&self, session: &StreamSession) {
        let Some(db) = &self.db else {
            return;
        };
        let stored = serde_json::to_string(session).map(|doc| StoredSession {
            stream_id: session.stream_id.clone(),
            channel_arn: session.channel.arn.clone(),
            has_error: session.has_error_event(),
            doc,
        });
        match stored {
            Ok(stored) => {
                if let Err(err) = db.put_session(&stored) {
                    tracing::warn!("{}", crate::error::error_chain(&err));
                }
            }
            Err(err) => tracing::warn!("cannot serialise a stream session: {err}"),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, StreamSession>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::flv::AacConfig;
    use crate::ingest::live::LiveMetadata;
    use crate::model::ChannelType;
    use time::macros::datetime;

    fn session() -> StreamSession {
        StreamSession {
            stream_id: new_stream_id(),
            start_time: datetime!(2026-11-28 10:00:00 UTC),
            end_time: None,
            channel: Channel::new(
                "arn:aws:ivs:us-west-2:123456789012:channel/abcdABCDefgh".to_owned(),
                "c".to_owned(),
                ChannelType::Standard,
                None,
            )
            .unwrap(),
            ingest_configurations: None,
            recording_configuration: None,
            truncated_events: VecDeque::new(),
            error_seen: false,
        }
    }

    #[test]
    fn stream_ids_have_the_model_shape() {
        let id = new_stream_id();
        assert_eq!(id.len(), 26);
        assert!(id.starts_with("st-"));
        assert!(id[3..].chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn events_are_kept_newest_first_up_to_500() {
        let registry = SessionRegistry::default();
        let session = session();
        let id = session.stream_id.clone();
        registry.insert(session);
        for n in 0..510 {
            registry.record_event(
                &id,
                SessionEvent {
                    is_error: false,
                    name: format!("e{n}"),
                    event_type: "IVS Stream State Change".to_owned(),
                    event_time: datetime!(2026-11-28 10:00:00 UTC),
                    code: None,
                },
            );
        }
        let kept = registry.get(&id).unwrap().truncated_events;
        assert_eq!(kept.len(), 500);
        assert_eq!(kept[0].name, "e509");
        assert_eq!(kept[499].name, "e10");
    }

    #[test]
    fn serialises_as_get_stream_session() {
        let mut session = session();
        session.ingest_configurations = Some(IngestConfigurations::from_probe(
            &ProbedStream {
                video_codec: "avc1.4D401F".to_owned(),
                width: 1280,
                height: 720,
                frame_rate: 30.0,
                profile_level: (77, 31),
                audio: Some((
                    "mp4a.40.2".to_owned(),
                    AacConfig {
                        object_type: 2,
                        sample_rate: 48_000,
                        channels: 2,
                    },
                )),
                metadata: LiveMetadata {
                    video_bitrate_kbps: Some(2500),
                    ..LiveMetadata::default()
                },
            },
            0,
        ));
        let json = serde_json::to_value(&session).unwrap();
        assert_eq!(json["endTime"], serde_json::Value::Null);
        assert_eq!(json["startTime"], "2026-11-28T10:00:00Z");
        let video = &json["ingestConfigurations"]["videoConfigurations"][0];
        assert_eq!(video["codec"], "avc1.4D401F");
        assert_eq!(video["targetBitrate"], 2_500_000);
        assert_eq!(video["profile"], "Main");
        assert_eq!(video["level"], "3.1");
        assert_eq!(video["videoWidth"], 1280);
        let audio = &json["ingestConfigurations"]["audioConfigurations"][0];
        assert_eq!(audio["sampleRate"], 48_000);
        assert_eq!(audio["channels"], 2);
        assert_eq!(json["channel"]["type"], "STANDARD");
    }
}
