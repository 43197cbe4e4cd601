//! Which channels are live, over the one catalog the API also changes: the stream key selects
//! its channel (and the channel its recording configuration) at publish time, so a channel
//! created through the API can be published to at once and a deleted key is refused at the next
//! publish. An unknown key or a second publisher on a live channel is refused. An accepted
//! publish becomes a stream session (`Session Created`) and is handed to the channel's recorder,
//! started on the channel's first publish. The API reads live streams here and stops them.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokio::sync::Notify;

use super::channel_recorder::{ChannelRecorder, Publish, RecorderContext};
use super::channels::LiveChannel;
use super::event::{Detail, IvsEvent, StreamDetail, StreamEvent};
use super::ingest_rate::IngestRate;
use super::sessions::{StreamSession, new_stream_id};
use crate::control::catalog::{Catalog, Txn};
use crate::hls::live_window::LiveWindow;
use crate::ingest::live::LiveMessage;
use crate::ingest::queue::{QueueSender, publish_queue};
use crate::metrics::IngestSample;
use crate::model::{Channel, RecordingConfiguration};

/// Messages a publish may queue before the connection waits for the recorder.
const PUBLISH_QUEUE: usize = 512;
/// Bytes a publish may queue before the connection waits for the recorder (about 15 s of an
/// 8.5 Mbps stream).
const PUBLISH_QUEUE_BYTES: usize = 16 * 1024 * 1024;
/// The RTMP application IVS ingest URLs use.
pub const INGEST_APP: &str = "app";
/// A live stream with no media for this long is `STARVING`.
const STARVING_AFTER: Duration = Duration::from_secs(2);

/// Why a publish was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The URL's application is not `app` (shown abbreviated).
    #[error("unknown application {0}: ingest URLs are rtmp://<host>:<port>/app/<streamKey>")]
    UnknownApp(String),
    /// No channel has this key (shown redacted, see [`redacted_key`]).
    #[error("unknown stream key {0}")]
    UnknownKey(String),
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

/// A stream key as logs may show it: its last four characters and its length, enough to tell
/// which of your keys a refused publisher used without writing the secret down.
pub fn redacted_key(key: &str) -> String {
    let length = key.chars().count();
    if length < 12 {
        return format!("of {length} characters");
    }
    let tail: String = key.chars().skip(length - 4).collect();
    format!("…{tail} ({length} characters)")
}

/// `health` of a live stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamHealth {
    /// Media arrives.
    Healthy,
    /// No media for a while.
    Starving,
}

impl StreamHealth {
    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "HEALTHY",
            Self::Starving => "STARVING",
        }
    }
}

/// A live stream, as GetStream, StopStream and PutMetadata see it.
#[derive(Debug)]
pub struct LiveStream {
    /// `st-…`.
    pub stream_id: String,
    /// The channel's ARN.
    pub channel_arn: String,
    /// The channel's name (its id when it has none), `/metrics`' label.
    pub channel_label: String,
    /// When it went live.
    pub start_time: OffsetDateTime,
    started: Instant,
    /// Milliseconds after `started` of the latest media message.
    last_media_ms: AtomicU64,
    /// StopStream's signal; its stored permit wakes the connection even when it was not waiting.
    stop: Notify,
    /// The publish's queue, to put timed metadata between its media.
    queue: Weak<QueueSender>,
    /// Its live renditions, served at the channel's `playbackUrl`.
    pub playback: Arc<LiveWindow>,
    /// What the publisher sends per second.
    rate: std::sync::Mutex<IngestRate>,
}

impl LiveStream {
    /// `HEALTHY`, or `STARVING` when no media came for a while.
    pub fn health(&self) -> StreamHealth {
        let last = Duration::from_millis(self.last_media_ms.load(Ordering::Relaxed));
        if self.started.elapsed().saturating_sub(last) > STARVING_AFTER {
            StreamHealth::Starving
        } else {
            StreamHealth::Healthy
        }
    }

    /// Disconnects the publisher (StopStream).
    pub fn stop(&self) {
        self.stop.notify_one();
    }

    /// Queues a `PutMetadata` payload after the media received so far; `false` when the
    /// publish has already ended.
    pub async fn put_metadata(&self, payload: String) -> bool {
        match self.queue.upgrade() {
            Some(queue) => queue.send(LiveMessage::TimedMetadata(payload)).await,
            None => false,
        }
    }

    /// What `/metrics` shows of the stream now.
    pub fn ingest_sample(&self) -> IngestSample {
        let now_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (bitrate_bps, frame_rate) = self
            .rate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .rates(now_ms);
        IngestSample {
            channel: self.channel_label.clone(),
            bitrate_bps,
            frame_rate,
            queued_bytes: self
                .queue
                .upgrade()
                .map_or(0, |queue| queue.queued_bytes() as u64),
        }
    }

    fn media_arrived(&self, message: &LiveMessage) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_media_ms.store(ms, Ordering::Relaxed);
        let video = matches!(message, LiveMessage::Video { .. });
        self.rate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .add(ms, message.size() as u64, video);
    }
}

/// A channel's recorder and live stream.
#[derive(Debug, Default)]
struct ChannelRuntime {
    recorder: Option<ChannelRecorder>,
    live: Option<Arc<LiveStream>>,
}

/// Every channel's recorder and live stream, over the catalog.
pub struct IngestRegistry {
    catalog: Arc<Catalog>,
    context: RecorderContext,
    channels: Mutex<HashMap<String, ChannelRuntime>>,
    closed: AtomicBool,
}

impl std::fmt::Debug for IngestRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestRegistry").finish_non_exhaustive()
    }
}

/// The channel, key and recording configuration of `stream_key`, as they are now.
fn resolve(txn: &Txn<'_>, stream_key: &str) -> Option<LiveChannel> {
    let key = txn.stream_key(stream_key)?;
    let channel_arn = key.get("channelArn")?.as_str()?;
    let channel: Channel = serde_json::from_value(txn.get(channel_arn)?.clone()).ok()?;
    let recording = match channel.recording_configuration_arn.as_str() {
        "" => None,
        arn => txn
            .get(arn)
            .cloned()
            .and_then(|doc| serde_json::from_value::<RecordingConfiguration>(doc).ok()),
    };
    Some(LiveChannel {
        channel,
        stream_key: stream_key.to_owned(),
        recording,
    })
}

impl IngestRegistry {
    /// A registry over `catalog`; recorders start with their channel's first publish.
    pub fn new(catalog: Arc<Catalog>, context: RecorderContext) -> Self {
        Self {
            catalog,
            context,
            channels: Mutex::new(HashMap::new()),
            closed: AtomicBool::new(false),
        }
    }

    /// The catalog the registry reads.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// Where recordings go.
    pub fn store(&self) -> &Arc<crate::storage::Store> {
        &self.context.store
    }

    /// The time now, by the server's clock.
    pub fn now(&self) -> OffsetDateTime {
        self.context.clock.now()
    }

    /// The stream sessions.
    pub fn sessions(&self) -> &super::sessions::SessionRegistry {
        &self.context.sessions
    }

    /// Accepts a publish of `stream_key` on `app`, or says why not.
    pub fn begin_publish(
        self: &Arc<Self>,
        app: &str,
        stream_key: &str,
    ) -> Result<PublishGuard, Refusal> {
        if app != INGEST_APP {
            return Err(Refusal::UnknownApp(crate::model::abbreviated(app)));
        }
        // Lock order, everywhere: the channels, then the catalog.
        let mut channels = self.lock();
        if self.closed.load(Ordering::Relaxed) {
            return Err(Refusal::ShuttingDown);
        }
        let live = self
            .catalog
            .read(|txn| resolve(txn, stream_key))
            .ok_or_else(|| Refusal::UnknownKey(redacted_key(stream_key)))?;
        let runtime = channels.entry(live.channel.arn.clone()).or_default();
        if let Some(stream) = &runtime.live {
            return Err(Refusal::AlreadyLive {
                channel: live.channel.name.clone(),
                stream_id: stream.stream_id.clone(),
            });
        }
        let recorder = runtime
            .recorder
            .get_or_insert_with(|| ChannelRecorder::spawn(&live.channel, self.context.clone()));
        let stream_id = new_stream_id();
        let (sender, messages) = publish_queue(PUBLISH_QUEUE, PUBLISH_QUEUE_BYTES);
        let sender = Arc::new(sender);
        let now = self.context.clock.now();
        self.context.sessions.insert(StreamSession {
            stream_id: stream_id.clone(),
            start_time: now,
            end_time: None,
            channel: live.channel.clone(),
            ingest_configurations: None,
            recording_configuration: live.recording.clone(),
            truncated_events: VecDeque::new(),
            error_seen: false,
        });
        self.context.events.emit(IvsEvent {
            time: now,
            channel_arn: live.channel.arn.clone(),
            detail: Detail::Stream(StreamDetail {
                event_name: StreamEvent::SessionCreated,
                channel_name: live.channel.name.clone(),
                stream_id: stream_id.clone(),
                code: None,
                reason: None,
            }),
        });
        let channel_arn = live.channel.arn.clone();
        let channel_label = if live.channel.name.is_empty() {
            channel_arn
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned()
        } else {
            live.channel.name.clone()
        };
        let playback = Arc::new(LiveWindow::new());
        let handed = recorder.publish(Publish {
            stream_id: stream_id.clone(),
            messages,
            channel: live,
            playback: Arc::clone(&playback),
        });
        if !handed {
            return Err(Refusal::ShuttingDown);
        }
        let stream = Arc::new(LiveStream {
            stream_id,
            channel_arn: channel_arn.clone(),
            channel_label,
            start_time: now,
            started: Instant::now(),
            last_media_ms: AtomicU64::new(0),
            stop: Notify::new(),
            queue: Arc::downgrade(&sender),
            playback,
            rate: std::sync::Mutex::new(IngestRate::default()),
        });
        runtime.live = Some(Arc::clone(&stream));
        Ok(PublishGuard {
            registry: Arc::clone(self),
            stream,
            sender,
        })
    }

    /// Where the IVS events go (watch them with [`super::event_log::EventLog::watch`]).
    pub fn events(&self) -> &super::event_log::EventLog {
        &self.context.events
    }

    /// The live stream of `channel_arn`, when it is live.
    pub fn live_stream(&self, channel_arn: &str) -> Option<Arc<LiveStream>> {
        self.lock()
            .get(channel_arn)
            .and_then(|runtime| runtime.live.clone())
    }

    /// Every live stream.
    pub fn live_streams(&self) -> Vec<Arc<LiveStream>> {
        let mut streams: Vec<_> = self
            .lock()
            .values()
            .filter_map(|runtime| runtime.live.clone())
            .collect();
        streams.sort_by(|a, b| a.channel_arn.cmp(&b.channel_arn));
        streams
    }

    /// Runs `change` while `channel_arn` cannot go live, when it is not live now; with
    /// `Err(stream_id)` when it is. `change` may read and write the catalog.
    pub fn while_offline<R>(
        &self,
        channel_arn: &str,
        change: impl FnOnce() -> R,
    ) -> Result<R, String> {
        let channels = self.lock();
        if let Some(stream) = channels.get(channel_arn).and_then(|r| r.live.as_ref()) {
            return Err(stream.stream_id.clone());
        }
        Ok(change())
    }

    /// Finalises and forgets the recorder of a deleted channel (a recording waiting in its
    /// reconnect window ends now).
    pub fn forget_channel(&self, channel_arn: &str) {
        let runtime = self.lock().remove(channel_arn);
        if let Some(recorder) = runtime.and_then(|r| r.recorder) {
            std::thread::spawn(move || recorder.close());
        }
    }

    /// Refuses new publishes, finalises every recording (live ones once their connections have
    /// closed) and waits.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
        let recorders: Vec<ChannelRecorder> = self
            .lock()
            .values_mut()
            .filter_map(|runtime| runtime.recorder.take())
            .collect();
        for recorder in recorders {
            recorder.close();
        }
    }

    fn end_publish(&self, stream: &LiveStream) {
        if let Some(runtime) = self.lock().get_mut(&stream.channel_arn)
            && runtime
                .live
                .as_ref()
                .is_some_and(|live| live.stream_id == stream.stream_id)
        {
            runtime.live = None;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, ChannelRuntime>> {
        self.channels.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An accepted publish: the queue to the recorder. Dropping it ends the publish.
#[derive(Debug)]
pub struct PublishGuard {
    registry: Arc<IngestRegistry>,
    stream: Arc<LiveStream>,
    sender: Arc<QueueSender>,
}

impl PublishGuard {
    /// The stream's id.
    pub fn stream_id(&self) -> &str {
        &self.stream.stream_id
    }

    /// Passes a message on; `false` once the recorder has stopped reading this stream.
    pub async fn send(&self, message: LiveMessage) -> bool {
        self.stream.media_arrived(&message);
        self.sender.send(message).await
    }

    /// Completes when StopStream asks for the publisher to be disconnected.
    pub async fn stop_requested(&self) {
        self.stream.stop.notified().await;
    }
}

impl Drop for PublishGuard {
    fn drop(&mut self) {
        self.registry.end_publish(&self.stream);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_keys_are_logged_redacted() {
        let key = "sk_us-west-2_abcdefghijklmnopqrstuvwxyzAB12";
        assert_eq!(redacted_key(key), "…AB12 (43 characters)");
        assert_eq!(redacted_key("short"), "of 5 characters");
        assert_eq!(
            Refusal::UnknownKey(redacted_key(key)).to_string(),
            "unknown stream key …AB12 (43 characters)"
        );
    }
}
