//! Hostile and odd input (issue 12): sources that are not H.264 / AAC, timestamps that jump,
//! and what a recording that cannot be played must not be called. Each test pins one fix.

use std::path::{Path, PathBuf};

use crate::util::{Recording, ffmpeg};

/// Makes a `seconds`-long test clip at `size` with `codecs` (ffmpeg arguments) into `dir/name`.
fn clip(dir: &Path, name: &str, size: &str, seconds: &str, codecs: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let video = format!("testsrc2=size={size}:rate=30");
    let mut args: Vec<&str> = vec![
        "-f",
        "lavfi",
        "-i",
        &video,
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-t",
        seconds,
        "-pix_fmt",
        "yuv420p",
        "-ac",
        "2",
    ];
    args.extend_from_slice(codecs);
    let mut args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    args.push(path.as_os_str());
    ffmpeg(&args);
    path
}

/// Copies the streams of `input` into `output` (its container chosen by its extension).
fn remux(input: &Path, output: &Path) {
    let os = std::ffi::OsStr::new;
    ffmpeg(&[
        os("-i"),
        input.as_os_str(),
        os("-c"),
        os("copy"),
        output.as_os_str(),
    ]);
}

/// Runs `ivs-recorder` with `args`; asserts it exits with `code` and its stderr says `says`, and
/// returns that stderr.
fn run_expecting(args: &[&str], code: i32, says: &str) -> String {
    let output = crate::util::run(args);
    let said = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(code), "{args:?}: {said}");
    assert!(said.contains(says), "expected {says:?} in: {said}");
    said
}

/// Asserts the ffmpeg CLI reads `playlist` to its end without a complaint.
fn plays_to_the_end(playlist: &Path) {
    let output = std::process::Command::new("timeout")
        .args(["60", "ffmpeg", "-v", "error", "-i"])
        .arg(playlist)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && said.is_empty(),
        "{}: {said}",
        playlist.display()
    );
}

/// The codec names ffprobe sees in `path`, video and audio.
fn codecs_in(path: &Path) -> Vec<String> {
    let output = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type,codec_name",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .unwrap();
    let mut codecs: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.ends_with(",video") || l.ends_with(",audio"))
        .map(str::to_owned)
        .collect();
    codecs.sort();
    codecs.dedup();
    codecs
}

/// The `CODECS` attribute of every variant of the recording's master playlist.
fn master_codecs(recording: &Recording) -> Vec<String> {
    let master = String::from_utf8(recording.objects()["media/hls/master.m3u8"].clone()).unwrap();
    master
        .lines()
        .filter_map(|l| l.split("CODECS=\"").nth(1))
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

#[test]
fn sources_that_are_not_h264_or_aac_are_transcoded_where_they_would_pass_through() {
    let dir = tempfile::tempdir().unwrap();
    // STANDARD above 720p passes its source rung through: HEVC with MP3 audio.
    let hevc = clip(
        dir.path(),
        "hevc-mp3.mkv",
        "1280x736",
        "1",
        &[
            "-c:v",
            "libx265",
            "-x265-params",
            "log-level=none",
            "-c:a",
            "libmp3lame",
        ],
    );
    let standard = Recording::make(&dir.path().join("standard"), &hevc, &[], 0);
    let warned = standard.stderr();
    assert!(
        warned.contains("the source video is hevc, not H.264: rendition 736p30 is transcoded"),
        "{warned}"
    );
    assert!(
        warned.contains("the source audio is mp3, not AAC"),
        "{warned}"
    );
    let objects = standard.objects();
    for rendition in ["736p30", "720p30", "480p30", "360p30", "160p30"] {
        let segment = standard.dir.join(format!("media/hls/{rendition}/0.ts"));
        assert!(
            objects.contains_key(&format!("media/hls/{rendition}/0.ts")),
            "{rendition}"
        );
        assert_eq!(
            codecs_in(&segment),
            ["aac,audio", "h264,video"],
            "{rendition}"
        );
    }
    let codecs = master_codecs(&standard);
    assert_eq!(codecs.len(), 5);
    assert!(
        codecs
            .iter()
            .all(|c| c.starts_with("avc1.") && c.ends_with(",mp4a.40.2")),
        "{codecs:?}"
    );
    assert_eq!(
        standard.json("events/recording-ended.json")["recording_status"],
        "RECORDING_ENDED"
    );

    // BASIC passes everything through: VP9 with Opus, MPEG-2 with MP2, MJPEG with PCM.
    for (name, codecs) in [
        (
            "vp9-opus.webm",
            &[
                "-c:v",
                "libvpx-vp9",
                "-deadline",
                "realtime",
                "-c:a",
                "libopus",
            ][..],
        ),
        ("mpeg2-mp2.ts", &["-c:v", "mpeg2video", "-c:a", "mp2"][..]),
        ("mjpeg-pcm.mov", &["-c:v", "mjpeg", "-c:a", "pcm_s16le"][..]),
    ] {
        let input = clip(dir.path(), name, "640x360", "2", codecs);
        let basic = Recording::make(
            &dir.path().join(format!("basic-{name}")),
            &input,
            &["--channel-type", "BASIC"],
            0,
        );
        assert!(
            basic.stderr().contains("not H.264"),
            "{name}: {}",
            basic.stderr()
        );
        assert!(
            basic.stderr().contains("not AAC"),
            "{name}: {}",
            basic.stderr()
        );
        let segment = basic.dir.join("media/hls/360p30/0.ts");
        assert_eq!(codecs_in(&segment), ["aac,audio", "h264,video"], "{name}");
        let codecs = master_codecs(&basic);
        assert!(
            codecs[0].starts_with("avc1.") && codecs[0].ends_with(",mp4a.40.2"),
            "{name}: {codecs:?}"
        );
        let ended = basic.json("events/recording-ended.json");
        let duration = ended["media"]["hls"]["duration_ms"].as_u64().unwrap();
        assert!((1900..=2100).contains(&duration), "{name}: {duration} ms");
    }
}

#[test]
fn h264_with_mp3_audio_keeps_its_video_and_gets_aac() {
    let dir = tempfile::tempdir().unwrap();
    let input = clip(
        dir.path(),
        "h264-mp3.mp4",
        "640x360",
        "2",
        &[
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "libmp3lame",
        ],
    );
    let basic = Recording::make(
        &dir.path().join("out"),
        &input,
        &["--channel-type", "BASIC"],
        0,
    );
    assert!(!basic.stderr().contains("not H.264"), "{}", basic.stderr());
    assert!(
        basic.stderr().contains("the source audio is mp3, not AAC"),
        "{}",
        basic.stderr()
    );
    let segment = basic.dir.join("media/hls/360p30/0.ts");
    assert_eq!(codecs_in(&segment), ["aac,audio", "h264,video"]);
    // The audio is all there: about as long as the video.
    let output = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "a",
            "-show_entries",
            "stream=duration",
            "-of",
            "csv=p=0",
        ])
        .arg(&segment)
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    let seconds: f64 = text.lines().next().unwrap().trim().parse().unwrap();
    assert!((1.9..=2.1).contains(&seconds), "{seconds} s of audio");
}

#[test]
fn live_h264_with_mp3_or_pcm_audio_is_a_stream_failure_naming_the_codec() {
    use crate::live_rig::{LiveServer, channel, finish, recording_config};
    let channels = format!(
        "[{}]",
        channel(
            "mp3",
            "BASIC",
            "sk_mp3",
            &recording_config("odd-audio", 2, 0)
        )
    );
    let mut server = LiveServer::start_binary(&channels, &[]);
    for (round, (audio, codec)) in [("libmp3lame", "MP3"), ("pcm_s16le", "PCM")]
        .into_iter()
        .enumerate()
    {
        let publisher = server.publish_with(
            "sk_mp3",
            &[
                "-re",
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=320x240:rate=30",
                // The audio starts later, so the recording has begun when it arrives.
                "-itsoffset",
                "0.5",
                "-f",
                "lavfi",
                "-i",
                "sine=sample_rate=44100",
                "-t",
                "3",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-g",
                "30",
                "-c:a",
                audio,
                "-ar",
                "44100",
            ],
        );
        let _ = finish(publisher, LIVE_TIMEOUT);
        let failures = server.wait_for_events("Stream Failure", round + 1, LIVE_TIMEOUT);
        let reason = failures.last().unwrap()["detail"]["reason"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(reason.contains(codec), "{codec}: {reason}");
        // A recording, if the first keyframe came before the audio, is not called a success.
        server.wait_for_events("Session Ended", round + 1, LIVE_TIMEOUT);
        let started = server.events_named("Recording Start").len();
        assert_eq!(
            started,
            round + 1,
            "{codec}: the recording started before the audio came"
        );
        server.wait_for_events("Recording End Failure", started, LIVE_TIMEOUT);
        assert!(server.events_named("Recording End").is_empty(), "{codec}");
    }
    assert!(server.stop().success());
}

const LIVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The first four seconds of the 720p30 sample as FLV tags (video and AAC audio).
fn sample_tags(dir: &Path) -> Vec<crate::rtmp_client::FlvTag> {
    let head = crate::live_rig::sample_head(dir, "720p30-gop2s.mp4", 4);
    let flv = dir.join("head.flv");
    remux(&head, &flv);
    crate::rtmp_client::flv_tags(&flv)
}

/// Publishes `copies` of `tags` on one connection to `key`, copy `n` with its timestamps moved
/// by `shifts[n]` ms (wrapping as RTMP's 32-bit clock does).
fn publish_with_shifts(port: u16, key: &str, tags: &[crate::rtmp_client::FlvTag], shifts: &[u32]) {
    let mut publisher = crate::rtmp_client::RawPublisher::connect(port, key);
    for shift in shifts {
        for tag in tags {
            assert!(
                publisher.send(tag, tag.timestamp.wrapping_add(*shift)),
                "the server kept the connection"
            );
        }
    }
    publisher.close();
}

/// The `#EXTINF` durations of a rendition's playlist, in seconds.
fn extinfs(recording: &Recording, rendition: &str) -> Vec<f64> {
    let playlist = String::from_utf8(
        recording.objects()[&format!("media/hls/{rendition}/playlist.m3u8")].clone(),
    )
    .unwrap();
    assert!(playlist.contains("#EXT-X-ENDLIST"), "{playlist}");
    playlist
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .map(|l| l.trim_end_matches(',').parse().unwrap())
        .collect()
}

#[test]
fn a_file_whose_timestamps_go_back_or_jump_ahead_records_its_media_time() {
    let dir = tempfile::tempdir().unwrap();
    let head = crate::live_rig::sample_head(dir.path(), "720p30-gop2s.mp4", 4);
    let os = std::ffi::OsStr::new;
    let ts = dir.path().join("a.ts");
    remux(&head, &ts);
    let later = dir.path().join("later.ts");
    ffmpeg(&[
        os("-i"),
        head.as_os_str(),
        os("-c"),
        os("copy"),
        os("-output_ts_offset"),
        os("3600"),
        later.as_os_str(),
    ]);
    // cat a.ts a.ts later.ts: back to the start after 4 s, then an hour ahead.
    let once = std::fs::read(&ts).unwrap();
    let joined = dir.path().join("joined.ts");
    std::fs::write(
        &joined,
        [once.as_slice(), &once, &std::fs::read(&later).unwrap()].concat(),
    )
    .unwrap();

    let recording = Recording::make(&dir.path().join("out"), &joined, &[], 0);
    let said = recording.stderr();
    assert!(said.contains("timestamps went back"), "{said}");
    assert!(
        said.contains("timestamps jumped ahead 3595.967 s"),
        "{said}"
    );
    let ended = recording.json("events/recording-ended.json");
    let duration = ended["media"]["hls"]["duration_ms"].as_u64().unwrap();
    assert!(
        (12_000..=12_400).contains(&duration),
        "12 s of media, not {duration} ms"
    );
    for rendition in ["720p30", "480p30", "360p30", "160p30"] {
        let durations = extinfs(&recording, rendition);
        let total: f64 = durations.iter().sum();
        assert!(
            (total - duration as f64 / 1000.0).abs() < 0.1,
            "{rendition}: {durations:?}"
        );
        assert!(
            durations.iter().all(|d| *d <= 10.5),
            "{rendition}: {durations:?}"
        );
    }
    // Everything decodes as one stream.
    let playlist = recording.dir.join("media/hls/720p30/playlist.m3u8");
    plays_to_the_end(&playlist);
}

#[test]
fn live_timestamps_that_wrap_go_back_or_jump_ahead_keep_recording() {
    use crate::live_rig::{LiveServer, channel, recording_config};
    let dir = tempfile::tempdir().unwrap();
    let tags = sample_tags(dir.path());
    let channels = format!(
        "[{},{}]",
        channel(
            "jumps",
            "BASIC",
            "sk_jumps",
            &recording_config("jumps", 2, 0)
        ),
        channel(
            "wraps",
            "BASIC",
            "sk_wraps",
            &recording_config("wraps", 2, 0)
        )
    );
    let mut server = LiveServer::start(&channels, &[]);

    // 4 s as sent, the same 4 s an hour later, then the same 4 s from zero again.
    publish_with_shifts(server.port, "sk_jumps", &tags, &[0, 3_600_000, 0]);
    let ended = server.wait_for_events("Recording End", 1, LIVE_TIMEOUT);
    let detail = &ended[0]["detail"];
    assert_eq!(detail["channel_name"], "jumps");
    let duration = detail["recording_duration_ms"].as_u64().unwrap();
    assert!(
        (12_000..=12_200).contains(&duration),
        "12 s of media, not {duration} ms"
    );
    let prefix = detail["recording_s3_key_prefix"].as_str().unwrap();
    let recording = server.recording("jumps", prefix);
    let durations = extinfs(&recording, "720p30");
    assert!(durations.iter().all(|d| *d <= 10.5), "{durations:?}");
    assert!(
        (durations.iter().sum::<f64>() - duration as f64 / 1000.0).abs() < 0.1,
        "{durations:?}"
    );

    // RTMP's 32-bit millisecond clock wraps two seconds in.
    publish_with_shifts(server.port, "sk_wraps", &tags, &[u32::MAX - 1_999]);
    let ended = server.wait_for_events("Recording End", 2, LIVE_TIMEOUT);
    let detail = &ended[1]["detail"];
    assert_eq!(detail["channel_name"], "wraps");
    assert_eq!(detail["recording_duration_ms"], 4_000);
    assert!(server.events_named("Recording End Failure").is_empty());
    assert!(server.stop().success());
}

#[test]
fn an_audio_message_between_the_chunks_of_a_video_message_is_read() {
    use crate::live_rig::{LiveServer, channel, recording_config};
    use crate::rtmp_client::{RawPublisher, message_chunks};
    let dir = tempfile::tempdir().unwrap();
    let tags = sample_tags(dir.path());
    let channels = format!(
        "[{}]",
        channel(
            "mixed",
            "BASIC",
            "sk_mixed",
            &recording_config("mixed", 2, 0)
        )
    );
    let mut server = LiveServer::start_binary(&channels, &[]);
    let mut publisher = RawPublisher::connect(server.port, "sk_mixed");
    // A video message of several chunks (the client set 4096-byte chunks) one second in, and the
    // audio message after it.
    let video = tags
        .iter()
        .position(|t| t.kind == 9 && t.timestamp >= 1000 && t.body.len() > 3 * 4096)
        .unwrap();
    let audio = video + tags[video..].iter().position(|t| t.kind == 8).unwrap();
    for tag in &tags[..video] {
        assert!(publisher.send(tag, tag.timestamp));
    }
    let video_chunks = message_chunks(20, tags[video].timestamp, 9, 1, &tags[video].body, 4096);
    let audio_chunks = message_chunks(21, tags[audio].timestamp, 8, 1, &tags[audio].body, 4096);
    assert!(video_chunks.len() > 2);
    let mut interleaved = video_chunks[0].clone();
    interleaved.extend(audio_chunks.concat());
    interleaved.extend(video_chunks[1..].concat());
    assert!(publisher.write_raw(&interleaved));
    for (index, tag) in tags.iter().enumerate().skip(video + 1) {
        if index != audio {
            assert!(
                publisher.send(tag, tag.timestamp),
                "the connection stays open"
            );
        }
    }
    publisher.close();
    let ended = server.wait_for_events("Recording End", 1, LIVE_TIMEOUT);
    let log = server.log();
    assert_eq!(ended[0]["detail"]["recording_duration_ms"], 4_000, "{log}");
    assert!(server.events_named("Stream Failure").is_empty());
    assert!(
        !log.contains("panicked") && !log.contains("invalid RTMP data"),
        "{log}"
    );
    assert!(server.stop().success());
}

#[test]
fn connections_before_publish_are_bounded_in_size_number_and_time() {
    use crate::live_rig::{LiveServer, channel, recording_config};
    use crate::rtmp_client::{RawPublisher, closed_by_server, handshake};
    use std::io::Write;
    use std::time::Duration;
    let channels = format!(
        "[{}]",
        channel(
            "bounded",
            "BASIC",
            "sk_bounded",
            &recording_config("bounded", 2, 0)
        )
    );
    let mut server = LiveServer::start_binary(
        &channels,
        &["--max-connections", "2", "--publish-timeout", "6"],
    );

    // A message announced at 1 MB before any publish: refused at its header.
    let (mut socket, _) = handshake(server.port);
    let mut header = vec![3_u8, 0, 0, 0];
    header.extend_from_slice(&1_000_000_u32.to_be_bytes()[1..]);
    header.extend_from_slice(&[20, 0, 0, 0, 0]);
    header.extend_from_slice(&[0x02; 100]);
    socket.write_all(&header).unwrap();
    assert!(closed_by_server(&mut socket, Duration::from_secs(5)));
    drop(socket);
    // The socket closes a moment before that connection's task lets go of its place.
    std::thread::sleep(Duration::from_millis(500));

    // Two connections that never publish hold both places; a third is closed at once (well
    // before the 6 s a connection has to publish; the log says which rule closed it).
    let (mut first, _) = handshake(server.port);
    let mut second = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut third = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    assert!(
        closed_by_server(&mut third, Duration::from_secs(4)),
        "over the cap"
    );
    // Both are closed when their six seconds to publish are up; then a publisher gets in.
    assert!(
        closed_by_server(&mut first, Duration::from_secs(12)),
        "no publish in time"
    );
    assert!(
        closed_by_server(&mut second, Duration::from_secs(12)),
        "no handshake in time"
    );
    let publisher = RawPublisher::connect(server.port, "sk_bounded");
    publisher.close();

    let log = server.log();
    assert!(
        log.contains("a message of 1000000 bytes was announced; at most 65536 are allowed"),
        "{log}"
    );
    assert!(
        log.contains("2 connections are open, the most allowed (--max-connections)"),
        "{log}"
    );
    assert!(
        log.contains("no accepted publish within 6 s of connecting"),
        "{log}"
    );
    assert!(log.contains("no RTMP handshake within 6 s"), "{log}");
    assert!(server.stop().success());
}

#[test]
fn flush_spool_refuses_a_spool_that_would_write_outside_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    std::fs::create_dir_all(&spool).unwrap();
    std::fs::write(spool.join("spool.json"), r#"{"bucket":"../../x"}"#).unwrap();
    std::fs::write(
        spool.join("manifest.jsonl"),
        "{\"seq\":0,\"key\":\"escaped.txt\",\"content_type\":\"text/plain\",\"size\":5}\n",
    )
    .unwrap();
    std::fs::write(spool.join("0.bin"), b"owned").unwrap();
    let store = dir.path().join("a/b/store");
    run_expecting(
        &[
            "flush-spool",
            spool.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
        ],
        1,
        "spool.json: its bucket must match [a-z0-9-.]+, got \"../../x\"",
    );
    assert!(!dir.path().join("a/x").exists() && !dir.path().join("x").exists());
    assert!(spool.join("0.bin").exists(), "the spool is kept");

    // A valid spool reports the bytes it wrote, not what its manifest claims.
    std::fs::write(spool.join("spool.json"), r#"{"bucket":"fine-bucket"}"#).unwrap();
    std::fs::write(
        spool.join("manifest.jsonl"),
        "{\"seq\":0,\"key\":\"ivs/v1/x/escaped.txt\",\"content_type\":\"text/plain\",\"size\":999999}\n",
    )
    .unwrap();
    run_expecting(
        &[
            "flush-spool",
            spool.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
        ],
        0,
        "uploaded 1 object(s), 5 bytes",
    );
    assert_eq!(
        std::fs::read(store.join("fine-bucket/ivs/v1/x/escaped.txt")).unwrap(),
        b"owned"
    );
}

#[test]
fn outcomes_say_what_happened() {
    let dir = tempfile::tempdir().unwrap();
    let head = crate::live_rig::sample_head(dir.path(), "720p30-gop2s.mp4", 4);

    // A TS cut mid-GOP records from its first keyframe and is not called truncated.
    let ts = dir.path().join("whole.ts");
    remux(&head, &ts);
    let bytes = std::fs::read(&ts).unwrap();
    let cut = bytes.len() / 188 * 3 / 10 * 188;
    let mid_gop = dir.path().join("mid-gop.ts");
    std::fs::write(&mid_gop, &bytes[cut..]).unwrap();
    let recording = Recording::make(
        &dir.path().join("mid-gop"),
        &mid_gop,
        &["--channel-type", "BASIC"],
        0,
    );
    let ended = recording.json("events/recording-ended.json");
    let duration = ended["media"]["hls"]["duration_ms"].as_u64().unwrap();
    assert!(
        (1_900..=2_100).contains(&duration),
        "from the keyframe at 2 s: {duration} ms"
    );

    // An MP4 with its index at the end, fed through a FIFO, cannot start: nothing is written.
    let moov_last = dir.path().join("moov-last.mp4");
    remux(&head, &moov_last);
    let fifo = dir.path().join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let feeder = {
        let (source, fifo) = (moov_last.clone(), fifo.clone());
        std::thread::spawn(move || {
            let _ = std::fs::write(&fifo, std::fs::read(source).unwrap());
        })
    };
    let store = dir.path().join("fifo-store");
    run_expecting(
        &[
            "record",
            fifo.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
        ],
        1,
        "failed before its first video keyframe",
    );
    assert!(
        crate::util::files_under(&store)
            .iter()
            .all(|f| !f.contains("events/")),
        "nothing written"
    );
    let _ = feeder.join();

    // A recording configuration that is a JSON array is refused.
    let config = crate::util::config_file(dir.path(), r#"[{"s3":{"bucketName":"abc"}}]"#);
    run_expecting(
        &[
            "record",
            ts.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
        2,
        "body must be a JSON object, got an array",
    );

    // A stream key that cannot be the last part of an rtmp:// URL is refused.
    let channels = crate::util::config_file(dir.path(), r#"[{"name":"a","streamKey":"sk/b"}]"#);
    run_expecting(
        &[
            "serve",
            "--channels",
            channels.to_str().unwrap(),
            "--rtmp-listen",
            "127.0.0.1:0",
            "--api-listen",
            "127.0.0.1:0",
            "--store",
            store.to_str().unwrap(),
        ],
        2,
        "[0].streamKey must be printable ASCII without spaces, `/`",
    );
}

#[test]
fn errors_name_what_is_wrong_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = crate::util::sample("720p30-gop2s.mp4");
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ivs-recorder"));
        command.arg("record").arg(&input).args(args);
        for name in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_REGION",
            "AWS_EC2_METADATA_DISABLED",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
        ] {
            command.env_remove(name);
        }
        command.envs(env.iter().copied());
        let output = command.output().unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };

    // S3 without credentials: said so, and the instance metadata address is never asked.
    let (code, said) = run(
        &["--store", "s3", "--s3-endpoint", "http://127.0.0.1:9"],
        &[],
    );
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("no credentials for S3 at http://127.0.0.1:9: set AWS_ACCESS_KEY_ID"),
        "{said}"
    );
    assert!(!said.contains("169.254"), "{said}");

    // A cause is said once, not once per layer that wraps it.
    let (code, said) = run(
        &["--store", "s3", "--s3-endpoint", "http://127.0.0.1:9"],
        &[("AWS_ACCESS_KEY_ID", "k"), ("AWS_SECRET_ACCESS_KEY", "s")],
    );
    assert_eq!(code, Some(1), "{said}");
    assert_eq!(said.matches("Connection refused").count(), 1, "{said}");
    let (code, said) = run(&["--store", "/proc/no/such/store"], &[]);
    assert_eq!(code, Some(1), "{said}");
    assert_eq!(
        said.matches("No such file or directory").count(),
        1,
        "{said}"
    );

    // A configuration that cannot be read: the file and the reason.
    let (code, said) = run(&["--config", "/no/such/config.json"], &[]);
    assert_eq!(code, Some(2), "{said}");
    assert!(
        said.contains("/no/such/config.json: No such file or directory"),
        "{said}"
    );

    // A huge bucket name is not echoed whole.
    let huge = "b".repeat(10_000);
    let config = crate::util::config_file(
        dir.path(),
        &format!(r#"{{"destinationConfiguration":{{"s3":{{"bucketName":"{huge}"}}}}}}"#),
    );
    let (code, said) = run(&["--config", config.to_str().unwrap()], &[]);
    assert_eq!(code, Some(2), "{said}");
    assert!(
        said.contains("(10000 characters)") && said.len() < 1_000,
        "{said}"
    );
}

#[test]
fn recordings_a_killed_server_left_open_are_finished_at_the_next_start() {
    use crate::live_rig::{LiveServer, channel, recording_config, wait_until};
    let dir = tempfile::tempdir().unwrap();
    // 12 s: the first segment (10 s) is stored while the publisher still sends.
    let input = crate::util::sample("720p30-gop2s.mp4");
    let (store, spool) = (dir.path().join("store"), dir.path().join("spool"));
    let channels = format!(
        "[{}]",
        channel(
            "crash",
            "BASIC",
            "sk_crash",
            &recording_config("crash", 2, 0)
        )
    );
    let extra = [
        "--store",
        store.to_str().unwrap(),
        "--spool",
        spool.to_str().unwrap(),
    ];
    let mut server = LiveServer::start_binary(&channels, &extra);
    let publisher = server.publish("sk_crash", &input);
    let bucket = store.join("crash");
    let playlist_of = || {
        crate::util::files_under(&bucket)
            .into_iter()
            .find(|f| f.ends_with("720p30/playlist.m3u8"))
    };
    assert!(
        wait_until(LIVE_TIMEOUT, || playlist_of().is_some()),
        "a segment is stored live"
    );
    server.kill();
    let _ = crate::live_rig::finish(publisher, LIVE_TIMEOUT);
    let playlist = bucket.join(playlist_of().unwrap());
    let prefix_dir = playlist.ancestors().nth(4).unwrap().to_owned();
    let left = std::fs::read_to_string(&playlist).unwrap();
    assert!(!left.contains("#EXT-X-ENDLIST"), "{left}");
    assert!(!prefix_dir.join("events/recording-ended.json").exists());
    assert_eq!(
        std::fs::read_dir(spool.join("open-recordings"))
            .unwrap()
            .count(),
        1
    );

    // The next start finishes it: playlists closed, recording-ended.json with what was stored.
    let mut next = LiveServer::start_binary(&channels, &extra);
    let ended = prefix_dir.join("events/recording-ended.json");
    assert!(
        wait_until(LIVE_TIMEOUT, || ended.exists()),
        "{}",
        next.log()
    );
    let closed = std::fs::read_to_string(&playlist).unwrap();
    assert!(closed.ends_with("#EXT-X-ENDLIST\n"), "{closed}");
    let byte_range =
        std::fs::read_to_string(playlist.with_file_name("byte-range-variant.m3u8")).unwrap();
    assert!(byte_range.ends_with("#EXT-X-ENDLIST\n"), "{byte_range}");
    let document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&ended).unwrap()).unwrap();
    assert_eq!(document["recording_status"], "RECORDING_ENDED");
    let listed: f64 = closed
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .map(|l| l.trim_end_matches(',').parse::<f64>().unwrap())
        .sum();
    let duration = document["media"]["hls"]["duration_ms"].as_u64().unwrap();
    assert!(
        duration > 0 && (listed * 1000.0 - duration as f64).abs() < 2.0,
        "{duration} vs {listed}"
    );
    // ffmpeg reads it to its end instead of waiting for more.
    plays_to_the_end(&playlist);
    assert!(
        next.log()
            .contains("finished a recording an earlier run left open"),
        "{}",
        next.log()
    );
    assert_eq!(
        std::fs::read_dir(spool.join("open-recordings"))
            .unwrap()
            .count(),
        0
    );
    assert!(next.stop().success());
}

#[test]
fn publish_replays_a_file_as_several_publishers_and_loops_with_rising_timestamps() {
    use crate::live_rig::{LiveServer, channel, recording_config, sample_head, wait_until};
    let dir = tempfile::tempdir().unwrap();
    let input = sample_head(dir.path(), "720p30-gop2s.mp4", 2);
    let channels = format!(
        "[{},{},{}]",
        channel("one", "BASIC", "sk_pub_1", &recording_config("pub", 2, 0)),
        channel("two", "BASIC", "sk_pub_2", &recording_config("pub", 2, 0)),
        channel("looped", "BASIC", "sk_loop", &recording_config("pub", 2, 0))
    );
    let mut server = LiveServer::start_binary(&channels, &[]);
    let url = format!("rtmp://127.0.0.1:{}/app/sk_pub_{{n}}", server.port);
    let started = std::time::Instant::now();
    let said = run_expecting(
        &[
            "publish",
            input.to_str().unwrap(),
            "--url",
            &url,
            "--count",
            "2",
        ],
        0,
        "published 2.0",
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(1900),
        "real time"
    );
    assert_eq!(said.matches("published 2.0").count(), 2, "{said}");
    let ended = server.wait_for_events("Recording End", 2, LIVE_TIMEOUT);
    let mut names: Vec<&str> = ended
        .iter()
        .map(|e| e["detail"]["channel_name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["one", "two"]);
    for event in &ended {
        // Millisecond RTMP timestamps from the MP4's 1/15360 clock: within a tick of 2 s.
        let duration = event["detail"]["recording_duration_ms"].as_u64().unwrap();
        assert!((1_990..=2_010).contains(&duration), "{duration}");
    }

    // --loop: the 2 s file three times and more, one continuous stream.
    let mut looping = std::process::Command::new(env!("CARGO_BIN_EXE_ivs-recorder"))
        .args(["publish", input.to_str().unwrap(), "--loop", "--url"])
        .arg(format!("rtmp://127.0.0.1:{}/app/sk_loop", server.port))
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(7_000));
    let _ = looping.kill();
    let _ = looping.wait();
    let ended = server.wait_for_events("Recording End", 3, LIVE_TIMEOUT);
    let duration = ended[2]["detail"]["recording_duration_ms"]
        .as_u64()
        .unwrap();
    assert!((5_500..=7_500).contains(&duration), "{duration} ms");
    assert!(
        !server.log().contains("re-timed"),
        "timestamps rose across loops: {}",
        server.log()
    );
    assert!(wait_until(LIVE_TIMEOUT, || server
        .events_named("Recording End")
        .len()
        == 3));
    assert!(server.stop().success());
}
