//! PSNR and SSIM of 8-bit planes, computed exactly as FFmpeg's `psnr` and `ssim` filters do, so
//! the figures can be checked against the `ffmpeg` CLI:
//!
//! - PSNR: per plane, the mean squared error; a frame's error is the planes' errors weighted by
//!   their pixel counts; the reported PSNR is that of the **mean error over frames** (not the mean
//!   of per-frame PSNRs), and the worst frame is the one with the largest error.
//! - SSIM: x264's form: sums over 4×4 blocks, combined into overlapping 8×8 windows (stride 4),
//!   averaged over the plane; a frame's SSIM weights the planes by pixel count; the reported
//!   figure is the mean over frames.
//!
//! Pure: slices in, numbers out.

/// One 8-bit plane: its bytes, the distance between rows, and its size.
#[derive(Debug, Clone, Copy)]
pub struct Plane<'a> {
    /// The pixels, row after row `stride` bytes apart.
    pub data: &'a [u8],
    /// Bytes from one row to the next.
    pub stride: usize,
    /// Pixels per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
}

impl Plane<'_> {
    fn row(&self, y: usize) -> &[u8] {
        &self.data[y * self.stride..y * self.stride + self.width]
    }
}

/// Sum of squared differences of two planes of the same size.
pub fn squared_error(a: Plane<'_>, b: Plane<'_>) -> u64 {
    (0..a.height.min(b.height))
        .map(|y| {
            a.row(y)
                .iter()
                .zip(b.row(y))
                .map(|(&p, &q)| {
                    let d = i64::from(p) - i64::from(q);
                    (d * d) as u64
                })
                .sum::<u64>()
        })
        .sum()
}

/// The sums of one 4×4 block: Σa, Σb, Σa² + Σb², Σab.
type BlockSums = [i64; 4];

fn block_sums(a: Plane<'_>, b: Plane<'_>, block_x: usize, block_y: usize) -> BlockSums {
    let mut sums = [0i64; 4];
    for y in 0..4 {
        let row_a = &a.data[(block_y * 4 + y) * a.stride + block_x * 4..];
        let row_b = &b.data[(block_y * 4 + y) * b.stride + block_x * 4..];
        for x in 0..4 {
            let (p, q) = (i64::from(row_a[x]), i64::from(row_b[x]));
            sums[0] += p;
            sums[1] += q;
            sums[2] += p * p + q * q;
            sums[3] += p * q;
        }
    }
    sums
}

/// SSIM of one 8×8 window from its four blocks' sums (FFmpeg's `ssim_end1`, in its precision).
fn window_ssim(s1: i64, s2: i64, ss: i64, s12: i64) -> f64 {
    const C1: i64 = (0.01 * 0.01 * 255.0 * 255.0 * 64.0 + 0.5) as i64;
    const C2: i64 = (0.03 * 0.03 * 255.0 * 255.0 * 64.0 * 63.0 + 0.5) as i64;
    let variances = ss * 64 - s1 * s1 - s2 * s2;
    let covariance = s12 * 64 - s1 * s2;
    let numerator = (2 * s1 * s2 + C1) as f32 * (2 * covariance + C2) as f32;
    let denominator = (s1 * s1 + s2 * s2 + C1) as f32 * (variances + C2) as f32;
    f64::from(numerator / denominator)
}

/// Mean SSIM of two planes of the same size (FFmpeg's `ssim_plane`); 1.0 for planes too small
/// to hold a window.
pub fn plane_ssim(a: Plane<'_>, b: Plane<'_>) -> f64 {
    let (blocks_x, blocks_y) = (a.width / 4, a.height / 4);
    if blocks_x < 2 || blocks_y < 2 {
        return 1.0;
    }
    let row_sums = |block_y: usize| -> Vec<BlockSums> {
        (0..blocks_x)
            .map(|block_x| block_sums(a, b, block_x, block_y))
            .collect()
    };
    let mut above = row_sums(0);
    let mut total = 0.0;
    for block_y in 1..blocks_y {
        let below = row_sums(block_y);
        for x in 0..blocks_x - 1 {
            let sum = |k: usize| above[x][k] + above[x + 1][k] + below[x][k] + below[x + 1][k];
            total += window_ssim(sum(0), sum(1), sum(2), sum(3));
        }
        above = below;
    }
    total / ((blocks_y - 1) * (blocks_x - 1)) as f64
}

/// One frame's figures: per plane (Y, U, V), and combined with the planes weighted by their
/// pixel counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameScore {
    /// Mean squared error per plane.
    pub mse: [f64; 3],
    /// Mean squared error of the frame (weighted).
    pub mse_all: f64,
    /// SSIM per plane.
    pub ssim: [f64; 3],
    /// SSIM of the frame (weighted).
    pub ssim_all: f64,
}

/// Scores a frame of three planes (Y, U, V) against its reference.
pub fn score_frame(distorted: [Plane<'_>; 3], reference: [Plane<'_>; 3]) -> FrameScore {
    let pixels: Vec<f64> = distorted
        .iter()
        .map(|p| (p.width * p.height) as f64)
        .collect();
    let all: f64 = pixels.iter().sum();
    let mut score = FrameScore {
        mse: [0.0; 3],
        mse_all: 0.0,
        ssim: [0.0; 3],
        ssim_all: 0.0,
    };
    for plane in 0..3 {
        let weight = pixels[plane] / all;
        score.mse[plane] =
            squared_error(distorted[plane], reference[plane]) as f64 / pixels[plane].max(1.0);
        score.ssim[plane] = plane_ssim(distorted[plane], reference[plane]);
        score.mse_all += score.mse[plane] * weight;
        score.ssim_all += score.ssim[plane] * weight;
    }
    score
}

/// PSNR of a mean squared error, for 8-bit samples (infinite for identical pictures).
pub fn psnr(mse: f64) -> f64 {
    10.0 * (255.0 * 255.0 / mse).log10()
}

/// The figures over many frames, as FFmpeg's filters report them at the end.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct QualityTotals {
    frames: u64,
    mse: [f64; 3],
    mse_all: f64,
    worst_mse: f64,
    ssim: [f64; 3],
    ssim_all: f64,
    worst_ssim: Option<f64>,
}

impl QualityTotals {
    /// Adds one frame.
    pub fn add(&mut self, score: &FrameScore) {
        self.frames += 1;
        for plane in 0..3 {
            self.mse[plane] += score.mse[plane];
            self.ssim[plane] += score.ssim[plane];
        }
        self.mse_all += score.mse_all;
        self.worst_mse = self.worst_mse.max(score.mse_all);
        self.ssim_all += score.ssim_all;
        self.worst_ssim = Some(
            self.worst_ssim
                .map_or(score.ssim_all, |worst| worst.min(score.ssim_all)),
        );
    }

    /// Frames added.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// PSNR of the luma plane (FFmpeg's `y:`).
    pub fn psnr_y(&self) -> f64 {
        psnr(self.mse[0] / self.frames.max(1) as f64)
    }

    /// PSNR of the three planes weighted by pixel count (FFmpeg's `average:`).
    pub fn psnr_yuv(&self) -> f64 {
        psnr(self.mse_all / self.frames.max(1) as f64)
    }

    /// PSNR of the worst frame (FFmpeg's `min:`).
    pub fn psnr_worst(&self) -> f64 {
        psnr(self.worst_mse)
    }

    /// Mean SSIM of the luma plane (FFmpeg's `Y:`).
    pub fn ssim_y(&self) -> f64 {
        self.ssim[0] / self.frames.max(1) as f64
    }

    /// Mean SSIM of the frames, planes weighted by pixel count (FFmpeg's `All:`).
    pub fn ssim_all(&self) -> f64 {
        self.ssim_all / self.frames.max(1) as f64
    }

    /// SSIM of the worst frame.
    pub fn ssim_worst(&self) -> f64 {
        self.worst_ssim.unwrap_or(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plane(data: &[u8], width: usize, height: usize) -> Plane<'_> {
        Plane {
            data,
            stride: width,
            width,
            height,
        }
    }

    fn pattern(width: usize, height: usize, seed: u32) -> Vec<u8> {
        (0..width * height)
            .map(|i| ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 24) as u8)
            .collect()
    }

    #[test]
    fn identical_planes_have_no_error_and_full_similarity() {
        let a = pattern(64, 32, 1);
        assert_eq!(squared_error(plane(&a, 64, 32), plane(&a, 64, 32)), 0);
        assert!((plane_ssim(plane(&a, 64, 32), plane(&a, 64, 32)) - 1.0).abs() < 1e-6);
        assert!(psnr(0.0).is_infinite());
    }

    #[test]
    fn a_uniform_offset_gives_the_textbook_psnr() {
        let a = vec![100u8; 16 * 16];
        let b = vec![110u8; 16 * 16];
        let mse = squared_error(plane(&a, 16, 16), plane(&b, 16, 16)) as f64 / 256.0;
        assert_eq!(mse, 100.0);
        assert!((psnr(mse) - 28.130_803_608_679_1).abs() < 1e-9);
    }

    #[test]
    fn ssim_falls_as_noise_grows_and_ignores_bytes_past_the_width() {
        let reference = pattern(64, 64, 7);
        let noisy = |amount: u8| -> Vec<u8> {
            reference
                .iter()
                .zip(pattern(64, 64, 99))
                .map(|(&p, n)| p.saturating_add(n % amount.max(1)))
                .collect()
        };
        let light = plane_ssim(plane(&noisy(8), 64, 64), plane(&reference, 64, 64));
        let heavy = plane_ssim(plane(&noisy(80), 64, 64), plane(&reference, 64, 64));
        assert!(
            1.0 > light && light > heavy && heavy > 0.0,
            "{light} {heavy}"
        );
        // The same 60-pixel-wide picture in 64-byte rows with garbage in the last 4 bytes.
        let mut padded = reference.clone();
        for row in padded.chunks_mut(64) {
            row[60..].fill(255);
        }
        let narrow = |data: &[u8]| -> f64 {
            let p = Plane {
                data,
                stride: 64,
                width: 60,
                height: 64,
            };
            plane_ssim(
                p,
                Plane {
                    data: &reference,
                    ..p
                },
            )
        };
        assert!((narrow(&padded) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn totals_report_the_psnr_of_the_mean_error_and_the_worst_frame() {
        let mut totals = QualityTotals::default();
        for mse in [1.0, 100.0] {
            totals.add(&FrameScore {
                mse: [mse; 3],
                mse_all: mse,
                ssim: [0.9; 3],
                ssim_all: 0.9,
            });
        }
        assert_eq!(totals.frames(), 2);
        assert!((totals.psnr_yuv() - psnr(50.5)).abs() < 1e-12);
        assert!((totals.psnr_worst() - psnr(100.0)).abs() < 1e-12);
        assert!((totals.ssim_all() - 0.9).abs() < 1e-12);
    }
}
