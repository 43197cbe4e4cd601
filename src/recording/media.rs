//! Reading one input to its end: every video and audio packet goes to the HLS output and the
//! thumbnails; the media timeline (first keyframe to the end of the last frame) gives the
//! duration; a read error, a store that gave up or a truncated file make it a failure, keeping
//! everything recorded before.

use std::sync::Arc;

use ffmpeg::util::frame::video::Video as VideoFrame;
use ffmpeg_next as ffmpeg;

use super::hls_output::{HlsOutput, HlsSetup};
use super::recorder::ProgressCallback;
use crate::ingest::{FileInput, InputInfo, InputPacket};
use crate::pipeline::decode::VideoDecoder;
use crate::storage::ArtifactSender;
use crate::thumbnail::worker::ThumbnailWorker;
use crate::thumbnail::{SampledFrame, SamplerStats, ThumbnailSampler, ThumbnailSchedule};
use crate::time::Clock;

/// What reading the media produced.
pub(super) struct MediaResult {
    pub(super) duration_ms: u64,
    pub(super) thumbnails: u64,
    pub(super) sampler: SamplerStats,
    pub(super) failure: Option<String>,
}

/// The media timeline: first keyframe to the end of the last frame.
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

/// Where the media goes: thumbnails and HLS.
pub(super) struct Outputs {
    pub(super) sampling: Sampling,
    pub(super) hls: Option<HlsSetup>,
    pub(super) store: ArtifactSender,
    pub(super) clock: Arc<dyn Clock>,
}

/// How thumbnails are sampled; no decoder and no worker when thumbnails are disabled.
pub(super) struct Sampling {
    pub(super) decoder: Option<VideoDecoder>,
    pub(super) worker: Option<ThumbnailWorker>,
    pub(super) interval_seconds: u32,
    pub(super) keyframes_only: bool,
}

pub(super) fn record_media(
    input: &mut FileInput,
    info: &InputInfo,
    outputs: Outputs,
    mut progress: Option<&mut ProgressCallback>,
) -> MediaResult {
    let Outputs {
        sampling,
        hls: mut hls_setup,
        store,
        clock,
    } = outputs;
    let Sampling {
        mut decoder,
        worker,
        interval_seconds,
        keyframes_only,
    } = sampling;
    let total_seconds = info.declared_duration_ms.map(|ms| ms as f64 / 1000.0);
    let time_base = info.video.time_base;
    let mut timeline = Timeline::new(info);
    let mut hls: Option<HlsOutput> = None;
    let mut tap: Option<ThumbnailTap> = None;
    let mut failure = None;
    let mut worker_alive = true;
    loop {
        let packet = match input.next_packet() {
            Ok(Some(InputPacket::Video(packet))) => packet,
            Ok(Some(InputPacket::Audio(packet))) => {
                if let Some(output) = &mut hls
                    && let Err(err) = output.push_audio(&packet)
                {
                    failure = Some(error_chain(&err));
                    break;
                }
                continue;
            }
            Ok(None) => break,
            Err(err) => {
                failure = Some(error_chain(&err));
                break;
            }
        };
        if !timeline.extend(&packet) {
            continue;
        }
        if let (Some(start), Some(setup)) = (timeline.start, hls_setup.take()) {
            match HlsOutput::start(setup, info, start, store.clone(), clock.clone()) {
                Ok(output) => hls = Some(output),
                Err(err) => {
                    failure = Some(error_chain(&err));
                    break;
                }
            }
        }
        if let (Some(start), None, true) = (timeline.start, &tap, worker.is_some()) {
            tap = Some(match decoder.take() {
                Some(decoder) => ThumbnailTap::Gated(ThumbnailSampler::new(
                    decoder,
                    start,
                    interval_seconds,
                    time_base,
                    keyframes_only,
                )),
                None => {
                    ThumbnailTap::Frames(ThumbnailSchedule::new(start, interval_seconds, time_base))
                }
            });
        }
        let mut taken = Vec::new();
        if let Some(output) = &mut hls {
            let mut on_frame =
                |frame: &VideoFrame, pts: i64| sample_frame(tap.as_mut(), frame, pts, &mut taken);
            if let Err(err) = output.push_video(&packet, &mut on_frame) {
                failure = Some(error_chain(&err));
                break;
            }
        }
        if let Some(ThumbnailTap::Gated(sampler)) = &mut tap {
            taken.extend(sampler.push(packet));
        }
        worker_alive &= hand_over(taken, worker.as_ref());
        if let Some(progress) = progress.as_mut() {
            progress(
                time_base.ticks_to_seconds(timeline.duration_ticks()),
                total_seconds,
            );
        }
        if !worker_alive {
            break;
        }
        if store.store_gave_up() {
            failure = Some("the store stayed unreachable past the deadline".to_owned());
            break;
        }
    }
    let mut taken = Vec::new();
    if let Some(output) = hls {
        let mut on_frame =
            |frame: &VideoFrame, pts: i64| sample_frame(tap.as_mut(), frame, pts, &mut taken);
        if let Err(err) = output.finish(timeline.end, &mut on_frame) {
            failure.get_or_insert_with(|| error_chain(&err));
        }
    }
    if let Some(ThumbnailTap::Gated(sampler)) = &mut tap {
        taken.extend(sampler.finish());
    }
    hand_over(taken, worker.as_ref());
    let thumbnails = match worker.map(ThumbnailWorker::finish) {
        None => 0,
        Some(Ok(made)) => made,
        Some(Err(err)) => {
            failure.get_or_insert_with(|| error_chain(&err));
            0
        }
    };
    let duration_ms =
        u64::try_from(time_base.ticks_to_millis(timeline.duration_ticks())).unwrap_or(0);
    if timeline.start.is_none() {
        failure.get_or_insert_with(|| format!("{} has no decodable video keyframe", info.source));
    }
    if failure.is_none() {
        failure = truncation(info, duration_ms);
    }
    MediaResult {
        duration_ms,
        thumbnails,
        sampler: match tap {
            Some(ThumbnailTap::Gated(sampler)) => sampler.stats(),
            _ => SamplerStats::default(),
        },
        failure,
    }
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

/// A file whose media stops well short of the duration its container declares was cut off.
fn truncation(info: &InputInfo, duration_ms: u64) -> Option<String> {
    let declared = u64::try_from(info.declared_duration_ms?).ok()?;
    let tolerance = (declared / 50).max(1000);
    (declared > duration_ms + tolerance).then(|| {
        format!(
            "{} ends after {:.3} s of media but its container declares {:.3} s: the file is truncated or corrupt",
            info.source,
            duration_ms as f64 / 1000.0,
            declared as f64 / 1000.0,
        )
    })
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
