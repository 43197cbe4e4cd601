//! `record` end to end: the objects, their keys and the metadata JSON for each channel type and
//! several recording configurations.

use serde_json::{Value, json};

use crate::util::{Recording, config_file, ffmpeg, read_thumbnail, sample};

/// `name@WxH` for each rendition listed in a metadata file.
fn renditions(metadata: &Value) -> Vec<String> {
    metadata["media"]["hls"]["renditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["playlist"], "playlist.m3u8");
            assert_eq!(r["byte_range_playlist"], "byte-range-variant.m3u8");
            let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                [
                    "path",
                    "playlist",
                    "byte_range_playlist",
                    "resolution_width",
                    "resolution_height"
                ]
            );
            format!(
                "{}@{}x{}",
                r["path"].as_str().unwrap(),
                r["resolution_width"],
                r["resolution_height"]
            )
        })
        .collect()
}

fn top_level_keys(metadata: &Value) -> Vec<&str> {
    metadata
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn default_configuration_on_the_1080p_sample() {
    let store = tempfile::tempdir().unwrap();
    let recording = Recording::make(store.path(), &sample("1080p30-gop2s.mp4"), &[], 0);

    // Prefix: ivs/v1/<account>/<channel>/<y>/<m>/<d>/<h>/<min>/<12 alphanumerics>, under the bucket.
    let parts: Vec<&str> = recording.prefix.split('/').collect();
    assert_eq!(&parts[..4], ["ivs", "v1", "123456789012", "LocalChannel"]);
    assert_eq!(parts.len(), 10);
    for part in &parts[4..9] {
        assert!(
            !part.starts_with('0') || *part == "0",
            "date parts are not zero-padded: {part}"
        );
    }
    assert_eq!(parts[9].len(), 12);
    assert!(parts[9].chars().all(|c| c.is_ascii_alphanumeric()));
    assert!(
        recording
            .dir
            .to_str()
            .unwrap()
            .contains("/ivs-recordings/ivs/v1/"),
        "bucket folder"
    );

    // Default thumbnails: every 60 s, SEQUENTIAL only: a 12 s clip has one, thumb0. Every
    // rendition of the STANDARD ladder: two segments (10 s + 2 s) and two playlists each.
    let mut expected = vec![
        "events/ivs-check".to_owned(),
        "events/recording-ended.json".to_owned(),
        "events/recording-started.json".to_owned(),
    ];
    for rendition in ["1080p30", "160p30", "360p30", "480p30", "720p30"] {
        for file in ["0.ts", "1.ts", "byte-range-variant.m3u8", "playlist.m3u8"] {
            expected.push(format!("media/hls/{rendition}/{file}"));
        }
    }
    expected.push("media/hls/byte-range-multivariant.m3u8".to_owned());
    expected.push("media/hls/master.m3u8".to_owned());
    expected.push("media/thumbnails/thumb0.jpg".to_owned());
    assert_eq!(recording.keys(), expected);
    assert!(recording.objects()["events/ivs-check"].is_empty());

    let started = recording.json("events/recording-started.json");
    let ended = recording.json("events/recording-ended.json");
    assert_eq!(
        top_level_keys(&started),
        [
            "version",
            "recording_started_at",
            "channel_arn",
            "recording_status",
            "media"
        ]
    );
    assert_eq!(
        top_level_keys(&ended),
        [
            "version",
            "recording_started_at",
            "recording_ended_at",
            "channel_arn",
            "recording_status",
            "media"
        ]
    );
    assert_eq!(started["version"], "v1");
    assert_eq!(started["recording_status"], "RECORDING_STARTED");
    assert_eq!(ended["recording_status"], "RECORDING_ENDED");
    assert_eq!(
        started["channel_arn"],
        "arn:aws:ivs:us-west-2:123456789012:channel/LocalChannel"
    );
    assert_eq!(
        started["recording_started_at"],
        ended["recording_started_at"]
    );

    // recording_started_at is whole seconds in UTC and matches the prefix's date parts.
    let at = started["recording_started_at"].as_str().unwrap();
    assert_eq!(at.len(), 20, "{at}");
    assert!(at.ends_with('Z'));
    let date: Vec<u32> = [&at[0..4], &at[5..7], &at[8..10], &at[11..13], &at[14..16]]
        .iter()
        .map(|p| p.parse().unwrap())
        .collect();
    let prefix_date: Vec<u32> = parts[4..9].iter().map(|p| p.parse().unwrap()).collect();
    assert_eq!(date, prefix_date);

    let hls = &ended["media"]["hls"];
    assert_eq!(hls["duration_ms"], 12_000, "media duration, not wall clock");
    assert!(started["media"]["hls"].get("duration_ms").is_none());
    assert_eq!(hls["path"], "media/hls");
    assert_eq!(hls["playlist"], "master.m3u8");
    assert_eq!(hls["byte_range_playlist"], "byte-range-multivariant.m3u8");
    let expected = [
        "1080p30@1920x1080",
        "720p30@1280x720",
        "480p30@852x480",
        "360p30@640x360",
        "160p30@284x160",
    ];
    assert_eq!(renditions(&started), expected);
    assert_eq!(renditions(&ended), expected);
    assert_eq!(
        ended["media"]["thumbnails"],
        json!({"path": "media/thumbnails", "resolution_width": 1920, "resolution_height": 1080})
    );
    assert!(ended["media"].get("latest_thumbnail").is_none());

    let thumb = read_thumbnail(&recording.objects()["media/thumbnails/thumb0.jpg"]);
    assert_eq!((thumb.width, thumb.height, thumb.frame), (1920, 1080, 0));
}

#[test]
fn channel_types_and_presets_list_their_ladders() {
    let store = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str], &[&str]); 4] = [
        (
            "720p30-gop2s.mp4",
            &["--channel-type", "STANDARD"],
            &[
                "720p30@1280x720",
                "480p30@852x480",
                "360p30@640x360",
                "160p30@284x160",
            ],
        ),
        (
            "1080p30-gop2s.mp4",
            &["--channel-type", "BASIC"],
            &["1080p30@1920x1080"],
        ),
        (
            "1080p30-gop2s.mp4",
            &["--channel-type", "ADVANCED_SD"],
            &["480p30@852x480", "360p30@640x360", "160p30@284x160"],
        ),
        (
            "1080p30-gop2s.mp4",
            &[
                "--channel-type",
                "ADVANCED_HD",
                "--preset",
                "CONSTRAINED_BANDWIDTH_DELIVERY",
            ],
            &[
                "720p30@1280x720",
                "480p30@852x480",
                "360p30@640x360",
                "160p30@284x160",
            ],
        ),
    ];
    for (input, args, expected) in cases {
        let recording = Recording::make(store.path(), &sample(input), args, 0);
        let ended = recording.json("events/recording-ended.json");
        assert_eq!(renditions(&ended), expected, "{input} {args:?}");
    }
}

#[test]
fn rendition_selection_none_and_custom() {
    let store = tempfile::tempdir().unwrap();
    let none = config_file(
        store.path(),
        r#"{"destinationConfiguration":{"s3":{"bucketName":"other-bucket"}},"renditionConfiguration":{"renditionSelection":"NONE"}}"#,
    );
    let recording = Recording::make(
        store.path(),
        &sample("720p30-gop2s.mp4"),
        &["--config", none.to_str().unwrap()],
        0,
    );
    assert!(
        recording
            .dir
            .to_str()
            .unwrap()
            .contains("/other-bucket/ivs/v1/"),
        "the configured bucket is used"
    );
    let ended = recording.json("events/recording-ended.json");
    assert_eq!(ended["media"]["hls"]["renditions"], json!([]));
    assert_eq!(
        ended["media"]["hls"]["duration_ms"], 12_000,
        "D4: duration is still the media's"
    );
    assert!(!recording.keys().iter().any(|k| k.starts_with("media/hls")));

    // CUSTOM with fallback: no FULL_HD rung on a 720p input, so the highest below it (D3).
    let custom = config_file(
        store.path(),
        r#"{"destinationConfiguration":{"s3":{"bucketName":"ivs-recordings"}},"renditionConfiguration":{"renditionSelection":"CUSTOM","renditions":["FULL_HD","LOWEST_RESOLUTION"]}}"#,
    );
    let recording = Recording::make(
        store.path(),
        &sample("720p30-gop2s.mp4"),
        &["--config", custom.to_str().unwrap()],
        0,
    );
    let started = recording.json("events/recording-started.json");
    assert_eq!(renditions(&started), ["720p30@1280x720", "160p30@284x160"]);
}

#[test]
fn disabled_thumbnails_and_no_renditions_write_only_the_events() {
    let store = tempfile::tempdir().unwrap();
    let config = config_file(
        store.path(),
        r#"{"destinationConfiguration":{"s3":{"bucketName":"ivs-recordings"}},"renditionConfiguration":{"renditionSelection":"NONE"},"thumbnailConfiguration":{"recordingMode":"DISABLED"}}"#,
    );
    let recording = Recording::make(
        store.path(),
        &sample("720p30-gop2s.mp4"),
        &["--config", config.to_str().unwrap()],
        0,
    );
    assert_eq!(
        recording.keys(),
        [
            "events/ivs-check",
            "events/recording-ended.json",
            "events/recording-started.json"
        ]
    );
    let ended = recording.json("events/recording-ended.json");
    assert!(ended["media"].get("thumbnails").is_none());
    assert!(ended["media"].get("latest_thumbnail").is_none());
    assert_eq!(ended["media"]["hls"]["duration_ms"], 12_000);
}

#[test]
fn channel_arn_sets_account_and_channel_in_the_prefix() {
    let store = tempfile::tempdir().unwrap();
    let arn = "arn:aws:ivs:us-east-1:098435415742:channel/2rrcA103rn67";
    let recording = Recording::make(
        store.path(),
        &sample("720p30-gop2s.mp4"),
        &["--channel-arn", arn],
        0,
    );
    assert!(
        recording
            .prefix
            .starts_with("ivs/v1/098435415742/2rrcA103rn67/"),
        "{}",
        recording.prefix
    );
    assert_eq!(
        recording.json("events/recording-started.json")["channel_arn"],
        arn
    );
}

#[test]
fn memory_store_prints_a_memory_location() {
    let output = crate::util::run(&[
        "record",
        sample("720p30-gop2s.mp4").to_str().unwrap(),
        "--store",
        "memory",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let location = stdout.lines().last().unwrap();
    assert!(
        location.starts_with("memory://ivs-recordings/ivs/v1/123456789012/LocalChannel/"),
        "{location}"
    );
}

#[test]
fn realtime_paces_reading_to_the_media_clock() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("three-seconds.mp4");
    let os = |s: &'static str| std::ffi::OsStr::new(s);
    ffmpeg(&[
        os("-f"),
        os("lavfi"),
        os("-i"),
        os("testsrc2=s=320x180:r=30:d=3"),
        os("-c:v"),
        os("libx264"),
        os("-g"),
        os("30"),
        os("-pix_fmt"),
        os("yuv420p"),
        clip.as_os_str(),
    ]);
    let started = std::time::Instant::now();
    let recording = Recording::make(dir.path(), &clip, &["--realtime"], 0);
    let elapsed = started.elapsed();
    assert!(
        elapsed.as_secs_f64() >= 2.8,
        "3 s of media took {elapsed:?} at 1x"
    );
    assert_eq!(
        recording.json("events/recording-ended.json")["media"]["hls"]["duration_ms"],
        3000
    );
}
