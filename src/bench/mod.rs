//! `ivs-recorder bench`: encoder settings measured on the user's own input. For each setting of
//! a matrix it records the input as `record` does (decode once, every rung on its own thread)
//! into `<out>/recordings/<setting>/`, then measures per rung the time and CPU spent, the bitrate
//! made against its target, and the quality against the source (PSNR, SSIM; [`crate::quality`]).
//! With `--compare-ffmpeg` the `ffmpeg` CLI does the same ladder with the same options
//! ([`ffmpeg_cli`]) and is measured alike. It writes `report.json`, `report.csv`, `quality.svg`
//! and `speed.svg`.
//!
//! - [`matrix`]: the settings compared (pure).
//! - [`report`]: the figures and their JSON, CSV and table forms (pure).
//! - [`chart`]: the SVG charts.
//! - [`ffmpeg_cli`]: the equivalent `ffmpeg` command (pure).
//! - [`run`]: doing it.

pub mod chart;
pub mod ffmpeg_cli;
pub mod matrix;
pub mod report;
pub mod run;

pub use matrix::BenchSetting;
pub use report::BenchReport;
pub use run::{BenchError, BenchOptions, run_bench};
