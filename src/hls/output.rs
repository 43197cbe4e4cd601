//! The HLS side of a recording: every rendition's packets segmented, muxed and published while
//! the input is read. Which packets a rendition gets (source or encoded) is the pipeline's
//! business; this module only takes them, per rendition, in order.

use std::sync::Arc;

use ffmpeg_next as ffmpeg;
use time::OffsetDateTime;

use super::id3;
use super::live_window::LiveWindow;
use super::playlist::Variant;
use super::publisher::{HlsPublisher, PublishedRendition};
use super::rendition::{Continuation, FinishedSegment, RenditionSegments, VideoArrival};
use crate::av::parameters::extradata;
use crate::av::ts_mux::{MuxError, TsStreams};
use crate::codecs;
use crate::ids::ChannelArn;
use crate::ladder::Rendition;
use crate::layout::RecordingPrefix;
use crate::storage::{ArtifactSender, StorageError};
use crate::time::Clock;

/// Why HLS output failed.
#[derive(Debug, thiserror::Error)]
pub enum HlsError {
    /// A segment could not be muxed.
    #[error(transparent)]
    Mux(#[from] MuxError),
    /// An object could not be queued for storage.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Everything needed to start HLS output at the first keyframe.
#[derive(Debug, Clone)]
pub struct HlsSetup {
    /// The renditions to record, highest first.
    pub renditions: Vec<Rendition>,
    /// The recording's prefix.
    pub prefix: RecordingPrefix,
    /// The channel (its id and account go into the masters).
    pub channel: ChannelArn,
    /// Wall-clock time of the first frame.
    pub first_frame_at: OffsetDateTime,
    /// Where live playback of the stream is served from (`serve`), fed GOP by GOP.
    pub live: Option<Arc<LiveWindow>>,
}

/// HLS output of one stream of a recording.
pub struct HlsOutput {
    renditions: Vec<RenditionSegments>,
    publisher: HlsPublisher,
    store: ArtifactSender,
    clock: Arc<dyn Clock>,
    live: Option<Arc<LiveWindow>>,
}

impl std::fmt::Debug for HlsOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HlsOutput")
            .field("publisher", &self.publisher)
            .finish_non_exhaustive()
    }
}

impl HlsOutput {
    /// Starts output of `inputs` (one per rendition of `setup`); this stream's media time 0 is the
    /// video pts `origin`. With `previous` (the publisher of the recording's earlier streams, D9),
    /// segment numbers and the media timeline continue after a discontinuity;
    /// `stream_started_at` (the wall-clock time of this stream's first frame) then places its
    /// PROGRAM-DATE-TIMEs.
    pub fn start(
        setup: HlsSetup,
        inputs: Vec<(TsStreams, VideoArrival)>,
        origin: i64,
        previous: Option<HlsPublisher>,
        stream_started_at: OffsetDateTime,
        store: ArtifactSender,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let continuation = previous.as_ref().map_or_else(
            || Continuation::start(setup.first_frame_at),
            |publisher| {
                let media_offset_ms = publisher.duration_ms().unwrap_or(0);
                let wall_ms = (stream_started_at - publisher.first_frame_at()).whole_milliseconds();
                let gap_ms = u64::try_from(wall_ms)
                    .unwrap_or(0)
                    .saturating_sub(media_offset_ms);
                Continuation {
                    first_index: publisher.next_segment_index(),
                    media_offset_ms,
                    gap_ms,
                    discontinuity: true,
                    first_gop: publisher.gop_count(),
                    first_frame_at: publisher.first_frame_at(),
                }
            },
        );
        let mut renditions = Vec::new();
        let mut published = Vec::new();
        let mut live_renditions = Vec::new();
        for (rendition, (input, arrival)) in setup.renditions.iter().zip(inputs) {
            // Source configuration (passthrough); encoders' CODECS come from their first SPS.
            let video_codec = codecs::avc1(&extradata(&input.video.parameters));
            let audio_codec = input
                .audio
                .as_ref()
                .map(|s| codecs::mp4a(&extradata(&s.parameters)));
            let variant = Variant {
                name: rendition.name.clone(),
                bandwidth: 0,
                codecs: String::new(),
                width: rendition.width,
                height: rendition.height,
            };
            live_renditions.push((variant.clone(), audio_codec.clone()));
            published.push(PublishedRendition::new(variant, video_codec, audio_codec));
            let mut segments =
                RenditionSegments::new(input.video, input.audio, arrival, origin, continuation);
            if setup.live.is_some() {
                segments.keep_live_gops();
            }
            renditions.push(segments);
        }
        if let Some(live) = &setup.live {
            live.start(
                live_renditions,
                &setup.channel.channel_id,
                &setup.channel.account_id,
            );
        }
        let publisher = previous.unwrap_or_else(|| {
            HlsPublisher::new(
                setup.prefix,
                &setup.channel.channel_id,
                &setup.channel.account_id,
                setup.first_frame_at,
                published,
            )
        });
        Self {
            renditions,
            publisher,
            store,
            clock,
            live: setup.live,
        }
    }

    /// Takes a video packet of rendition number `rendition`.
    pub fn push_video(
        &mut self,
        rendition: usize,
        packet: &ffmpeg::Packet,
    ) -> Result<(), HlsError> {
        let finished = self.renditions[rendition].push_video(packet)?;
        self.publish(rendition, finished)
    }

    /// Takes an audio packet of rendition number `rendition`.
    pub fn push_audio(
        &mut self,
        rendition: usize,
        packet: &ffmpeg::Packet,
    ) -> Result<(), HlsError> {
        let finished = self.renditions[rendition].push_audio(packet)?;
        self.publish(rendition, finished)
    }

    /// Inserts a `PutMetadata` payload into every rendition as an ID3 `TXXX` frame on the
    /// metadata PID, at video pts `pts`; returns how many renditions took it (none before the
    /// stream's first keyframe).
    pub fn insert_metadata(&mut self, payload: &str, pts: i64) -> Result<usize, HlsError> {
        let tag = id3::txxx_tag("", payload);
        let mut inserted = 0;
        for rendition in &mut self.renditions {
            if rendition.insert_metadata(&tag, pts)? {
                inserted += 1;
            }
        }
        Ok(inserted)
    }

    /// Ends this stream: publishes the last segments, closed at `end_pts`. Returns the publisher,
    /// which a merged reconnect continues and [`HlsPublisher::finish`] ends.
    pub fn end_stream(mut self, end_pts: i64) -> Result<HlsPublisher, HlsError> {
        for rendition in 0..self.renditions.len() {
            let finished = self.renditions[rendition].finish(end_pts)?;
            self.publish(rendition, finished)?;
        }
        Ok(self.publisher)
    }

    fn publish(
        &mut self,
        rendition: usize,
        finished: Vec<FinishedSegment>,
    ) -> Result<(), HlsError> {
        if let Some(live) = &self.live {
            for gop in self.renditions[rendition].take_live_gops() {
                live.push(rendition, gop);
            }
        }
        for segment in finished {
            self.publisher
                .publish(rendition, segment, &self.store, self.clock.as_ref())?;
        }
        Ok(())
    }
}
