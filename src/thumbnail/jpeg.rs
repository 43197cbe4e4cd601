//! One thumbnail from one decoded frame: scale (swscale) to the thumbnail size in full-range
//! YUV 4:2:0, then encode with FFmpeg's MJPEG encoder at a fixed quality.
//!
//! Why FFmpeg's encoder and not the `image` crate: the decoder already gives planar YUV 4:2:0,
//! which is what a JPEG stores. `image` wants RGB, so every thumbnail would pay a YUV→RGB
//! conversion and the encoder's RGB→YCbCr conversion back; the bench `jpeg_encode` measures both
//! paths (see README, "Thumbnail speed").

use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg::util::frame::video::Video as VideoFrame;
use ffmpeg_next as ffmpeg;

use crate::av::frame::set_quality;

/// JPEG quantiser scale: 2 (best) .. 31 (worst). 3 gives IVS-like sizes (~100-150 KB at 720p).
pub const JPEG_QUALITY: i32 = 3;
/// libavcodec's `FF_QP2LAMBDA`: quantiser to lambda.
const QP2LAMBDA: i32 = 118;

/// Why a thumbnail could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ThumbnailError {
    /// This FFmpeg build has no MJPEG encoder.
    #[error("FFmpeg has no MJPEG encoder")]
    NoEncoder,
    /// The encoder could not be set up for this size.
    #[error("cannot open a {width}x{height} JPEG encoder")]
    Open {
        /// Thumbnail width.
        width: u32,
        /// Thumbnail height.
        height: u32,
        /// What libavcodec said.
        #[source]
        source: ffmpeg::Error,
    },
    /// Scaling the frame failed.
    #[error("cannot scale a {from_width}x{from_height} {from_format:?} frame to {width}x{height}")]
    Scale {
        /// Source width.
        from_width: u32,
        /// Source height.
        from_height: u32,
        /// Source pixel format.
        from_format: Pixel,
        /// Thumbnail width.
        width: u32,
        /// Thumbnail height.
        height: u32,
        /// What swscale said.
        #[source]
        source: ffmpeg::Error,
    },
    /// Encoding the frame failed.
    #[error("cannot encode thumbnail {number} as JPEG")]
    Encode {
        /// The thumbnail's number.
        number: u64,
        /// What libavcodec said.
        #[source]
        source: ffmpeg::Error,
    },
}

/// Turns decoded frames into JPEG bytes of one size. Keeps its scaler and encoder between calls.
pub struct JpegThumbnailer {
    width: u32,
    height: u32,
    scaler: Option<(ScalerInput, scaling::Context)>,
    scaled: VideoFrame,
    encoder: ffmpeg::encoder::Video,
    packet: ffmpeg::Packet,
    /// The encoder refuses timestamps that do not increase.
    next_pts: i64,
}

/// The frame shape a scaler was built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ScalerInput {
    format: Pixel,
    width: u32,
    height: u32,
}

impl std::fmt::Debug for JpegThumbnailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JpegThumbnailer")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

impl JpegThumbnailer {
    /// A thumbnailer producing `width` x `height` JPEGs.
    pub fn new(width: u32, height: u32) -> Result<Self, ThumbnailError> {
        crate::av::init();
        let codec =
            ffmpeg::encoder::find(ffmpeg::codec::Id::MJPEG).ok_or(ThumbnailError::NoEncoder)?;
        let open_error = |source| ThumbnailError::Open {
            width,
            height,
            source,
        };
        let mut context = ffmpeg::codec::context::Context::new_with_codec(codec);
        context.set_threading(ffmpeg::threading::Config {
            kind: ffmpeg::threading::Type::Slice,
            count: 1,
            ..Default::default()
        });
        let mut encoder = context.encoder().video().map_err(open_error)?;
        encoder.set_width(width);
        encoder.set_height(height);
        encoder.set_format(Pixel::YUVJ420P);
        encoder.set_color_range(ffmpeg::color::Range::JPEG);
        encoder.set_time_base(ffmpeg::Rational::new(1, 30));
        encoder.set_flags(ffmpeg::codec::Flags::QSCALE);
        encoder.set_global_quality(JPEG_QUALITY * QP2LAMBDA);
        encoder.set_qmin(JPEG_QUALITY);
        encoder.set_qmax(JPEG_QUALITY);
        let encoder = encoder.open_as(codec).map_err(open_error)?;
        Ok(Self {
            width,
            height,
            scaler: None,
            scaled: VideoFrame::new(Pixel::YUVJ420P, width, height),
            encoder,
            packet: ffmpeg::Packet::empty(),
            next_pts: 0,
        })
    }

    /// Thumbnail width and height.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// JPEG bytes of `frame`, scaled to the thumbnail size; `number` only names errors.
    pub fn encode(&mut self, frame: &VideoFrame, number: u64) -> Result<Vec<u8>, ThumbnailError> {
        self.scale(frame)?;
        self.scaled.set_pts(Some(self.next_pts));
        self.next_pts += 1;
        // With QSCALE the encoder takes each frame's own quality.
        set_quality(&mut self.scaled, JPEG_QUALITY * QP2LAMBDA);
        let encode_error = |source| ThumbnailError::Encode { number, source };
        self.encoder
            .send_frame(&self.scaled)
            .map_err(encode_error)?;
        self.encoder
            .receive_packet(&mut self.packet)
            .map_err(encode_error)?;
        Ok(self.packet.data().map(<[u8]>::to_vec).unwrap_or_default())
    }

    fn scale(&mut self, frame: &VideoFrame) -> Result<(), ThumbnailError> {
        let input = ScalerInput {
            format: frame.format(),
            width: frame.width(),
            height: frame.height(),
        };
        let scale_error = |source| ThumbnailError::Scale {
            from_width: input.width,
            from_height: input.height,
            from_format: input.format,
            width: self.width,
            height: self.height,
            source,
        };
        if self.scaler.as_ref().map(|(built_for, _)| *built_for) != Some(input) {
            let flags = if (input.width, input.height) == (self.width, self.height) {
                scaling::Flags::POINT
            } else {
                scaling::Flags::BICUBIC
            };
            let context = scaling::Context::get(
                input.format,
                input.width,
                input.height,
                Pixel::YUVJ420P,
                self.width,
                self.height,
                flags,
            )
            .map_err(scale_error)?;
            self.scaler = Some((input, context));
        }
        let (_, context) = self.scaler.as_mut().expect("scaler built above");
        context.run(frame, &mut self.scaled).map_err(scale_error)
    }
}
