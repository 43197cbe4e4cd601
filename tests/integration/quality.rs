//! The quality figures `bench` reports agree with the `ffmpeg` CLI's `psnr` and `ssim` filters on
//! the same pair of files (within 0.05 dB and 0.001), and fall when the encode is worse.

use std::path::Path;
use std::process::Command;

use ivs_recorder::quality::compare_with_source;

use crate::util::sample;

/// What `ffmpeg -lavfi psnr,ssim` says of `encoded` against `source` scaled (Lanczos) to its
/// size: (PSNR y, PSNR average, PSNR min, SSIM Y, SSIM All).
fn ffmpeg_figures(encoded: &Path, source: &Path, size: (u32, u32)) -> (f64, f64, f64, f64, f64) {
    let graph = format!(
        "[1:v]scale={}:{}:flags=lanczos,split[r1][r2];[0:v]split[d1][d2];[d1][r1]psnr;[d2][r2]ssim",
        size.0, size.1
    );
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-i"])
        .arg(encoded)
        .arg("-i")
        .arg(source)
        .args(["-lavfi", &graph, "-f", "null", "-"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{said}");
    let value = |line_marker: &str, key: &str| -> f64 {
        let line = said
            .lines()
            .find(|l| l.contains(line_marker))
            .unwrap_or_else(|| panic!("no {line_marker} in {said}"));
        let at = line.find(key).unwrap() + key.len();
        line[at..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    (
        value("PSNR y:", "PSNR y:"),
        value("PSNR y:", "average:"),
        value("PSNR y:", "min:"),
        value("SSIM Y:", "SSIM Y:"),
        value("SSIM Y:", "All:"),
    )
}

fn encode(source: &Path, out: &Path, size: &str, bitrate: &str) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(source)
        .args(["-an", "-vf", &format!("scale={size}:flags=bicubic")])
        .args(["-c:v", "libx264", "-preset", "veryfast", "-b:v", bitrate])
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn figures_agree_with_the_ffmpeg_cli_and_fall_with_a_worse_encode() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.mp4");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(sample("720p30-gop2s.mp4"))
        .args(["-t", "2", "-an", "-c", "copy"])
        .arg(&source)
        .status()
        .unwrap();
    assert!(status.success());
    let good = dir.path().join("good-360p.mp4");
    let poor = dir.path().join("poor-360p.mp4");
    let same_size = dir.path().join("good-720p.mp4");
    encode(&source, &good, "640:360", "600k");
    encode(&source, &poor, "640:360", "60k");
    encode(&source, &same_size, "1280:720", "1500k");
    let comparisons = compare_with_source(
        &source,
        &[good.clone(), poor.clone(), same_size.clone()],
        &mut |_| {},
    )
    .unwrap();
    for comparison in &comparisons {
        let ours = &comparison.totals;
        assert!(
            ours.frames() >= 60,
            "{}: {} frames",
            comparison.path.display(),
            ours.frames()
        );
        assert_eq!(comparison.unmatched, 0);
        let (psnr_y, psnr_avg, psnr_min, ssim_y, ssim_all) =
            ffmpeg_figures(&comparison.path, &source, comparison.size);
        let close = |what: &str, ours: f64, theirs: f64, tolerance: f64| {
            assert!(
                (ours - theirs).abs() <= tolerance,
                "{}: {what} ours {ours:.4}, ffmpeg {theirs:.4}",
                comparison.path.display()
            );
        };
        close("PSNR y", ours.psnr_y(), psnr_y, 0.05);
        close("PSNR average", ours.psnr_yuv(), psnr_avg, 0.05);
        close("PSNR min", ours.psnr_worst(), psnr_min, 0.05);
        close("SSIM Y", ours.ssim_y(), ssim_y, 0.001);
        close("SSIM All", ours.ssim_all(), ssim_all, 0.001);
        eprintln!(
            "{}: PSNR y {:.3}/{psnr_y:.3} avg {:.3}/{psnr_avg:.3} SSIM {:.5}/{ssim_all:.5}",
            comparison.path.display(),
            ours.psnr_y(),
            ours.psnr_yuv(),
            ours.ssim_all()
        );
    }
    assert_eq!(comparisons[0].size, (640, 360));
    assert_eq!(comparisons[2].size, (1280, 720));
    let (good, poor) = (&comparisons[0].totals, &comparisons[1].totals);
    assert!(good.psnr_yuv() > poor.psnr_yuv() + 3.0, "{good:?} {poor:?}");
    assert!(
        good.ssim_all() > poor.ssim_all() + 0.02,
        "{good:?} {poor:?}"
    );
}
