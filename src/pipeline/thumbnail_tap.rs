//! Where thumbnail frames come from: the ladder's own decoded frames, picked by the schedule
//! alone (a frame sink), or, when nothing is transcoded, a gated decoder of their own that
//! decodes only the frames it needs (a packet sink: BASIC and no-rendition recordings).

use ffmpeg::util::frame::video::Video as VideoFrame;
use ffmpeg_next as ffmpeg;

use crate::thumbnail::{SampledFrame, SamplerStats, ThumbnailSampler, ThumbnailSchedule};

/// The thumbnail tap of one stream.
#[derive(Debug)]
pub enum ThumbnailTap {
    /// A gated decoder of its own, fed the source packets.
    Gated(ThumbnailSampler),
    /// The ladder's frames, offered one by one.
    Frames(ThumbnailSchedule),
}

impl ThumbnailTap {
    /// Offers a decoded ladder frame; returns a copy of it when it is a thumbnail.
    pub fn offer_frame(&mut self, frame: &VideoFrame, pts: i64) -> Option<SampledFrame> {
        let Self::Frames(schedule) = self else {
            return None;
        };
        schedule.offer(pts).map(|number| SampledFrame {
            number,
            pts,
            frame: frame.clone(),
            taken_at: std::time::Instant::now(),
        })
    }

    /// Offers a source packet; returns the thumbnails it completed.
    pub fn offer_packet(&mut self, packet: ffmpeg::Packet) -> Vec<SampledFrame> {
        match self {
            Self::Gated(sampler) => sampler.push(packet),
            Self::Frames(_) => Vec::new(),
        }
    }

    /// The end of the stream: what the gated decoder still holds.
    pub fn finish(&mut self) -> Vec<SampledFrame> {
        match self {
            Self::Gated(sampler) => sampler.finish(),
            Self::Frames(_) => Vec::new(),
        }
    }

    /// Thumbnails taken so far.
    pub fn taken(&self) -> u64 {
        match self {
            Self::Gated(sampler) => sampler.taken(),
            Self::Frames(schedule) => schedule.taken(),
        }
    }

    /// The gated decoder's work, when there is one.
    pub fn stats(&self) -> Option<SamplerStats> {
        match self {
            Self::Gated(sampler) => Some(sampler.stats()),
            Self::Frames(_) => None,
        }
    }
}
