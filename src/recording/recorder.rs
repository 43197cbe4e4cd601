//! Records a media file: plans the renditions and thumbnails from the input, then writes, in the
//! order of decision D13, `events/ivs-check`, `events/recording-started.json`, the thumbnails as
//! they are made, and `events/recording-ended.json` (or `recording-failed.json` when the input
//! breaks part-way, keeping everything recorded until then).
//!
//! Media work runs on the calling thread (demux, decode) and a thumbnail thread (scale, JPEG);
//! storage runs on the async runtime behind one ordered writer.

use std::path::PathBuf;
use std::sync::Arc;

use ffmpeg_next as ffmpeg;
use tokio::runtime::Handle;

use super::hls_output::{HlsOutput, HlsSetup};
use super::metadata::{Ending, RecordingFacts};
use crate::ids::{ChannelArn, new_recording_id};
use crate::ingest::{FileInput, InputError, InputInfo, InputPacket};
use crate::ladder::{Ladder, Rendition, SourceVideo, VideoSource};
use crate::layout::RecordingPrefix;
use crate::model::{Channel, ChannelType, RecordingConfiguration, ValidationError};
use crate::pipeline::decode::{DecodeError, VideoDecoder};
use crate::storage::{
    Artifact, ArtifactSender, ArtifactWriter, Bucket, StorageError, WriteReport, WriterPolicy,
};
use crate::thumbnail::worker::{ThumbnailTargets, ThumbnailWorker};
use crate::thumbnail::{
    SampledFrame, SamplerStats, ThumbnailError, ThumbnailSampler, ThumbnailSchedule,
};
use crate::time::{Clock, rfc3339_seconds};
use ffmpeg::util::frame::video::Video as VideoFrame;

/// Decoder threads for the thumbnail path (the JPEG thread takes the other core).
const DECODER_THREADS: usize = 1;
/// `recording_status_message` of a failed recording, as IVS writes it.
const FAILURE_STATUS_MESSAGE: &str = "InternalServerException";

/// Everything one `record` run needs.
pub struct RecordRequest {
    /// The media file.
    pub input: PathBuf,
    /// Release packets at 1x, as a live publisher would.
    pub realtime: bool,
    /// The channel being recorded.
    pub channel: Channel,
    /// The recording configuration in force.
    pub configuration: RecordingConfiguration,
    /// The bucket of `configuration`'s destination.
    pub bucket: Bucket,
    /// Wall-clock source for the prefix date and `recording_*_at`.
    pub clock: Arc<dyn Clock>,
    /// Called now and then with the media seconds done and the total, when known.
    pub progress: Option<ProgressCallback>,
    /// Retries, spool and deadline for store outages.
    pub writer_policy: WriterPolicy,
}

/// Receives (media seconds done, total media seconds when the input declares them).
pub type ProgressCallback = Box<dyn FnMut(f64, Option<f64>) + Send>;

impl std::fmt::Debug for RecordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordRequest")
            .field("input", &self.input)
            .field("channel", &self.channel.arn)
            .field("configuration", &self.configuration.arn)
            .finish_non_exhaustive()
    }
}

/// Why a recording could not be made. Errors before any object is written leave the store
/// untouched; a storage error may leave part of the recording.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The channel or configuration is invalid.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The input could not be opened.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The video decoder could not be opened.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The thumbnail encoder could not be set up.
    #[error(transparent)]
    Thumbnail(#[from] ThumbnailError),
    /// Objects could not be stored.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// How a recording ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordingResult {
    /// `recording-ended.json` was written.
    Ended,
    /// `recording-failed.json` was written; `reason` says what broke.
    Failed {
        /// What went wrong, for people.
        reason: String,
    },
}

/// What a recording produced.
#[derive(Debug, Clone)]
pub struct RecordOutcome {
    /// The recording's prefix in the bucket.
    pub prefix: RecordingPrefix,
    /// Where it is, for people (a directory, or `memory://bucket/prefix`).
    pub location: String,
    /// Ended or failed.
    pub result: RecordingResult,
    /// Media duration in ms (`media.hls.duration_ms`).
    pub duration_ms: u64,
    /// The renditions recording-started.json lists.
    pub renditions: Vec<Rendition>,
    /// Thumbnail size.
    pub thumbnail_size: (u32, u32),
    /// Thumbnails stored.
    pub thumbnails: u64,
    /// Decoding work done for thumbnails.
    pub sampler: SamplerStats,
    /// Every object written, in order.
    pub written: WriteReport,
}

/// What the input and configuration decide before recording starts.
struct Plan {
    info: InputInfo,
    renditions: Vec<Rendition>,
    thumbnail_size: (u32, u32),
}

/// Records `request.input`; blocks until everything is stored. Call outside async code, with
/// `runtime` the Tokio runtime storage runs on.
pub fn record_file(
    mut request: RecordRequest,
    runtime: &Handle,
) -> Result<RecordOutcome, RecordError> {
    let channel_arn = ChannelArn::parse(&request.channel.arn)?;
    // A bucket that is missing or refuses our credentials is found before any media work.
    runtime.block_on(request.bucket.check())?;
    let mut input = FileInput::open(&request.input, request.realtime)?;
    let plan = plan(&request, input.info().clone());
    let thumbnails = &request.configuration.thumbnail_configuration;
    // When the ladder decodes every frame, thumbnails take theirs from it (decode once);
    // otherwise they get a gated decoder of their own.
    let ladder_decodes = plan
        .renditions
        .iter()
        .any(|r| matches!(r.video, VideoSource::Transcoded { .. }));
    let decoder = if thumbnails.is_enabled() && !ladder_decodes {
        Some(VideoDecoder::open(
            plan.info.video.parameters.clone(),
            DECODER_THREADS,
        )?)
    } else {
        None
    };

    let started = request.clock.now();
    let prefix = RecordingPrefix::new(
        &channel_arn.account_id,
        &channel_arn.channel_id,
        started,
        &new_recording_id(),
    );
    let facts = RecordingFacts {
        channel_arn: &request.channel.arn,
        started_at: rfc3339_seconds(started),
        renditions: &plan.renditions,
        thumbnails,
        thumbnail_size: plan.thumbnail_size,
    };
    let writer = ArtifactWriter::spawn(
        request.bucket.clone(),
        runtime,
        request.writer_policy.clone(),
    );
    let store = writer.sender();
    let worker = if thumbnails.is_enabled() {
        let targets = ThumbnailTargets {
            prefix: prefix.clone(),
            sequential: thumbnails.keeps_sequence(),
            latest: thumbnails.keeps_latest(),
        };
        match ThumbnailWorker::spawn(plan.thumbnail_size, targets, store.clone()) {
            Ok(worker) => Some(worker),
            Err(err) => {
                // Nothing has been queued: stop the writer and report.
                drop(finish_writer(writer, store, runtime));
                return Err(err.into());
            }
        }
    } else {
        None
    };
    let opening = store
        .send_blocking(Artifact::empty(prefix.ivs_check()))
        .and_then(|()| {
            store.send_blocking(Artifact::json(
                prefix.recording_started(),
                facts.started().to_json(),
            ))
        });
    if let Err(err) = opening {
        // The writer stopped: its own error says why.
        return Err(finish_writer(writer, store, runtime)
            .err()
            .unwrap_or(err)
            .into());
    }
    let sampling = Sampling {
        decoder,
        worker,
        interval_seconds: thumbnails.target_interval_seconds,
        keyframes_only: request.channel.channel_type == ChannelType::Basic,
    };
    let hls = (!plan.renditions.is_empty()).then(|| HlsSetup {
        renditions: plan.renditions.clone(),
        prefix: prefix.clone(),
        channel: channel_arn.clone(),
        first_frame_at: started,
    });
    let outputs = Outputs {
        sampling,
        hls,
        store: store.clone(),
        clock: request.clock.clone(),
    };
    let media = record_media(&mut input, &plan.info, outputs, request.progress.as_mut());

    let (ending, result) = match &media.failure {
        None => (Ending::Ended, RecordingResult::Ended),
        Some(reason) => (
            Ending::Failed(FAILURE_STATUS_MESSAGE.to_owned()),
            RecordingResult::Failed {
                reason: reason.clone(),
            },
        ),
    };
    let end_key = match result {
        RecordingResult::Ended => prefix.recording_ended(),
        RecordingResult::Failed { .. } => prefix.recording_failed(),
    };
    let ended = facts.ended(
        rfc3339_seconds(request.clock.now()),
        media.duration_ms,
        ending,
    );
    let queued = store.send_blocking(Artifact::json(end_key, ended.to_json()));
    let written = finish_writer(writer, store, runtime)?;
    queued?;
    Ok(RecordOutcome {
        location: request.bucket.describe(prefix.as_str()),
        prefix,
        result,
        duration_ms: media.duration_ms,
        renditions: plan.renditions,
        thumbnail_size: plan.thumbnail_size,
        thumbnails: media.thumbnails,
        sampler: media.sampler,
        written,
    })
}

fn finish_writer(
    writer: ArtifactWriter,
    store: ArtifactSender,
    runtime: &Handle,
) -> Result<WriteReport, StorageError> {
    drop(store);
    runtime.block_on(writer.finish())
}

fn plan(request: &RecordRequest, info: InputInfo) -> Plan {
    let source = SourceVideo {
        width: info.video.width,
        height: info.video.height,
        frame_rate: info.video.frame_rate,
    };
    let channel = &request.channel;
    let ladder = Ladder::plan(channel.channel_type, channel.preset, source);
    let config = &request.configuration;
    let renditions = ladder.select(channel.channel_type, &config.rendition_configuration);
    let thumbnail_size = ladder.thumbnail_size(config.thumbnail_configuration.resolution, source);
    Plan {
        info,
        renditions,
        thumbnail_size,
    }
}

/// What reading the media produced.
struct MediaResult {
    duration_ms: u64,
    thumbnails: u64,
    sampler: SamplerStats,
    failure: Option<String>,
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
struct Outputs {
    sampling: Sampling,
    hls: Option<HlsSetup>,
    store: ArtifactSender,
    clock: Arc<dyn Clock>,
}

/// How thumbnails are sampled; no decoder and no worker when thumbnails are disabled.
struct Sampling {
    decoder: Option<VideoDecoder>,
    worker: Option<ThumbnailWorker>,
    interval_seconds: u32,
    keyframes_only: bool,
}

fn record_media(
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
