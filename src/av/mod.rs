//! The one place that talks to the FFmpeg libraries below ffmpeg-next's safe API. Every `unsafe`
//! block of the crate is in this module, each with a `// SAFETY:` comment; the rest of the crate
//! is `#![deny(unsafe_code)]` (the `[lints]` table of `Cargo.toml`).
//!
//! - [`decode`]: one video decoder and libavcodec's send/receive protocol, wrapped once.
//! - [`parameters`]: codec parameters built from configuration bytes, and their extradata.
//! - [`frame`]: per-frame fields ffmpeg-next does not expose (the JPEG quality).
//! - [`malloc`]: glibc's allocator (FFmpeg's too) told to return frame-sized blocks when freed.
//! - [`ts_mux`]: MPEG-TS segments muxed into memory by libavformat (custom I/O).

#![allow(unsafe_code, reason = "the crate's one FFI module")]

pub mod decode;
pub mod frame;
pub mod malloc;
pub mod parameters;
pub mod ts_mux;

use std::sync::Once;

use ffmpeg_next as ffmpeg;

/// Initialises FFmpeg once per process and keeps its logging quiet (our own errors say what went
/// wrong; libav's stderr chatter would only interleave with progress); later calls do nothing.
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // Registration cannot fail on FFmpeg >= 4; a failure would surface at the first open.
        let _ = ffmpeg::init();
        ffmpeg::log::set_level(ffmpeg::log::Level::Fatal);
    });
}
