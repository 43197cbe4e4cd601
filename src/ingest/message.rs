//! One message of an RTMP publish as the connection passes it to the recorder: the publisher's
//! metadata, or a video or audio FLV tag body with its timestamp.

use bytes::Bytes;

/// One message of a publish, as the connection passes it on.
#[derive(Debug, Clone)]
pub enum LiveMessage {
    /// `@setDataFrame onMetaData`.
    Metadata(LiveMetadata),
    /// A video message body and its timestamp (ms).
    Video {
        /// RTMP timestamp (decode time), ms.
        timestamp_ms: u32,
        /// The FLV video tag body.
        body: Bytes,
    },
    /// Timed metadata from `PutMetadata`: placed at the media time of the stream where it
    /// arrives between the publisher's messages.
    TimedMetadata(String),
    /// An audio message body and its timestamp (ms).
    Audio {
        /// RTMP timestamp, ms.
        timestamp_ms: u32,
        /// The FLV audio tag body.
        body: Bytes,
    },
}

/// What the publisher declares about its stream (all optional).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveMetadata {
    /// Declared frame rate.
    pub frame_rate: Option<f64>,
    /// Declared video bitrate, kbps.
    pub video_bitrate_kbps: Option<u32>,
    /// Declared audio bitrate, kbps.
    pub audio_bitrate_kbps: Option<u32>,
    /// The encoder's name.
    pub encoder: Option<String>,
}

impl LiveMessage {
    /// Bytes this message holds.
    pub fn size(&self) -> usize {
        match self {
            Self::Metadata(_) => 64,
            Self::TimedMetadata(payload) => payload.len(),
            Self::Video { body, .. } | Self::Audio { body, .. } => body.len(),
        }
    }
}
