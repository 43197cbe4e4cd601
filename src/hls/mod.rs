//! HLS as IVS records it (spec 3.5, 9; decisions D11–D13): MPEG-TS segments cut at the same
//! keyframes in every rendition, the two playlists of each rendition, and the two masters.
//!
//! - [`segmenter`]: pure; segment and GOP boundaries.
//! - [`playlist`]: pure; the playlist texts.
//! - [`id3`]: pure; the ID3 tags of the timed metadata stream.
//! - [`rendition`]: one rendition's segments and their GOP byte ranges (muxed by
//!   [`crate::av::ts_mux`]).
//! - [`publisher`]: stores segments and playlists in D13 order.
//! - [`output`]: every rendition of one stream of a recording, packets in, objects out.
//! - [`live_window`]: live playback from memory: the last GOPs, sliding playlists, viewers.
//! - [`unfinished`]: pure; a playlist a killed server left open, measured and closed.

pub mod id3;
pub mod live_window;
pub mod output;
pub mod playlist;
pub mod publisher;
pub mod rendition;
pub mod segmenter;
pub mod unfinished;
