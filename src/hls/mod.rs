//! HLS as IVS records it (spec 3.5, 9; decisions D11–D13): MPEG-TS segments cut at the same
//! keyframes in every rendition, the two playlists of each rendition, and the two masters.
//!
//! - [`segmenter`]: pure; segment and GOP boundaries.
//! - [`playlist`]: pure; the playlist texts.
//! - [`codecs`]: pure; `CODECS=` strings from stream configuration.
//! - [`mux`]: MPEG-TS into memory (libavformat).
//! - [`rendition`]: one rendition's segments and their GOP byte ranges.
//! - [`publisher`]: stores segments and playlists in D13 order.

pub mod codecs;
pub mod mux;
pub mod playlist;
pub mod publisher;
pub mod rendition;
pub mod segmenter;
