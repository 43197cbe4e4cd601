//! Recording into an S3 server over real HTTP with SigV4: an in-process `s3s-fs` server on a
//! random loopback port with access keys. Same objects and bytes as a local recording, the right
//! Content-Types, and bucket problems found before anything is written.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;

use crate::util::{Recording, files_under, sample};

pub const ACCESS_KEY: &str = "ivs-recorder-test";
pub const SECRET_KEY: &str = "ivs-recorder-test-secret-key";

/// An S3 server backed by a temporary folder (one sub-folder per bucket).
pub struct S3Server {
    root: tempfile::TempDir,
    address: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

impl S3Server {
    pub fn start(buckets: &[&str]) -> Self {
        let root = tempfile::tempdir().unwrap();
        for bucket in buckets {
            std::fs::create_dir(root.path().join(bucket)).unwrap();
        }
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let fs = s3s_fs::FileSystem::new(root.path()).unwrap();
        let mut builder = s3s::service::S3ServiceBuilder::new(fs);
        builder.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let address = listener.local_addr().unwrap();
        runtime.spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let connection = http
                    .serve_connection(TokioIo::new(socket), service.clone())
                    .into_owned();
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
        });
        Self {
            root,
            address,
            _runtime: runtime,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Every object in `bucket`, key → bytes (the server's metadata side files excluded).
    pub fn objects(&self, bucket: &str) -> std::collections::BTreeMap<String, Vec<u8>> {
        crate::util::all_objects(&self.client(bucket, SECRET_KEY))
    }

    fn content_type(&self, bucket: &str, key: &str) -> Option<String> {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let store = self.client(bucket, SECRET_KEY);
        runtime.block_on(async {
            let result = store
                .get(&object_store::path::Path::from(key))
                .await
                .unwrap();
            result
                .attributes
                .get(&object_store::Attribute::ContentType)
                .map(|v| v.to_string())
        })
    }

    fn client(&self, bucket: &str, secret: &str) -> impl ObjectStore {
        AmazonS3Builder::new()
            .with_endpoint(self.endpoint())
            .with_allow_http(true)
            .with_bucket_name(bucket)
            .with_region("us-east-1")
            .with_access_key_id(ACCESS_KEY)
            .with_secret_access_key(secret)
            .build()
            .unwrap()
    }
}

fn record_to_s3(server: &S3Server, input: &Path, secret: &str, config: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ivs-recorder"));
    command
        .args(["record"])
        .arg(input)
        .args(["--store", "s3", "--s3-endpoint", &server.endpoint()])
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_ENDPOINT_URL");
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    command.output().unwrap()
}

/// Keys relative to the recording prefix (everything after the 10 parts of `ivs/v1/...`).
pub fn relative(
    objects: &std::collections::BTreeMap<String, Vec<u8>>,
) -> std::collections::BTreeMap<String, Vec<u8>> {
    objects
        .iter()
        .map(|(key, bytes)| {
            (
                key.splitn(11, '/').nth(10).unwrap_or(key).to_owned(),
                bytes.clone(),
            )
        })
        .collect()
}

/// Objects whose bytes carry no wall-clock time: segments, thumbnails, the probe.
pub fn timeless(key: &str) -> bool {
    key.ends_with(".ts") || key.ends_with(".jpg") || key.ends_with("ivs-check")
}

/// Whether two recordings' objects `key` hold the same media: the same bytes, except that a
/// segment's ID3 tags carry the wall-clock time of its GOPs (compared without PID 0x102).
pub fn same_media(key: &str, ours: &[u8], theirs: &[u8]) -> bool {
    if !key.ends_with(".ts") {
        return ours == theirs;
    }
    let without_id3 = |bytes: &[u8]| -> Vec<u8> {
        bytes
            .chunks(188)
            .filter(|p| ivs_recorder::av::ts_mux::packet_pid(p) != Some(0x102))
            .flatten()
            .copied()
            .collect()
    };
    without_id3(ours) == without_id3(theirs)
}

#[test]
fn basic_channel_same_objects_as_a_local_recording() {
    let server = S3Server::start(&["basic-recordings"]);
    let dir = tempfile::tempdir().unwrap();
    let config = crate::util::config_file(
        dir.path(),
        r#"{"destinationConfiguration":{"s3":{"bucketName":"basic-recordings"}},"thumbnailConfiguration":{"targetIntervalSeconds":5}}"#,
    );
    let input = sample("480p30-gop10s.mp4");
    let output = Command::new(env!("CARGO_BIN_EXE_ivs-recorder"))
        .arg("record")
        .arg(&input)
        .args([
            "--channel-type",
            "BASIC",
            "--store",
            "s3",
            "--s3-endpoint",
            &server.endpoint(),
            "--config",
        ])
        .arg(&config)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let local = Recording::make(
        dir.path(),
        &input,
        &[
            "--channel-type",
            "BASIC",
            "--config",
            config.to_str().unwrap(),
        ],
        0,
    );
    let in_s3 = relative(&server.objects("basic-recordings"));
    let on_disk = local.objects();
    assert_eq!(
        in_s3.keys().collect::<Vec<_>>(),
        on_disk.keys().collect::<Vec<_>>()
    );
    for (key, bytes) in &in_s3 {
        if timeless(key) {
            assert!(same_media(key, bytes, &on_disk[key]), "{key}: same bytes");
        }
    }
}

#[test]
fn same_objects_as_a_local_recording_with_content_types() {
    let server = S3Server::start(&["ivs-recordings"]);
    let dir = tempfile::tempdir().unwrap();
    let config = crate::util::config_file(
        dir.path(),
        r#"{"destinationConfiguration":{"s3":{"bucketName":"ivs-recordings"}},"thumbnailConfiguration":{"targetIntervalSeconds":4,"storage":["SEQUENTIAL","LATEST"]}}"#,
    );
    let input = sample("720p30-gop2s.mp4");
    let output = record_to_s3(&server, &input, SECRET_KEY, Some(&config));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout
            .trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("s3://ivs-recordings/ivs/v1/"),
        "{stdout}"
    );

    let local = Recording::make(
        dir.path(),
        &input,
        &["--config", config.to_str().unwrap()],
        0,
    );
    let in_s3 = relative(&server.objects("ivs-recordings"));
    let on_disk = local.objects();
    assert_eq!(
        in_s3.keys().collect::<Vec<_>>(),
        on_disk.keys().collect::<Vec<_>>(),
        "same keys"
    );
    for (key, bytes) in &in_s3 {
        if timeless(key) {
            assert!(
                same_media(key, bytes, &on_disk[key]),
                "{key}: same bytes in S3 and on disk"
            );
        }
    }
    // The recording as the S3 server lists it (shown with --nocapture).
    for (key, bytes) in server.objects("ivs-recordings") {
        let content_type = server
            .content_type("ivs-recordings", &key)
            .unwrap_or_default();
        eprintln!("{:>9}  {content_type:<24}  {key}", bytes.len());
    }
    let full_key = |rest: &str| {
        server
            .objects("ivs-recordings")
            .into_keys()
            .find(|k| k.ends_with(rest))
            .unwrap()
    };
    for (rest, content_type) in [
        ("/events/ivs-check", "application/octet-stream"),
        ("/events/recording-ended.json", "application/json"),
        ("/media/hls/720p30/0.ts", "video/MP2T"),
        ("/media/hls/720p30/playlist.m3u8", "application/x-mpegURL"),
        ("/media/hls/master.m3u8", "application/x-mpegURL"),
        ("/media/thumbnails/thumb0.jpg", "image/jpeg"),
        ("/media/latest_thumbnail/thumb.jpg", "image/jpeg"),
    ] {
        assert_eq!(
            server
                .content_type("ivs-recordings", &full_key(rest))
                .as_deref(),
            Some(content_type),
            "{rest}"
        );
    }
}

#[test]
fn missing_bucket_and_refused_credentials_fail_before_writing() {
    let server = S3Server::start(&["ivs-recordings"]);
    let dir = tempfile::tempdir().unwrap();
    let other_bucket = crate::util::config_file(
        dir.path(),
        r#"{"destinationConfiguration":{"s3":{"bucketName":"no-such-bucket"}}}"#,
    );
    let wrong_secret = "not-the-secret-key-at-all";
    for (secret, config, why) in [
        (SECRET_KEY, Some(other_bucket.as_path()), "missing bucket"),
        (wrong_secret, None, "wrong credentials"),
    ] {
        let output = record_to_s3(&server, &sample("720p30-gop2s.mp4"), secret, config);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{why}: {stderr}");
        assert!(
            stderr.contains(&server.endpoint()),
            "{why}: names the endpoint: {stderr}"
        );
        let bucket = if config.is_some() {
            "no-such-bucket"
        } else {
            "ivs-recordings"
        };
        assert!(stderr.contains(bucket), "{why}: names the bucket: {stderr}");
        assert!(!stderr.contains(secret), "{why}: never prints the secret");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let written: Vec<String> = files_under(server.root.path());
    assert!(
        written.iter().all(|f| !f.contains("ivs/v1")),
        "nothing written: {written:?}"
    );
    let _: PathBuf = server.root.path().to_owned();
}

#[test]
fn large_objects_go_up_as_multipart_uploads() {
    use ivs_recorder::storage::{
        Artifact, ArtifactWriter, S3Credentials, Store, StoreLocation, WriterPolicy,
    };
    let server = S3Server::start(&["ivs-recordings"]);
    let store = Store::new(StoreLocation::S3 {
        endpoint: Some(server.endpoint()),
        credentials: Some(S3Credentials {
            access_key_id: ACCESS_KEY.to_owned(),
            secret_access_key: SECRET_KEY.to_owned(),
        }),
        region: Some("us-east-1".to_owned()),
    });
    let bucket = store.bucket("ivs-recordings").unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let writer = ArtifactWriter::spawn(bucket, runtime.handle(), WriterPolicy::default());
    let sender = writer.sender();
    let big: Vec<u8> = (0..12 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let key = "big/segment.ts".to_owned();
    std::thread::scope(|s| {
        s.spawn(|| {
            sender
                .send_blocking(Artifact::segment(
                    key.clone(),
                    bytes::Bytes::from(big.clone()),
                ))
                .unwrap()
        });
    });
    drop(sender);
    runtime.block_on(writer.finish()).unwrap();
    let stored = server.objects("ivs-recordings");
    assert!(
        stored["big/segment.ts"] == big,
        "12 MiB object stored intact"
    );
    assert_eq!(
        server
            .content_type("ivs-recordings", "big/segment.ts")
            .as_deref(),
        Some("video/MP2T")
    );
}
