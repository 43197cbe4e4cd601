//! The media pipeline of one stream: decode once, fan out.
//!
//! ```text
//!  source video packets ─► driver ─┬─► passthrough renditions (packet sink) ──────────────┐
//!                                  ├─► gated thumbnail sampler (packet sink, no ladder)    │
//!                                  └─► ladder decoder ─► frames ─┬─► thumbnail tap         │
//!                                                                └─► rung chain: 720p ─► 480p ─► …
//!                                                                    (scale + x264, a thread
//!                                                                     per rung) ──────────┤
//!  source audio packets ─► driver ─► passthrough / AAC per bitrate ───────────────────────┤
//!                                                                                         ▼
//!                                                  PipelineSink (HLS renditions, thumbnails)
//! ```
//!
//! - [`driver`]: owns the decoder, feeds the sinks, hands everything made to a [`PipelineSink`].
//! - [`rung_chain`]: the transcoded rungs on their own threads, largest to smallest.
//! - [`rung`]: one rung: scale (from the next larger rung) and x264 with IDRs at source keyframes.
//! - [`audio`]: AAC re-encoding, one encoder per bitrate the ladder needs.
//! - [`audio_reframe`]: any decoded audio made into the AAC encoder's planar float frames.
//! - [`thumbnail_tap`]: which frames become thumbnails (ladder frames or a gated decoder).

pub mod audio;
pub mod audio_reframe;
pub mod driver;
pub mod rung;
pub mod rung_chain;
pub mod thumbnail_tap;

pub use driver::{AudioRoute, Pipeline, PipelineError, PipelineReport, PipelineSink};
