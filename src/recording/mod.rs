//! One recording: from an input to the objects IVS writes for it (`events/`, `media/`).
//!
//! - [`metadata`]: the `recording-*.json` documents (pure).
//! - [`recorder`]: records a media file (the `record` command): checks, plan, events, outcome.
//! - [`session`]: one open recording (prefix, writer, media) from start to end, over one stream
//!   (a file) or several merged ones (live reconnects).
//! - [`media`]: reads each stream to its end, feeding HLS and thumbnails; the media timeline.
//! - [`hls_output`]: every selected rendition segmented, muxed and published.

pub mod hls_output;
pub mod media;
pub mod metadata;
pub mod recorder;
pub mod session;

pub use recorder::{
    ProgressCallback, RecordError, RecordOutcome, RecordRequest, RecordingResult, record_file,
};
pub use session::{ClosedRecording, Plan, Recording, RecordingTarget};
