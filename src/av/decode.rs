//! One video decoder and the send/receive protocol of libavcodec, wrapped once: "needs more
//! input" (EAGAIN), end of stream and real failures are told apart, and the output frame buffer
//! is reused until a caller keeps a frame.

use ffmpeg::util::frame::video::Video as VideoFrame;
use ffmpeg_next as ffmpeg;

/// Why decoding failed.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The decoder could not be opened.
    #[error("cannot open a {codec} decoder")]
    Open {
        /// The codec's name.
        codec: String,
        /// What libavcodec said.
        #[source]
        source: ffmpeg::Error,
    },
    /// A packet was refused or a frame could not be produced.
    #[error("cannot decode the video packet at pts {pts}")]
    Packet {
        /// The packet's timestamp (`-1` when it has none).
        pts: i64,
        /// What libavcodec said.
        #[source]
        source: ffmpeg::Error,
    },
}

/// A decoded frame handed to a consumer. Taking it (`std::mem::replace`) leaves an empty frame
/// behind; leaving it lets the decoder reuse the buffer.
pub type FrameSlot = VideoFrame;

/// An opened video decoder.
pub struct VideoDecoder {
    decoder: ffmpeg::decoder::Video,
    frame: VideoFrame,
    /// What it was opened with, for [`VideoDecoder::renew`].
    opened_with: (ffmpeg::codec::Parameters, ffmpeg::threading::Type, usize),
}

impl std::fmt::Debug for VideoDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoDecoder").finish_non_exhaustive()
    }
}

impl VideoDecoder {
    /// Opens a decoder for `parameters`, using up to `threads` slice threads (0 = one per core).
    pub fn open(
        parameters: ffmpeg::codec::Parameters,
        threads: usize,
    ) -> Result<Self, DecodeError> {
        Self::open_with(parameters, ffmpeg::threading::Type::Slice, threads)
    }

    /// Opens a decoder that decodes every frame with `threads` frame threads (throughput over
    /// latency: frames come out `threads - 1` packets later).
    pub fn open_frame_threaded(
        parameters: ffmpeg::codec::Parameters,
        threads: usize,
    ) -> Result<Self, DecodeError> {
        Self::open_with(parameters, ffmpeg::threading::Type::Frame, threads)
    }

    fn open_with(
        parameters: ffmpeg::codec::Parameters,
        kind: ffmpeg::threading::Type,
        threads: usize,
    ) -> Result<Self, DecodeError> {
        let codec_name = format!("{:?}", parameters.id()).to_lowercase();
        let open_error = |source| DecodeError::Open {
            codec: codec_name.clone(),
            source,
        };
        let opened_with = (parameters.clone(), kind, threads);
        let mut context =
            ffmpeg::codec::context::Context::from_parameters(parameters).map_err(open_error)?;
        context.set_threading(ffmpeg::threading::Config {
            kind,
            count: threads,
            ..Default::default()
        });
        let decoder = context.decoder().video().map_err(open_error)?;
        Ok(Self {
            decoder,
            frame: VideoFrame::empty(),
            opened_with,
        })
    }

    /// Replaces the decoder by a freshly opened one, freeing the frames and tables the old one
    /// kept (a decoder used once every few seconds need not hold a picture pool in between).
    /// The next packet must be a keyframe. On failure the old decoder stays.
    pub fn renew(&mut self) -> Result<(), DecodeError> {
        let (parameters, kind, threads) = self.opened_with.clone();
        *self = Self::open_with(parameters, kind, threads)?;
        Ok(())
    }

    /// Sends `packet` and hands every frame that comes out to `on_frame`.
    pub fn decode(
        &mut self,
        packet: &ffmpeg::Packet,
        on_frame: &mut dyn FnMut(&mut FrameSlot),
    ) -> Result<(), DecodeError> {
        let pts = packet.pts().unwrap_or(-1);
        self.decoder
            .send_packet(packet)
            .map_err(|source| DecodeError::Packet { pts, source })?;
        self.receive_all(pts, on_frame)
    }

    /// Signals the end of input, hands out every frame still inside, then resets the decoder so
    /// it accepts new packets (starting at a keyframe).
    pub fn drain(&mut self, on_frame: &mut dyn FnMut(&mut FrameSlot)) -> Result<(), DecodeError> {
        match self.decoder.send_eof() {
            Ok(()) | Err(ffmpeg::Error::Eof) => {}
            Err(source) => return Err(DecodeError::Packet { pts: -1, source }),
        }
        let result = self.receive_all(-1, on_frame);
        self.decoder.flush();
        result
    }

    /// Drops everything inside the decoder; the next packet must be a keyframe.
    pub fn reset(&mut self) {
        self.decoder.flush();
    }

    fn receive_all(
        &mut self,
        pts: i64,
        on_frame: &mut dyn FnMut(&mut FrameSlot),
    ) -> Result<(), DecodeError> {
        loop {
            match self.decoder.receive_frame(&mut self.frame) {
                Ok(()) => {
                    on_frame(&mut self.frame);
                }
                Err(ffmpeg::Error::Eof) => return Ok(()),
                Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => {
                    return Ok(());
                }
                Err(source) => return Err(DecodeError::Packet { pts, source }),
            }
        }
    }
}

/// The timestamp of a decoded frame: its pts (carried over exactly from its packet), else the
/// decoder's best-effort guess (which may be derived from dts when pts look unreliable).
pub fn frame_pts(frame: &VideoFrame) -> Option<i64> {
    frame.pts().or(frame.timestamp())
}
