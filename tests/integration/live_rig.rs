//! A live test rig: the real `ivs-recorder serve` binary on a free port with a directory store
//! and an events file, publishers run with the ffmpeg CLI, and polling helpers.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::Recording;

/// A running `ivs-recorder serve`.
pub struct LiveServer {
    child: Option<Child>,
    /// The RTMP port.
    pub port: u16,
    /// The RTMPS port, when serving RTMPS.
    pub rtmps_port: Option<u16>,
    /// The directory store.
    pub store: PathBuf,
    events: PathBuf,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl LiveServer {
    /// Starts the server with `channels` (the `--channels` JSON) and `extra` arguments.
    pub fn start(channels: &str, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let channels_file = dir.path().join("channels.json");
        std::fs::write(&channels_file, channels).unwrap();
        let store = dir.path().join("store");
        let events = dir.path().join("events.jsonl");
        let log = dir.path().join("server.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_ivs-recorder"))
            .arg("serve")
            .arg("--channels")
            .arg(&channels_file)
            .args(["--rtmp-listen", "127.0.0.1:0", "--store"])
            .arg(&store)
            .arg("--events")
            .arg(&events)
            .args(extra)
            .env("IVS_RECORDER_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("the binary runs");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let secure = extra.contains(&"--tls-cert");
        let (mut port, mut rtmps_port) = (None, None);
        let port_of = |address: &str| address.rsplit(':').next().and_then(|p| p.parse().ok());
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(address) = line.strip_prefix("ivs-recorder: RTMP ingest listening on ") {
                port = port_of(address);
            }
            if let Some(address) = line.strip_prefix("ivs-recorder: RTMPS ingest listening on ") {
                rtmps_port = port_of(address);
            }
            if port.is_some() && (rtmps_port.is_some() || !secure) {
                break;
            }
        }
        // Keep reading so the server never writes into a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        let port = port.unwrap_or_else(|| {
            panic!(
                "serve did not print its address: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
        Self {
            child: Some(child),
            port,
            rtmps_port,
            store,
            events,
            log,
            _dir: dir,
        }
    }

    /// The ingest URL of `key`.
    pub fn url(&self, key: &str) -> String {
        format!("rtmp://127.0.0.1:{}/app/{key}", self.port)
    }

    /// Publishes `input` to `key` at 1x with `ffmpeg -re -c copy -f flv`.
    pub fn publish(&self, key: &str, input: &Path) -> Child {
        self.publish_with(key, &["-re", "-i", input.to_str().unwrap(), "-c", "copy"])
    }

    /// Publishes to `key` with `args` between the global options and `-f flv URL`.
    pub fn publish_with(&self, key: &str, args: &[&str]) -> Child {
        Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-nostdin"])
            .args(args)
            .args(["-f", "flv", &self.url(key)])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the ffmpeg CLI runs")
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.events)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).expect("each line is a JSON event"))
            .collect()
    }

    /// The events named `name` (`event_name`, `recording_status` or `limit_name`).
    pub fn events_named(&self, name: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|event| event_name(event) == name)
            .collect()
    }

    /// Waits until `count` events named `name` exist; returns them.
    pub fn wait_for_events(&self, name: &str, count: usize, timeout: Duration) -> Vec<Value> {
        let found = wait_until(timeout, || self.events_named(name).len() >= count);
        assert!(
            found,
            "{count} {name:?} event(s) within {timeout:?}; events: {:#?}\nlog: {}",
            self.events().iter().map(event_name).collect::<Vec<_>>(),
            self.log()
        );
        self.events_named(name)
    }

    /// The server's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The recording at `prefix` in `bucket`.
    pub fn recording(&self, bucket: &str, prefix: &str) -> Recording {
        Recording::found(self.store.join(bucket).join(prefix), prefix.to_owned())
    }

    /// Sends SIGINT and waits for the server to exit.
    pub fn stop(&mut self) -> ExitStatus {
        self.stop_with("INT")
    }

    /// Sends `SIG<name>` and waits for the server to exit.
    pub fn stop_with(&mut self, name: &str) -> ExitStatus {
        let mut child = self.child.take().expect("the server is running");
        signal(child.id(), name);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server exits after SIG{name}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for LiveServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The name of an event: `event_name`, `recording_status` or `limit_name`.
pub fn event_name(event: &Value) -> String {
    let detail = &event["detail"];
    ["event_name", "recording_status", "limit_name"]
        .iter()
        .find_map(|key| detail[key].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Sends `SIG<name>` to `pid`.
pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits for a publisher to exit; returns its status and stderr.
pub fn finish(mut publisher: Child, timeout: Duration) -> (ExitStatus, String) {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = publisher.try_wait().unwrap() {
            let mut stderr = String::new();
            if let Some(mut pipe) = publisher.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
            }
            return (status, stderr);
        }
        if Instant::now() >= deadline {
            let _ = publisher.kill();
            panic!("the publisher did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The first `seconds` of a 30 fps sample (video frames counted), with stream copy.
pub fn sample_head(dir: &Path, name: &str, seconds: u32) -> PathBuf {
    let output = dir.join(format!("head-{seconds}s-{name}"));
    let os = std::ffi::OsStr::new;
    crate::util::ffmpeg(&[
        os("-i"),
        crate::util::sample(name).as_os_str(),
        os("-frames:v"),
        os(&(seconds * 30).to_string()),
        os("-c"),
        os("copy"),
        output.as_os_str(),
    ]);
    output
}

/// A channels-file entry recording into `bucket`.
pub fn channel(name: &str, channel_type: &str, key: &str, recording: &str) -> String {
    format!(
        r#"{{"name":"{name}","type":"{channel_type}","streamKey":"{key}","recordingConfiguration":{recording}}}"#
    )
}

/// A recording configuration body for `bucket` with thumbnails every `interval` s (SEQUENTIAL
/// and LATEST) and a reconnect window of `window` s.
pub fn recording_config(bucket: &str, interval: u32, window: u32) -> String {
    format!(
        r#"{{"destinationConfiguration":{{"s3":{{"bucketName":"{bucket}"}}}},"thumbnailConfiguration":{{"targetIntervalSeconds":{interval},"storage":["SEQUENTIAL","LATEST"]}},"recordingReconnectWindowSeconds":{window}}}"#
    )
}
