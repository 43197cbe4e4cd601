//! One recording: from an input to the objects IVS writes for it (`events/`, `media/`).
//!
//! - [`session`]: one open recording (prefix, writer, packet loop) from start to end, over one
//!   stream (a file) or several merged ones (live reconnects); the D13 write order.
//! - [`packet_loop`]: reads each stream to its end through the pipeline into HLS and thumbnails;
//!   the media timeline.
//! - [`retime`]: the input's packets put on its [`crate::timeline::Timeline`] (jumps, wraps).
//! - [`from_file`]: the `record` front end: checks, plan, one stream, outcome.
//! - [`outcome`]: the errors that prevent a recording and how one ended.
//! - [`metadata`]: the `recording-*.json` documents (pure).
//! - [`recover`]: recordings a killed `serve` left open, finished by the next run.

pub mod from_file;
pub mod metadata;
pub mod outcome;
pub mod packet_loop;
pub mod recover;
pub mod retime;
pub mod session;

pub use from_file::{RecordOutcome, RecordRequest, record_file, record_file_async};
pub use outcome::{RecordError, RecordingResult};
pub use packet_loop::ProgressCallback;
pub use session::{ClosedRecording, Plan, Recording, RecordingTarget};
