//! A live test rig: the live server on a free port with a directory store and an events file,
//! publishers run with the ffmpeg CLI, and polling helpers.
//!
//! The server runs in-process by default: `serve`'s own argument parsing and `api::server::run` on a
//! runtime of the test's, stopped through its shutdown future. Tests that read what an operator
//! sees on stderr, or stop the server with a signal, run the real binary instead.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use clap::Parser;
use ivs_recorder::cli::{Cli, Command as CliCommand};
use ivs_recorder::live::channel_recorder::RecorderHooks;
use serde_json::Value;

use crate::util::Recording;

/// How the server runs.
enum Running {
    /// The `ivs-recorder serve` binary.
    Process(Child),
    /// `api::server::run` on a thread of the test, stopped by sending on `shutdown`.
    InProcess {
        shutdown: tokio::sync::oneshot::Sender<()>,
        thread: JoinHandle<Result<(), String>>,
    },
}

/// How a stopped server ended.
#[derive(Debug)]
pub struct Stopped {
    success: bool,
    detail: String,
}

impl Stopped {
    /// Whether it shut down cleanly (exit code 0, or `live::run` returned `Ok`).
    pub fn success(&self) -> bool {
        if !self.success {
            eprintln!("the server failed: {}", self.detail);
        }
        self.success
    }
}

/// A running live server.
pub struct LiveServer {
    running: Option<Running>,
    /// The RTMP port.
    pub port: u16,
    /// The RTMPS port, when serving RTMPS.
    pub rtmps_port: Option<u16>,
    /// The IVS API's port.
    pub api_port: u16,
    /// The directory store.
    pub store: PathBuf,
    events: PathBuf,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl LiveServer {
    /// Starts the server in-process with `channels` (the `--channels` JSON) and `extra`
    /// arguments of `serve`.
    pub fn start(channels: &str, extra: &[&str]) -> Self {
        Self::start_in_process(channels, extra, RecorderHooks::default())
    }

    /// [`Self::start`] with test instrumentation in the channel recorders.
    pub fn start_in_process(channels: &str, extra: &[&str], hooks: RecorderHooks) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let channels_file = dir.path().join("channels.json");
        std::fs::write(&channels_file, channels).unwrap();
        let store = dir.path().join("store");
        let events = dir.path().join("events.jsonl");
        let path = |p: &Path| p.to_str().unwrap().to_owned();
        let mut args: Vec<String> = ["ivs-recorder", "serve", "--channels"]
            .map(str::to_owned)
            .to_vec();
        args.push(path(&channels_file));
        args.extend(
            [
                "--rtmp-listen",
                "127.0.0.1:0",
                "--api-listen",
                "127.0.0.1:0",
                "--store",
            ]
            .map(str::to_owned),
        );
        args.push(path(&store));
        args.push("--events".to_owned());
        args.push(path(&events));
        args.push("--spool".to_owned());
        args.push(path(&dir.path().join("spool")));
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        let CliCommand::Serve(serve) = Cli::try_parse_from(&args).expect("serve arguments").command
        else {
            unreachable!("the arguments name serve");
        };
        let mut config = serve.config().expect("a valid serve configuration");
        config.hooks = hooks;
        let credentials = serve.api_credentials().expect("valid API credentials");
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let rtmps = serve.rtmps();
        let listeners = runtime
            .block_on(ivs_recorder::live::listen(
                serve.rtmp_listen,
                rtmps.as_ref(),
            ))
            .expect("the server binds its ports");
        let api = runtime
            .block_on(ivs_recorder::api::server::bind(serve.api_listen))
            .expect("the API binds its port");
        let api_port = api.local_addr().unwrap().port();
        let port = listeners.rtmp.local_addr().unwrap().port();
        let rtmps_port = listeners
            .rtmps
            .as_ref()
            .map(|(listener, _)| listener.local_addr().unwrap().port());
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            runtime
                .block_on(ivs_recorder::api::server::run(
                    config,
                    listeners,
                    api,
                    credentials,
                    async {
                        let _ = stopped.await;
                    },
                ))
                .map_err(|err| err.to_string())
        });
        Self {
            running: Some(Running::InProcess { shutdown, thread }),
            port,
            rtmps_port,
            api_port,
            store,
            events,
            log: dir.path().join("no-log-in-process"),
            _dir: dir,
        }
    }

    /// Starts the real binary with `channels` (the `--channels` JSON) and `extra` arguments; its
    /// stderr is [`Self::log`].
    pub fn start_binary(channels: &str, extra: &[&str]) -> Self {
        Self::start_binary_with_env(channels, extra, &[])
    }

    /// [`Self::start_binary`] with `env` set for the server (e.g. S3 credentials); `--store`
    /// in `extra` replaces the directory store.
    pub fn start_binary_with_env(channels: &str, extra: &[&str], env: &[(&str, &str)]) -> Self {
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
            .args([
                "--rtmp-listen",
                "127.0.0.1:0",
                "--api-listen",
                "127.0.0.1:0",
            ])
            .args(if extra.contains(&"--store") {
                vec![]
            } else {
                vec![std::ffi::OsString::from("--store"), store.clone().into()]
            })
            .envs(env.iter().copied())
            .arg("--events")
            .arg(&events)
            .args(if extra.contains(&"--spool") {
                vec![]
            } else {
                vec![
                    std::ffi::OsString::from("--spool"),
                    dir.path().join("spool").into(),
                ]
            })
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
        let (mut port, mut rtmps_port, mut api_port) = (None, None, None);
        let port_of = |address: &str| address.rsplit(':').next().and_then(|p| p.parse().ok());
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(address) = line.strip_prefix("ivs-recorder: RTMP ingest listening on ") {
                port = port_of(address);
            }
            if let Some(address) = line.strip_prefix("ivs-recorder: RTMPS ingest listening on ") {
                rtmps_port = port_of(address);
            }
            if let Some(rest) = line.strip_prefix("ivs-recorder: IVS API listening on http://") {
                api_port = rest.split_whitespace().next().and_then(port_of);
            }
            if port.is_some() && api_port.is_some() && (rtmps_port.is_some() || !secure) {
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
            running: Some(Running::Process(child)),
            port,
            rtmps_port,
            api_port: api_port.unwrap_or_default(),
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

    /// Kills the server process at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(Running::Process(mut child)) = self.running.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The binary's log (its stderr); in-process servers have none.
    pub fn log(&self) -> String {
        assert!(
            matches!(self.running, Some(Running::Process(_)) | None),
            "an in-process server has no log of its own: use LiveServer::start_binary"
        );
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The recording at `prefix` in `bucket`.
    pub fn recording(&self, bucket: &str, prefix: &str) -> Recording {
        Recording::found(self.store.join(bucket).join(prefix), prefix.to_owned())
    }

    /// Stops the server (SIGINT for the binary, the shutdown future in-process) and waits.
    pub fn stop(&mut self) -> Stopped {
        match self.running.take().expect("the server is running") {
            Running::Process(child) => {
                self.running = Some(Running::Process(child));
                self.stop_with("INT")
            }
            Running::InProcess { shutdown, thread } => {
                let _ = shutdown.send(());
                match thread.join() {
                    Ok(Ok(())) => Stopped {
                        success: true,
                        detail: String::new(),
                    },
                    Ok(Err(err)) => Stopped {
                        success: false,
                        detail: err,
                    },
                    Err(_) => Stopped {
                        success: false,
                        detail: "the server thread panicked".to_owned(),
                    },
                }
            }
        }
    }

    /// Sends `SIG<name>` to the binary and waits for it to exit.
    pub fn stop_with(&mut self, name: &str) -> Stopped {
        let Some(Running::Process(mut child)) = self.running.take() else {
            panic!("signals go to a server started with LiveServer::start_binary");
        };
        signal(child.id(), name);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return Stopped {
                    success: status.success(),
                    detail: format!("{status}: {}", self.log()),
                };
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
        match self.running.take() {
            Some(Running::Process(mut child)) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Some(Running::InProcess { shutdown, thread }) => {
                let _ = shutdown.send(());
                let _ = thread.join();
            }
            None => {}
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
