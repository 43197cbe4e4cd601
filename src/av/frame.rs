//! Fields of a video frame that ffmpeg-next does not expose.

use ffmpeg::util::frame::video::Video as VideoFrame;
use ffmpeg_next as ffmpeg;

/// Sets the frame's `quality` (lambda), which an encoder opened with `QSCALE` takes per frame.
pub fn set_quality(frame: &mut VideoFrame, quality: i32) {
    // SAFETY: `frame` owns a valid AVFrame for its whole lifetime; `quality` is a plain int field.
    unsafe {
        (*frame.as_mut_ptr()).quality = quality;
    }
}

/// Whether nothing but `frame` references its picture buffers (an encoder may keep a reference
/// to a frame it was sent until it has encoded it): only then may the picture be overwritten.
pub fn is_writable(frame: &VideoFrame) -> bool {
    // SAFETY: `frame` owns a valid AVFrame; av_frame_is_writable only reads its buffer refs.
    unsafe { ffmpeg::ffi::av_frame_is_writable(frame.as_ptr().cast_mut()) > 0 }
}
