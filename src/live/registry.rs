//! Which channels are live: the stream key selects the channel; an unknown key or a second
//! publisher on a live channel is refused at publish time. An accepted publish becomes a stream
//! session (`Session Created`) and is handed to the channel's recorder.

use std::collections::HashMap;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::channel_recorder::{ChannelRecorder, Publish, RecorderContext};
use super::channels::LiveChannel;
use super::event::{Detail, IvsEvent, StreamDetail, StreamEvent};
use super::event_log::EventLog;
use super::sessions::{SessionRegistry, StreamSession, new_stream_id};
use crate::ingest::live::LiveMessage;
use crate::ingest::queue::{QueueSender, publish_queue};

/// Messages a publish may queue before the connection waits for the recorder.
const PUBLISH_QUEUE: usize = 512;
/// Bytes a publish may queue before the connection waits for the recorder (about 15 s of an
/// 8.5 Mbps stream).
const PUBLISH_QUEUE_BYTES: usize = 16 * 1024 * 1024;
/// The RTMP application IVS ingest URLs use.
pub const INGEST_APP: &str = "app";

/// Why a publish was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The URL's application is not `app`.
    #[error("unknown application {0:?}: ingest URLs are rtmp://<host>:<port>/app/<streamKey>")]
    UnknownApp(String),
    /// No channel has this key.
    #[error("unknown stream key")]
    UnknownKey,
    /// The channel already has a publisher.
    #[error("channel {channel} is already live (stream {stream_id})")]
    AlreadyLive {
        /// The channel's name.
        channel: String,
        /// The live stream.
        stream_id: String,
    },
    /// The channel's recorder has stopped (the server is shutting down).
    #[error("the server is shutting down")]
    ShuttingDown,
}

struct Slot {
    live: LiveChannel,
    recorder: Mutex<Option<ChannelRecorder>>,
    live_stream: Mutex<Option<String>>,
}

/// Every channel, its recorder and its live stream.
pub struct IngestRegistry {
    slots: HashMap<String, Slot>,
    events: EventLog,
    sessions: SessionRegistry,
    clock: Arc<dyn crate::time::Clock>,
}

impl std::fmt::Debug for IngestRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestRegistry")
            .field("channels", &self.slots.len())
            .finish_non_exhaustive()
    }
}

impl IngestRegistry {
    /// Starts a recorder for each of `channels`.
    pub fn new(channels: Vec<LiveChannel>, context: &RecorderContext) -> Self {
        let slots = channels
            .into_iter()
            .map(|live| {
                let recorder = ChannelRecorder::spawn(live.clone(), context.clone());
                (
                    live.stream_key.clone(),
                    Slot {
                        live,
                        recorder: Mutex::new(Some(recorder)),
                        live_stream: Mutex::new(None),
                    },
                )
            })
            .collect();
        Self {
            slots,
            events: context.events.clone(),
            sessions: context.sessions.clone(),
            clock: context.clock.clone(),
        }
    }

    /// Accepts a publish of `stream_key` on `app`, or says why not.
    pub fn begin_publish(
        self: &Arc<Self>,
        app: &str,
        stream_key: &str,
    ) -> Result<PublishGuard, Refusal> {
        if app != INGEST_APP {
            return Err(Refusal::UnknownApp(app.to_owned()));
        }
        let slot = self.slots.get(stream_key).ok_or(Refusal::UnknownKey)?;
        let mut live = slot.live_stream.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(stream_id) = live.as_ref() {
            return Err(Refusal::AlreadyLive {
                channel: slot.live.channel.name.clone(),
                stream_id: stream_id.clone(),
            });
        }
        let stream_id = new_stream_id();
        let (sender, messages) = publish_queue(PUBLISH_QUEUE, PUBLISH_QUEUE_BYTES);
        let now = self.clock.now();
        self.sessions.insert(StreamSession {
            stream_id: stream_id.clone(),
            start_time: now,
            end_time: None,
            channel: slot.live.channel.clone(),
            ingest_configurations: None,
            recording_configuration: slot.live.recording.clone(),
            truncated_events: VecDeque::new(),
        });
        self.events.emit(IvsEvent {
            time: now,
            channel_arn: slot.live.channel.arn.clone(),
            detail: Detail::Stream(StreamDetail {
                event_name: StreamEvent::SessionCreated,
                channel_name: slot.live.channel.name.clone(),
                stream_id: stream_id.clone(),
                code: None,
                reason: None,
            }),
        });
        let handed = slot
            .recorder
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|recorder| {
                recorder.publish(Publish {
                    stream_id: stream_id.clone(),
                    messages,
                })
            });
        if !handed {
            return Err(Refusal::ShuttingDown);
        }
        *live = Some(stream_id.clone());
        Ok(PublishGuard {
            registry: Arc::clone(self),
            stream_key: stream_key.to_owned(),
            stream_id,
            sender,
        })
    }

    /// Finalises every recording (live ones once their connections have closed) and waits.
    pub fn close(&self) {
        for slot in self.slots.values() {
            let recorder = slot
                .recorder
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            if let Some(recorder) = recorder {
                recorder.close();
            }
        }
    }

    fn end_publish(&self, stream_key: &str, stream_id: &str) {
        if let Some(slot) = self.slots.get(stream_key) {
            let mut live = slot.live_stream.lock().unwrap_or_else(|p| p.into_inner());
            if live.as_deref() == Some(stream_id) {
                *live = None;
            }
        }
    }
}

/// An accepted publish: the queue to the recorder. Dropping it ends the publish.
#[derive(Debug)]
pub struct PublishGuard {
    registry: Arc<IngestRegistry>,
    stream_key: String,
    stream_id: String,
    sender: QueueSender,
}

impl PublishGuard {
    /// The stream's id.
    pub fn stream_id(&self) -> &str {
        &self.stream_id
    }

    /// Passes a message on; `false` once the recorder has stopped reading this stream.
    pub async fn send(&self, message: LiveMessage) -> bool {
        self.sender.send(message).await
    }
}

impl Drop for PublishGuard {
    fn drop(&mut self) {
        self.registry.end_publish(&self.stream_key, &self.stream_id);
    }
}
