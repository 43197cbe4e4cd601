//! One transcoded rung: scale (from the source frame or the next larger rung's picture) and
//! encode with libx264 at the rung's bitrate, with an IDR exactly where the source has a keyframe
//! (decision D11) and nowhere else, so every rendition can be cut at the same timestamps.
//!
//! Each rung runs on a thread of its own ([`super::rung_chain`]), so x264 runs single-threaded
//! inside it ([`X264_THREADS`]): the rungs are the parallelism, and no encoder holds the extra
//! frames that x264's frame threads and their lookahead would.

use std::sync::Arc;

use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg::util::frame::video::Video as VideoFrame;
use ffmpeg_next as ffmpeg;

use crate::ladder::Rendition;

/// x264 speed preset of the ladder encoders.
pub const X264_PRESET: &str = "veryfast";
/// x264 threads per rung (the rungs themselves run in parallel).
pub const X264_THREADS: &str = "1";

/// Why a rung could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum VideoEncodeError {
    /// This FFmpeg has no libx264.
    #[error("FFmpeg has no libx264 encoder")]
    NoEncoder,
    /// The encoder or scaler could not be set up.
    #[error("cannot set up the {rendition} encoder")]
    Open {
        /// The rendition.
        rendition: String,
        /// What libav said.
        #[source]
        source: ffmpeg::Error,
    },
    /// The rung's thread could not be started.
    #[error("cannot start a rung encoder thread")]
    Thread {
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A rung's thread stopped without saying why (it panicked).
    #[error("a rung encoder thread stopped unexpectedly")]
    Stopped,
    /// A frame could not be scaled or encoded.
    #[error("cannot encode a {rendition} frame")]
    Encode {
        /// The rendition.
        rendition: String,
        /// What libav said.
        #[source]
        source: ffmpeg::Error,
    },
}

/// What one rung encodes to, and what its input frames are.
#[derive(Debug, Clone)]
pub struct RungSettings {
    /// The rendition (name, size, frame rate).
    pub rendition: Rendition,
    /// Target bitrate, bits per second.
    pub bitrate: u32,
    /// Time base of the input frames' timestamps.
    pub time_base: ffmpeg::Rational,
    /// Frame rate of the source.
    pub source_frame_rate: f64,
}

/// Encodes one rung.
pub struct RungEncoder {
    name: String,
    width: u32,
    height: u32,
    bitrate: u32,
    /// Minimum pts step between output frames (frame-rate cap), in source ticks.
    min_step: i64,
    last_pts: Option<i64>,
    scaler: Option<((Pixel, u32, u32), scaling::Context)>,
    encoder: ffmpeg::encoder::Video,
    packet: ffmpeg::Packet,
}

impl std::fmt::Debug for RungEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RungEncoder")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl RungEncoder {
    /// An encoder for `settings.rendition` at `settings.bitrate`.
    pub fn new(settings: &RungSettings) -> Result<Self, VideoEncodeError> {
        let RungSettings {
            rendition,
            bitrate,
            time_base,
            source_frame_rate,
        } = settings;
        let (bitrate, time_base, source_frame_rate) = (*bitrate, *time_base, *source_frame_rate);
        crate::av::init();
        let codec = ffmpeg::encoder::find_by_name("libx264").ok_or(VideoEncodeError::NoEncoder)?;
        let open_error = |source| VideoEncodeError::Open {
            rendition: rendition.name.clone(),
            source,
        };
        let mut encoder = ffmpeg::codec::context::Context::new_with_codec(codec)
            .encoder()
            .video()
            .map_err(open_error)?;
        let fps = rendition.frame_rate.round().max(1.0) as i32;
        encoder.set_width(rendition.width);
        encoder.set_height(rendition.height);
        encoder.set_format(Pixel::YUV420P);
        encoder.set_time_base(time_base);
        encoder.set_frame_rate(Some(ffmpeg::Rational::new(fps, 1)));
        encoder.set_bit_rate(bitrate as usize);
        // Keyframes only where the source has them.
        encoder.set_gop(u32::MAX / 4);
        let level = if rendition.height > 720 || (rendition.height == 720 && fps > 30) {
            "4.1"
        } else {
            "3.1"
        };
        let mut options = ffmpeg::Dictionary::new();
        options.set("preset", X264_PRESET);
        options.set("profile", "main");
        options.set("level", level);
        options.set("forced-idr", "1");
        options.set("threads", X264_THREADS);
        // Average bitrate without VBV: x264 is deterministic then (VBV with frame threads is not),
        // so the same input always records to the same bytes.
        options.set("x264-params", "scenecut=0:open-gop=0");
        let encoder = encoder.open_as_with(codec, options).map_err(open_error)?;
        let source_tick_rate =
            f64::from(time_base.denominator()) / f64::from(time_base.numerator().max(1));
        // Drop frames only when the source is faster than the rung (e.g. 60 -> 30 fps).
        let min_step = if source_frame_rate > f64::from(fps) + 0.5 {
            ((source_tick_rate / f64::from(fps)) * 0.9) as i64
        } else {
            0
        };
        Ok(Self {
            name: rendition.name.clone(),
            width: rendition.width,
            height: rendition.height,
            bitrate,
            min_step,
            last_pts: None,
            scaler: None,
            encoder,
            packet: ffmpeg::Packet::empty(),
        })
    }

    /// The rendition's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Target bitrate in bits per second.
    pub fn bitrate(&self) -> u32 {
        self.bitrate
    }

    /// Codec parameters of the encoded stream (for the muxer).
    pub fn parameters(&self) -> ffmpeg::codec::Parameters {
        ffmpeg::codec::Parameters::from(&*self.encoder)
    }

    /// Scales `input` (source frame or larger rung picture; `pts` and `is_key` from the source)
    /// and encodes it; returns the scaled picture (the next smaller rung's input), or `None` when
    /// the frame-rate cap dropped the frame. Encoded packets go to `on_packet`.
    pub fn encode(
        &mut self,
        input: &VideoFrame,
        pts: i64,
        is_key: bool,
        on_packet: &mut dyn FnMut(&ffmpeg::Packet),
    ) -> Result<Option<Arc<VideoFrame>>, VideoEncodeError> {
        if !is_key && self.last_pts.is_some_and(|last| pts - last < self.min_step) {
            return Ok(None);
        }
        self.last_pts = Some(pts);
        let encode_error = |source| VideoEncodeError::Encode {
            rendition: self.name.clone(),
            source,
        };
        let shape = (input.format(), input.width(), input.height());
        if self.scaler.as_ref().map(|(s, _)| *s) != Some(shape) {
            let context = scaling::Context::get(
                shape.0,
                shape.1,
                shape.2,
                Pixel::YUV420P,
                self.width,
                self.height,
                scaling::Flags::BICUBIC,
            )
            .map_err(encode_error)?;
            self.scaler = Some((shape, context));
        }
        // A new picture for every frame: the next rung may still be scaling from the last one,
        // and reusing a buffer the encoder was handed made the smallest rung's output differ
        // from run to run (measured; a fresh allocation costs less than 1% here).
        let mut scaled = VideoFrame::new(Pixel::YUV420P, self.width, self.height);
        // Zeroed: the bytes past each line's width (the 160p rung's 284-pixel lines sit in
        // 288-byte rows) would otherwise hold whatever the allocator had there, and SIMD code
        // downstream may read them; a recording must not depend on that.
        for plane in 0..scaled.planes() {
            scaled.data_mut(plane).fill(0);
        }
        let (_, scaler) = self.scaler.as_mut().ok_or(VideoEncodeError::Stopped)?;
        scaler.run(input, &mut scaled).map_err(encode_error)?;
        scaled.set_pts(Some(pts));
        scaled.set_kind(if is_key {
            ffmpeg::picture::Type::I
        } else {
            ffmpeg::picture::Type::None
        });
        self.encoder.send_frame(&scaled).map_err(encode_error)?;
        self.receive(on_packet)?;
        Ok(Some(Arc::new(scaled)))
    }

    /// Flushes the encoder at the end of the input.
    pub fn finish(
        &mut self,
        on_packet: &mut dyn FnMut(&ffmpeg::Packet),
    ) -> Result<(), VideoEncodeError> {
        match self.encoder.send_eof() {
            Ok(()) | Err(ffmpeg::Error::Eof) => {}
            Err(source) => {
                return Err(VideoEncodeError::Encode {
                    rendition: self.name.clone(),
                    source,
                });
            }
        }
        self.receive(on_packet)
    }

    fn receive(
        &mut self,
        on_packet: &mut dyn FnMut(&ffmpeg::Packet),
    ) -> Result<(), VideoEncodeError> {
        loop {
            match self.encoder.receive_packet(&mut self.packet) {
                Ok(()) => on_packet(&self.packet),
                Err(ffmpeg::Error::Eof) => return Ok(()),
                Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => {
                    return Ok(());
                }
                Err(source) => {
                    return Err(VideoEncodeError::Encode {
                        rendition: self.name.clone(),
                        source,
                    });
                }
            }
        }
    }
}
