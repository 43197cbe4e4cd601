//! Live ingest end to end: the server in-process (the real binary where its log or a signal is
//! what is checked), real RTMP publishers (the ffmpeg CLI), the store polled while they publish,
//! events read from the `--events` file.

use std::io::{Read, Write};
use std::time::Duration;

use serde_json::Value;

use crate::hls::{check_rendition, media_playlist};
use crate::ts_packets::{Ts, ffmpeg_complaints};
use ivs_recorder::live::channel_recorder::RecorderHooks;

use crate::live_rig::{
    LiveServer, channel, event_name, finish, recording_config, sample_head, signal, wait_until,
};
use crate::util::{ffmpeg, files_under, read_thumbnail, sample};

const MINUTE: Duration = Duration::from_secs(60);

fn prefix_of(event: &Value) -> String {
    event["detail"]["recording_s3_key_prefix"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn stream_ids(event: &Value) -> Vec<String> {
    event["detail"]["recording_session_stream_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_publish_is_recorded_live_and_finalised_after_the_window() {
    let channels = format!(
        "[{}]",
        channel("live", "BASIC", "sk_live", &recording_config("live", 1, 3))
    );
    let mut server = LiveServer::start(&channels, &[]);
    let publisher = server.publish("sk_live", &sample("720p30-gop2s.mp4"));

    // While publishing: a thumbnail, the latest thumbnail, then a segment and its EVENT playlist.
    let bucket = server.store.join("live");
    let has = |suffix: &str| files_under(&bucket).iter().any(|f| f.ends_with(suffix));
    assert!(wait_until(MINUTE, || has("media/thumbnails/thumb2.jpg")));
    assert!(has("media/latest_thumbnail/thumb.jpg"));
    assert!(wait_until(MINUTE, || has("720p30/playlist.m3u8")));
    let live_playlist = files_under(&bucket)
        .into_iter()
        .find(|f| f.ends_with("720p30/playlist.m3u8"))
        .unwrap();
    let during = std::fs::read(bucket.join(&live_playlist)).unwrap();
    let (status, stderr) = finish(publisher, MINUTE);
    assert!(status.success(), "{stderr}");
    let playlist = media_playlist(&during);
    assert!(!playlist.end_list, "no ENDLIST while live");
    assert_eq!(playlist.segments[0].uri, "0.ts");
    assert!(!has("events/recording-ended.json"), "not before the window");

    let ended = server.wait_for_events("Recording End", 1, MINUTE);
    let stream_end = server.events_named("Stream End");
    let time = |event: &Value| {
        time::OffsetDateTime::parse(
            event["time"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    let waited = time(&ended[0]) - time(&stream_end[0]);
    assert!(waited >= time::Duration::seconds(2), "waited {waited}");
    let names: Vec<String> = server.events().iter().map(event_name).collect();
    assert_eq!(
        names,
        [
            "Session Created",
            "Stream Start",
            "Recording Start",
            "Session Ended",
            "Stream End",
            "Recording End"
        ]
    );
    let detail = &ended[0]["detail"];
    assert_eq!(detail["recording_duration_ms"], 12_000);
    assert_eq!(detail["recording_s3_bucket_name"], "live");
    assert_eq!(detail["channel_name"], "live");
    let stream_id = server.events()[0]["detail"]["stream_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(stream_ids(&ended[0]), [stream_id]);

    // The recording passes the file-input checks.
    let recording = server.recording("live", &prefix_of(&ended[0]));
    let (segments, _) = check_rendition(&recording, "720p30", (1280, 720));
    assert_eq!(segments, [10_000, 2_000]);
    // The live segments continue one transport stream: joined, they decode without a complaint.
    let objects = recording.objects();
    let joined = [
        objects["media/hls/720p30/0.ts"].as_slice(),
        objects["media/hls/720p30/1.ts"].as_slice(),
    ]
    .concat();
    assert_eq!(Ts::parse(&joined).continuity_errors(), 0);
    let dir = tempfile::tempdir().unwrap();
    let said = ffmpeg_complaints(dir.path(), "joined.ts", &joined);
    assert!(said.is_empty(), "{said}");
    let json = recording.json("events/recording-ended.json");
    assert_eq!(json["media"]["hls"]["duration_ms"], 12_000);
    // BASIC takes thumbnails from keyframes only (D7): every 2 s here, not every 1 s.
    let thumbnails = recording.thumbnails();
    assert_eq!(thumbnails.len(), 6);
    assert_eq!(read_thumbnail(&thumbnails[5]).frame, 300);
    assert!(server.stop().success());
}

#[test]
fn two_channels_record_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let basic_input = sample_head(dir.path(), "720p30-gop2s.mp4", 6);
    let standard_input = sample_head(dir.path(), "480p30-gop10s.mp4", 4);
    let channels = format!(
        "[{},{}]",
        channel("a", "BASIC", "sk_a", &recording_config("two", 2, 0)),
        channel("b", "STANDARD", "sk_b", &recording_config("two", 2, 0))
    );
    let mut server = LiveServer::start(&channels, &[]);
    let a = server.publish("sk_a", &basic_input);
    let b = server.publish("sk_b", &standard_input);
    assert!(finish(a, MINUTE).0.success());
    assert!(finish(b, MINUTE).0.success());
    let ended = server.wait_for_events("Recording End", 2, MINUTE);
    for event in &ended {
        let recording = server.recording("two", &prefix_of(event));
        let json = recording.json("events/recording-ended.json");
        let renditions: Vec<&str> = json["media"]["hls"]["renditions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["path"].as_str().unwrap())
            .collect();
        match event["detail"]["channel_name"].as_str().unwrap() {
            "a" => {
                assert_eq!(renditions, ["720p30"]);
                assert_eq!(json["media"]["hls"]["duration_ms"], 6_000);
            }
            "b" => {
                assert_eq!(renditions, ["480p30", "360p30", "160p30"]);
                let ms = json["media"]["hls"]["duration_ms"].as_u64().unwrap();
                assert!((4_000..4_200).contains(&ms), "{ms}");
                check_rendition(&recording, "360p30", (640, 360));
            }
            other => panic!("unexpected channel {other}"),
        }
    }
    assert!(server.stop().success());
}

#[test]
fn wrong_keys_and_second_publishers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_head(dir.path(), "720p30-gop2s.mp4", 6);
    let channels = format!(
        "[{}]",
        channel(
            "only",
            "BASIC",
            "sk_only",
            &recording_config("refuse", 2, 0)
        )
    );
    let mut server = LiveServer::start_binary(&channels, &[]);
    let (status, _) = finish(server.publish("sk_wrong", &input), MINUTE);
    assert!(!status.success(), "an unknown key is refused");
    // The key is identifiable in the log, never written whole.
    assert!(
        server.log().contains("unknown stream key of 8 characters"),
        "{}",
        server.log()
    );
    assert!(!server.log().contains("sk_wrong"), "{}", server.log());
    assert!(server.events().is_empty(), "no session for a refused key");

    let first = server.publish("sk_only", &input);
    server.wait_for_events("Stream Start", 1, MINUTE);
    let (second, stderr) = finish(server.publish("sk_only", &input), MINUTE);
    assert!(!second.success(), "a second publisher is refused: {stderr}");
    assert!(server.log().contains("is already live"), "{}", server.log());
    assert!(
        finish(first, MINUTE).0.success(),
        "the first keeps streaming"
    );
    let ended = server.wait_for_events("Recording End", 1, MINUTE);
    assert_eq!(ended[0]["detail"]["recording_duration_ms"], 6_000);
    assert_eq!(server.events_named("Session Created").len(), 1);
    assert!(server.stop().success());
}

#[test]
fn a_reconnect_inside_the_window_continues_the_recording() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_head(dir.path(), "720p30-gop2s.mp4", 4);
    let channels = format!(
        "[{}]",
        channel(
            "merge",
            "BASIC",
            "sk_merge",
            &recording_config("merge", 1, 60)
        )
    );
    let mut server = LiveServer::start(&channels, &[]);
    assert!(
        finish(server.publish("sk_merge", &input), MINUTE)
            .0
            .success()
    );
    server.wait_for_events("Stream End", 1, MINUTE);
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        finish(server.publish("sk_merge", &input), MINUTE)
            .0
            .success()
    );
    server.wait_for_events("Stream End", 2, MINUTE);
    assert!(
        server.events_named("Recording End").is_empty(),
        "still in the window"
    );
    // Shutting down finalises the waiting recording at once.
    assert!(server.stop().success());

    let starts = server.events_named("Recording Start");
    assert_eq!(
        starts.len(),
        2,
        "Recording Start again for the merged stream (D9)"
    );
    assert_eq!(prefix_of(&starts[0]), prefix_of(&starts[1]));
    let ended = server.events_named("Recording End");
    assert_eq!(ended.len(), 1);
    let streams: Vec<String> = server
        .events_named("Stream Start")
        .iter()
        .map(|e| e["detail"]["stream_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stream_ids(&ended[0]), streams);
    assert_eq!(ended[0]["detail"]["recording_duration_ms"], 8_000);

    let recording = server.recording("merge", &prefix_of(&ended[0]));
    let objects = recording.objects();
    let text = String::from_utf8(objects["media/hls/720p30/playlist.m3u8"].clone()).unwrap();
    let playlist = media_playlist(text.as_bytes());
    let uris: Vec<&str> = playlist.segments.iter().map(|s| s.uri.as_str()).collect();
    assert_eq!(uris, ["0.ts", "1.ts"]);
    assert!(!playlist.segments[0].discontinuity);
    assert!(playlist.segments[1].discontinuity, "{text}");
    assert!(text.contains("#EXT-X-TWITCH-TOTAL-SECS:8.000"), "{text}");
    // PROGRAM-DATE-TIME keeps the wall clock: the second stream starts after the gap.
    let pdt = |n: usize| playlist.segments[n].program_date_time.unwrap();
    let gap = (pdt(1) - pdt(0)).num_milliseconds();
    assert!(
        gap >= 5_000,
        "PDT gap {gap} ms includes the reconnect pause\n{text}"
    );
    let byte_range =
        String::from_utf8(objects["media/hls/720p30/byte-range-variant.m3u8"].clone()).unwrap();
    assert_eq!(byte_range.matches("#EXT-X-DISCONTINUITY").count(), 1);
    // Each stream's segment is whole (continuity runs on within it) and the ID3 GOP index goes on
    // across the reconnect: 2 s GOPs, two per stream.
    let mut track = Vec::new();
    for segment in ["0.ts", "1.ts"] {
        let bytes = &objects[&format!("media/hls/720p30/{segment}")];
        let ts = Ts::parse(bytes);
        assert_eq!(ts.continuity_errors(), 0, "{segment}");
        let said = ffmpeg_complaints(dir.path(), segment, bytes);
        assert!(said.is_empty(), "{segment}: {said}");
        for (_, tag) in ts.pes(0x102) {
            let frames = ivs_recorder::hls::id3::frames(&tag).unwrap();
            track
                .push(String::from_utf8_lossy(&frames[0].1[1..frames[0].1.len() - 1]).into_owned());
        }
    }
    assert_eq!(track, ["0", "1", "2", "3"]);
    // Thumbnails continue: one per keyframe (BASIC, every 2 s), 2 from each stream; thumb2 is
    // the second stream's first frame.
    let thumbnails = recording.thumbnails();
    assert_eq!(thumbnails.len(), 4);
    assert_eq!(read_thumbnail(&thumbnails[1]).frame, 60);
    assert_eq!(read_thumbnail(&thumbnails[2]).frame, 0);
    let json = recording.json("events/recording-ended.json");
    assert_eq!(json["media"]["hls"]["duration_ms"], 8_000);
}

#[test]
fn outside_the_window_or_ineligible_a_new_recording_starts() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_head(dir.path(), "720p30-gop2s.mp4", 4);
    let other_size = sample_head(dir.path(), "480p30-gop10s.mp4", 4);
    let channels = format!(
        "[{},{}]",
        channel(
            "short",
            "BASIC",
            "sk_short",
            &recording_config("split", 2, 1)
        ),
        channel(
            "long",
            "BASIC",
            "sk_long",
            &recording_config("split", 2, 60)
        )
    );
    let mut server = LiveServer::start(&channels, &[]);
    // Outside the window: the first recording ends, the second has its own prefix.
    assert!(
        finish(server.publish("sk_short", &input), MINUTE)
            .0
            .success()
    );
    server.wait_for_events("Recording End", 1, MINUTE);
    assert!(
        finish(server.publish("sk_short", &input), MINUTE)
            .0
            .success()
    );
    let ended = server.wait_for_events("Recording End", 2, MINUTE);
    assert_ne!(prefix_of(&ended[0]), prefix_of(&ended[1]));
    // Inside the window but another resolution: not merged.
    assert!(
        finish(server.publish("sk_long", &input), MINUTE)
            .0
            .success()
    );
    server.wait_for_events("Stream End", 3, MINUTE);
    assert!(
        finish(server.publish("sk_long", &other_size), MINUTE)
            .0
            .success()
    );
    server.wait_for_events("Stream End", 4, MINUTE);
    assert!(server.stop().success());
    let ended = server.events_named("Recording End");
    assert_eq!(ended.len(), 4);
    let prefixes: std::collections::BTreeSet<String> = ended.iter().map(prefix_of).collect();
    assert_eq!(prefixes.len(), 4, "four separate recordings");
    for event in &ended {
        assert_eq!(stream_ids(event).len(), 1);
        let duration = event["detail"]["recording_duration_ms"].as_u64().unwrap();
        assert!((4_000..4_200).contains(&duration), "{duration}");
        let recording = server.recording("split", &prefix_of(event));
        assert!(
            recording
                .keys()
                .contains(&"events/recording-ended.json".to_owned())
        );
    }
}

#[test]
fn a_killed_publisher_leaves_a_finalised_recording() {
    let channels = format!(
        "[{}]",
        channel("kill", "BASIC", "sk_kill", &recording_config("kill", 1, 1))
    );
    let server = LiveServer::start(&channels, &[]);
    let mut publisher = server.publish("sk_kill", &sample("720p30-gop2s.mp4"));
    let bucket = server.store.join("kill");
    assert!(wait_until(MINUTE, || files_under(&bucket)
        .iter()
        .any(|f| f.ends_with("thumb4.jpg"))));
    signal(publisher.id(), "KILL");
    let _ = publisher.wait();
    let ended = server.wait_for_events("Recording End", 1, MINUTE);
    let duration = ended[0]["detail"]["recording_duration_ms"]
        .as_u64()
        .unwrap();
    assert!((4_000..12_000).contains(&duration), "{duration}");
    let recording = server.recording("kill", &prefix_of(&ended[0]));
    let (segments, _) = check_rendition(&recording, "720p30", (1280, 720));
    assert_eq!(segments.iter().sum::<u64>(), duration);
}

#[test]
fn garbage_and_unsupported_codecs_close_only_their_connection() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_head(dir.path(), "720p30-gop2s.mp4", 4);
    let channels = format!(
        "[{},{}]",
        channel("good", "BASIC", "sk_good", &recording_config("mixed", 2, 0)),
        channel("bad", "BASIC", "sk_bad", &recording_config("mixed", 2, 0))
    );
    let mut server = LiveServer::start_binary(&channels, &[]);
    let good = server.publish("sk_good", &input);

    // Garbage instead of a handshake: the server closes the socket.
    let mut socket = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    socket.write_all(&[0x47; 4096]).unwrap();
    let mut rest = Vec::new();
    let closed = socket.read_to_end(&mut rest);
    assert!(
        closed.is_ok(),
        "the server closed the connection: {closed:?}"
    );

    // A handshake that stops half-way, then garbage chunks after a proper handshake's start.
    let mut socket = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    socket.write_all(&[3]).unwrap();
    drop(socket);

    // Video that is not H.264: refused with the codec's name.
    let (status, _) = finish(
        server.publish_with(
            "sk_bad",
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=320x240:rate=30",
                "-t",
                "2",
                "-c:v",
                "flv1",
            ],
        ),
        MINUTE,
    );
    let failures = server.wait_for_events("Stream Failure", 1, MINUTE);
    let reason = failures[0]["detail"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("is not supported: IVS ingests H.264"),
        "{reason}"
    );
    let _ = status;
    assert!(
        server.log().contains("broken RTMP handshake"),
        "{}",
        server.log()
    );

    assert!(
        finish(good, MINUTE).0.success(),
        "the good publisher carries on"
    );
    let ended = server.wait_for_events("Recording End", 1, MINUTE);
    assert_eq!(ended[0]["detail"]["channel_name"], "good");
    assert_eq!(ended[0]["detail"]["recording_duration_ms"], 4_000);
    assert!(server.stop().success());
}

#[test]
fn shutdown_finalises_a_live_recording() {
    let channels = format!(
        "[{}]",
        channel("sig", "BASIC", "sk_sig", &recording_config("sig", 1, 300))
    );
    let mut server = LiveServer::start_binary(&channels, &[]);
    let publisher = server.publish("sk_sig", &sample("720p30-gop2s.mp4"));
    let bucket = server.store.join("sig");
    assert!(wait_until(MINUTE, || files_under(&bucket)
        .iter()
        .any(|f| f.ends_with("thumb3.jpg"))));
    assert!(server.stop_with("TERM").success(), "SIGTERM exits cleanly");
    let _ = finish(publisher, MINUTE);
    let ended = server.events_named("Recording End");
    assert_eq!(ended.len(), 1, "finalised before exit");
    let recording = server.recording("sig", &prefix_of(&ended[0]));
    let json = recording.json("events/recording-ended.json");
    assert!(json["media"]["hls"]["duration_ms"].as_u64().unwrap() >= 3_000);
    let playlist = media_playlist(&recording.objects()["media/hls/720p30/playlist.m3u8"]);
    assert!(playlist.end_list);
}

#[test]
fn limit_breaches_disconnect_and_keep_what_was_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let huge = dir.path().join("1440p.mp4");
    let dense = dir.path().join("dense.mp4");
    let os = std::ffi::OsStr::new;
    ffmpeg(&[
        os("-f"),
        os("lavfi"),
        os("-i"),
        os("testsrc2=size=2560x1440:rate=30"),
        os("-t"),
        os("2"),
        os("-c:v"),
        os("libx264"),
        os("-preset"),
        os("ultrafast"),
        os("-g"),
        os("30"),
        huge.as_os_str(),
    ]);
    // Noise at 6 Mbps: over BASIC's 3.5 Mbps.
    ffmpeg(&[
        os("-f"),
        os("lavfi"),
        os("-i"),
        os("testsrc2=size=1280x720:rate=30"),
        os("-vf"),
        os("noise=alls=60:allf=t"),
        os("-t"),
        os("12"),
        os("-c:v"),
        os("libx264"),
        os("-preset"),
        os("ultrafast"),
        os("-b:v"),
        os("6M"),
        os("-maxrate"),
        os("6M"),
        os("-bufsize"),
        os("6M"),
        os("-g"),
        os("30"),
        dense.as_os_str(),
    ]);
    let channels = format!(
        "[{},{}]",
        channel(
            "big",
            "STANDARD",
            "sk_big",
            &recording_config("limits", 2, 0)
        ),
        channel(
            "fast",
            "BASIC",
            "sk_fast",
            &recording_config("limits", 2, 0)
        )
    );
    let mut server = LiveServer::start(&channels, &[]);
    let _ = finish(server.publish("sk_big", &huge), MINUTE);
    let breach = server.wait_for_events("Ingest Resolution", 1, MINUTE);
    assert_eq!(breach[0]["detail-type"], "IVS Limit Breach");
    assert_eq!(breach[0]["detail"]["limit_unit"], "pixels per edge");
    assert_eq!(breach[0]["detail"]["exceeded_by"], 640);
    assert!(
        server.events_named("Recording Start").is_empty(),
        "not recorded"
    );

    let (status, _) = finish(server.publish("sk_fast", &dense), MINUTE);
    assert!(!status.success(), "the publisher is disconnected");
    let breach = server.wait_for_events("Ingest Bitrate", 1, MINUTE);
    assert_eq!(breach[0]["detail"]["limit_value"], 3_500_000);
    let ended = server.wait_for_events("Recording End", 1, MINUTE);
    let duration = ended[0]["detail"]["recording_duration_ms"]
        .as_u64()
        .unwrap();
    assert!((8_000..12_000).contains(&duration), "kept {duration} ms");
    let recording = server.recording("limits", &prefix_of(&ended[0]));
    let objects = recording.objects();
    let playlist = media_playlist(&objects["media/hls/720p30/playlist.m3u8"]);
    assert!(playlist.end_list);
    let listed: u64 = playlist
        .segments
        .iter()
        .map(|s| crate::hls::millis(s.duration))
        .sum();
    assert_eq!(
        listed, duration,
        "every segment up to the disconnect is kept"
    );
    for segment in &playlist.segments {
        assert!(objects.contains_key(&format!("media/hls/720p30/{}", segment.uri)));
    }
    assert!(server.stop().success());
}

#[test]
fn a_starving_publisher_ends_its_session() {
    let dir = tempfile::tempdir().unwrap();
    let ts = dir.path().join("input.ts");
    let os = std::ffi::OsStr::new;
    ffmpeg(&[
        os("-i"),
        sample("720p30-gop2s.mp4").as_os_str(),
        os("-c"),
        os("copy"),
        os("-f"),
        os("mpegts"),
        ts.as_os_str(),
    ]);
    let bytes = std::fs::read(&ts).unwrap();
    let channels = format!(
        "[{}]",
        channel(
            "quiet",
            "BASIC",
            "sk_quiet",
            &recording_config("quiet", 1, 0)
        )
    );
    let server = LiveServer::start_binary(&channels, &["--starvation-timeout", "2"]);
    // The publisher reads its input from a pipe that stops after half the file.
    let mut publisher = std::process::Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-re",
            "-f",
            "mpegts",
            "-i",
            "pipe:0",
        ])
        .args(["-c", "copy", "-f", "flv", &server.url("sk_quiet")])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = publisher.stdin.take().unwrap();
    stdin.write_all(&bytes[..bytes.len() / 2]).unwrap();
    stdin.flush().unwrap();
    let ended = server.wait_for_events("Recording End", 1, MINUTE);
    assert!(
        server.log().contains("encoder starvation"),
        "{}",
        server.log()
    );
    let duration = ended[0]["detail"]["recording_duration_ms"]
        .as_u64()
        .unwrap();
    assert!((2_000..12_000).contains(&duration), "{duration}");
    drop(stdin);
    let _ = publisher.kill();
    let _ = publisher.wait();
}

#[test]
fn rtmps_publishers_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_head(dir.path(), "720p30-gop2s.mp4", 3);
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("the openssl CLI runs (scripts/install-deps.sh installs it)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let channels = format!(
        "[{}]",
        channel("tls", "BASIC", "sk_tls", &recording_config("tls", 1, 0))
    );
    let mut server = LiveServer::start_binary(
        &channels,
        &[
            "--rtmps-listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let port = server.rtmps_port.expect("serve printed its RTMPS address");
    // Plain RTMP on the RTMPS port is a failed TLS handshake for that connection only.
    let mut socket = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    socket.write_all(&[3; 1537]).unwrap();
    let mut rest = Vec::new();
    let _ = socket.read_to_end(&mut rest);
    assert!(
        wait_until(MINUTE, || server.log().contains("TLS handshake failed")),
        "{}",
        server.log()
    );

    let url = format!("rtmps://127.0.0.1:{port}/app/sk_tls");
    let publisher = std::process::Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-nostdin",
            "-re",
            "-i",
        ])
        .arg(&input)
        .args(["-c", "copy", "-f", "flv", &url])
        .output()
        .unwrap();
    assert!(
        publisher.status.success(),
        "{}",
        String::from_utf8_lossy(&publisher.stderr)
    );
    let ended = server.wait_for_events("Recording End", 1, MINUTE);
    let duration = ended[0]["detail"]["recording_duration_ms"]
        .as_u64()
        .unwrap();
    assert!((3_000..3_100).contains(&duration), "{duration}");
    let recording = server.recording("tls", &prefix_of(&ended[0]));
    check_rendition(&recording, "720p30", (1280, 720));

    // `ivs-recorder publish` speaks RTMPS too.
    let published = crate::util::run(&["publish", input.to_str().unwrap(), "--url", &url]);
    assert!(
        published.status.success(),
        "{}",
        String::from_utf8_lossy(&published.stderr)
    );
    let ended = server.wait_for_events("Recording End", 2, MINUTE);
    let duration = ended[1]["detail"]["recording_duration_ms"]
        .as_u64()
        .unwrap();
    assert!((2_990..3_100).contains(&duration), "{duration}");
    assert!(server.stop().success());
}

#[test]
fn an_unwritable_bucket_is_a_recording_start_failure_and_the_stream_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_head(dir.path(), "720p30-gop2s.mp4", 2);
    let channels = format!(
        "[{}]",
        channel(
            "nobucket",
            "BASIC",
            "sk_nb",
            &recording_config("broken", 1, 0)
        )
    );
    let mut server = LiveServer::start_binary(&channels, &[]);
    // A file where the bucket's folder should be: the bucket cannot be used.
    std::fs::create_dir_all(&server.store).unwrap();
    std::fs::write(server.store.join("broken"), b"not a folder").unwrap();
    let (status, stderr) = finish(server.publish("sk_nb", &input), MINUTE);
    assert!(status.success(), "the stream itself is accepted: {stderr}");
    let failure = server.wait_for_events("Recording Start Failure", 1, MINUTE);
    let detail = &failure[0]["detail"];
    assert_eq!(detail["recording_status_reason"], "ValidationException");
    assert_eq!(detail["recording_s3_key_prefix"], "");
    assert_eq!(detail["recording_s3_bucket_name"], "broken");
    server.wait_for_events("Stream End", 1, MINUTE);
    assert!(server.events_named("Recording End").is_empty());
    assert!(
        server.log().contains("the stream is not recorded"),
        "{}",
        server.log()
    );
    assert!(server.stop().success());
}

#[test]
fn a_panic_in_one_channels_recorder_is_contained() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_head(dir.path(), "720p30-gop2s.mp4", 4);
    let channels = format!(
        "[{},{}]",
        channel("calm", "BASIC", "sk_calm", &recording_config("calm", 2, 0)),
        channel(
            "crashing",
            "BASIC",
            "sk_crashing",
            &recording_config("crashing", 2, 0)
        )
    );
    // A bug in the crashing channel's recorder, as a panic on its thread would be.
    let hooks = RecorderHooks {
        before_recording: Some(std::sync::Arc::new(|channel: &str| {
            assert_ne!(channel, "crashing", "injected panic in the recorder thread");
        })),
    };
    let mut server = LiveServer::start_in_process(&channels, &[], hooks);
    let calm = server.publish("sk_calm", &input);
    let crashing = server.publish("sk_crashing", &input);
    let (status, stderr) = finish(calm, MINUTE);
    assert!(status.success(), "{stderr}");
    let _ = finish(crashing, MINUTE);

    let failures = server.wait_for_events("Recording End Failure", 1, MINUTE);
    assert_eq!(failures[0]["detail"]["channel_name"], "crashing");
    assert_eq!(
        failures[0]["detail"]["recording_status_reason"],
        "InternalServerException"
    );
    let ended = server.wait_for_events("Recording End", 1, MINUTE);
    assert_eq!(ended[0]["detail"]["channel_name"], "calm");
    let crashing_events: Vec<String> = server
        .events()
        .iter()
        .filter(|e| e["detail"]["channel_name"] == "crashing")
        .map(event_name)
        .collect();
    assert_eq!(
        crashing_events,
        [
            "Session Created",
            "Stream Start",
            "Recording Start",
            "Session Ended",
            "Stream End",
            "Recording End Failure"
        ]
    );
    // The crashing channel's recording is closed as failed; the calm one is complete.
    let failed = server.recording("crashing", &prefix_of(&failures[0]));
    let json = failed.json("events/recording-failed.json");
    assert_eq!(json["recording_status_message"], "InternalServerException");
    let calm_recording = server.recording("calm", &prefix_of(&ended[0]));
    assert_eq!(
        calm_recording.json("events/recording-ended.json")["media"]["hls"]["duration_ms"],
        4_000
    );
    // The channel keeps serving after the panic: a second publish is recorded.
    let again = server.publish("sk_crashing", &input);
    let _ = finish(again, MINUTE);
    server.wait_for_events("Recording End Failure", 2, MINUTE);
    assert!(server.stop().success(), "shutdown finalises every channel");
}
