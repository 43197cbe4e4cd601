//! Thumbnails (spec section 4, decisions D7 and D8): which frames, decoded as little as possible,
//! turned into JPEGs.
//!
//! - [`schedule`]: pure; boundaries in media time and which candidate each takes.
//! - [`decode_gate`]: pure; which packets to decode so that only thumbnail frames cost work.
//! - [`sampler`]: drives a decoder with both and yields the chosen frames.
//! - [`jpeg`]: scales a frame to the thumbnail size and encodes it.
//! - [`worker`]: the thread that encodes chosen frames and queues them for storage.

pub mod decode_gate;
pub mod jpeg;
pub mod sampler;
pub mod schedule;
pub mod worker;

pub use jpeg::{JpegThumbnailer, ThumbnailError};
pub use sampler::{SampledFrame, SamplerStats, ThumbnailSampler};
pub use schedule::ThumbnailSchedule;
