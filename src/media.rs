//! Process-wide FFmpeg set-up: initialise the libraries once and keep their logging quiet (our
//! own errors say what went wrong; libav's stderr chatter would only interleave with progress).

use std::sync::Once;

use ffmpeg_next as ffmpeg;

/// Initialises FFmpeg once per process; later calls do nothing.
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // Registration cannot fail on FFmpeg >= 4; a failure would surface at the first open.
        let _ = ffmpeg::init();
        ffmpeg::log::set_level(ffmpeg::log::Level::Fatal);
    });
}
