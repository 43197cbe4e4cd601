//! Store outages lose nothing: a loopback TCP proxy between the recorder and the S3 server drops
//! every connection for a while (or for good), while a real-time recording goes on.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::s3::{ACCESS_KEY, S3Server, SECRET_KEY, relative, same_media, timeless};
use crate::util::{Recording, config_file, files_under, sample};

/// Forwards loopback connections to `upstream` while up; when down, refuses new connections and
/// cuts the open ones.
struct Proxy {
    address: SocketAddr,
    up: Arc<AtomicBool>,
    cut: tokio::sync::watch::Sender<u64>,
    _runtime: tokio::runtime::Runtime,
}

impl Proxy {
    fn start(upstream: SocketAddr) -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let address = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let (cut, cuts) = tokio::sync::watch::channel(0u64);
        let accepting = up.clone();
        runtime.spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                if !accepting.load(Ordering::SeqCst) {
                    continue; // dropped: connection closed at once
                }
                let mut cuts = cuts.clone();
                // Only cuts from now on end this connection.
                cuts.borrow_and_update();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        Self {
            address,
            up,
            cut,
            _runtime: runtime,
        }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.send_modify(|generation| *generation += 1);
    }

    fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

fn spawn_record(endpoint: &str, spool: &Path, deadline: u64, config: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ivs-recorder"))
        .arg("record")
        .arg(sample("720p30-gop2s.mp4"))
        .args([
            "--realtime",
            "--store",
            "s3",
            "--s3-endpoint",
            endpoint,
            "--store-deadline",
            &deadline.to_string(),
        ])
        .arg("--spool")
        .arg(spool)
        .arg("--config")
        .arg(config)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_ENDPOINT_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// An S3 server behind a proxy, and a folder with the spool and the recording configuration.
struct Rig {
    server: S3Server,
    proxy: Proxy,
    dir: tempfile::TempDir,
    spool: std::path::PathBuf,
    config: std::path::PathBuf,
}

impl Rig {
    fn new() -> Self {
        let server = S3Server::start(&["ivs-recordings"]);
        let proxy = Proxy::start(
            server
                .endpoint()
                .trim_start_matches("http://")
                .parse()
                .unwrap(),
        );
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("spool");
        let config = config(dir.path());
        Self {
            server,
            proxy,
            dir,
            spool,
            config,
        }
    }
}

fn config(dir: &Path) -> std::path::PathBuf {
    config_file(
        dir,
        r#"{"destinationConfiguration":{"s3":{"bucketName":"ivs-recordings"}},"thumbnailConfiguration":{"targetIntervalSeconds":2,"storage":["SEQUENTIAL","LATEST"]}}"#,
    )
}

#[test]
fn an_outage_mid_recording_loses_nothing() {
    let Rig {
        server,
        proxy,
        dir,
        spool,
        config,
    } = Rig::new();
    let child = spawn_record(&proxy.endpoint(), &spool, 60, &config);
    std::thread::sleep(Duration::from_secs(3));
    proxy.down();
    std::thread::sleep(Duration::from_secs(5));
    proxy.up();
    let output: Output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("recorder through a 5 s outage:\n{stderr}");
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("spooling"),
        "the outage was noticed: {stderr}"
    );
    assert!(
        files_under(&spool).is_empty(),
        "the spool was drained and removed"
    );

    // Every object is there and equal to a recording of the same input without faults.
    let faultless = Recording::make(
        dir.path(),
        &sample("720p30-gop2s.mp4"),
        &["--config", config.to_str().unwrap()],
        0,
    );
    let expected = faultless.objects();
    let stored = relative(&server.objects("ivs-recordings"));
    assert_eq!(
        stored.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (key, bytes) in &stored {
        if timeless(key) {
            assert!(same_media(key, bytes, &expected[key]), "{key} is identical");
        }
    }
    let ended: serde_json::Value =
        serde_json::from_slice(&stored["events/recording-ended.json"]).unwrap();
    assert_eq!(ended["recording_status"], "RECORDING_ENDED");
}

#[test]
fn a_store_that_never_returns_fails_the_recording_and_keeps_the_spool() {
    // `_dir` keeps the folder (and the spool in it) alive until the end of the test.
    let Rig {
        server,
        proxy,
        dir: _dir,
        spool,
        config,
    } = Rig::new();
    let child = spawn_record(&proxy.endpoint(), &spool, 3, &config);
    std::thread::sleep(Duration::from_secs(2));
    proxy.down();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("recorder with a store that never returns:\n{stderr}");
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("stayed unreachable") && stderr.contains("ivs-recorder flush-spool"),
        "{stderr}"
    );
    let spooled = files_under(&spool);
    assert!(spooled.iter().any(|f| f.ends_with(".bin")), "{spooled:?}");

    // The store comes back; the spool goes up in order and is removed.
    proxy.up();
    let spool_dir = std::fs::read_dir(&spool)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let flushed = Command::new(env!("CARGO_BIN_EXE_ivs-recorder"))
        .arg("flush-spool")
        .arg(&spool_dir)
        .args(["--store", "s3", "--s3-endpoint", &proxy.endpoint()])
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    eprintln!("flush-spool: {}", String::from_utf8_lossy(&flushed.stderr));
    assert!(
        flushed.status.success(),
        "{}",
        String::from_utf8_lossy(&flushed.stderr)
    );
    assert!(!spool_dir.exists());
    let stored = relative(&server.objects("ivs-recordings"));
    let failed: serde_json::Value =
        serde_json::from_slice(&stored["events/recording-failed.json"]).unwrap();
    assert_eq!(failed["recording_status"], "RECORDING_ENDED_WITH_FAILURE");
    // The store failed, not the input: IVS's reason for a failed write.
    assert_eq!(
        failed["recording_status_message"],
        "InternalServerException"
    );
    // Every segment a playlist names is stored.
    for (key, bytes) in &stored {
        if key.ends_with("/playlist.m3u8") {
            let folder = &key[..key.rfind('/').unwrap()];
            let playlist = crate::hls::media_playlist(bytes);
            for segment in &playlist.segments {
                assert!(
                    stored.contains_key(&format!("{folder}/{}", segment.uri)),
                    "{folder}/{}",
                    segment.uri
                );
            }
        }
    }
}
