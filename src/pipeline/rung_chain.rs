//! The transcoded rungs of a ladder, each encoding on a thread of its own, chained from the
//! largest to the smallest: a decoded source frame enters the first rung, and each rung hands its
//! scaled picture on to the next smaller one (which scales from it instead of from the source).
//! Encoded packets come back to the driver on one queue, tagged with the rung.
//!
//! Frames travel as `Arc`s and are never copied: a rung keeps its scaled picture in an `Arc` and
//! reuses the buffer once the next rung has let go of it. The queues between rungs hold at most
//! `FRAMES_IN_FLIGHT` (2) frames, so a slow rung slows the decoder instead of growing memory.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;

use ffmpeg::util::frame::video::Video as VideoFrame;
use ffmpeg_next as ffmpeg;

use super::rung::{RungEncoder, RungSettings, RungUsage, VideoEncodeError};

/// Frames waiting in front of each rung.
const FRAMES_IN_FLIGHT: usize = 2;

/// A frame on its way down the chain: the picture the next rung scales from, which is the
/// nearest larger rung's picture of this frame (the source for the first rung, or when every
/// larger rung dropped the frame to cap its frame rate).
struct ChainFrame {
    picture: Arc<VideoFrame>,
    pts: i64,
    is_key: bool,
}

/// An encoded packet of rung number `rung` (0 = the largest transcoded rung).
pub struct RungPacket {
    /// Which rung, in chain order.
    pub rung: usize,
    /// The H.264 packet, timestamps in the source time base.
    pub packet: ffmpeg::Packet,
}

impl std::fmt::Debug for RungPacket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RungPacket")
            .field("rung", &self.rung)
            .field("pts", &self.packet.pts())
            .finish()
    }
}

/// Every transcoded rung of a ladder, each on its own thread.
pub struct RungChain {
    first: Option<SyncSender<ChainFrame>>,
    threads: Vec<JoinHandle<Result<RungUsage, VideoEncodeError>>>,
    packets: Receiver<RungPacket>,
    parameters: Vec<ffmpeg::codec::Parameters>,
}

impl std::fmt::Debug for RungChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RungChain")
            .field("rungs", &self.threads.len())
            .finish_non_exhaustive()
    }
}

impl RungChain {
    /// Starts one encoder thread per rung of `rungs` (largest first). Each encoder is opened on
    /// its own thread (swscale contexts stay where they are used); one that cannot open is
    /// reported here.
    pub fn start(rungs: Vec<RungSettings>) -> Result<Self, VideoEncodeError> {
        let (packet_sender, packets) = channel();
        let mut threads = Vec::new();
        let mut parameters = Vec::new();
        let mut downstream: Option<SyncSender<ChainFrame>> = None;
        // Built from the smallest up, so each rung knows the queue of the next smaller one.
        for (index, settings) in rungs.into_iter().enumerate().rev() {
            let (frames, inbox) = sync_channel(FRAMES_IN_FLIGHT);
            let (opened, is_opened) = sync_channel(1);
            let next = downstream.take();
            let packet_sender = packet_sender.clone();
            let thread = std::thread::Builder::new()
                .name(crate::cpu_time::unique_name(&format!(
                    "rung {}",
                    settings.rendition.name
                )))
                .spawn(move || {
                    let encoder = match RungEncoder::new(&settings) {
                        Ok(encoder) => {
                            let _ = opened.send(Ok(encoder.parameters()));
                            encoder
                        }
                        Err(err) => {
                            let _ = opened.send(Err(err));
                            return Ok(RungUsage::default());
                        }
                    };
                    run_rung(index, encoder, &inbox, next.as_ref(), &packet_sender)
                })
                .map_err(|source| VideoEncodeError::Thread { source })?;
            threads.push(thread);
            match is_opened.recv() {
                Ok(Ok(rung_parameters)) => parameters.push(rung_parameters),
                Ok(Err(err)) => return Err(err),
                Err(_) => return Err(VideoEncodeError::Stopped),
            }
            downstream = Some(frames);
        }
        threads.reverse();
        parameters.reverse();
        Ok(Self {
            first: downstream,
            threads,
            packets,
            parameters,
        })
    }

    /// Codec parameters of each rung's stream, in chain order (for the muxers).
    pub fn parameters(&self) -> &[ffmpeg::codec::Parameters] {
        &self.parameters
    }

    /// Hands a decoded source frame to the chain; waits while the first rung is
    /// `FRAMES_IN_FLIGHT` (2) frames behind. `false` when a rung has stopped (its error comes from
    /// [`Self::finish`]).
    pub fn push(&self, source: Arc<VideoFrame>, pts: i64, is_key: bool) -> bool {
        self.first.as_ref().is_some_and(|first| {
            first
                .send(ChainFrame {
                    picture: source,
                    pts,
                    is_key,
                })
                .is_ok()
        })
    }

    /// Encoded packets that are ready, in the order each rung produced them.
    pub fn ready_packets(&self) -> impl Iterator<Item = RungPacket> + '_ {
        self.packets.try_iter()
    }

    /// Flushes every rung and returns the packets still to come and what each rung did (chain
    /// order); the first rung error, if any.
    pub fn finish(mut self) -> Result<(Vec<RungPacket>, Vec<RungUsage>), VideoEncodeError> {
        drop(self.first.take());
        let mut usages = Vec::new();
        let mut failure = None;
        for thread in self.threads.drain(..) {
            match thread.join().unwrap_or(Err(VideoEncodeError::Stopped)) {
                Ok(usage) => usages.push(usage),
                Err(err) => {
                    failure.get_or_insert(err);
                }
            }
        }
        match failure {
            Some(err) => Err(err),
            None => Ok((self.packets.try_iter().collect(), usages)),
        }
    }
}

/// One rung's thread: scale and encode each frame, pass the picture on, send the packets back.
fn run_rung(
    index: usize,
    mut encoder: RungEncoder,
    inbox: &Receiver<ChainFrame>,
    next: Option<&SyncSender<ChainFrame>>,
    packets: &Sender<RungPacket>,
) -> Result<RungUsage, VideoEncodeError> {
    let mut send = |packet: &ffmpeg::Packet| {
        let _ = packets.send(RungPacket {
            rung: index,
            packet: packet.clone(),
        });
    };
    for frame in inbox {
        let scaled = encoder.encode(&frame.picture, frame.pts, frame.is_key, &mut send)?;
        if let Some(next) = next {
            // The larger picture is let go of here: a source frame lives only until the first
            // rung has scaled it.
            let handed = next.send(ChainFrame {
                picture: scaled.unwrap_or(frame.picture),
                pts: frame.pts,
                is_key: frame.is_key,
            });
            if handed.is_err() {
                // The smaller rung stopped; its error is reported when the chain finishes.
                break;
            }
        }
    }
    encoder.finish(&mut send)?;
    Ok(encoder.usage().clone())
}
