//! Picks the thumbnail frames out of a packet stream: the decode gate decides what to decode, the
//! schedule decides which decoded frame is a thumbnail. Frames leave as [`SampledFrame`]s; only
//! those are copied out of the decoder.

use ffmpeg::util::frame::video::Video as VideoFrame;
use ffmpeg_next as ffmpeg;

use super::decode_gate::{DecodeGate, DecodeStep, PacketTiming};
use super::schedule::ThumbnailSchedule;
use crate::av::decode::{VideoDecoder, frame_pts};

/// A frame chosen as thumbnail `number`.
pub struct SampledFrame {
    /// 0, 1, 2, … without gaps.
    pub number: u64,
    /// The frame's timestamp.
    pub pts: i64,
    /// The decoded picture.
    pub frame: VideoFrame,
    /// When it was taken (its delay to the stored JPEG goes to `/metrics`).
    pub taken_at: std::time::Instant,
}

impl std::fmt::Debug for SampledFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SampledFrame")
            .field("number", &self.number)
            .field("pts", &self.pts)
            .finish_non_exhaustive()
    }
}

/// Counts that show how much work sampling took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SamplerStats {
    /// Video packets seen.
    pub packets: u64,
    /// Packets sent to the decoder.
    pub decoded: u64,
    /// Packets the decoder refused (skipped; logged).
    pub decode_errors: u64,
    /// Thumbnails taken.
    pub taken: u64,
}

/// Samples one video stream.
pub struct ThumbnailSampler {
    decoder: VideoDecoder,
    gate: DecodeGate<ffmpeg::Packet>,
    schedule: ThumbnailSchedule,
    stats: SamplerStats,
}

impl std::fmt::Debug for ThumbnailSampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThumbnailSampler")
            .field("schedule", &self.schedule)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl ThumbnailSampler {
    /// A sampler taking frames on `schedule`. `keyframes_only` is the BASIC rule (D7).
    pub fn new(decoder: VideoDecoder, schedule: ThumbnailSchedule, keyframes_only: bool) -> Self {
        Self {
            decoder,
            gate: if keyframes_only {
                DecodeGate::keyframes_only()
            } else {
                DecodeGate::every_frame()
            },
            schedule,
            stats: SamplerStats::default(),
        }
    }

    /// Takes the next packet in decode order; returns the thumbnail frames it completed.
    pub fn push(&mut self, packet: ffmpeg::Packet) -> Vec<SampledFrame> {
        self.stats.packets += 1;
        let Some(pts) = packet.pts().or(packet.dts()) else {
            return Vec::new();
        };
        let timing = PacketTiming {
            pts,
            is_key: packet.is_key(),
        };
        let mut sampled = Vec::new();
        if let Some(step) = self
            .gate
            .on_packet(packet, timing, self.schedule.next_boundary())
        {
            self.run(step, &mut sampled);
        }
        sampled
    }

    /// The end of the stream: drains what the decoder still holds.
    pub fn finish(&mut self) -> Vec<SampledFrame> {
        let mut sampled = Vec::new();
        let (decoder, schedule, gate) = (&mut self.decoder, &mut self.schedule, &mut self.gate);
        let mut on_frame =
            |frame: &mut VideoFrame| take_if_wanted(frame, schedule, gate, &mut sampled);
        if let Err(err) = decoder.drain(&mut on_frame) {
            tracing::warn!(error = %err, "decoder failed while draining at the end of the input");
            self.stats.decode_errors += 1;
        }
        self.stats.taken += sampled.len() as u64;
        sampled
    }

    /// Thumbnails this sampler has taken.
    pub fn taken(&self) -> u64 {
        self.schedule.taken()
    }

    /// What sampling has cost so far.
    pub fn stats(&self) -> SamplerStats {
        self.stats
    }

    fn run(&mut self, step: DecodeStep<ffmpeg::Packet>, sampled: &mut Vec<SampledFrame>) {
        let before = sampled.len();
        tracing::debug!(
            reset = step.reset,
            packets = step.packets.len(),
            first_pts = step.packets.first().and_then(|p| p.pts()),
            drain = step.drain,
            next_boundary = self.schedule.next_boundary(),
            "decoding for a thumbnail"
        );
        if step.reset {
            self.decoder.reset();
        }
        let (decoder, schedule, gate) = (&mut self.decoder, &mut self.schedule, &mut self.gate);
        let mut on_frame = |frame: &mut VideoFrame| take_if_wanted(frame, schedule, gate, sampled);
        for packet in &step.packets {
            self.stats.decoded += 1;
            if let Err(err) = decoder.decode(packet, &mut on_frame) {
                self.stats.decode_errors += 1;
                tracing::warn!(error = %err, "skipping a video packet the decoder refused");
            }
        }
        if step.drain
            && let Err(err) = decoder.drain(&mut on_frame)
        {
            self.stats.decode_errors += 1;
            tracing::warn!(error = %err, "decoder failed while draining a keyframe");
        }
        if step.drain
            && self.gate.is_keyframes_only()
            && let Err(err) = self.decoder.renew()
        {
            // Keyframes decode alone: a fresh decoder holds no pictures until the next one.
            tracing::warn!(error = %err, "keeping the thumbnail decoder (cannot open a new one)");
        }
        self.stats.taken += (sampled.len() - before) as u64;
    }
}

fn take_if_wanted(
    frame: &mut VideoFrame,
    schedule: &mut ThumbnailSchedule,
    gate: &mut DecodeGate<ffmpeg::Packet>,
    sampled: &mut Vec<SampledFrame>,
) {
    let Some(pts) = frame_pts(frame) else {
        return;
    };
    if let Some(number) = schedule.offer(pts) {
        gate.on_frame_taken();
        let frame = std::mem::replace(frame, VideoFrame::empty());
        sampled.push(SampledFrame {
            number,
            pts,
            frame,
            taken_at: std::time::Instant::now(),
        });
    }
}
