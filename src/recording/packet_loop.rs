//! The packet loop of one recording, stream by stream: every video and audio packet goes through
//! the [`Pipeline`] into the HLS renditions and the thumbnail thread; each stream's timeline
//! (first keyframe to the end of the last frame) adds to the duration. A recording usually holds one stream; a publisher that reconnects
//! inside the reconnect window adds more (D9): segment and thumbnail numbers continue, the first
//! segment of each later stream follows a discontinuity. A read error or a store that gave up
//! make it a failure, keeping everything recorded before.

use std::sync::Arc;

use ffmpeg_next as ffmpeg;
use time::OffsetDateTime;

use crate::av::decode::VideoDecoder;
use crate::error::{Failure, FailureKind};
use crate::hls::live_window::LiveWindow;
use crate::hls::output::{HlsError, HlsOutput, HlsSetup};
use crate::hls::publisher::HlsPublisher;
use crate::hls::rendition::VideoArrival;
use crate::ingest::{InputInfo, InputPacket, PacketSource};
use crate::model::EncoderSettings;
use crate::pipeline::rung::RungUsage;
use crate::pipeline::thumbnail_tap::ThumbnailTap;
use crate::pipeline::{Pipeline, PipelineReport, PipelineSink};
use crate::recording::retime::Retimer;
use crate::storage::ArtifactSender;
use crate::thumbnail::worker::{ThumbnailWorker, ThumbnailWorkerError};
use crate::thumbnail::{SampledFrame, SamplerStats, ThumbnailSampler, ThumbnailSchedule};
use crate::time::Clock;
use crate::timeline::Track;

/// Receives (media seconds done, total media seconds when the input declares them).
pub type ProgressCallback = Box<dyn FnMut(f64, Option<f64>) + Send>;

/// What the media of a whole recording came to.
#[derive(Debug, Clone, Default)]
pub struct MediaResult {
    /// Media duration in ms, all streams.
    pub duration_ms: u64,
    /// Thumbnails stored.
    pub thumbnails: u64,
    /// Decoding work done for thumbnails.
    pub sampler: SamplerStats,
    /// Why the recording failed, when it did.
    pub failure: Option<Failure>,
    /// What each transcoded rung did and cost over every stream, largest first.
    pub rungs: Vec<RungUsage>,
}

/// What one stream added.
#[derive(Debug, Clone, Default)]
pub struct StreamReport {
    /// Media duration of this stream in ms.
    pub duration_ms: u64,
    /// Whether the stream had a video keyframe (without one nothing was recorded).
    pub had_keyframe: bool,
    /// How many times its timestamps went back or jumped ahead (and were re-timed).
    pub discontinuities: u32,
    /// Media before the first keyframe, in ms (not recordable: the input starts mid-GOP).
    pub lead_in_ms: u64,
}

/// The media timeline of one stream: first keyframe to the end of the last frame.
struct Timeline {
    /// The first video timestamp read, keyframe or not.
    first_seen: Option<i64>,
    start: Option<i64>,
    end: i64,
    frame_ticks: i64,
}

impl Timeline {
    fn new(info: &InputInfo) -> Self {
        let tb = info.video.time_base;
        let frame_ticks =
            (tb.denominator as f64 / (tb.numerator as f64 * info.video.frame_rate)).round() as i64;
        Self {
            first_seen: None,
            start: None,
            end: 0,
            frame_ticks: frame_ticks.max(1),
        }
    }

    /// Extends the timeline by `packet`; `false` for packets before the first keyframe.
    fn extend(&mut self, packet: &ffmpeg::Packet) -> bool {
        let Some(pts) = packet.pts().or(packet.dts()) else {
            return self.start.is_some();
        };
        self.first_seen.get_or_insert(pts);
        if self.start.is_none() {
            if !packet.is_key() {
                return false;
            }
            self.start = Some(pts);
            self.end = pts;
        }
        let duration = if packet.duration() > 0 {
            packet.duration()
        } else {
            self.frame_ticks
        };
        self.end = self.end.max(pts + duration);
        true
    }

    fn duration_ticks(&self) -> i64 {
        self.start.map_or(0, |start| self.end - start)
    }

    /// Media before the first keyframe, which cannot be recorded (an input that starts mid-GOP).
    fn lead_in_ticks(&self) -> i64 {
        match (self.first_seen, self.start) {
            (Some(first), Some(start)) => (start - first).max(0),
            _ => 0,
        }
    }
}

/// Where the media of a recording goes.
pub struct MediaSetup {
    /// HLS output; `None` when no rendition is recorded.
    pub hls: Option<HlsSetup>,
    /// The thumbnail thread; `None` when thumbnails are disabled.
    pub worker: Option<ThumbnailWorker>,
    /// `targetIntervalSeconds`.
    pub interval_seconds: u32,
    /// The BASIC rule (D7): thumbnails only from keyframes.
    pub keyframes_only: bool,
    /// Queue of objects to store.
    pub store: ArtifactSender,
    /// Wall clock for playlists.
    pub clock: Arc<dyn Clock>,
    /// How the transcoded rungs are encoded.
    pub encoding: Arc<EncoderSettings>,
    /// The channel's name: the label of the rungs' encode speed in `/metrics`.
    pub label: String,
}

impl std::fmt::Debug for MediaSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaSetup")
            .field("hls", &self.hls)
            .field("interval_seconds", &self.interval_seconds)
            .finish_non_exhaustive()
    }
}

/// The media side of one recording, fed one stream after another.
pub struct PacketLoop {
    setup: MediaSetup,
    /// HLS state carried from one stream to the next.
    publisher: Option<HlsPublisher>,
    thumbnails_taken: u64,
    result: MediaResult,
}

impl std::fmt::Debug for PacketLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PacketLoop")
            .field("result", &self.result)
            .finish_non_exhaustive()
    }
}

/// One stream being read: its timeline, and from its first keyframe on, its pipeline and HLS.
struct StreamState {
    timeline: Timeline,
    /// The thumbnail decoder, until the pipeline takes it.
    decoder: Option<VideoDecoder>,
    pipeline: Option<Pipeline>,
    hls: Option<HlsOutput>,
    /// The pts of the latest video packet recorded: where timed metadata goes.
    last_video_pts: Option<i64>,
    /// Keeps the input's timestamps moving forward.
    retimer: Retimer,
}

/// What the pipeline's output goes into: the stream's HLS renditions and the thumbnail thread.
struct RecordingSink<'a> {
    hls: Option<&'a mut HlsOutput>,
    worker: &'a mut Option<ThumbnailWorker>,
}

impl<'a> RecordingSink<'a> {
    fn new(hls: &'a mut Option<HlsOutput>, worker: &'a mut Option<ThumbnailWorker>) -> Self {
        Self {
            hls: hls.as_mut(),
            worker,
        }
    }
}

impl PipelineSink for RecordingSink<'_> {
    fn video(&mut self, rendition: usize, packet: &ffmpeg::Packet) -> Result<(), Failure> {
        match &mut self.hls {
            Some(hls) => hls.push_video(rendition, packet).map_err(hls_failure),
            None => Ok(()),
        }
    }

    fn audio(&mut self, rendition: usize, packet: &ffmpeg::Packet) -> Result<(), Failure> {
        match &mut self.hls {
            Some(hls) => hls.push_audio(rendition, packet).map_err(hls_failure),
            None => Ok(()),
        }
    }

    fn thumbnail(&mut self, frame: SampledFrame) -> Result<(), Failure> {
        let Some(worker) = self.worker.as_ref() else {
            return Ok(());
        };
        if worker.push(frame) {
            return Ok(());
        }
        // The thread stopped: its own error says why.
        let stopped = self.worker.take().map(ThumbnailWorker::finish);
        Err(match stopped {
            Some(Err(err)) => thumbnail_failure(&err),
            _ => Failure::new(FailureKind::Processing, "the thumbnail thread stopped"),
        })
    }
}

impl PacketLoop {
    /// A recording with no stream yet.
    pub fn new(setup: MediaSetup) -> Self {
        Self {
            setup,
            publisher: None,
            thumbnails_taken: 0,
            result: MediaResult::default(),
        }
    }

    /// Media recorded so far, in ms.
    pub fn duration_ms(&self) -> u64 {
        self.result.duration_ms
    }

    /// Feeds live playback of the next streams into `live` (or stops feeding it).
    pub fn set_live_window(&mut self, live: Option<Arc<LiveWindow>>) {
        if let Some(hls) = &mut self.setup.hls {
            hls.live = live;
        }
    }

    /// Why the recording has failed, once it has.
    pub fn failure(&self) -> Option<&Failure> {
        self.result.failure.as_ref()
    }

    /// Whether the store gave up on this recording's objects.
    pub fn store_gave_up(&self) -> bool {
        self.setup.store.store_gave_up()
    }

    /// Reads `source` to its end (or to a failure). `decoder` is the thumbnail decoder when
    /// [`super::Plan::thumbnail_decoder`]; `started_at` is the wall-clock time of its first frame.
    pub fn record_stream<S: PacketSource>(
        &mut self,
        source: &mut S,
        decoder: Option<VideoDecoder>,
        started_at: OffsetDateTime,
        mut progress: Option<&mut ProgressCallback>,
    ) -> StreamReport {
        let info = source.info().clone();
        let mut stream = StreamState {
            timeline: Timeline::new(&info),
            decoder,
            pipeline: None,
            hls: None,
            last_video_pts: None,
            retimer: Retimer::new(&info),
        };
        let total_seconds = info.declared_duration_ms.map(|ms| ms as f64 / 1000.0);
        let failure = loop {
            let packet = match source.next_packet() {
                Ok(Some(InputPacket::Video(mut packet))) => {
                    stream.retimer.retime(Track::Video, &mut packet);
                    packet
                }
                Ok(Some(InputPacket::Audio(mut packet))) => {
                    stream.retimer.retime(Track::Audio, &mut packet);
                    if let Err(failure) = self.push_audio(&mut stream, &packet) {
                        break Some(failure);
                    }
                    continue;
                }
                Ok(Some(InputPacket::TimedMetadata(payload))) => {
                    if let Err(failure) = insert_metadata(&mut stream, &payload) {
                        break Some(failure);
                    }
                    continue;
                }
                Ok(None) => break None,
                Err(err) => break Some(Failure::from_error(FailureKind::Input, &err)),
            };
            if let Err(failure) = self.push_video(&mut stream, &info, packet, started_at) {
                break Some(failure);
            }
            if let Some(progress) = progress.as_mut() {
                progress(
                    info.video
                        .time_base
                        .ticks_to_seconds(stream.timeline.duration_ticks()),
                    total_seconds,
                );
            }
            if self.setup.store.store_gave_up() {
                break Some(Failure::new(
                    FailureKind::Store,
                    "the store stayed unreachable past the deadline",
                ));
            }
        };
        if let Some(failure) = failure {
            self.result.failure.get_or_insert(failure);
        }
        self.end_stream(stream, &info)
    }

    fn push_audio(
        &mut self,
        stream: &mut StreamState,
        packet: &ffmpeg::Packet,
    ) -> Result<(), Failure> {
        let Some(pipeline) = &mut stream.pipeline else {
            return Ok(());
        };
        let mut sink = RecordingSink::new(&mut stream.hls, &mut self.setup.worker);
        pipeline.push_audio(packet, &mut sink)
    }

    fn push_video(
        &mut self,
        stream: &mut StreamState,
        info: &InputInfo,
        packet: ffmpeg::Packet,
        started_at: OffsetDateTime,
    ) -> Result<(), Failure> {
        if !stream.timeline.extend(&packet) {
            return Ok(());
        }
        stream.last_video_pts = packet.pts().or(packet.dts()).or(stream.last_video_pts);
        if stream.pipeline.is_none() {
            let start = stream.timeline.start.unwrap_or_default();
            self.start_stream(stream, info, start, started_at)?;
        }
        let Some(pipeline) = &mut stream.pipeline else {
            return Ok(());
        };
        let mut sink = RecordingSink::new(&mut stream.hls, &mut self.setup.worker);
        pipeline.push_video(packet, &mut sink)
    }

    /// At the stream's first keyframe (pts `start`): its pipeline, HLS output and thumbnail tap.
    fn start_stream(
        &mut self,
        stream: &mut StreamState,
        info: &InputInfo,
        start: i64,
        started_at: OffsetDateTime,
    ) -> Result<(), Failure> {
        let tap = self.setup.worker.as_ref().map(|_| {
            let schedule =
                ThumbnailSchedule::new(start, self.setup.interval_seconds, info.video.time_base)
                    .numbered_from(self.thumbnails_taken);
            match stream.decoder.take() {
                Some(decoder) => ThumbnailTap::Gated(ThumbnailSampler::new(
                    decoder,
                    schedule,
                    self.setup.keyframes_only,
                )),
                None => ThumbnailTap::Frames(schedule),
            }
        });
        let renditions = self
            .setup
            .hls
            .as_ref()
            .map_or_else(Vec::new, |hls| hls.renditions.clone());
        let pipeline = Pipeline::start(
            &renditions,
            &self.setup.encoding,
            info,
            tap,
            &self.setup.label,
        )
        .map_err(|err| Failure::from_error(FailureKind::Processing, &err))?;
        if let Some(setup) = self.setup.hls.clone() {
            stream.hls = Some(HlsOutput::start(
                setup,
                pipeline
                    .streams()
                    .iter()
                    .enumerate()
                    .map(|(rendition, streams)| {
                        let arrival = if pipeline.is_encoded(rendition) {
                            VideoArrival::FromEncoder
                        } else {
                            VideoArrival::InStep
                        };
                        (streams.clone(), arrival)
                    })
                    .collect(),
                start,
                self.publisher.take(),
                started_at,
                self.setup.store.clone(),
                self.setup.clock.clone(),
            ));
        }
        stream.pipeline = Some(pipeline);
        Ok(())
    }

    fn end_stream(&mut self, mut stream: StreamState, info: &InputInfo) -> StreamReport {
        if let Some(pipeline) = stream.pipeline.take() {
            let mut sink = RecordingSink::new(&mut stream.hls, &mut self.setup.worker);
            match pipeline.finish(&mut sink) {
                Ok(report) => self.add_pipeline_report(report),
                Err(failure) => {
                    self.result.failure.get_or_insert(failure);
                }
            }
        }
        if let Some(output) = stream.hls.take() {
            match output.end_stream(stream.timeline.end) {
                Ok(publisher) => self.publisher = Some(publisher),
                Err(err) => {
                    self.result.failure.get_or_insert(hls_failure(err));
                }
            }
        }
        let duration_ms = u64::try_from(
            info.video
                .time_base
                .ticks_to_millis(stream.timeline.duration_ticks()),
        )
        .unwrap_or(0);
        self.result.duration_ms += duration_ms;
        StreamReport {
            duration_ms,
            had_keyframe: stream.timeline.start.is_some(),
            discontinuities: stream.retimer.discontinuities(),
            lead_in_ms: u64::try_from(
                info.video
                    .time_base
                    .ticks_to_millis(stream.timeline.lead_in_ticks()),
            )
            .unwrap_or(0),
        }
    }

    fn add_pipeline_report(&mut self, report: PipelineReport) {
        self.thumbnails_taken += report.taken;
        for usage in &report.rungs {
            match self
                .result
                .rungs
                .iter_mut()
                .find(|known| known.rendition == usage.rendition)
            {
                Some(known) => known.add(usage),
                None => self.result.rungs.push(usage.clone()),
            }
        }
        if let Some(stats) = report.sampler {
            let total = &mut self.result.sampler;
            total.packets += stats.packets;
            total.decoded += stats.decoded;
            total.decode_errors += stats.decode_errors;
            total.taken += stats.taken;
        }
    }

    /// Ends the recording: the final playlists (ENDLIST) and the last thumbnails are stored.
    pub fn finish(mut self) -> MediaResult {
        if let Some(mut publisher) = self.publisher.take()
            && let Err(err) = publisher.finish(&self.setup.store, self.setup.clock.as_ref())
        {
            self.result
                .failure
                .get_or_insert(Failure::from_error(FailureKind::Store, &err));
        }
        self.result.thumbnails = match self.setup.worker.take().map(ThumbnailWorker::finish) {
            None => self.result.thumbnails,
            Some(Ok(made)) => made,
            Some(Err(err)) => {
                self.result.failure.get_or_insert(thumbnail_failure(&err));
                0
            }
        };
        self.result
    }

    /// Marks the recording failed (kept if it already failed).
    pub fn fail(&mut self, failure: Failure) {
        self.result.failure.get_or_insert(failure);
    }
}

/// Puts a `PutMetadata` payload into the stream's renditions at its latest video pts; before the
/// first keyframe there is no segment to carry it and it is dropped, as a log line says.
fn insert_metadata(stream: &mut StreamState, payload: &str) -> Result<(), Failure> {
    let (Some(hls), Some(pts)) = (&mut stream.hls, stream.last_video_pts) else {
        tracing::info!("timed metadata before the stream's first keyframe is dropped");
        return Ok(());
    };
    hls.insert_metadata(payload, pts)
        .map(drop)
        .map_err(hls_failure)
}

fn hls_failure(err: HlsError) -> Failure {
    let kind = match err {
        HlsError::Storage(_) => FailureKind::Store,
        HlsError::Mux(_) => FailureKind::Processing,
    };
    Failure::from_error(kind, &err)
}

fn thumbnail_failure(err: &ThumbnailWorkerError) -> Failure {
    let kind = match err {
        ThumbnailWorkerError::Storage(_) => FailureKind::Store,
        ThumbnailWorkerError::Thumbnail(_) => FailureKind::Processing,
        ThumbnailWorkerError::Panicked => FailureKind::Internal,
    };
    Failure::from_error(kind, err)
}
