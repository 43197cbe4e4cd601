//! The web console and live playback in a real browser (issue 14): Debian's Chromium driven
//! headless by puppeteer-core (`web/tests/players.mjs`), a real publisher (the ffmpeg CLI), the
//! real AWS SDK for the channel's `playbackUrl`. The console lists the channel going live as it
//! happens, with its refreshing thumbnail and a playing player; hls.js and the Amazon IVS Player
//! Web SDK play the live `playbackUrl` from a page on another origin; the finished recording plays
//! from its byte-range multivariant playlist, seeks near its end, and plays to its end. No console errors.
//! Screenshots go to `target/browser-screenshots/`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::live_rig::{LiveServer, channel, finish, recording_config};
use crate::sdk::Sdk;
use crate::util::sample;

const MINUTE: Duration = Duration::from_secs(60);
/// Heights of the STANDARD ladder from a 720p source.
const RUNG_HEIGHTS: [u64; 4] = [720, 480, 360, 160];

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts the browser script on `scenarios`; its stderr lines arrive on the receiver.
fn start_browser(spec: &Value) -> (Child, mpsc::Receiver<String>) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("web/tests/players.mjs");
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("web/node_modules/puppeteer-core")
            .is_dir(),
        "missing prerequisite: web/node_modules (scripts/install-deps.sh runs npm ci in web/)"
    );
    let mut child = Command::new("node")
        .arg(script)
        .arg(spec.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    let stderr = child.stderr.take().unwrap();
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("browser: {line}");
            let _ = lines.send(line);
        }
    });
    (child, received)
}

/// The script's JSON result.
fn results(child: Child) -> Value {
    let output = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the browser script failed: {text}");
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{err}: {text}"))
}

/// A scenario's result, after checking it did not fail and saw no errors.
fn scenario<'a>(results: &'a Value, name: &str) -> &'a Value {
    let result = &results[name];
    assert!(
        result["failed"].is_null(),
        "{name}: {}\n{results:#}",
        result["failed"].as_str().unwrap_or_default()
    );
    assert_eq!(result["errors"], json!([]), "{name}: {results:#}");
    result
}

fn assert_plays_a_rung(result: &Value, name: &str) {
    let height = result["playback"]["height"].as_u64().unwrap();
    assert!(
        RUNG_HEIGHTS.contains(&height),
        "{name}: video height {height}"
    );
    assert!(
        result["playback"]["currentTime"].as_f64().unwrap() > 3.0,
        "{name}: {result:#}"
    );
}

#[test]
fn the_console_and_players_play_live_and_recorded_streams_in_chromium() {
    let channels = format!(
        "[{}]",
        channel("web", "STANDARD", "sk_web", &recording_config("web", 2, 0))
    );
    let mut server = LiveServer::start(&channels, &[]);
    let mut sdk = Sdk::new(server.api_port);
    let arn = sdk.ok("ListChannels", json!({}))["channels"][0]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    let playback_url = sdk.ok("GetChannel", json!({ "arn": arn }))["channel"]["playbackUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    let live = &playback_url[playback_url.find("/api/video/v1/").unwrap()..];
    let spec = |scenarios: &[&str]| {
        json!({
            "server": format!("http://127.0.0.1:{}", server.api_port),
            "live": live,
            "channelArn": arn,
            "scenarios": scenarios,
            "screenshots": screenshots(),
        })
    };

    // Live: the console is open before the stream starts; then hls.js and the IVS player.
    let (browser, lines) = start_browser(&spec(&["console", "hls", "ivs"]));
    let ready = lines
        .iter()
        .any(|line| line == "console ready" || line.contains("Error"));
    assert!(ready, "the console page opened");
    let input = sample("720p30-gop2s.mp4");
    let publisher = server.publish_with(
        "sk_web",
        &[
            "-re",
            "-stream_loop",
            "5",
            "-i",
            input.to_str().unwrap(),
            "-c",
            "copy",
        ],
    );
    let live_results = results(browser);
    eprintln!("{live_results:#}");

    let console = scenario(&live_results, "console");
    assert_plays_a_rung(console, "console");
    assert_eq!(console["thumbnail"]["height"], 720, "{console:#}");
    assert_ne!(
        console["thumbnail"]["src"],
        console["thumbnailLater"]["src"]
    );
    assert_eq!(console["streamKey"], "sk_web");
    let events = console["events"].to_string();
    assert!(events.contains("Stream Start"), "{events}");
    for player in ["hls", "ivs"] {
        let result = scenario(&live_results, player);
        assert_plays_a_rung(result, player);
        assert_ne!(
            result["pageOrigin"].as_str().unwrap(),
            format!("http://127.0.0.1:{}", server.api_port),
            "the player page is on another origin"
        );
        assert!(
            result["latency"].as_array().is_some_and(|s| !s.is_empty()),
            "{player} measured its latency: {result:#}"
        );
    }
    assert!(finish(publisher, 2 * MINUTE).0.success());
    server.wait_for_events("Recording End", 1, MINUTE);

    // The finished recording, from the console: seek to the middle, then play to the end.
    let (browser, _lines) = start_browser(&spec(&["recording"]));
    let recorded = results(browser);
    eprintln!("{recorded:#}");
    let recording = scenario(&recorded, "recording");
    let duration = recording["duration"].as_f64().unwrap();
    assert!(
        (64.0..80.0).contains(&duration),
        "72 s published: {recording:#}"
    );
    assert!(recording["afterSeek"].as_f64().unwrap() > duration - 4.0);
    assert_eq!(recording["endedAt"]["ended"], true);
    assert!(recording["endedAt"]["currentTime"].as_f64().unwrap() > duration - 1.0);
    assert!(RUNG_HEIGHTS.contains(&recording["endedAt"]["height"].as_u64().unwrap()));
    assert!(
        recording["thumbnails"].as_u64().unwrap() >= 20,
        "{recording:#}"
    );
    for shot in [
        "console-offline.png",
        "console-live.png",
        "hls-live.png",
        "ivs-live.png",
        "console-recording.png",
    ] {
        assert!(
            std::fs::metadata(screenshots().join(shot)).unwrap().len() > 10_000,
            "{shot}"
        );
    }
    assert!(server.stop().success());
}
