//! Live playback at the channel's `playbackUrl` path and recorded objects over HTTP (issue 14):
//! a real publisher (the ffmpeg CLI), the real AWS SDK for the URL and `viewerCount`, ffprobe for
//! the live segments.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::hls::probe_video;
use crate::live_rig::{LiveServer, channel, finish, recording_config, wait_until};
use crate::sdk::Sdk;
use crate::util::{http_get, sample};

const MINUTE: Duration = Duration::from_secs(60);

fn text(port: u16, path: &str) -> (u16, String) {
    let (status, _, body) = http_get(port, path, &[]);
    (status, String::from_utf8(body).unwrap())
}

/// The URI lines of a playlist.
fn uris(playlist: &str) -> Vec<String> {
    playlist
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

fn media_sequence(playlist: &str) -> u64 {
    playlist
        .lines()
        .find_map(|line| line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no media sequence in {playlist}"))
}

#[test]
fn a_live_channel_plays_at_its_playback_url_and_its_recording_over_http() {
    let channels = format!(
        "[{}]",
        channel(
            "p",
            "STANDARD",
            "sk_p",
            &recording_config("playback", 60, 0)
        )
    );
    let mut server = LiveServer::start(&channels, &[]);
    let port = server.api_port;
    let mut sdk = Sdk::new(port);
    let channel = sdk.ok("ListChannels", json!({}))["channels"][0].clone();
    let channel_arn = channel["arn"].as_str().unwrap().to_owned();
    let playback_url = sdk.ok("GetChannel", json!({"arn": channel_arn}))["channel"]["playbackUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = &playback_url[playback_url.find("/api/video/v1/").unwrap()..];
    assert_eq!(text(port, path).0, 404, "not live yet");

    let publisher = server.publish("sk_p", &sample("720p30-gop2s.mp4"));
    let mut multivariant = String::new();
    let playable = wait_until(MINUTE, || {
        let (status, body) = text(port, path);
        multivariant = body;
        status == 200
    });
    assert!(playable, "the playback URL answered 200 while live");
    let (_, headers, _) = http_get(port, path, &[("Origin", "https://example.com")]);
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(headers["content-type"], "application/vnd.apple.mpegurl");
    for resolution in ["1280x720", "852x480", "640x360", "284x160"] {
        assert!(
            multivariant.contains(&format!("RESOLUTION={resolution},")),
            "STANDARD from 720p: {resolution}\n{multivariant}"
        );
    }
    let variants = uris(&multivariant);
    assert_eq!(variants.len(), 4, "{multivariant}");
    let base = &path[..path.rfind('/').unwrap() + 1];

    // Each rendition's sliding playlist: no ENDLIST, GOP segments that decode alone at its height.
    let dir = tempfile::tempdir().unwrap();
    for (variant, height) in variants.iter().zip([720, 480, 360, 160]) {
        let playlist_path = format!("{base}{variant}");
        let (status, playlist) = text(port, &playlist_path);
        assert_eq!(status, 200);
        assert!(!playlist.contains("#EXT-X-ENDLIST"), "{playlist}");
        assert!(playlist.contains("#EXT-X-PROGRAM-DATE-TIME:"));
        let segment = uris(&playlist).last().unwrap().clone();
        let playlist_dir = &playlist_path[..playlist_path.rfind('/').unwrap() + 1];
        let (status, headers, bytes) = http_get(port, &format!("{playlist_dir}{segment}"), &[]);
        assert_eq!(status, 200);
        assert_eq!(headers["content-type"], "video/mp2t");
        let file = dir.path().join(format!("{height}.ts"));
        std::fs::write(&file, &bytes).unwrap();
        let (codec, _, probed_height, starts_with_key, duration, _) = probe_video(&file);
        assert_eq!((codec.as_str(), probed_height), ("h264", height));
        assert!(starts_with_key, "a live segment starts with its keyframe");
        assert!(
            (1.5..2.6).contains(&duration),
            "one 2 s GOP, got {duration}"
        );
        let (status, headers, part) = http_get(
            port,
            &format!("{playlist_dir}{segment}"),
            &[("Range", "bytes=188-375")],
        );
        assert_eq!(status, 206);
        assert_eq!(part, bytes[188..376]);
        assert_eq!(
            headers["content-range"],
            format!("bytes 188-375/{}", bytes.len()).as_str()
        );
    }

    // Two players (each multivariant fetch is one) watching: viewerCount 2.
    let second = uris(&text(port, path).1);
    let (status, _) = text(port, &format!("{base}{}", second[1]));
    assert_eq!(status, 200);
    let viewers =
        sdk.ok("GetStream", json!({"channelArn": channel_arn}))["stream"]["viewerCount"].clone();
    assert_eq!(viewers, 2);

    // The window slides while the stream goes on.
    let first = text(port, &format!("{base}{}", variants[0])).1;
    let started = Instant::now();
    let slid = wait_until(Duration::from_secs(20), || {
        let now = text(port, &format!("{base}{}", variants[0])).1;
        media_sequence(&now) > media_sequence(&first) || uris(&now).len() > uris(&first).len()
    });
    assert!(slid, "new GOPs appear within {:?}", started.elapsed());

    assert!(finish(publisher, MINUTE).0.success());
    let offline = wait_until(Duration::from_secs(10), || text(port, path).0 == 404);
    assert!(
        offline,
        "the playback URL answers 404 once the stream ended"
    );
    server.wait_for_events("Recording End", 1, MINUTE);

    // The recording over HTTP: its byte-range multivariant, and a GOP by range.
    let keys = crate::util::files_under(&server.store.join("playback"));
    let master = keys
        .iter()
        .find(|key| key.ends_with("media/hls/byte-range-multivariant.m3u8"))
        .unwrap();
    let (status, headers, body) = http_get(port, &format!("/recordings/playback/{master}"), &[]);
    assert_eq!(status, 200);
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(
        body,
        std::fs::read(server.store.join("playback").join(master)).unwrap()
    );
    let segment = keys
        .iter()
        .find(|key| key.ends_with("480p30/0.ts"))
        .unwrap();
    let on_disk = std::fs::read(server.store.join("playback").join(segment)).unwrap();
    let (status, _, part) = http_get(
        port,
        &format!("/recordings/playback/{segment}"),
        &[("Range", "bytes=1000-")],
    );
    assert_eq!(status, 206);
    assert_eq!(part, on_disk[1000..]);
    assert_eq!(
        http_get(port, "/recordings/elsewhere/x.ts", &[]).0,
        404,
        "only the recording configurations' buckets"
    );
    assert!(server.stop().success());
}
