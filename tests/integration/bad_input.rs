//! Bad input gets a clear error and a non-zero exit, never a panic; nothing is written when the
//! input is unusable from the start, and what was recorded is kept when it breaks part-way.

use std::path::Path;
use std::process::Output;

use crate::util::{Recording, config_file, ffmpeg, files_under, read_thumbnail, run, sample};

fn record(store: &Path, input: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "record",
        input.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_clean_failure(output: &Output, code: i32, message: &str, store: &Path) {
    let text = stderr(output);
    assert_eq!(output.status.code(), Some(code), "{text}");
    assert!(text.contains(message), "expected {message:?} in:\n{text}");
    assert!(!text.contains("panicked"), "{text}");
    let written: Vec<String> = files_under(store)
        .into_iter()
        .filter(|f| !f.ends_with(".json") || f.contains("/"))
        .collect();
    assert!(
        written.iter().all(|f| !f.contains("ivs/v1")),
        "nothing recorded: {written:?}"
    );
}

#[test]
fn missing_file() {
    let store = tempfile::tempdir().unwrap();
    let output = record(store.path(), Path::new("/nonexistent/clip.mp4"), &[]);
    assert_clean_failure(
        &output,
        1,
        "input file /nonexistent/clip.mp4 does not exist",
        store.path(),
    );
}

#[test]
fn not_a_media_file() {
    let store = tempfile::tempdir().unwrap();
    let garbage = store.path().join("garbage.mp4");
    std::fs::write(
        &garbage,
        (0..200_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let output = record(store.path(), &garbage, &[]);
    assert_clean_failure(&output, 1, "cannot open", store.path());
    assert!(stderr(&output).contains("garbage.mp4"));
}

#[test]
fn mp4_cut_before_its_index() {
    // The sample has its index (moov) first; keep only the tail so there is none.
    let store = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(sample("720p30-gop2s.mp4")).unwrap();
    let headless = store.path().join("headless.mp4");
    std::fs::write(&headless, &bytes[bytes.len() / 2..]).unwrap();
    let output = record(store.path(), &headless, &[]);
    assert_clean_failure(&output, 1, "cannot open", store.path());
}

#[test]
fn audio_only_file() {
    let store = tempfile::tempdir().unwrap();
    let audio = store.path().join("tone.m4a");
    let os = |s: &'static str| std::ffi::OsStr::new(s);
    ffmpeg(&[
        os("-f"),
        os("lavfi"),
        os("-i"),
        os("sine=frequency=440:duration=2"),
        os("-c:a"),
        os("aac"),
        audio.as_os_str(),
    ]);
    let output = record(store.path(), &audio, &[]);
    assert_clean_failure(&output, 1, "has no video stream", store.path());
}

#[test]
fn invalid_configurations_exit_2_naming_the_field() {
    let store = tempfile::tempdir().unwrap();
    let cases = [
        (
            r#"{"destinationConfiguration":{"s3":{"bucketName":"ivs-recordings"}},"thumbnailConfiguration":{"targetIntervalSeconds":0}}"#,
            "thumbnailConfiguration.targetIntervalSeconds must be between 1 and 60, got 0",
        ),
        (
            r#"{"destinationConfiguration":{"s3":{"bucketName":"Bad_Bucket"}}}"#,
            "destinationConfiguration.s3.bucketName must match [a-z0-9-.]+",
        ),
        (
            r#"{"destinationConfiguration":{"s3":{"bucketName":"ivs-recordings"}},"recordingReconnectWindowSeconds":999}"#,
            "recordingReconnectWindowSeconds must be between 0 and 300, got 999",
        ),
        (
            r#"{"thumbnailConfiguration":{}}"#,
            "destinationConfiguration is required",
        ),
        (
            r#"{"destinationConfiguration": "#,
            "is not valid: EOF while parsing",
        ),
    ];
    for (json, message) in cases {
        let config = config_file(store.path(), json);
        let output = record(
            store.path(),
            &sample("720p30-gop2s.mp4"),
            &["--config", config.to_str().unwrap()],
        );
        assert_clean_failure(&output, 2, message, store.path());
    }
    let output = record(
        store.path(),
        &sample("720p30-gop2s.mp4"),
        &[
            "--channel-type",
            "STANDARD",
            "--preset",
            "HIGHER_BANDWIDTH_DELIVERY",
        ],
    );
    assert_clean_failure(
        &output,
        2,
        "preset is only allowed for ADVANCED_SD and ADVANCED_HD channels",
        store.path(),
    );
    let output = record(
        store.path(),
        &sample("720p30-gop2s.mp4"),
        &["--channel-arn", "arn:aws:ivs:us-west-2:1:stream-key/x"],
    );
    assert_clean_failure(&output, 2, "channelArn must look like", store.path());
}

#[test]
fn file_that_breaks_mid_way_ends_failed_and_keeps_its_thumbnails() {
    // Keep the index (at the front) and the first ~half of the media: the container still declares
    // 12 s, but the data stops part-way.
    let store = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(sample("720p30-gop2s.mp4")).unwrap();
    let truncated = store.path().join("truncated.mp4");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let config = config_file(
        store.path(),
        r#"{"destinationConfiguration":{"s3":{"bucketName":"ivs-recordings"}},"thumbnailConfiguration":{"targetIntervalSeconds":2}}"#,
    );
    let recording = Recording::make(
        store.path(),
        &truncated,
        &["--config", config.to_str().unwrap()],
        1,
    );
    assert!(
        recording.stderr().contains("truncated"),
        "{}",
        recording.stderr()
    );
    let keys = recording.keys();
    assert!(
        keys.contains(&"events/recording-failed.json".to_owned()),
        "{keys:?}"
    );
    assert!(!keys.contains(&"events/recording-ended.json".to_owned()));
    let failed = recording.json("events/recording-failed.json");
    assert_eq!(failed["recording_status"], "RECORDING_ENDED_WITH_FAILURE");
    // The input broke, not the store: the reason says so (a store outage says
    // InternalServerException, see the outage tests).
    assert_eq!(failed["recording_status_message"], "ValidationException");
    let duration = failed["media"]["hls"]["duration_ms"].as_u64().unwrap();
    assert!((3000..11_000).contains(&duration), "{duration}");
    let frames: Vec<u32> = recording
        .thumbnails()
        .iter()
        .map(|j| read_thumbnail(j).frame)
        .collect();
    assert!(
        frames.len() >= 2,
        "thumbnails before the break are kept: {frames:?}"
    );
    assert_eq!(
        frames,
        (0..frames.len() as u32).map(|n| n * 60).collect::<Vec<_>>()
    );
    // The media recorded before the break: every segment written is listed in its playlists.
    let objects = recording.objects();
    for rendition in ["720p30", "480p30", "360p30", "160p30"] {
        let playlist =
            crate::hls::media_playlist(&objects[&format!("media/hls/{rendition}/playlist.m3u8")]);
        assert!(playlist.end_list);
        let listed: Vec<String> = playlist
            .segments
            .iter()
            .map(|s| format!("media/hls/{rendition}/{}", s.uri))
            .collect();
        let written: Vec<String> = objects
            .keys()
            .filter(|k| k.starts_with(&format!("media/hls/{rendition}/")) && k.ends_with(".ts"))
            .cloned()
            .collect();
        assert!(!written.is_empty(), "{rendition}");
        assert_eq!(listed, written, "{rendition}");
        let total: u64 = playlist
            .segments
            .iter()
            .map(|s| crate::hls::millis(s.duration))
            .sum();
        assert_eq!(total, duration, "{rendition}: EXTINF add up to duration_ms");
    }
}
