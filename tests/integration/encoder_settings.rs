//! `--encoder-settings`: the default file changes no byte; settings reach x264 (profile, rate
//! control, a fixed GOP, per rung); a bad file is refused before any media work.

use std::process::Command;

use ivs_recorder::model::EncoderSettings;

use crate::hls::check_rendition;
use crate::util::{
    Caller, Recording, config_file, files_under, memory_objects, record_in_memory_encoded, sample,
};

const CONFIG: &str = r#"{"destinationConfiguration":{"s3":{"bucketName":"ivs-recordings"}},"thumbnailConfiguration":{"recordingMode":"DISABLED"}}"#;

/// ffprobe's `profile` of the first video stream of `path`.
fn profile_of(path: &std::path::Path) -> String {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=profile", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_owned()
}

#[test]
fn an_empty_settings_file_records_the_same_bytes_as_none() {
    let input = sample("720p30-gop2s.mp4");
    let (plain, plain_store) =
        record_in_memory_encoded(CONFIG, &input, Caller::Thread, EncoderSettings::default());
    let settings = EncoderSettings::from_json(
        r#"{"preset":"veryfast","profile":"main","level":"auto","rateControl":{"mode":"ABR"},
            "bitrateScale":1,"keyframes":{"mode":"FOLLOW_SOURCE"},"threads":1,"scaler":"bicubic"}"#,
    )
    .unwrap();
    assert_eq!(settings, EncoderSettings::default());
    let (spelled, spelled_store) =
        record_in_memory_encoded(CONFIG, &input, Caller::Thread, settings);
    let a = memory_objects(&plain_store, "ivs-recordings", plain.prefix.as_str());
    let b = memory_objects(&spelled_store, "ivs-recordings", spelled.prefix.as_str());
    assert!(
        a.keys().any(|k| k.ends_with("160p30/0.ts")),
        "{:?}",
        a.keys()
    );
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    let differing: Vec<&String> = a.keys().filter(|key| a[*key] != b[*key]).collect();
    for (name, objects) in [("a", &a), ("b", &b)] {
        for key in &differing {
            let path = std::env::temp_dir()
                .join(format!("ivs-settings-{name}"))
                .join(key);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &objects[*key]).unwrap();
        }
    }
    assert!(differing.is_empty(), "differ: {differing:?}");
    // Every transcoded rung reports its work.
    let rungs: Vec<(&str, u64)> = plain
        .rungs
        .iter()
        .map(|r| (r.rendition.as_str(), r.frames))
        .collect();
    assert_eq!(
        rungs,
        [
            ("720p30", 360),
            ("480p30", 360),
            ("360p30", 360),
            ("160p30", 360)
        ]
    );
    for rung in &plain.rungs {
        assert!(rung.bytes > 10_000 && !rung.wall.is_zero(), "{rung:?}");
    }
}

#[test]
fn settings_reach_x264_globally_and_per_rung() {
    let store = tempfile::tempdir().unwrap();
    let settings = config_file(
        store.path(),
        r#"{"profile":"high","rungs":{
              "480p30":{"keyframes":{"mode":"FIXED","seconds":1},"scaler":"lanczos"},
              "160p30":{"rateControl":{"mode":"CRF","crf":45},"preset":"ultrafast"}}}"#,
    );
    let default = Recording::make(store.path(), &sample("720p30-gop2s.mp4"), &[], 0);
    let tuned = Recording::make(
        store.path(),
        &sample("720p30-gop2s.mp4"),
        &["--encoder-settings", settings.to_str().unwrap()],
        0,
    );
    // The global profile reaches every rung; x264's ultrafast (160p30) uses none of High's or
    // Main's tools, and the profile is a ceiling.
    for (name, profile) in [
        ("720p30", "High"),
        ("480p30", "High"),
        ("360p30", "High"),
        ("160p30", "Constrained Baseline"),
    ] {
        let segment = tuned.dir.join(format!("media/hls/{name}/0.ts"));
        assert_eq!(profile_of(&segment), profile, "{name}");
        let before = default.dir.join(format!("media/hls/{name}/0.ts"));
        assert_eq!(profile_of(&before), "Main", "{name} by default");
    }
    // 480p30 has an IDR every second (each GOP a byte range that decodes on its own), the
    // others keep the source's 2 s.
    let (segments, gops) = check_rendition(&tuned, "480p30", (852, 480));
    assert_eq!(segments, [10_000, 2_000]);
    assert_eq!(gops, [1_000; 12]);
    let (_, gops) = check_rendition(&tuned, "720p30", (1280, 720));
    assert_eq!(gops, [2_000; 6]);
    // CRF 45 at ultrafast makes a far smaller 160p30 than ABR at 230 kbps (the segment also
    // holds 48 kbps of audio, the same in both).
    let size = |recording: &Recording| {
        std::fs::metadata(recording.dir.join("media/hls/160p30/0.ts"))
            .unwrap()
            .len()
    };
    assert!(
        size(&tuned) * 3 < size(&default) * 2,
        "CRF 45: {} bytes, ABR: {}",
        size(&tuned),
        size(&default)
    );
}

#[test]
fn a_bad_settings_file_is_refused_before_any_media_work() {
    let store = tempfile::tempdir().unwrap();
    let settings = config_file(
        store.path(),
        r#"{"rungs":{"480p30":{"rateControl":{"mode":"CRF","crf":70}}}}"#,
    );
    let recordings = store.path().join("recordings");
    for command in ["record", "serve"] {
        let mut args = vec![command];
        if command == "record" {
            args.push("sample-media/720p30-gop2s.mp4");
        }
        args.extend([
            "--store",
            recordings.to_str().unwrap(),
            "--encoder-settings",
            settings.to_str().unwrap(),
        ]);
        let output = crate::util::run(&args);
        let said = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command}: {said}");
        assert!(
            said.contains("rungs.480p30.rateControl.crf must be between 0 and 51, got 70"),
            "{command}: {said}"
        );
    }
    let missing = crate::util::run(&[
        "record",
        "sample-media/720p30-gop2s.mp4",
        "--encoder-settings",
        "/nonexistent/settings.json",
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/settings.json"));
    assert!(files_under(&recordings).is_empty(), "nothing was written");
}

#[test]
fn serve_records_live_with_the_settings() {
    use crate::live_rig::{LiveServer, channel, finish, recording_config, sample_head};
    let dir = tempfile::tempdir().unwrap();
    let input = sample_head(dir.path(), "480p30-gop10s.mp4", 4);
    let settings = config_file(
        dir.path(),
        r#"{"rungs":{"360p30":{"profile":"high","keyframes":{"mode":"FIXED","seconds":1}}}}"#,
    );
    let channels = format!(
        "[{}]",
        channel("s", "STANDARD", "sk_s", &recording_config("tuned", 2, 0))
    );
    let mut server = LiveServer::start(
        &channels,
        &["--encoder-settings", settings.to_str().unwrap()],
    );
    let publisher = server.publish("sk_s", &input);
    assert!(
        finish(publisher, std::time::Duration::from_secs(60))
            .0
            .success()
    );
    let ended = server.wait_for_events("Recording End", 1, std::time::Duration::from_secs(60));
    let prefix = ended[0]["detail"]["recording_s3_key_prefix"]
        .as_str()
        .unwrap()
        .to_owned();
    let recording = server.recording("tuned", &prefix);
    // The source has one keyframe in these 4 s: 480p30 follows it, 360p30 has an IDR about every
    // second of its ~4.1 s (RTMP's millisecond timestamps put a frame near each second).
    let (_, gops) = check_rendition(&recording, "360p30", (640, 360));
    assert!(
        gops.len() >= 4 && gops.iter().all(|ms| *ms <= 1_100),
        "{gops:?}"
    );
    let (_, gops) = check_rendition(&recording, "480p30", (854, 480));
    assert_eq!(gops.len(), 1, "{gops:?}");
    assert_eq!(
        profile_of(&recording.dir.join("media/hls/360p30/0.ts")),
        "High"
    );
    assert_eq!(
        profile_of(&recording.dir.join("media/hls/480p30/0.ts")),
        "Main"
    );
    assert!(server.stop().success());
}
