//! Picture quality of encoded video against its source, for `bench`: PSNR (luma and the three
//! planes weighted) and SSIM, mean and worst frame, computed as FFmpeg's `psnr` and `ssim`
//! filters compute them (so the `ffmpeg` CLI can check every figure).
//!
//! - [`metrics`]: the arithmetic on 8-bit planes (pure).
//! - [`compare`]: decoding the files, matching frames by presentation time, Lanczos-scaling the
//!   source to each encoded size.

pub mod compare;
pub mod metrics;

pub use compare::{Comparison, QualityError, compare_with_source};
pub use metrics::QualityTotals;
