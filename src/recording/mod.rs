//! One recording: from an input to the objects IVS writes for it (`events/`, `media/`).
//!
//! - [`metadata`]: the `recording-*.json` documents (pure).
//! - [`recorder`]: records a media file (the `record` command).

pub mod hls_output;
pub mod metadata;
pub mod recorder;

pub use recorder::{
    ProgressCallback, RecordError, RecordOutcome, RecordRequest, RecordingResult, record_file,
};
