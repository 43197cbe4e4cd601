//! One recording: from an input to the objects IVS writes for it (`events/`, `media/`).
//!
//! - [`metadata`]: the `recording-*.json` documents (pure).
//! - [`recorder`]: records a media file (the `record` command): checks, plan, events, outcome.
//! - `media`: reads the input to its end, feeding HLS and thumbnails; the media timeline.
//! - [`hls_output`]: every selected rendition segmented, muxed and published.

pub mod hls_output;
mod media;
pub mod metadata;
pub mod recorder;

pub use recorder::{
    ProgressCallback, RecordError, RecordOutcome, RecordRequest, RecordingResult, record_file,
};
