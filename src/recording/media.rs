//! The media of one recording, stream by stream: every video and audio packet goes to the HLS
//! output and the thumbnails; each stream's timeline (first keyframe to the end of the last
//! frame) adds to the duration. A recording usually holds one stream; a publisher that reconnects
//! inside the reconnect window adds more (D9): segment and thumbnail numbers continue, the first
//! segment of each later stream follows a discontinuity. A read error or a store that gave up
//! make it a failure, keeping everything recorded before.

use std::sync::Arc;

use ffmpeg::util::frame::video::Video as VideoFrame;
use ffmpeg_next as ffmpeg;
use time::OffsetDateTime;

use super::hls_output::{HlsOutput, HlsSetup};
use super::recorder::ProgressCallback;
use crate::hls::publisher::HlsPublisher;
use crate::ingest::{InputInfo, InputPacket, PacketSource};
use crate::pipeline::decode::VideoDecoder;
use crate::storage::ArtifactSender;
use crate::thumbnail::worker::ThumbnailWorker;
use crate::thumbnail::{SampledFrame, SamplerStats, ThumbnailSampler, ThumbnailSchedule};
use crate::time::Clock;

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
    pub failure: Option<String>,
}

/// What one stream added.
#[derive(Debug, Clone, Default)]
pub struct StreamReport {
    /// Media duration of this stream in ms.
    pub duration_ms: u64,
    /// Whether the stream had a video keyframe (without one nothing was recorded).
    pub had_keyframe: bool,
}

/// The media timeline of one stream: first keyframe to the end of the last frame.
struct Timeline {
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
pub struct RecordingMedia {
    setup: MediaSetup,
    /// HLS state carried from one stream to the next.
    publisher: Option<HlsPublisher>,
    thumbnails_taken: u64,
    result: MediaResult,
}

impl std::fmt::Debug for RecordingMedia {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingMedia")
            .field("result", &self.result)
            .finish_non_exhaustive()
    }
}

impl RecordingMedia {
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

    /// Why the recording has failed, once it has.
    pub fn failure(&self) -> Option<&str> {
        self.result.failure.as_deref()
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
        let mut stream = StreamMedia {
            timeline: Timeline::new(&info),
            hls: None,
            tap: None,
            decoder,
            worker_alive: true,
        };
        let total_seconds = info.declared_duration_ms.map(|ms| ms as f64 / 1000.0);
        let failure = loop {
            let packet = match source.next_packet() {
                Ok(Some(InputPacket::Video(packet))) => packet,
                Ok(Some(InputPacket::Audio(packet))) => {
                    if let Some(output) = &mut stream.hls
                        && let Err(err) = output.push_audio(&packet)
                    {
                        break Some(error_chain(&err));
                    }
                    continue;
                }
                Ok(None) => break None,
                Err(err) => break Some(error_chain(&err)),
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
            if !stream.worker_alive {
                break None;
            }
            if self.setup.store.store_gave_up() {
                break Some("the store stayed unreachable past the deadline".to_owned());
            }
        };
        if let Some(failure) = failure {
            self.result.failure.get_or_insert(failure);
        }
        self.end_stream(stream, &info)
    }

    fn push_video(
        &mut self,
        stream: &mut StreamMedia,
        info: &InputInfo,
        packet: ffmpeg::Packet,
        started_at: OffsetDateTime,
    ) -> Result<(), String> {
        if !stream.timeline.extend(&packet) {
            return Ok(());
        }
        let start = stream.timeline.start.unwrap_or_default();
        if stream.hls.is_none()
            && let Some(setup) = self.setup.hls.clone()
        {
            let output = HlsOutput::start(
                setup,
                info,
                start,
                self.publisher.take(),
                started_at,
                self.setup.store.clone(),
                self.setup.clock.clone(),
            )
            .map_err(|err| error_chain(&err))?;
            stream.hls = Some(output);
        }
        if stream.tap.is_none() && self.setup.worker.is_some() {
            let schedule =
                ThumbnailSchedule::new(start, self.setup.interval_seconds, info.video.time_base)
                    .numbered_from(self.thumbnails_taken);
            stream.tap = Some(match stream.decoder.take() {
                Some(decoder) => ThumbnailTap::Gated(ThumbnailSampler::new(
                    decoder,
                    schedule,
                    self.setup.keyframes_only,
                )),
                None => ThumbnailTap::Frames(schedule),
            });
        }
        let mut taken = Vec::new();
        if let Some(output) = &mut stream.hls {
            let tap = &mut stream.tap;
            let mut on_frame =
                |frame: &VideoFrame, pts: i64| sample_frame(tap.as_mut(), frame, pts, &mut taken);
            output
                .push_video(&packet, &mut on_frame)
                .map_err(|err| error_chain(&err))?;
        }
        if let Some(ThumbnailTap::Gated(sampler)) = &mut stream.tap {
            taken.extend(sampler.push(packet));
        }
        stream.worker_alive &= hand_over(taken, self.setup.worker.as_ref());
        Ok(())
    }

    fn end_stream(&mut self, mut stream: StreamMedia, info: &InputInfo) -> StreamReport {
        let mut taken = Vec::new();
        if let Some(output) = stream.hls.take() {
            let tap = &mut stream.tap;
            let mut on_frame =
                |frame: &VideoFrame, pts: i64| sample_frame(tap.as_mut(), frame, pts, &mut taken);
            match output.end_stream(stream.timeline.end, &mut on_frame) {
                Ok(publisher) => self.publisher = Some(publisher),
                Err(err) => {
                    self.result.failure.get_or_insert_with(|| error_chain(&err));
                }
            }
        }
        if let Some(ThumbnailTap::Gated(sampler)) = &mut stream.tap {
            taken.extend(sampler.finish());
        }
        hand_over(taken, self.setup.worker.as_ref());
        match &stream.tap {
            Some(ThumbnailTap::Gated(sampler)) => {
                self.thumbnails_taken += sampler.taken();
                let stats = sampler.stats();
                let total = &mut self.result.sampler;
                total.packets += stats.packets;
                total.decoded += stats.decoded;
                total.decode_errors += stats.decode_errors;
                total.taken += stats.taken;
            }
            Some(ThumbnailTap::Frames(schedule)) => self.thumbnails_taken += schedule.taken(),
            None => {}
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
        }
    }

    /// Ends the recording: the final playlists (ENDLIST) and the last thumbnails are stored.
    pub fn finish(mut self) -> MediaResult {
        if let Some(mut publisher) = self.publisher.take()
            && let Err(err) = publisher.finish(&self.setup.store, self.setup.clock.as_ref())
        {
            self.result.failure.get_or_insert_with(|| error_chain(&err));
        }
        self.result.thumbnails = match self.setup.worker.take().map(ThumbnailWorker::finish) {
            None => 0,
            Some(Ok(made)) => made,
            Some(Err(err)) => {
                self.result.failure.get_or_insert_with(|| error_chain(&err));
                0
            }
        };
        self.result
    }

    /// Marks the recording failed for `reason` (kept if it already failed).
    pub fn fail(&mut self, reason: String) {
        self.result.failure.get_or_insert(reason);
    }
}

/// One stream being read.
struct StreamMedia {
    timeline: Timeline,
    hls: Option<HlsOutput>,
    tap: Option<ThumbnailTap>,
    decoder: Option<VideoDecoder>,
    worker_alive: bool,
}

/// Where thumbnail frames come from: a gated decoder of their own, or (when the ladder decodes
/// every frame anyway) the ladder's frames, picked by the schedule alone.
enum ThumbnailTap {
    Gated(ThumbnailSampler),
    Frames(ThumbnailSchedule),
}

/// Offers a ladder frame to the schedule; copies it out when it is a thumbnail.
fn sample_frame(
    tap: Option<&mut ThumbnailTap>,
    frame: &VideoFrame,
    pts: i64,
    taken: &mut Vec<SampledFrame>,
) {
    if let Some(ThumbnailTap::Frames(schedule)) = tap
        && let Some(number) = schedule.offer(pts)
    {
        taken.push(SampledFrame {
            number,
            pts,
            frame: frame.clone(),
        });
    }
}

/// Passes sampled frames to the thumbnail thread; `false` once it has stopped.
fn hand_over(frames: Vec<SampledFrame>, worker: Option<&ThumbnailWorker>) -> bool {
    let Some(worker) = worker else {
        return true;
    };
    frames.into_iter().all(|frame| worker.push(frame))
}

/// An error and its causes on one line.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
