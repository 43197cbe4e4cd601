//! Turns finished segments into stored objects in the order of decision D13: each segment, then
//! its rendition's two playlists (EVENT); the multivariant playlists once every rendition has its
//! first segment; at the end the final playlists (ENDLIST, byte-range VOD) and final masters with
//! the measured bandwidth.

use bytes::Bytes;
use time::OffsetDateTime;

use super::playlist::{
    PlaylistState, SegmentEntry, Variant, byte_range_playlist, media_playlist,
    multivariant_playlist,
};
use super::rendition::FinishedSegment;
use crate::layout::RecordingPrefix;
use crate::storage::{Artifact, ArtifactSender, StorageError};
use crate::time::Clock;

/// A rendition as published: its variant line and its segments so far.
#[derive(Debug, Clone)]
pub struct PublishedRendition {
    /// Name and size (bandwidth and codecs are filled in from what was written).
    pub variant: Variant,
    /// `avc1.…`, from the stream configuration or, when absent, the first segment's SPS.
    video_codec: Option<String>,
    /// `mp4a.40.…` when the rendition has audio.
    audio_codec: Option<String>,
    segments: Vec<SegmentEntry>,
    bytes: u64,
}

impl PublishedRendition {
    /// A rendition with nothing written yet.
    pub fn new(variant: Variant, video_codec: Option<String>, audio_codec: Option<String>) -> Self {
        Self {
            variant,
            video_codec,
            audio_codec,
            segments: Vec::new(),
            bytes: 0,
        }
    }

    /// `CODECS=`: video, then audio when present.
    fn codecs(&self) -> String {
        let video = self
            .video_codec
            .clone()
            .unwrap_or_else(|| "avc1.4D401F".to_owned());
        std::iter::once(video)
            .chain(self.audio_codec.clone())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Average bits per second of what was written (0 before the first segment).
    fn measured_bandwidth(&self) -> u64 {
        let millis: u64 = self.segments.iter().map(|s| s.duration_ms).sum();
        (self.bytes * 8 * 1000).checked_div(millis).unwrap_or(0)
    }
}

/// Publishes the HLS objects of one recording.
#[derive(Debug)]
pub struct HlsPublisher {
    prefix: RecordingPrefix,
    channel_id: String,
    account_id: String,
    first_frame_at: OffsetDateTime,
    renditions: Vec<PublishedRendition>,
    masters_written: bool,
}

impl HlsPublisher {
    /// A publisher for `renditions` (highest first) of the recording at `prefix`; `first_frame_at`
    /// is the wall-clock time of the first frame (PROGRAM-DATE-TIME of segment 0).
    pub fn new(
        prefix: RecordingPrefix,
        channel_id: &str,
        account_id: &str,
        first_frame_at: OffsetDateTime,
        renditions: Vec<PublishedRendition>,
    ) -> Self {
        Self {
            prefix,
            channel_id: channel_id.to_owned(),
            account_id: account_id.to_owned(),
            first_frame_at,
            renditions,
            masters_written: false,
        }
    }

    /// Stores segment `segment` of rendition number `rendition`, then that rendition's playlists;
    /// the masters follow once every rendition has a segment.
    pub fn publish(
        &mut self,
        rendition: usize,
        segment: FinishedSegment,
        store: &ArtifactSender,
        clock: &dyn Clock,
    ) -> Result<(), StorageError> {
        let name = self.renditions[rendition].variant.name.clone();
        let key = self.prefix.segment(&name, segment.entry.index);
        let published = &mut self.renditions[rendition];
        if published.video_codec.is_none() {
            published.video_codec = segment.video_codec.clone();
        }
        published.bytes += segment.bytes.len() as u64;
        self.renditions[rendition].segments.push(segment.entry);
        store.send_blocking(Artifact::segment(key, Bytes::from(segment.bytes)))?;
        self.publish_playlists(rendition, false, store, clock.now())?;
        if !self.masters_written && self.renditions.iter().all(|r| !r.segments.is_empty()) {
            self.publish_masters(store)?;
            self.masters_written = true;
        }
        Ok(())
    }

    /// The final playlists and masters.
    pub fn finish(
        &mut self,
        store: &ArtifactSender,
        clock: &dyn Clock,
    ) -> Result<(), StorageError> {
        // One write time for all: the final playlists are byte-identical across renditions.
        let written_at = clock.now();
        for rendition in 0..self.renditions.len() {
            self.publish_playlists(rendition, true, store, written_at)?;
        }
        if self.renditions.iter().any(|r| !r.segments.is_empty()) {
            self.publish_masters(store)?;
        }
        Ok(())
    }

    /// The number the next stream's first segment takes (numbering continues across merged
    /// reconnects).
    pub fn next_segment_index(&self) -> u64 {
        self.renditions
            .iter()
            .filter_map(|r| r.segments.last())
            .map(|s| s.index + 1)
            .max()
            .unwrap_or(0)
    }

    /// GOPs published so far in the first rendition (the same in every rendition).
    pub fn gop_count(&self) -> u64 {
        self.renditions
            .first()
            .map_or(0, |r| r.segments.iter().map(|s| s.gops.len() as u64).sum())
    }

    /// Wall-clock time of the recording's first frame.
    pub fn first_frame_at(&self) -> OffsetDateTime {
        self.first_frame_at
    }

    /// Sum of EXTINF of the first rendition (identical across renditions).
    pub fn duration_ms(&self) -> Option<u64> {
        self.renditions
            .first()
            .map(|r| r.segments.iter().map(|s| s.duration_ms).sum())
    }

    fn publish_playlists(
        &self,
        rendition: usize,
        ended: bool,
        store: &ArtifactSender,
        written_at: OffsetDateTime,
    ) -> Result<(), StorageError> {
        let published = &self.renditions[rendition];
        if published.segments.is_empty() {
            return Ok(());
        }
        let state = PlaylistState {
            segments: &published.segments,
            first_frame_at: self.first_frame_at,
            written_at,
            ended,
        };
        let name = &published.variant.name;
        store.send_blocking(Artifact::playlist(
            self.prefix.rendition_playlist(name),
            media_playlist(&state),
        ))?;
        store.send_blocking(Artifact::playlist(
            self.prefix.byte_range_variant_playlist(name),
            byte_range_playlist(&state),
        ))
    }

    fn publish_masters(&self, store: &ArtifactSender) -> Result<(), StorageError> {
        let variants: Vec<Variant> = self
            .renditions
            .iter()
            .map(|r| Variant {
                bandwidth: r.measured_bandwidth(),
                codecs: r.codecs(),
                ..r.variant.clone()
            })
            .collect();
        let master = multivariant_playlist(&variants, &self.channel_id, &self.account_id, false);
        let byte_range = multivariant_playlist(&variants, &self.channel_id, &self.account_id, true);
        store.send_blocking(Artifact::playlist(self.prefix.master_playlist(), master))?;
        store.send_blocking(Artifact::playlist(
            self.prefix.byte_range_multivariant_playlist(),
            byte_range,
        ))
    }
}
