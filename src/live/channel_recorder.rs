//! The recorder of one live channel: a thread that takes the channel's publishes one after
//! another, records each like a file, and applies the reconnect window (spec 5, D9, D10).
//!
//! After a stream ends its recording waits `recordingReconnectWindowSeconds`. A stream that
//! arrives in time and is eligible continues it (same prefix, continuing numbers, a
//! discontinuity); otherwise the waiting recording is finalised when its window runs out (or at
//! shutdown) and the new stream starts a recording of its own. It emits the stream and recording
//! events as it goes.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::runtime::Handle;

use super::channels::LiveChannel;
use super::event::{
    Detail, IvsEvent, LimitDetail, RecordingDetail, RecordingEvent, StreamDetail, StreamEvent,
};
use super::event_log::EventLog;
use super::journal::{Journal, JournalTicket};
use super::limits::{
    Breach, IngestLimits, StreamProfile, bitrate_breach, merge_eligibility, resolution_breach,
};
use super::sessions::{IngestConfigurations, SessionRegistry};
use crate::error::{Failure, FailureKind, error_chain};
use crate::hls::live_window::LiveWindow;
use crate::ids::random_alphanumeric;
use crate::ingest::PacketSource;
use crate::ingest::live::LiveInput;
use crate::ingest::queue::QueueReceiver;
use crate::model::EncoderSettings;
use crate::model::RecordingConfigurationState;
use crate::recording::recover::OpenRecordingEntry;
use crate::recording::{Plan, Recording, RecordingResult, RecordingTarget};
use crate::storage::{Store, WriterPolicy};
use crate::time::Clock;

/// A publish handed to the channel's recorder.
#[derive(Debug)]
pub struct Publish {
    /// `st-…`.
    pub stream_id: String,
    /// The publisher's media messages; closed when the publish ends.
    pub messages: QueueReceiver,
    /// The channel, its key and recording configuration as they were at going live.
    pub channel: LiveChannel,
    /// Where the stream's live playback is served from.
    pub playback: Arc<LiveWindow>,
}

/// What every channel recorder shares.
#[derive(Debug, Clone)]
pub struct RecorderContext {
    /// The runtime storage runs on.
    pub runtime: Handle,
    /// Where buckets live.
    pub store: Arc<Store>,
    /// Retries, spool and deadline for store outages.
    pub writer_policy: WriterPolicy,
    /// How the transcoded rungs are encoded.
    pub encoding: Arc<EncoderSettings>,
    /// Wall clock.
    pub clock: Arc<dyn Clock>,
    /// Where events go.
    pub events: EventLog,
    /// The stream sessions.
    pub sessions: SessionRegistry,
    /// Instrumentation for tests.
    pub hooks: RecorderHooks,
    /// Where open recordings are noted, so a killed server's are finished at the next start.
    pub journal: Option<Arc<Journal>>,
}

/// Called by a channel's recorder thread with the channel's name, where a test wants to act (for
/// example, panic as a bug would).
pub type StreamHook = Arc<dyn Fn(&str) + Send + Sync>;

/// Instrumentation for tests; the default does nothing.
#[derive(Clone, Default)]
pub struct RecorderHooks {
    /// Runs on the recorder thread just before a stream's media is recorded.
    pub before_recording: Option<StreamHook>,
}

impl std::fmt::Debug for RecorderHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecorderHooks")
            .field("before_recording", &self.before_recording.is_some())
            .finish()
    }
}

/// A running channel recorder.
#[derive(Debug)]
pub struct ChannelRecorder {
    publishes: mpsc::Sender<Publish>,
    thread: JoinHandle<()>,
}

impl ChannelRecorder {
    /// Starts the recorder thread of `channel`.
    pub fn spawn(channel: &crate::model::Channel, context: RecorderContext) -> Self {
        let (publishes, receiver) = mpsc::channel();
        let name = format!("channel {}", channel.name);
        let channel = channel.clone();
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || ChannelLoop::new(channel, context).run(&receiver))
            .expect("the OS can start a thread");
        Self { publishes, thread }
    }

    /// Hands a publish to the recorder; `false` when it has stopped.
    pub fn publish(&self, publish: Publish) -> bool {
        self.publishes.send(publish).is_ok()
    }

    /// Finalises what is recording or waiting in its window, now, and waits for it. A recorder
    /// thread that died of a panic is logged, never re-raised: the other channels still close.
    pub fn close(self) {
        drop(self.publishes);
        if let Err(panic) = self.thread.join() {
            tracing::error!(
                "a channel recorder thread panicked: {}",
                panic_message(panic.as_ref())
            );
        }
    }
}

/// A recording between streams or recording one.
struct OpenRecording {
    recording: Recording,
    session: RecordingSession,
    /// Its journal entry, removed when it ends.
    journaled: Option<JournalTicket>,
}

/// What the events and merge decisions need of a recording; outlives [`Recording::finish`].
struct RecordingSession {
    session_id: String,
    stream_ids: Vec<String>,
    first: StreamProfile,
    opened: Instant,
    bucket: String,
    prefix: String,
}

/// Emits the events of one channel: time, ARN and channel name filled in.
#[derive(Debug, Clone)]
struct ChannelEvents {
    events: EventLog,
    clock: Arc<dyn Clock>,
    channel: crate::model::Channel,
}

impl ChannelEvents {
    fn emit(&self, detail: Detail) {
        self.events.emit(IvsEvent {
            time: self.clock.now(),
            channel_arn: self.channel.arn.clone(),
            detail,
        });
    }

    fn stream(&self, stream_id: &str, event: StreamEvent, reason: Option<String>) {
        self.emit(Detail::Stream(StreamDetail {
            event_name: event,
            channel_name: self.channel.name.clone(),
            stream_id: stream_id.to_owned(),
            code: None,
            reason,
        }));
    }

    fn limit(&self, stream_id: &str, breach: &Breach) {
        self.emit(Detail::Limit(LimitDetail {
            limit_name: breach.limit_name.to_owned(),
            limit_value: breach.limit_value,
            exceeded_by: breach.exceeded_by,
            limit_unit: breach.limit_unit.to_owned(),
            channel_name: self.channel.name.clone(),
            stream_id: stream_id.to_owned(),
        }));
    }

    /// A recording event about `stream_id` of the recording `session` describe.
    fn recording(
        &self,
        session: &RecordingSession,
        stream_id: &str,
        (status, reason): (RecordingEvent, &str),
        duration_ms: u64,
    ) {
        self.emit(Detail::Recording(RecordingDetail {
            recording_status: status,
            recording_status_reason: reason.to_owned(),
            recording_s3_bucket_name: session.bucket.clone(),
            recording_s3_key_prefix: session.prefix.clone(),
            recording_duration_ms: duration_ms,
            channel_name: self.channel.name.clone(),
            stream_id: stream_id.to_owned(),
            recording_session_id: session.session_id.clone(),
            recording_session_stream_ids: session.stream_ids.clone(),
        }));
    }
}

/// A recording whose stream ended, waiting for its window to run out.
struct Waiting {
    open: OpenRecording,
    deadline: Instant,
}

struct ChannelLoop {
    /// The channel as its latest publish went live.
    live: LiveChannel,
    context: RecorderContext,
    emit: ChannelEvents,
    limits: IngestLimits,
    waiting: Option<Waiting>,
    /// Recordings finalised in the background when their window runs out; dropping the sender
    /// finalises them at once.
    expiring: Vec<(mpsc::Sender<()>, JoinHandle<()>)>,
}

impl ChannelLoop {
    fn new(channel: crate::model::Channel, context: RecorderContext) -> Self {
        let limits = IngestLimits::for_channel(channel.channel_type);
        let emit = ChannelEvents {
            events: context.events.clone(),
            clock: Arc::clone(&context.clock),
            channel: channel.clone(),
        };
        Self {
            live: LiveChannel {
                channel,
                stream_key: String::new(),
                recording: None,
            },
            context,
            emit,
            limits,
            waiting: None,
            expiring: Vec::new(),
        }
    }

    fn run(mut self, publishes: &mpsc::Receiver<Publish>) {
        loop {
            let next = match &self.waiting {
                None => publishes.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(waiting) => publishes
                    .recv_timeout(waiting.deadline.saturating_duration_since(Instant::now())),
            };
            match next {
                Ok(publish) => {
                    let stream_id = publish.stream_id.clone();
                    // A bug in one stream's handling ends that stream, not the channel.
                    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| self.stream(publish))) {
                        let why = panic_message(panic.as_ref());
                        tracing::error!(stream = %stream_id, "the stream's recorder panicked: {why}");
                        self.emit.stream(
                            &stream_id,
                            StreamEvent::StreamFailure,
                            Some("internal error".to_owned()),
                        );
                        self.end_session(&stream_id, true);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    if let Some(waiting) = self.waiting.take() {
                        self.finalise(waiting.open);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        if let Some(waiting) = self.waiting.take() {
            self.finalise(waiting.open);
        }
        for (stop, thread) in self.expiring.drain(..) {
            drop(stop);
            let _ = thread.join();
        }
    }

    fn stream(&mut self, publish: Publish) {
        let stream_id = publish.stream_id.clone();
        let playback = publish.playback;
        // The channel may have changed (UpdateChannel) since its last publish.
        self.limits = IngestLimits::for_channel(publish.channel.channel.channel_type);
        self.emit.channel = publish.channel.channel.clone();
        self.live = publish.channel;
        let source = format!("stream {stream_id} on channel {}", self.live.channel.name);
        let mut input = match LiveInput::probe(
            publish.messages,
            source,
            Some(self.limits.max_bitrate_bps),
        ) {
            Ok(input) => input,
            Err(err) => {
                tracing::warn!(stream = %stream_id, "closing the connection: {}", error_chain(&err));
                self.emit.stream(
                    &stream_id,
                    StreamEvent::StreamFailure,
                    Some(err.to_string()),
                );
                self.end_session(&stream_id, false);
                return;
            }
        };
        let probed = input.probed().clone();
        self.context
            .sessions
            .set_ingest(&stream_id, IngestConfigurations::from_probe(&probed, 0));
        if let Some(breach) = resolution_breach(probed.width, probed.height) {
            tracing::warn!(
                stream = %stream_id,
                "closing the connection: {}x{} is over the ingest resolution limit",
                probed.width,
                probed.height
            );
            self.emit.limit(&stream_id, &breach);
            self.end_session(&stream_id, false);
            return;
        }
        self.emit.stream(&stream_id, StreamEvent::StreamStart, None);
        let stream_started_at = self.context.clock.now();
        let mut open = self.recording_for(&stream_id, &input);
        match &mut open {
            Some(open) => {
                let hook = self.context.hooks.before_recording.clone();
                let recorded = catch_unwind(AssertUnwindSafe(|| {
                    if let Some(hook) = hook {
                        hook(&self.live.channel.name);
                    }
                    playback.set_recorded_at(&open.session.bucket, &open.session.prefix);
                    open.recording.set_live_window(Some(playback));
                    open.recording
                        .record_stream(&mut input, stream_started_at, None);
                    open.recording.set_live_window(None);
                }));
                if let Err(panic) = recorded {
                    // Contained: the recording ends as failed, keeping what was stored.
                    let why = panic_message(panic.as_ref());
                    tracing::error!(stream = %stream_id, "recording the stream panicked: {why}");
                    open.recording.fail(Failure::new(
                        FailureKind::Internal,
                        format!("the recorder panicked: {why}"),
                    ));
                }
            }
            None => while let Ok(Some(_)) = input.next_packet() {},
        }
        if let Some(measured) = input.breach() {
            if let Some(breach) = bitrate_breach(self.limits, measured.measured_bps) {
                tracing::warn!(
                    stream = %stream_id,
                    "closing the connection: {} bps is over the channel's ingest bitrate limit",
                    measured.measured_bps
                );
                self.emit.limit(&stream_id, &breach);
            }
        } else if let Some(reason) = input.stopped_by() {
            // A message that cannot be recorded (audio that is not AAC, a broken tag) fails the
            // stream and its recording; what was stored stays.
            tracing::warn!(stream = %stream_id, "closing the connection: {reason}");
            self.emit.stream(
                &stream_id,
                StreamEvent::StreamFailure,
                Some(reason.to_owned()),
            );
            if let Some(open) = &mut open {
                open.recording
                    .fail(Failure::new(FailureKind::Input, reason.to_owned()));
            }
        }
        if probed.metadata.video_bitrate_kbps.is_none() {
            // The publisher did not declare its bitrate: report the measured one.
            self.context.sessions.set_ingest(
                &stream_id,
                IngestConfigurations::from_probe(&probed, input.measured_bitrate_bps()),
            );
        }
        // Dropping the input closes the queue: the connection ends if it has not already.
        drop(input);
        self.end_session(&stream_id, true);
        if let Some(open) = open {
            let window = self
                .live
                .recording
                .as_ref()
                .map_or(0, |c| c.recording_reconnect_window_seconds);
            if window == 0 || open.recording.failure().is_some() {
                self.finalise(open);
            } else {
                self.waiting = Some(Waiting {
                    open,
                    deadline: Instant::now() + Duration::from_secs(u64::from(window)),
                });
            }
        }
    }

    /// The recording this stream goes into: the waiting one when eligible, else a new one;
    /// `None` when the channel does not record or the recording cannot start.
    fn recording_for(&mut self, stream_id: &str, input: &LiveInput) -> Option<OpenRecording> {
        let configuration = self.live.recording.clone()?;
        if configuration.state != RecordingConfigurationState::Active {
            // D15: only an ACTIVE configuration records.
            let bucket = configuration
                .destination_configuration
                .s3
                .as_ref()
                .map_or_else(String::new, |s3| s3.bucket_name.clone());
            self.start_failure(
                stream_id,
                &bucket,
                &format!(
                    "the recording configuration {} is not ACTIVE",
                    configuration.arn
                ),
            );
            return None;
        }
        let profile = StreamProfile::of(input.probed(), input.measured_bitrate_bps());
        if let Some(waiting) = self.waiting.take() {
            let open = waiting.open;
            match merge_eligibility(
                &open.session.first,
                &profile,
                open.session.stream_ids.len(),
                open.session.opened.elapsed(),
            ) {
                Ok(()) => {
                    let mut open = open;
                    open.session.stream_ids.push(stream_id.to_owned());
                    tracing::info!(
                        stream = stream_id,
                        prefix = open.recording.prefix().as_str(),
                        "the stream continues the recording (reconnect window)"
                    );
                    self.emit
                        .recording(&open.session, stream_id, (RecordingEvent::Start, ""), 0);
                    return Some(open);
                }
                Err(why) => {
                    tracing::info!(
                        stream = stream_id,
                        "a new recording: the stream cannot continue the last one, {why}"
                    );
                    self.expire_later(open, waiting.deadline);
                }
            }
        }
        let bucket_name = configuration
            .destination_configuration
            .s3
            .as_ref()
            .map_or_else(String::new, |s3| s3.bucket_name.clone());
        let bucket = match self.context.store.bucket(&bucket_name) {
            Ok(bucket) => bucket,
            Err(err) => {
                self.start_failure(stream_id, &bucket_name, &error_chain(&err));
                return None;
            }
        };
        if let Err(err) = bucket.check_blocking(&self.context.runtime) {
            self.start_failure(stream_id, &bucket_name, &error_chain(&err));
            return None;
        }
        let target = RecordingTarget {
            channel: self.live.channel.clone(),
            configuration,
            bucket,
            clock: self.context.clock.clone(),
            writer_policy: self.context.writer_policy.clone(),
            encoding: self.context.encoding.clone(),
        };
        let plan = Plan::new(&target.channel, &target.configuration, input.info());
        match Recording::open(&target, plan, &self.context.runtime) {
            Ok(recording) => {
                let session = RecordingSession {
                    session_id: random_alphanumeric(16),
                    stream_ids: vec![stream_id.to_owned()],
                    first: profile,
                    opened: Instant::now(),
                    bucket: bucket_name,
                    prefix: recording.prefix().as_str().to_owned(),
                };
                self.emit
                    .recording(&session, stream_id, (RecordingEvent::Start, ""), 0);
                let journaled = self.context.journal.as_ref().and_then(|journal| {
                    journal.opened(&OpenRecordingEntry {
                        store: self.context.store.location().to_string(),
                        bucket: session.bucket.clone(),
                        prefix: session.prefix.clone(),
                        started: recording.started_document(),
                    })
                });
                let open = OpenRecording {
                    recording,
                    session,
                    journaled,
                };
                Some(open)
            }
            Err(err) => {
                self.start_failure(stream_id, &bucket_name, &error_chain(&err));
                None
            }
        }
    }

    /// Finalises `open` at `deadline`, or at once when the channel closes.
    fn expire_later(&mut self, open: OpenRecording, deadline: Instant) {
        let (stop, stopped) = mpsc::channel::<()>();
        let emit = self.emit.clone();
        let thread = std::thread::Builder::new()
            .name("recording window".into())
            .spawn(move || {
                let _ = stopped.recv_timeout(deadline.saturating_duration_since(Instant::now()));
                finalise(open, &emit);
            })
            .expect("the OS can start a thread");
        self.expiring.push((stop, thread));
    }

    fn finalise(&self, open: OpenRecording) {
        finalise(open, &self.emit);
    }

    fn start_failure(&self, stream_id: &str, bucket: &str, why: &str) {
        tracing::warn!(stream = stream_id, "the stream is not recorded: {why}");
        self.emit.emit(Detail::Recording(RecordingDetail {
            recording_status: RecordingEvent::StartFailure,
            recording_status_reason: "ValidationException".to_owned(),
            recording_s3_bucket_name: bucket.to_owned(),
            recording_s3_key_prefix: String::new(),
            recording_duration_ms: 0,
            channel_name: self.live.channel.name.clone(),
            stream_id: stream_id.to_owned(),
            recording_session_id: String::new(),
            recording_session_stream_ids: vec![stream_id.to_owned()],
        }));
    }

    /// `Session Ended`, then `Stream End` when the stream had started.
    fn end_session(&self, stream_id: &str, started: bool) {
        self.emit.stream(stream_id, StreamEvent::SessionEnded, None);
        if started {
            self.emit.stream(stream_id, StreamEvent::StreamEnd, None);
        }
        self.context
            .sessions
            .end(stream_id, self.context.clock.now());
    }
}

/// Ends a recording and emits `Recording End` (or `Recording End Failure` with the failure's
/// reason).
fn finalise(open: OpenRecording, emit: &ChannelEvents) {
    let OpenRecording {
        recording,
        session,
        journaled,
    } = open;
    let prefix = session.prefix.as_str();
    let duration = recording.duration_ms();
    let failed = |failure: &Failure| (RecordingEvent::EndFailure, failure.kind.exception_name());
    let (outcome, duration_ms) = match recording.finish() {
        Ok(closed) => match &closed.result {
            RecordingResult::Ended => ((RecordingEvent::End, ""), closed.media.duration_ms),
            RecordingResult::Failed(failure) => {
                tracing::warn!(prefix, "the recording failed: {failure}");
                (failed(failure), closed.media.duration_ms)
            }
        },
        Err(err) => {
            let failure = Failure::from_error(FailureKind::Store, &err);
            tracing::warn!(prefix, "the recording could not be finished: {failure}");
            (failed(&failure), duration)
        }
    };
    tracing::info!(prefix, duration_ms, "recording finalised");
    if let Some(ticket) = journaled {
        ticket.close();
    }
    let last_stream = session.stream_ids.last().cloned().unwrap_or_default();
    emit.recording(&session, &last_stream, outcome, duration_ms);
}

/// The message a panic carried, when it is text.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}
