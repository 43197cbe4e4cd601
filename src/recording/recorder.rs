//! Records a media file: checks the bucket, plans the renditions and thumbnails from the input,
//! then writes, in the order of decision D13, `events/ivs-check`, `events/recording-started.json`,
//! the media ([`super::media`]: segments, playlists, thumbnails as they are made), and
//! `events/recording-ended.json` (or `recording-failed.json` when the input breaks part-way or
//! the store gives up, keeping everything recorded until then).
//!
//! Media work runs on the calling thread (demux, decode, encode; x264 and the decoder add their
//! own threads) and a thumbnail thread (scale, JPEG); storage runs on the async runtime behind one
//! ordered writer.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::runtime::Handle;

use super::hls_output::HlsSetup;
use super::media::{Outputs, Sampling, record_media};
use super::metadata::{Ending, RecordingFacts};
use crate::ids::{ChannelArn, new_recording_id};
use crate::ingest::{FileInput, InputError, InputInfo};
use crate::ladder::{Ladder, Rendition, SourceVideo, VideoSource};
use crate::layout::RecordingPrefix;
use crate::model::{Channel, ChannelType, RecordingConfiguration, ValidationError};
use crate::pipeline::decode::{DecodeError, VideoDecoder};
use crate::storage::{
    Artifact, ArtifactSender, ArtifactWriter, Bucket, StorageError, WriteReport, WriterPolicy,
};
use crate::thumbnail::worker::{ThumbnailTargets, ThumbnailWorker};
use crate::thumbnail::{SamplerStats, ThumbnailError};
use crate::time::{Clock, rfc3339_seconds};

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
