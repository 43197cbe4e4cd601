//! One open recording: the prefix, the ordered writer and the media side, from
//! `events/ivs-check` and `recording-started.json` to `recording-ended.json` (or
//! `recording-failed.json`). A file is one stream; a live channel may merge several (D9). The
//! write order is decision D13's.

use std::sync::Arc;

use time::OffsetDateTime;
use tokio::runtime::Handle;

use super::metadata::{Ending, RecordingFacts};
use super::outcome::{RecordError, RecordingResult};
use super::packet_loop::{MediaResult, MediaSetup, PacketLoop, ProgressCallback, StreamReport};
use crate::av::decode::{DecodeError, VideoDecoder};
use crate::av::parameters::codec_name;
use crate::error::{Failure, FailureKind};
use crate::hls::live_window::LiveWindow;
use crate::hls::output::HlsSetup;
use crate::ids::{ChannelArn, new_recording_id};
use crate::ingest::{InputInfo, PacketSource};
use crate::ladder::{Ladder, Rendition, SourceCodecs, SourceVideo, conform, decodes_every_frame};
use crate::layout::RecordingPrefix;
use crate::model::{
    Channel, ChannelType, EncoderSettings, RecordingConfiguration, ThumbnailConfiguration,
};
use crate::storage::{Artifact, ArtifactSender, ArtifactWriter, Bucket, WriteReport, WriterPolicy};
use crate::thumbnail::worker::{ThumbnailTargets, ThumbnailWorker};
use crate::time::{Clock, rfc3339_seconds};

/// Decoder threads for the thumbnail path (the JPEG thread takes the other core).
const DECODER_THREADS: usize = 1;

/// Where a recording goes and under which settings.
#[derive(Clone)]
pub struct RecordingTarget {
    /// The channel being recorded.
    pub channel: Channel,
    /// The recording configuration in force.
    pub configuration: RecordingConfiguration,
    /// The bucket of `configuration`'s destination.
    pub bucket: Bucket,
    /// Wall-clock source for the prefix date and `recording_*_at`.
    pub clock: Arc<dyn Clock>,
    /// Retries, spool and deadline for store outages.
    pub writer_policy: WriterPolicy,
    /// How the transcoded rungs are encoded (`--encoder-settings`).
    pub encoding: Arc<EncoderSettings>,
}

impl std::fmt::Debug for RecordingTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingTarget")
            .field("channel", &self.channel.arn)
            .field("configuration", &self.configuration.arn)
            .finish_non_exhaustive()
    }
}

/// What the input and configuration decide before recording starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The renditions to record, highest first.
    pub renditions: Vec<Rendition>,
    /// Thumbnail width and height.
    pub thumbnail_size: (u32, u32),
    /// What was transcoded because the source is not H.264 / AAC (for a warning).
    pub conversions: Vec<String>,
}

impl Plan {
    /// The renditions and thumbnail size for `info` on `channel` under `configuration`.
    pub fn new(
        channel: &Channel,
        configuration: &RecordingConfiguration,
        info: &InputInfo,
    ) -> Self {
        let source = SourceVideo {
            width: info.video.width,
            height: info.video.height,
            frame_rate: info.video.frame_rate,
        };
        let ladder = Ladder::plan(channel.channel_type, channel.preset, source);
        let selected = ladder.select(channel.channel_type, &configuration.rendition_configuration);
        let audio_codec = info
            .audio
            .as_ref()
            .map(|audio| codec_name(audio.parameters.id()));
        let conformed = conform(
            &selected,
            SourceCodecs {
                video: &codec_name(info.video.parameters.id()),
                audio: audio_codec.as_deref(),
            },
        );
        let thumbnail_size =
            ladder.thumbnail_size(configuration.thumbnail_configuration.resolution, source);
        Self {
            renditions: conformed.renditions,
            thumbnail_size,
            conversions: conformed.notes,
        }
    }

    /// The decoder thumbnails need of their own for `info`: one when `thumbnails` are on and no
    /// rendition is transcoded (a transcoding ladder decodes every frame and shares them).
    pub fn thumbnail_decoder(
        &self,
        thumbnails: &ThumbnailConfiguration,
        info: &InputInfo,
    ) -> Result<Option<VideoDecoder>, DecodeError> {
        if !thumbnails.is_enabled() || decodes_every_frame(&self.renditions) {
            return Ok(None);
        }
        VideoDecoder::open(info.video.parameters.clone(), DECODER_THREADS).map(Some)
    }
}

/// What a finished recording produced.
#[derive(Debug, Clone)]
pub struct ClosedRecording {
    /// The recording's prefix in the bucket.
    pub prefix: RecordingPrefix,
    /// Where it is, for people.
    pub location: String,
    /// Ended or failed.
    pub result: RecordingResult,
    /// The plan it was recorded under.
    pub plan: Plan,
    /// What the media came to.
    pub media: MediaResult,
    /// Every object written, in order.
    pub written: WriteReport,
}

/// A recording in progress.
pub struct Recording {
    prefix: RecordingPrefix,
    channel_arn: String,
    started_at: OffsetDateTime,
    configuration: RecordingConfiguration,
    plan: Plan,
    bucket: Bucket,
    clock: Arc<dyn Clock>,
    writer: ArtifactWriter,
    store: ArtifactSender,
    media: PacketLoop,
    runtime: Handle,
}

impl std::fmt::Debug for Recording {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recording")
            .field("prefix", &self.prefix)
            .field("plan", &self.plan)
            .finish_non_exhaustive()
    }
}

impl Recording {
    /// Opens a recording under `plan`: picks the prefix, starts the writer and the thumbnail
    /// thread, and queues `events/ivs-check` and `recording-started.json`. The bucket is not
    /// checked here (callers check it before any media work).
    pub fn open(
        target: &RecordingTarget,
        plan: Plan,
        runtime: &Handle,
    ) -> Result<Self, RecordError> {
        let channel_arn = ChannelArn::parse(&target.channel.arn)?;
        for conversion in &plan.conversions {
            tracing::warn!("{conversion}");
        }
        let started_at = target.clock.now();
        let prefix = RecordingPrefix::new(
            &channel_arn.account_id,
            &channel_arn.channel_id,
            started_at,
            &new_recording_id(),
        );
        let thumbnails = &target.configuration.thumbnail_configuration;
        let writer =
            ArtifactWriter::spawn(target.bucket.clone(), runtime, target.writer_policy.clone());
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
                    drop(store);
                    drop(writer.finish_blocking(runtime));
                    return Err(err.into());
                }
            }
        } else {
            None
        };
        let hls = (!plan.renditions.is_empty()).then(|| HlsSetup {
            renditions: plan.renditions.clone(),
            prefix: prefix.clone(),
            channel: channel_arn.clone(),
            first_frame_at: started_at,
            live: None,
        });
        let media = PacketLoop::new(MediaSetup {
            hls,
            worker,
            interval_seconds: thumbnails.target_interval_seconds,
            keyframes_only: target.channel.channel_type == ChannelType::Basic,
            store: store.clone(),
            clock: target.clock.clone(),
            encoding: target.encoding.clone(),
            label: target.channel.name.clone(),
        });
        let recording = Self {
            prefix,
            channel_arn: target.channel.arn.clone(),
            started_at,
            configuration: target.configuration.clone(),
            plan,
            bucket: target.bucket.clone(),
            clock: target.clock.clone(),
            writer,
            store,
            media,
            runtime: runtime.clone(),
        };
        let started = recording.facts().started().to_json();
        let opening = recording
            .store
            .send_blocking(Artifact::empty(recording.prefix.ivs_check()))
            .and_then(|()| {
                recording.store.send_blocking(Artifact::json(
                    recording.prefix.recording_started(),
                    started,
                ))
            });
        if let Err(err) = opening {
            // The writer stopped: its own error says why.
            let Self {
                writer,
                store,
                media,
                runtime,
                ..
            } = recording;
            drop((media, store));
            return Err(writer.finish_blocking(&runtime).err().unwrap_or(err).into());
        }
        Ok(recording)
    }

    /// The recording's prefix.
    pub fn prefix(&self) -> &RecordingPrefix {
        &self.prefix
    }

    /// Its `recording-started.json`.
    pub fn started_document(&self) -> super::metadata::RecordingMetadata {
        self.facts().started()
    }

    /// The renditions and thumbnail size.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// When the recording started (the prefix's time).
    pub fn started_at(&self) -> OffsetDateTime {
        self.started_at
    }

    /// Media recorded so far, in ms.
    pub fn duration_ms(&self) -> u64 {
        self.media.duration_ms()
    }

    /// Why the recording has failed, once it has.
    pub fn failure(&self) -> Option<&Failure> {
        self.media.failure()
    }

    /// Serves live playback of the streams recorded from now on from `live` (`serve`).
    pub fn set_live_window(&mut self, live: Option<Arc<LiveWindow>>) {
        self.media.set_live_window(live);
    }

    /// Records `source` to its end. `started_at` is the wall-clock time of its first frame.
    pub fn record_stream<S: PacketSource>(
        &mut self,
        source: &mut S,
        started_at: OffsetDateTime,
        progress: Option<&mut ProgressCallback>,
    ) -> StreamReport {
        let thumbnails = &self.configuration.thumbnail_configuration;
        match self.plan.thumbnail_decoder(thumbnails, source.info()) {
            Ok(decoder) => self.record_stream_with(source, decoder, started_at, progress),
            Err(err) => {
                self.media
                    .fail(Failure::from_error(FailureKind::Input, &err));
                StreamReport::default()
            }
        }
    }

    /// [`Self::record_stream`] with the thumbnail decoder [`Plan::thumbnail_decoder`] already
    /// opened (a file checks it opens before anything is written).
    pub fn record_stream_with<S: PacketSource>(
        &mut self,
        source: &mut S,
        decoder: Option<VideoDecoder>,
        started_at: OffsetDateTime,
        progress: Option<&mut ProgressCallback>,
    ) -> StreamReport {
        self.media
            .record_stream(source, decoder, started_at, progress)
    }

    /// Marks the recording failed (kept if it already failed).
    pub fn fail(&mut self, failure: Failure) {
        self.media.fail(failure);
    }

    /// Ends the recording: final playlists, then `recording-ended.json` (or
    /// `recording-failed.json` when something failed); waits until everything is stored.
    pub fn finish(self) -> Result<ClosedRecording, RecordError> {
        let Self {
            prefix,
            channel_arn,
            started_at,
            configuration,
            plan,
            bucket,
            clock,
            writer,
            store,
            media,
            runtime,
        } = self;
        let media = media.finish();
        let (ending, result, end_key) = match &media.failure {
            None => (
                Ending::Ended,
                RecordingResult::Ended,
                prefix.recording_ended(),
            ),
            Some(failure) => (
                Ending::Failed(failure.kind.exception_name().to_owned()),
                RecordingResult::Failed(failure.clone()),
                prefix.recording_failed(),
            ),
        };
        let facts = RecordingFacts {
            channel_arn: &channel_arn,
            started_at: rfc3339_seconds(started_at),
            renditions: &plan.renditions,
            thumbnails: &configuration.thumbnail_configuration,
            thumbnail_size: plan.thumbnail_size,
        };
        let ended = facts.ended(rfc3339_seconds(clock.now()), media.duration_ms, ending);
        let queued = store.send_blocking(Artifact::json(end_key, ended.to_json()));
        drop(store);
        let written = writer.finish_blocking(&runtime)?;
        queued?;
        Ok(ClosedRecording {
            location: bucket.describe(prefix.as_str()),
            prefix,
            result,
            plan,
            media,
            written,
        })
    }

    fn facts(&self) -> RecordingFacts<'_> {
        RecordingFacts {
            channel_arn: &self.channel_arn,
            started_at: rfc3339_seconds(self.started_at),
            renditions: &self.plan.renditions,
            thumbnails: &self.configuration.thumbnail_configuration,
            thumbnail_size: self.plan.thumbnail_size,
        }
    }
}
