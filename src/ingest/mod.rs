//! Inputs: where compressed packets come from. `file` reads a media file; `live` turns the
//! messages of an RTMP publisher into the same [`InputInfo`] and packet stream; `message` is what a
//! publish's connection passes on, `flv` reads the FLV tag bodies it carries; `queue` bounds what waits between a connection and its recorder.

mod file;
pub mod flv;
pub mod live;
pub mod message;
pub mod queue;

pub use file::{FileInput, InputError};

/// A stream of packets the recorder reads to its end.
pub trait PacketSource {
    /// Why reading stopped early.
    type Error: std::error::Error;
    /// What the input holds.
    fn info(&self) -> &InputInfo;
    /// The next video or audio packet, `None` at the end.
    fn next_packet(&mut self) -> Result<Option<InputPacket>, Self::Error>;
}

impl PacketSource for FileInput {
    type Error = InputError;

    fn info(&self) -> &InputInfo {
        FileInput::info(self)
    }

    fn next_packet(&mut self) -> Result<Option<InputPacket>, InputError> {
        FileInput::next_packet(self)
    }
}

use ffmpeg_next as ffmpeg;

use crate::time::TimeBase;

/// What the recorder needs to know about an input before the first packet.
#[derive(Debug, Clone)]
pub struct InputInfo {
    /// Where the input came from, for messages.
    pub source: String,
    /// The video stream.
    pub video: VideoInfo,
    /// The audio stream, when there is one.
    pub audio: Option<AudioInfo>,
    /// The media duration the container declares, in ms, when it declares one.
    pub declared_duration_ms: Option<i64>,
    /// After how many µs the input's raw clock wraps (RTMP's 32-bit milliseconds), if it does
    /// (libavformat already unwraps the clocks of files).
    pub timestamp_wrap_us: Option<i64>,
}

/// The input's audio stream.
#[derive(Clone)]
pub struct AudioInfo {
    /// Stream index in the container.
    pub stream_index: usize,
    /// Time base of packet timestamps.
    pub time_base: ffmpeg::Rational,
    /// What a decoder (or muxer) needs.
    pub parameters: ffmpeg::codec::Parameters,
}

impl std::fmt::Debug for AudioInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioInfo")
            .field("stream_index", &self.stream_index)
            .field("codec", &self.parameters.id())
            .field("time_base", &self.time_base)
            .finish_non_exhaustive()
    }
}

/// A packet of the input, tagged with its stream.
pub enum InputPacket {
    /// A video packet.
    Video(ffmpeg::Packet),
    /// An audio packet.
    Audio(ffmpeg::Packet),
    /// Timed metadata (a `PutMetadata` payload), at the time of the last video packet.
    TimedMetadata(String),
}

impl std::fmt::Debug for InputPacket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, packet) = match self {
            Self::Video(packet) => ("Video", packet),
            Self::Audio(packet) => ("Audio", packet),
            Self::TimedMetadata(payload) => {
                return f.debug_tuple("TimedMetadata").field(payload).finish();
            }
        };
        f.debug_struct(kind)
            .field("pts", &packet.pts())
            .field("size", &packet.size())
            .finish()
    }
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
    /// The same time base as libav expresses it.
    pub av_time_base: ffmpeg::Rational,
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
