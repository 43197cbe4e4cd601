//! Thumbnails end to end: which frame each one shows (read back from the barcode), their size,
//! SEQUENTIAL and LATEST storage, BASIC's keyframe rule, and the write order of D13.

use ivs_recorder::recording::RecordingResult;

use crate::util::{Recording, config_file, ffmpeg, read_thumbnail, record_in_memory, sample};

fn thumbnail_config(store: &std::path::Path, thumbnail_configuration: &str) -> String {
    config_file(
        store,
        &format!(r#"{{"destinationConfiguration":{{"s3":{{"bucketName":"ivs-recordings"}}}},"thumbnailConfiguration":{thumbnail_configuration}}}"#),
    )
    .to_str()
    .unwrap()
    .to_owned()
}

/// (width, height, frame index) of every sequential thumbnail.
fn shown(recording: &Recording) -> Vec<(u32, u32, u32)> {
    recording
        .thumbnails()
        .iter()
        .map(|jpeg| {
            let t = read_thumbnail(jpeg);
            (t.width, t.height, t.frame)
        })
        .collect()
}

#[test]
fn every_two_seconds_on_the_1080p_sample_with_latest() {
    let store = tempfile::tempdir().unwrap();
    let config = thumbnail_config(
        store.path(),
        r#"{"targetIntervalSeconds":2,"storage":["SEQUENTIAL","LATEST"]}"#,
    );
    let recording = Recording::make(
        store.path(),
        &sample("1080p30-gop2s.mp4"),
        &["--config", &config],
        0,
    );
    let frames: Vec<u32> = shown(&recording).iter().map(|(_, _, f)| *f).collect();
    assert_eq!(
        frames,
        [0, 60, 120, 180, 240, 300],
        "thumbN shows frame N x 2 s x 30 fps"
    );
    assert!(
        shown(&recording)
            .iter()
            .all(|(w, h, _)| (*w, *h) == (1920, 1080))
    );
    let objects = recording.objects();
    let latest = &objects["media/latest_thumbnail/thumb.jpg"];
    assert_eq!(
        latest,
        objects.get("media/thumbnails/thumb5.jpg").unwrap(),
        "LATEST holds the last thumbnail"
    );
    let ended = recording.json("events/recording-ended.json");
    assert_eq!(
        ended["media"]["latest_thumbnail"]["path"],
        "media/latest_thumbnail/thumb.jpg"
    );
    assert_eq!(ended["media"]["latest_thumbnail"]["resolution_width"], 1920);
}

#[test]
fn latest_only_keeps_no_sequence() {
    let store = tempfile::tempdir().unwrap();
    let config = thumbnail_config(
        store.path(),
        r#"{"targetIntervalSeconds":5,"storage":["LATEST"]}"#,
    );
    let recording = Recording::make(
        store.path(),
        &sample("720p30-gop2s.mp4"),
        &["--config", &config],
        0,
    );
    let keys = recording.keys();
    assert!(
        !keys.iter().any(|k| k.starts_with("media/thumbnails/")),
        "{keys:?}"
    );
    let latest = read_thumbnail(&recording.objects()["media/latest_thumbnail/thumb.jpg"]);
    assert_eq!(
        latest.frame, 300,
        "the last boundary of a 12 s clip every 5 s is 10 s"
    );
    let ended = recording.json("events/recording-ended.json");
    assert!(ended["media"].get("thumbnails").is_none());
}

#[test]
fn exact_frames_every_second_between_keyframes() {
    // 1 s interval on a 2 s GOP: every other thumbnail lies mid-GOP and needs a catch-up decode.
    let store = tempfile::tempdir().unwrap();
    let config = thumbnail_config(store.path(), r#"{"targetIntervalSeconds":1}"#);
    let recording = Recording::make(
        store.path(),
        &sample("720p30-gop2s.mp4"),
        &["--config", &config],
        0,
    );
    let frames: Vec<u32> = shown(&recording).iter().map(|(_, _, f)| *f).collect();
    assert_eq!(frames, (0..12).map(|n| n * 30).collect::<Vec<_>>());
}

#[test]
fn long_gop_transcoded_takes_exact_frames_basic_takes_keyframes() {
    // 22 s clip, keyframes at 0, 10 and 20 s; 2 s interval.
    let store = tempfile::tempdir().unwrap();
    let config = thumbnail_config(store.path(), r#"{"targetIntervalSeconds":2}"#);
    let standard = Recording::make(
        store.path(),
        &sample("480p30-gop10s.mp4"),
        &["--config", &config],
        0,
    );
    let frames: Vec<u32> = shown(&standard).iter().map(|(_, _, f)| *f).collect();
    assert_eq!(frames, (0..11).map(|n| n * 60).collect::<Vec<_>>());

    let basic = Recording::make(
        store.path(),
        &sample("480p30-gop10s.mp4"),
        &["--config", &config, "--channel-type", "BASIC"],
        0,
    );
    assert_eq!(
        shown(&basic),
        [(854, 480, 0), (854, 480, 300), (854, 480, 600)],
        "D7: keyframes only"
    );
}

#[test]
fn resolution_classes_pick_a_rendition_size_or_the_source() {
    let store = tempfile::tempdir().unwrap();
    let cases = [
        ("1080p30-gop2s.mp4", "HD", &[][..], (1280, 720)),
        ("1080p30-gop2s.mp4", "SD", &[][..], (852, 480)),
        (
            "1080p30-gop2s.mp4",
            "LOWEST_RESOLUTION",
            &[][..],
            (284, 160),
        ),
        ("720p30-gop2s.mp4", "FULL_HD", &[][..], (1280, 720)),
        (
            "1080p30-gop2s.mp4",
            "SD",
            &["--channel-type", "BASIC"][..],
            (1920, 1080),
        ),
    ];
    for (input, class, extra, (width, height)) in cases {
        let config = thumbnail_config(
            store.path(),
            &format!(r#"{{"targetIntervalSeconds":4,"resolution":"{class}"}}"#),
        );
        let mut args = vec!["--config", config.as_str()];
        args.extend_from_slice(extra);
        let recording = Recording::make(store.path(), &sample(input), &args, 0);
        assert_eq!(
            shown(&recording),
            [
                (width, height, 0),
                (width, height, 120),
                (width, height, 240)
            ],
            "{input} {class} {extra:?}"
        );
        let ended = recording.json("events/recording-ended.json");
        assert_eq!(ended["media"]["thumbnails"]["resolution_width"], width);
        assert_eq!(ended["media"]["thumbnails"]["resolution_height"], height);
    }
}

#[test]
fn objects_are_written_in_d13_order() {
    let (outcome, store) = record_in_memory(
        r#"{"destinationConfiguration":{"s3":{"bucketName":"ivs-recordings"}},"thumbnailConfiguration":{"targetIntervalSeconds":3,"storage":["SEQUENTIAL","LATEST"]}}"#,
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    assert_eq!(outcome.result, RecordingResult::Ended);
    let prefix = outcome.prefix.as_str();
    assert!(
        prefix.starts_with("ivs/v1/123456789012/AbCdEfGh1234/2024/9/1/0/5/"),
        "{prefix}"
    );
    assert_eq!(
        outcome.location,
        format!("memory://ivs-recordings/{prefix}")
    );
    let keys: Vec<String> = outcome
        .written
        .keys
        .iter()
        .map(|k| k[prefix.len() + 1..].to_owned())
        .collect();
    assert_d13_order(&keys);
    let thumbnails: Vec<&str> = keys
        .iter()
        .filter(|k| k.starts_with("media/thumbnails/") || k.starts_with("media/latest_thumbnail/"))
        .map(String::as_str)
        .collect();
    let mut expected = Vec::new();
    for n in 0..4 {
        expected.push(format!("media/thumbnails/thumb{n}.jpg"));
        expected.push("media/latest_thumbnail/thumb.jpg".to_owned());
    }
    assert_eq!(thumbnails, expected, "each thumbnail, then the latest");
    assert_eq!(outcome.thumbnails, 4);
    // The ladder decodes every frame, so thumbnails take its frames: no second decoder.
    assert_eq!(outcome.sampler, Default::default());
    let ended = runtime
        .block_on(async {
            use object_store::ObjectStore;
            let key =
                object_store::path::Path::from(format!("{prefix}/events/recording-ended.json"));
            store
                .bucket("ivs-recordings")
                .unwrap()
                .object_store()
                .get(&key)
                .await
                .unwrap()
                .bytes()
                .await
        })
        .unwrap();
    let ended: serde_json::Value = serde_json::from_slice(&ended).unwrap();
    assert_eq!(ended["recording_started_at"], "2024-09-01T00:05:07Z");
}

#[test]
fn keyframes_off_the_boundaries_still_give_exact_frames() {
    // The 720p sample looped 5 times without re-encoding: each loop's keyframes land a few ms
    // later than the last, so from the fourth loop on the frame at a boundary is the last frames
    // of the previous GOP, not a keyframe. The oracle is ffprobe's list of frame timestamps.
    let dir = tempfile::tempdir().unwrap();
    let looped = dir.path().join("looped.mp4");
    let input = sample("720p30-gop2s.mp4");
    let os = |s: &'static str| std::ffi::OsStr::new(s);
    ffmpeg(&[
        os("-stream_loop"),
        os("4"),
        os("-i"),
        input.as_os_str(),
        os("-c"),
        os("copy"),
        looped.as_os_str(),
    ]);
    let probe = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v",
            "-show_entries",
            "packet=pts_time",
            "-of",
            "csv=p=0",
        ])
        .arg(&looped)
        .output()
        .unwrap();
    let mut times: Vec<f64> = String::from_utf8(probe.stdout)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    times.sort_by(f64::total_cmp);
    let expected: Vec<u32> = (0..)
        .map(|k| f64::from(2 * k))
        .map_while(|boundary| times.iter().position(|&t| t >= boundary - 1e-6))
        .map(|index| (index % 360) as u32)
        .collect();
    assert!(expected.len() >= 30, "{expected:?}");
    assert!(
        expected.iter().any(|f| f % 60 != 0),
        "some boundaries fall mid-GOP: {expected:?}"
    );

    let config = thumbnail_config(dir.path(), r#"{"targetIntervalSeconds":2}"#);
    let recording = Recording::make(dir.path(), &looped, &["--config", &config], 0);
    let frames: Vec<u32> = shown(&recording).iter().map(|(_, _, f)| *f).collect();
    assert_eq!(frames, expected);
}

/// Decision D13: `ivs-check`, `recording-started.json` first; each segment followed by its
/// rendition's two playlists; the final playlists after the last segment; masters only once every
/// rendition has its first segment; `recording-ended.json` last.
fn assert_d13_order(keys: &[String]) {
    assert_eq!(keys[0], "events/ivs-check");
    assert_eq!(keys[1], "events/recording-started.json");
    assert_eq!(
        keys.last().map(String::as_str),
        Some("events/recording-ended.json")
    );
    let renditions: std::collections::BTreeSet<&str> = keys
        .iter()
        .filter_map(|k| {
            k.strip_prefix("media/hls/")?
                .split_once('/')
                .map(|(r, _)| r)
        })
        .collect();
    assert!(!renditions.is_empty());
    for rendition in &renditions {
        let prefix = format!("media/hls/{rendition}/");
        let files: Vec<&str> = keys
            .iter()
            .filter_map(|k| k.strip_prefix(&prefix))
            .collect();
        let segments = files.iter().filter(|f| f.ends_with(".ts")).count();
        let mut expected = Vec::new();
        for n in 0..segments {
            expected.push(format!("{n}.ts"));
            expected.push("playlist.m3u8".to_owned());
            expected.push("byte-range-variant.m3u8".to_owned());
        }
        expected.push("playlist.m3u8".to_owned());
        expected.push("byte-range-variant.m3u8".to_owned());
        assert_eq!(files, expected, "{rendition}");
    }
    let first_master = keys
        .iter()
        .position(|k| k == "media/hls/master.m3u8")
        .expect("a master");
    for rendition in &renditions {
        let first_segment = keys
            .iter()
            .position(|k| *k == format!("media/hls/{rendition}/0.ts"))
            .unwrap();
        assert!(
            first_segment < first_master,
            "{rendition}/0.ts before the master"
        );
    }
}

#[test]
fn thumbnails_only_decode_what_they_need() {
    let (outcome, _) = record_in_memory(
        r#"{"destinationConfiguration":{"s3":{"bucketName":"ivs-recordings"}},"renditionConfiguration":{"renditionSelection":"NONE"},"thumbnailConfiguration":{"targetIntervalSeconds":3}}"#,
    );
    assert_eq!(outcome.thumbnails, 4);
    assert_eq!(outcome.sampler.packets, 360);
    assert!(outcome.sampler.decoded < 360 / 2, "{:?}", outcome.sampler);
    let prefix = outcome.prefix.as_str();
    let keys: Vec<String> = outcome
        .written
        .keys
        .iter()
        .map(|k| k[prefix.len() + 1..].to_owned())
        .collect();
    assert_eq!(
        keys,
        [
            "events/ivs-check",
            "events/recording-started.json",
            "media/thumbnails/thumb0.jpg",
            "media/thumbnails/thumb1.jpg",
            "media/thumbnails/thumb2.jpg",
            "media/thumbnails/thumb3.jpg",
            "events/recording-ended.json"
        ]
    );
}
