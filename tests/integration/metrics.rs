//! `serve`'s `/metrics` (issue 14): valid Prometheus text by Debian's `promtool`, counting what
//! really happened: API requests by operation and status, objects and bytes stored, the live
//! stream with its ingest bitrate, frame rate and queue while a publisher is connected, each
//! transcoded rung's encode speed, the keyframe → stored thumbnail delays.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::live_rig::{LiveServer, channel, finish, recording_config};
use crate::util::sample;

const MINUTE: Duration = Duration::from_secs(60);

/// `method path` on the API port: (status, body).
fn http(port: u16, method: &str, path: &str) -> (u16, String) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .request(
                method.parse().unwrap(),
                format!("http://127.0.0.1:{port}{path}"),
            )
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    })
}

/// What `promtool check metrics` says of `text` (empty when it is clean).
fn promtool_problems(text: &str) -> String {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package) is installed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The value of the sample line that starts with `series` (name and labels).
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
}

#[test]
fn metrics_are_valid_prometheus_text_and_count_requests_writes_and_streams() {
    let channels = format!(
        "[{}]",
        channel("m", "STANDARD", "sk_m", &recording_config("metrics", 2, 0))
    );
    let mut server = LiveServer::start(&channels, &[]);
    // Two requests the API refuses: an unknown path (404) and an unsigned call (403).
    assert_eq!(http(server.api_port, "POST", "/NoSuchOperation").0, 404);
    assert_eq!(http(server.api_port, "POST", "/ListChannels").0, 403);
    let publisher = server.publish("sk_m", &sample("720p30-gop2s.mp4"));
    server.wait_for_events("Stream Start", 1, MINUTE);
    // Every transcoded rung has reported a second of media.
    let mut live = String::new();
    let measured = crate::live_rig::wait_until(MINUTE, || {
        let (status, text) = http(server.api_port, "GET", "/metrics");
        assert_eq!(status, 200);
        live = text;
        ["480p30", "360p30", "160p30"].iter().all(|rung| {
            live.contains(&format!(
                "ivs_recorder_encode_speed_ratio{{channel=\"m\",rendition=\"{rung}\"}}"
            ))
        })
    });
    assert!(measured, "{live}");
    assert_eq!(promtool_problems(&live), "");
    assert_eq!(value(&live, "ivs_recorder_live_streams"), 1.0, "{live}");
    // The 720p30 sample: about 30 frames a second and 1-2 Mb/s (the sample's own rate).
    let fps = value(&live, "ivs_recorder_ingest_frame_rate{channel=\"m\"}");
    assert!((15.0..45.0).contains(&fps), "{fps}");
    let bps = value(&live, "ivs_recorder_ingest_bitrate_bps{channel=\"m\"}");
    assert!((200e3..10e6).contains(&bps), "{bps}");
    assert!(value(&live, "ivs_recorder_ingest_queue_bytes{channel=\"m\"}") >= 0.0);
    assert!(
        value(
            &live,
            "ivs_recorder_encode_speed_ratio{channel=\"m\",rendition=\"160p30\"}"
        ) > 0.0
    );
    assert!(finish(publisher, MINUTE).0.success());
    server.wait_for_events("Recording End", 1, MINUTE);
    let (_, after) = http(server.api_port, "GET", "/metrics");
    assert_eq!(promtool_problems(&after), "");
    assert_eq!(value(&after, "ivs_recorder_live_streams"), 0.0);
    assert!(
        !after.contains("ivs_recorder_ingest_bitrate_bps{"),
        "{after}"
    );
    // (Tests in this process share the metrics: only this channel's series are checked.)
    assert!(
        !after.contains("ivs_recorder_encode_speed_ratio{channel=\"m\""),
        "the rungs stopped: {after}"
    );
    assert!(value(&after, "ivs_recorder_store_queue_objects") >= 0.0);
    // A delay for each of the 6 thumbnails (12 s, one every 2 s) at least.
    assert!(value(&after, "ivs_recorder_thumbnail_delay_seconds_count") >= 6.0);
    assert!(
        value(
            &after,
            "ivs_recorder_thumbnail_delay_seconds_bucket{le=\"+Inf\"}"
        ) >= 6.0
    );
    assert!(
        value(
            &after,
            "ivs_recorder_api_requests_total{operation=\"Unknown\",status=\"404\"}"
        ) >= 1.0
    );
    assert!(
        value(
            &after,
            "ivs_recorder_api_requests_total{operation=\"ListChannels\",status=\"403\"}"
        ) >= 1.0
    );
    // The recording's objects: segments, playlists, thumbnails, metadata.
    let stored = crate::util::files_under(&server.store.join("metrics"));
    let writes = value(&after, "ivs_recorder_store_writes_total");
    assert!(
        writes >= stored.len() as f64,
        "{writes} writes, {} objects",
        stored.len()
    );
    let bytes: u64 = stored
        .iter()
        .map(|key| {
            std::fs::metadata(server.store.join("metrics").join(key))
                .unwrap()
                .len()
        })
        .sum();
    assert!(value(&after, "ivs_recorder_store_bytes_total") >= bytes as f64);
    assert!(server.stop().success());
}
