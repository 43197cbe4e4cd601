//! Records a media file: checks the bucket, plans the renditions and thumbnails from the input,
//! then writes, in the order of decision D13, `events/ivs-check`, `events/recording-started.json`,
//! the media ([`super::packet_loop`]: segments, playlists, thumbnails as they are made), and
//! `events/recording-ended.json` (or `recording-failed.json` when the input breaks part-way or
//! the store gives up, keeping everything recorded until then).
//!
//! Media work runs on the calling thread (demux, decode; the decoder adds its own threads), a
//! thread per transcoded rung (scale, x264) and a thumbnail thread (scale, JPEG); storage runs on
//! the async runtime behind one ordered writer. The recording itself is a [`Recording`] holding one stream.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::runtime::Handle;

use super::outcome::{RecordError, RecordingResult};
use super::packet_loop::ProgressCallback;
use super::session::{Plan, Recording, RecordingTarget};
use crate::error::{Failure, FailureKind};
use crate::ids::ChannelArn;
use crate::ingest::{FileInput, InputInfo};
use crate::ladder::Rendition;
use crate::layout::RecordingPrefix;
use crate::model::{Channel, EncoderSettings, RecordingConfiguration};
use crate::pipeline::rung::RungUsage;
use crate::storage::{Bucket, WriteReport, WriterPolicy};
use crate::thumbnail::SamplerStats;
use crate::time::Clock;

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
    /// How the transcoded rungs are encoded (`--encoder-settings`; default: as IVS).
    pub encoding: Arc<EncoderSettings>,
}

impl std::fmt::Debug for RecordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordRequest")
            .field("input", &self.input)
            .field("channel", &self.channel.arn)
            .field("configuration", &self.configuration.arn)
            .finish_non_exhaustive()
    }
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
    /// What each transcoded rung did and cost, largest first.
    pub rungs: Vec<RungUsage>,
}

/// Records `request.input`; blocks until everything is stored. `runtime` is the Tokio runtime
/// storage runs on. Callable from plain threads and from tasks of a multi-thread runtime (the
/// wait then happens in `block_in_place`); async code can also use [`record_file_async`].
pub fn record_file(
    mut request: RecordRequest,
    runtime: &Handle,
) -> Result<RecordOutcome, RecordError> {
    ChannelArn::parse(&request.channel.arn)?;
    // A bucket that is missing or refuses our credentials is found before any media work.
    request.bucket.check_blocking(runtime)?;
    let mut input = FileInput::open(&request.input, request.realtime)?;
    // A file that cannot start a recording (no keyframe, unreadable from the start) is refused
    // before anything is written.
    input.prime()?;
    let info = input.info().clone();
    let target = RecordingTarget {
        channel: request.channel,
        configuration: request.configuration,
        bucket: request.bucket,
        clock: request.clock,
        writer_policy: request.writer_policy,
        encoding: request.encoding,
    };
    // An input the thumbnail decoder cannot open is refused before anything is written.
    let plan = Plan::new(&target.channel, &target.configuration, &info);
    let decoder = plan.thumbnail_decoder(&target.configuration.thumbnail_configuration, &info)?;
    let mut recording = Recording::open(&target, plan, runtime)?;
    let started_at = recording.started_at();
    let stream =
        recording.record_stream_with(&mut input, decoder, started_at, request.progress.as_mut());
    if !stream.had_keyframe {
        recording.fail(Failure::new(
            FailureKind::Input,
            format!("{} has no decodable video keyframe", info.source),
        ));
    } else if stream.discontinuities > 0 {
        // Re-timed jumps make the container's declared duration meaningless.
    } else if let Some(reason) = truncation(&info, recording.duration_ms() + stream.lead_in_ms) {
        recording.fail(Failure::new(FailureKind::Input, reason));
    }
    let closed = recording.finish()?;
    Ok(RecordOutcome {
        prefix: closed.prefix,
        location: closed.location,
        result: closed.result,
        duration_ms: closed.media.duration_ms,
        renditions: closed.plan.renditions,
        thumbnail_size: closed.plan.thumbnail_size,
        thumbnails: closed.media.thumbnails,
        sampler: closed.media.sampler,
        written: closed.written,
        rungs: closed.media.rungs,
    })
}

/// [`record_file`] for async callers: the media work runs on a blocking thread of the current
/// runtime.
pub async fn record_file_async(request: RecordRequest) -> Result<RecordOutcome, RecordError> {
    let runtime = Handle::current();
    let worker = runtime.clone();
    match tokio::task::spawn_blocking(move || record_file(request, &worker)).await {
        Ok(result) => result,
        Err(join_error) => std::panic::resume_unwind(join_error.into_panic()),
    }
}

/// A file whose media (recorded, plus what came before its first keyframe) stops well short of
/// the duration its container declares was cut off.
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
