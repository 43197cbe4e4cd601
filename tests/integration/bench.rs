//! `ivs-recorder bench` end to end on a two-second clip: a report per setting and rung with
//! figures that make sense, a degraded setting scoring lower, the `ffmpeg` CLI compared, charts
//! drawn, and bad matrices refused before any media work.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::util::{config_file, files_under, run, sample};

/// The first two seconds of the 480p sample (STANDARD: 480p, 360p and 160p transcoded).
fn clip(dir: &Path) -> std::path::PathBuf {
    let clip = dir.join("clip.mp4");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(sample("480p30-gop10s.mp4"))
        .args(["-t", "2", "-c", "copy"])
        .arg(&clip)
        .status()
        .unwrap();
    assert!(status.success());
    clip
}

#[test]
fn bench_reports_each_setting_and_rung_and_compares_the_ffmpeg_cli() {
    let dir = tempfile::tempdir().unwrap();
    let input = clip(dir.path());
    let matrix = config_file(
        dir.path(),
        r#"{"settings":[
             {"name":"ivs","preset":"veryfast"},
             {"name":"starved","preset":"veryfast","bitrateScale":0.1}]}"#,
    );
    let out = dir.path().join("report");
    let output = run(&[
        "bench",
        input.to_str().unwrap(),
        "--matrix",
        matrix.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--compare-ffmpeg",
    ]);
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{said}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The table as it went: progress, a row per rung, the ladder with the CLI's ratio.
    for text in [
        "[1/2] ivs: recording",
        "[2/2] starved: measuring quality",
        "PSNR dB",
        "ffmpeg CLI",
    ] {
        assert!(said.contains(text), "{text} in:\n{said}");
    }
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["channelType"], "STANDARD");
    let settings = report["settings"].as_array().unwrap();
    assert_eq!(settings.len(), 2);
    let psnr = |setting: &Value, rung: usize| {
        setting["rungs"][rung]["quality"]["psnrYuv"]
            .as_f64()
            .unwrap()
    };
    for setting in settings {
        let rungs = setting["rungs"].as_array().unwrap();
        let names: Vec<&str> = rungs
            .iter()
            .map(|r| r["rendition"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["480p30", "360p30", "160p30"], "{setting}");
        for rung in rungs {
            let frames = rung["frames"].as_u64().unwrap();
            assert!(frames >= 60, "{rung}");
            assert_eq!(rung["quality"]["frames"].as_u64(), Some(frames), "{rung}");
            assert!(rung["kbps"].as_f64().unwrap() > 10.0, "{rung}");
            assert!(rung["cpuSeconds"].as_f64().unwrap() >= 0.0, "{rung}");
            let ssim = rung["quality"]["ssimAll"].as_f64().unwrap();
            assert!(ssim > 0.5 && ssim <= 1.0, "{rung}");
            // The CLI made the same rung with the same options: nearly the same bitrate and
            // quality.
            let cli = &rung["ffmpeg"];
            let (ours, theirs) = (
                rung["kbps"].as_f64().unwrap(),
                cli["kbps"].as_f64().unwrap(),
            );
            assert!((ours / theirs - 1.0).abs() < 0.1, "{rung}");
            let (ours, theirs) = (
                rung["quality"]["psnrYuv"].as_f64().unwrap(),
                cli["quality"]["psnrYuv"].as_f64().unwrap(),
            );
            assert!((ours - theirs).abs() < 0.5, "{rung}");
        }
        assert!(setting["ffmpeg"]["ratio"].as_f64().unwrap() > 0.0);
        assert_eq!(setting["ffmpeg"]["command"][0], "ffmpeg");
    }
    // A tenth of the bitrate scores lower on every rung, and makes a tenth of the bits.
    for rung in 0..3 {
        assert!(
            psnr(&settings[0], rung) > psnr(&settings[1], rung) + 2.0,
            "rung {rung}: {} vs {}",
            psnr(&settings[0], rung),
            psnr(&settings[1], rung)
        );
    }
    let target = settings[1]["rungs"][0]["targetKbps"].as_f64().unwrap();
    assert!(
        (target - 140.0).abs() < 0.5,
        "480p30 at 0.1 x 1400 kbps: {target}"
    );
    // CSV, charts, and each setting's recording as IVS lays it out.
    let csv = std::fs::read_to_string(out.join("report.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 2 * 3);
    let chart = std::fs::read_to_string(out.join("quality.svg")).unwrap();
    assert!(chart.starts_with("<svg") && chart.contains("360p30") && chart.contains("veryfast"));
    assert!(
        std::fs::read_to_string(out.join("speed.svg"))
            .unwrap()
            .contains("starved")
    );
    let recorded = files_under(&out.join("recordings/ivs"));
    assert!(
        recorded
            .iter()
            .any(|f| f.ends_with("events/recording-ended.json"))
            && recorded
                .iter()
                .any(|f| f.ends_with("media/hls/160p30/playlist.m3u8")),
        "{recorded:?}"
    );
}

#[test]
fn bad_bench_settings_are_refused_before_any_media_work() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let matrix = config_file(
        dir.path(),
        r#"{"settings":[{"name":"a"},{"name":"b","keyframes":{"mode":"EVERY"}}]}"#,
    );
    let cases: [(Vec<&str>, &str); 3] = [
        (
            vec!["--matrix", matrix.to_str().unwrap()],
            "settings[1].keyframes.mode must be one of FOLLOW_SOURCE, FIXED",
        ),
        (
            vec!["--preset", "veryfast,warp"],
            "preset must be one of ultrafast",
        ),
        (
            vec!["--bitrate-scale", "1,20"],
            "bitrateScale must be between 0.05 and 10, got 20",
        ),
    ];
    for (extra, says) in cases {
        let mut args = vec![
            "bench",
            "sample-media/480p30-gop10s.mp4",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        let output = run(&args);
        let said = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {said}");
        assert!(said.contains(says), "{args:?}: {said}");
    }
    assert!(!out.exists(), "nothing was written");
    // A BASIC channel transcodes nothing: there is nothing to bench.
    let output = run(&[
        "bench",
        "sample-media/480p30-gop10s.mp4",
        "--channel-type",
        "BASIC",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("transcodes nothing"));
}
