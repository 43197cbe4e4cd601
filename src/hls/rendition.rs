//! One rendition's segments: cuts the packet stream with the [`Segmenter`], muxes the stream with
//! one [`TsMuxer`] cut into segments (continuity counters run on across them), puts an ID3 tag
//! at the start of every GOP, and records where every GOP lies in its segment.

use ffmpeg_next as ffmpeg;

use std::collections::VecDeque;

use time::OffsetDateTime;

use super::id3::{ENCODER, GopTag};
use super::live_window::LiveGop;
use super::playlist::{GopEntry, SegmentEntry, wall_clock_at};
use super::segmenter::{Boundary, Segmenter};
use crate::av::ts_mux::{MuxError, Track, TsMuxer, TsStream};
use crate::codecs;
use crate::time::TimeBase;

/// A segment ready to store.
#[derive(Debug, Clone)]
pub struct FinishedSegment {
    /// Its playlist entry (index, timing, GOP byte ranges).
    pub entry: SegmentEntry,
    /// The `.ts` bytes.
    pub bytes: Vec<u8>,
    /// `avc1.…` read from the SPS of its first keyframe, when the packets carry one (Annex B).
    pub video_codec: Option<String>,
}

/// The segment being written.
#[derive(Debug)]
struct OpenSegment {
    index: u64,
    /// (pts, byte offset) of each GOP's keyframe.
    gops: Vec<(i64, u64)>,
    video_codec: Option<String>,
}

/// Where a stream's segments continue a recording: the first stream starts at segment 0 and media
/// time 0; a stream merged after a reconnect (D9) continues the numbering and the media timeline,
/// starts with a discontinuity and carries the wall-clock gap for PROGRAM-DATE-TIME.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Continuation {
    /// Number of this stream's first segment.
    pub first_index: u64,
    /// Media time recorded before this stream, in ms.
    pub media_offset_ms: u64,
    /// Wall-clock time lost between streams so far, in ms.
    pub gap_ms: u64,
    /// Whether the first segment follows another stream (`#EXT-X-DISCONTINUITY`).
    pub discontinuity: bool,
    /// Running index of this stream's first GOP (the ID3 `TRCK`).
    pub first_gop: u64,
    /// Wall-clock time of the recording's first frame.
    pub first_frame_at: OffsetDateTime,
}

impl Continuation {
    /// The start of a recording whose first frame is at `first_frame_at`.
    pub fn start(first_frame_at: OffsetDateTime) -> Self {
        Self {
            first_index: 0,
            media_offset_ms: 0,
            gap_ms: 0,
            discontinuity: false,
            first_gop: 0,
            first_frame_at,
        }
    }
}

/// How a rendition's video arrives relative to its audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoArrival {
    /// In step with the input (passthrough): muxed as it comes.
    InStep,
    /// Later than the audio of the same time, from an encoder thread: held until the audio has
    /// reached its time, so that the interleave depends on timestamps alone (the same bytes on
    /// every run, however the threads were scheduled).
    FromEncoder,
}

/// Video held for the audio no longer than this (a stream whose audio stops must not hold its
/// video, and its memory, until the end).
const MAX_VIDEO_HOLD_MS: i64 = 3_000;

/// Segments one rendition.
pub struct RenditionSegments {
    video: TsStream,
    audio: Option<TsStream>,
    origin: (i64, i64),
    segmenter: Segmenter,
    /// The stream's transport stream, from its first keyframe on.
    muxer: Option<TsMuxer>,
    open: Option<OpenSegment>,
    /// Running index of the next GOP.
    next_gop: u64,
    /// Audio waiting for the video to pass its time, so each segment holds the audio of its
    /// own time span even when encoded video arrives late.
    pending_audio: VecDeque<ffmpeg::Packet>,
    /// Encoded video waiting for the audio to reach its time.
    held_video: VecDeque<ffmpeg::Packet>,
    arrival: VideoArrival,
    /// Time (ms) of the latest audio packet taken.
    audio_reached_ms: Option<i64>,
    audio_base: Option<TimeBase>,
    video_base: TimeBase,
    continuation: Continuation,
    first_index: u64,
    /// GOPs closed since last taken, for live playback; `None` when nobody watches live.
    live_gops: Option<Vec<LiveGop>>,
}

impl std::fmt::Debug for RenditionSegments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenditionSegments")
            .field("open", &self.open)
            .field("pending_audio", &self.pending_audio.len())
            .finish_non_exhaustive()
    }
}

impl RenditionSegments {
    /// Segments for `video` (and `audio`), whose media time starts at `video_origin` (video ticks),
    /// continuing a recording as `continuation` says.
    pub fn new(
        video: TsStream,
        audio: Option<TsStream>,
        arrival: VideoArrival,
        video_origin: i64,
        continuation: Continuation,
    ) -> Self {
        let video_base = time_base(video.time_base);
        let audio_origin = audio.as_ref().map_or(0, |audio| {
            let audio_base = time_base(audio.time_base);
            // The same instant in the audio clock.
            let millis = video_base.ticks_to_millis(video_origin);
            audio_base.ticks_at_or_after_millis(millis)
        });
        Self {
            segmenter: Segmenter::new(video_base, continuation.first_index),
            continuation,
            first_index: continuation.first_index,
            audio_base: audio.as_ref().map(|a| time_base(a.time_base)),
            video_base,
            video,
            audio,
            origin: (video_origin, audio_origin),
            muxer: None,
            open: None,
            next_gop: continuation.first_gop,
            pending_audio: VecDeque::new(),
            held_video: VecDeque::new(),
            arrival,
            audio_reached_ms: None,
            live_gops: None,
        }
    }

    /// Keeps each GOP's bytes as it closes, for [`Self::take_live_gops`].
    pub fn keep_live_gops(&mut self) {
        self.live_gops.get_or_insert_with(Vec::new);
    }

    /// The GOPs closed since the last call (none unless [`Self::keep_live_gops`]).
    pub fn take_live_gops(&mut self) -> Vec<LiveGop> {
        self.live_gops
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Keeps the open segment's last GOP, which ends at `end_pts` and byte `end_offset` of
    /// `segment` (the segment's bytes), when keeping live GOPs.
    fn close_live_gop(&mut self, end_pts: i64, segment: &[u8], end_offset: u64) {
        let (Some(live), Some(open)) = (&mut self.live_gops, &self.open) else {
            return;
        };
        let Some(&(pts, offset)) = open.gops.last() else {
            return;
        };
        let range = usize::try_from(offset).unwrap_or(usize::MAX)
            ..usize::try_from(end_offset).unwrap_or(usize::MAX);
        let Some(bytes) = segment.get(range) else {
            return;
        };
        let media_offset = self.continuation.media_offset_ms;
        let start_ms = self.segmenter.media_millis(pts) + media_offset;
        let end_ms = self.segmenter.media_millis(end_pts) + media_offset;
        live.push(LiveGop::new(
            self.next_gop.saturating_sub(1),
            (start_ms, end_ms.saturating_sub(start_ms)),
            (self.continuation.first_frame_at, self.continuation.gap_ms),
            bytes.to_vec(),
            open.video_codec.clone(),
        ));
    }

    /// Takes a video packet; returns the segments it closed.
    pub fn push_video(
        &mut self,
        packet: &ffmpeg::Packet,
    ) -> Result<Vec<FinishedSegment>, MuxError> {
        if self.arrival == VideoArrival::InStep || self.audio.is_none() {
            return Ok(self.write_video(packet)?.into_iter().collect());
        }
        self.held_video.push_back(packet.clone());
        self.release_video(false)
    }

    /// Takes an audio packet; it is muxed once the video has reached its time (audio before
    /// the first keyframe is dropped). Returns the segments that held video, released by it,
    /// closed.
    pub fn push_audio(
        &mut self,
        packet: &ffmpeg::Packet,
    ) -> Result<Vec<FinishedSegment>, MuxError> {
        let Some(audio_base) = self.audio_base else {
            return Ok(Vec::new());
        };
        if let Some(pts) = packet.pts().or(packet.dts()) {
            let at = audio_base.ticks_to_millis(pts);
            self.audio_reached_ms = Some(self.audio_reached_ms.map_or(at, |r| r.max(at)));
        }
        self.pending_audio.push_back(packet.clone());
        self.release_video(false)
    }

    /// Muxes held video the audio has reached (all of it when `all`).
    fn release_video(&mut self, all: bool) -> Result<Vec<FinishedSegment>, MuxError> {
        let mut finished = Vec::new();
        while let Some(front) = self.held_video.front() {
            let at = |packet: &ffmpeg::Packet| {
                packet
                    .dts()
                    .or(packet.pts())
                    .map_or(i64::MIN, |ts| self.video_base.ticks_to_millis(ts))
            };
            let front_ms = at(front);
            let held_ms = self.held_video.back().map_or(front_ms, at) - front_ms;
            let reached = self.audio_reached_ms.is_some_and(|ms| ms >= front_ms);
            if !(all || reached || held_ms > MAX_VIDEO_HOLD_MS) {
                break;
            }
            let Some(packet) = self.held_video.pop_front() else {
                break;
            };
            finished.extend(self.write_video(&packet)?);
        }
        Ok(finished)
    }

    /// Muxes a video packet after the audio before it; returns the segment it closed, if it
    /// started a new one.
    fn write_video(
        &mut self,
        packet: &ffmpeg::Packet,
    ) -> Result<Option<FinishedSegment>, MuxError> {
        let Some(pts) = packet.pts().or(packet.dts()) else {
            return Ok(None);
        };
        // Audio up to this video packet's decode time belongs before it.
        self.release_audio(packet.dts().unwrap_or(pts))?;
        let mut finished = None;
        match self.segmenter.on_video(pts, packet.is_key()) {
            Boundary::None => {}
            Boundary::Gop => self.start_gop(pts)?,
            Boundary::Segment { index } => {
                finished = match self.muxer.as_mut() {
                    Some(muxer) => {
                        let bytes = muxer.cut()?;
                        self.close_live_gop(pts, &bytes, bytes.len() as u64);
                        self.close(pts, bytes)
                    }
                    None => None,
                };
                if self.muxer.is_none() {
                    self.muxer = Some(TsMuxer::new(&self.video, self.audio.as_ref(), self.origin)?);
                }
                self.open = Some(OpenSegment {
                    index,
                    gops: Vec::new(),
                    video_codec: packet.data().and_then(codecs::avc1),
                });
                self.start_gop(pts)?;
            }
        }
        if let Some(muxer) = &mut self.muxer {
            muxer.write(packet, Track::Video)?;
        }
        Ok(finished)
    }

    /// A GOP starts at `pts`: PAT and PMT, then its ID3 tag, then (the caller) its keyframe.
    fn start_gop(&mut self, pts: i64) -> Result<(), MuxError> {
        let Some(muxer) = &mut self.muxer else {
            return Ok(());
        };
        let offset = muxer.start_gop()?;
        if self.live_gops.is_some() {
            // The muxer is put back at once; only the GOP's bytes are copied.
            let muxer = self.muxer.take();
            if let Some(muxer) = &muxer {
                self.close_live_gop(pts, muxer.written(), offset);
            }
            self.muxer = muxer;
        }
        let (Some(muxer), Some(open)) = (&mut self.muxer, &mut self.open) else {
            return Ok(());
        };
        open.gops.push((pts, offset));
        let media_ms = self.segmenter.media_millis(pts) + self.continuation.media_offset_ms;
        let tag = GopTag {
            index: self.next_gop,
            at: wall_clock_at(
                self.continuation.first_frame_at,
                media_ms,
                self.continuation.gap_ms,
            ),
            encoder: ENCODER.to_owned(),
        };
        self.next_gop += 1;
        muxer.write_id3(&tag.to_bytes(), pts)
    }

    /// Inserts timed metadata (a whole ID3 tag, e.g. [`super::id3::txxx_tag`]) at `pts` (video
    /// ticks). `false` before the stream's first keyframe, when there is nowhere to put it.
    pub fn insert_metadata(&mut self, tag: &[u8], pts: i64) -> Result<bool, MuxError> {
        match &mut self.muxer {
            Some(muxer) => muxer.write_id3(tag, pts).map(|()| true),
            None => Ok(false),
        }
    }

    /// Ends the last segment at `end_pts` (video ticks: the end of the last frame); returns the
    /// segments it closed.
    pub fn finish(&mut self, end_pts: i64) -> Result<Vec<FinishedSegment>, MuxError> {
        let mut finished = self.release_video(true)?;
        self.release_audio(i64::MAX)?;
        if let Some(muxer) = self.muxer.take() {
            let bytes = muxer.finish()?;
            self.close_live_gop(end_pts, &bytes, bytes.len() as u64);
            finished.extend(self.close(end_pts, bytes));
        }
        Ok(finished)
    }

    /// Muxes pending audio whose time is before `video_ticks` (in the video time base).
    fn release_audio(&mut self, video_ticks: i64) -> Result<(), MuxError> {
        let Some(audio_base) = self.audio_base else {
            return Ok(());
        };
        let limit_ms = if video_ticks == i64::MAX {
            i64::MAX
        } else {
            self.video_base.ticks_to_millis(video_ticks)
        };
        while let Some(packet) = self.pending_audio.front() {
            let at = packet
                .pts()
                .or(packet.dts())
                .map_or(i64::MIN, |pts| audio_base.ticks_to_millis(pts));
            if at >= limit_ms {
                break;
            }
            let Some(packet) = self.pending_audio.pop_front() else {
                break;
            };
            if let (Some(muxer), Some(_)) = (&mut self.muxer, &self.open) {
                muxer.write(&packet, Track::Audio)?;
            }
        }
        Ok(())
    }

    /// Closes the open segment at `end_pts` with `bytes`, its part of the transport stream.
    fn close(&mut self, end_pts: i64, bytes: Vec<u8>) -> Option<FinishedSegment> {
        let open = self.open.take()?;
        let size = bytes.len() as u64;
        let media_offset = self.continuation.media_offset_ms;
        let end_ms = self.segmenter.media_millis(end_pts) + media_offset;
        let mut gops = Vec::with_capacity(open.gops.len());
        for (n, &(pts, offset)) in open.gops.iter().enumerate() {
            let (next_ms, next_offset) = match open.gops.get(n + 1) {
                Some(&(next_pts, next_offset)) => (
                    self.segmenter.media_millis(next_pts) + media_offset,
                    next_offset,
                ),
                None => (end_ms, size),
            };
            let start_ms = self.segmenter.media_millis(pts) + media_offset;
            gops.push(GopEntry {
                start_ms,
                duration_ms: next_ms.saturating_sub(start_ms),
                offset,
                length: next_offset.saturating_sub(offset),
            });
        }
        let start_ms = gops.first().map_or(end_ms, |g| g.start_ms);
        Some(FinishedSegment {
            entry: SegmentEntry {
                index: open.index,
                start_ms,
                duration_ms: end_ms.saturating_sub(start_ms),
                gops,
                discontinuity: self.continuation.discontinuity && open.index == self.first_index,
                gap_ms: self.continuation.gap_ms,
            },
            bytes,
            video_codec: open.video_codec,
        })
    }
}

fn time_base(rational: ffmpeg::Rational) -> TimeBase {
    TimeBase::new(
        i64::from(rational.numerator()),
        i64::from(rational.denominator()),
    )
    .unwrap_or(TimeBase {
        numerator: 1,
        denominator: 90_000,
    })
}
