//! The HLS side of a recording fed with source packets: the passthrough rendition (BASIC's only
//! one) segmented, muxed and published as it is read.

use std::sync::Arc;

use ffmpeg_next as ffmpeg;
use time::OffsetDateTime;

use crate::hls::codecs;
use crate::hls::mux::{MuxError, TsStream};
use crate::hls::playlist::Variant;
use crate::hls::publisher::{HlsPublisher, PublishedRendition};
use crate::hls::rendition::RenditionSegments;
use crate::ids::ChannelArn;
use crate::ingest::{InputInfo, extradata};
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
    /// The rendition (passthrough).
    pub rendition: Rendition,
    /// The recording's prefix.
    pub prefix: RecordingPrefix,
    /// The channel (its id and account go into the masters).
    pub channel: ChannelArn,
    /// Wall-clock time of the first frame.
    pub first_frame_at: OffsetDateTime,
}

/// Passthrough HLS output of one recording.
#[derive(Debug)]
pub struct HlsOutput {
    segments: RenditionSegments,
    publisher: HlsPublisher,
    store: ArtifactSender,
    clock: Arc<dyn Clock>,
}

impl HlsOutput {
    /// Starts output of `info`'s streams; media time 0 is the video pts `origin`.
    pub fn start(
        setup: HlsSetup,
        info: &InputInfo,
        origin: i64,
        store: ArtifactSender,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let video = TsStream {
            parameters: info.video.parameters.clone(),
            time_base: info.video.av_time_base,
        };
        let audio = info
            .audio
            .as_ref()
            .filter(|a| a.parameters.id() == ffmpeg::codec::Id::AAC)
            .map(|a| TsStream {
                parameters: a.parameters.clone(),
                time_base: a.time_base,
            });
        let mut codec_list = vec![
            codecs::avc1(&extradata(&info.video.parameters))
                .unwrap_or_else(|| "avc1.4D401F".to_owned()),
        ];
        if let Some(audio) = &audio {
            codec_list.push(codecs::mp4a(&extradata(&audio.parameters)));
        }
        let variant = Variant {
            name: setup.rendition.name.clone(),
            bandwidth: 0,
            codecs: codec_list.join(","),
            width: setup.rendition.width,
            height: setup.rendition.height,
        };
        let publisher = HlsPublisher::new(
            setup.prefix,
            &setup.channel.channel_id,
            &setup.channel.account_id,
            setup.first_frame_at,
            vec![PublishedRendition::new(variant)],
        );
        Self {
            segments: RenditionSegments::new(video, audio, origin),
            publisher,
            store,
            clock,
        }
    }

    /// Takes a video packet; publishes a segment when it closes one.
    pub fn push_video(&mut self, packet: &ffmpeg::Packet) -> Result<(), HlsError> {
        if let Some(segment) = self.segments.push_video(packet)? {
            self.publisher
                .publish(0, segment, &self.store, self.clock.as_ref())?;
        }
        Ok(())
    }

    /// Takes an audio packet.
    pub fn push_audio(&mut self, packet: &ffmpeg::Packet) -> Result<(), HlsError> {
        Ok(self.segments.push_audio(packet)?)
    }

    /// Closes the last segment at `end_pts` and publishes the final playlists; returns the
    /// recorded duration (sum of EXTINF) in ms.
    pub fn finish(mut self, end_pts: i64) -> Result<u64, HlsError> {
        if let Some(segment) = self.segments.finish(end_pts)? {
            self.publisher
                .publish(0, segment, &self.store, self.clock.as_ref())?;
        }
        self.publisher.finish(&self.store, self.clock.as_ref())?;
        Ok(self.publisher.duration_ms().unwrap_or(0))
    }
}
