//! Inputs: where compressed packets come from. `file` reads a media file; RTMP ingest comes later
//! and yields the same [`InputInfo`] and packet stream.

mod file;

pub use file::{FileInput, InputError};

use ffmpeg_next as ffmpeg;

use crate::time::TimeBase;

/// What the recorder needs to know about an input before the first packet.
#[derive(Debug, Clone)]
pub struct InputInfo {
    /// Where the input came from, for messages.
    pub source: String,
    /// The video stream.
    pub video: VideoInfo,
    /// Whether there is an audio stream.
    pub has_audio: bool,
    /// The media duration the container declares, in ms, when it declares one.
    pub declared_duration_ms: Option<i64>,
}

/// The input's video stream.
#[derive(Clone)]
pub struct VideoInfo {
    /// Stream index in the container.
    pub stream_index: usize,
    /// Coded width.
    pub width: u32,
    /// Coded height.
    pub height: u32,
    /// Average frame rate.
    pub frame_rate: f64,
    /// Time base of packet timestamps.
    pub time_base: TimeBase,
    /// Codec, e.g. `h264`.
    pub codec_name: String,
    /// What a decoder needs to open.
    pub parameters: ffmpeg::codec::Parameters,
}

impl std::fmt::Debug for VideoInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoInfo")
            .field("stream_index", &self.stream_index)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("frame_rate", &self.frame_rate)
            .field("time_base", &self.time_base)
            .field("codec_name", &self.codec_name)
            .finish_non_exhaustive()
    }
}
