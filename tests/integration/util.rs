//! Test helpers: running the binary, finding sample media, listing a recording, reading the
//! frame index out of a thumbnail.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// A bundled sample clip.
pub fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample-media")
        .join(name)
}

/// The shared reference recording (a real IVS recording, `../shared/reference/` beside the
/// checkout, as CI lays it out). A missing one fails the test that needs it, naming it.
pub fn reference_recording() -> PathBuf {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/ivs-sample-recording");
    assert!(
        dir.is_dir(),
        "missing prerequisite: the real IVS recording {} (shared/ must be beside the checkout)",
        dir.display()
    );
    dir
}

/// The real IVS 720p30 segments 0.ts and 1.ts joined into one 20.267 s MPEG-TS file in `dir`:
/// real camera content and real IVS timestamps as an input.
pub fn real_ivs_720p30_input(reference: &Path, dir: &Path) -> PathBuf {
    let input = dir.join("ivs-720p30-0-1.ts");
    let mut joined = std::fs::read(reference.join("media/hls/720p30/0.ts")).unwrap();
    joined.extend(std::fs::read(reference.join("media/hls/720p30/1.ts")).unwrap());
    std::fs::write(&input, joined).unwrap();
    input
}

/// Writes `json` to a file in `dir` and returns its path.
pub fn config_file(dir: &Path, json: &str) -> PathBuf {
    let path = dir.join(format!("config-{}.json", rand_suffix()));
    std::fs::write(&path, json).unwrap();
    path
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Runs the ffmpeg CLI quietly with `args` and asserts it succeeded.
pub fn ffmpeg(args: &[&std::ffi::OsStr]) {
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .expect("the ffmpeg CLI runs (scripts/install-deps.sh installs it)");
    assert!(
        output.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `ivs-recorder` with `args`.
pub fn run(args: &[&str]) -> Output {
    run_with_env(args, &[])
}

/// Runs `ivs-recorder` with `args` and the environment variables `env` set.
pub fn run_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ivs-recorder"))
        .args(args)
        .envs(env.iter().copied())
        .env_remove("AWS_REGION")
        .output()
        .expect("the binary runs")
}

/// A finished recording on a local directory store.
#[derive(Debug)]
pub struct Recording {
    /// The recording's directory (the prefix on disk).
    pub dir: PathBuf,
    /// The prefix, `ivs/v1/...`.
    pub prefix: String,
    /// The process output.
    pub output: Output,
}

impl Recording {
    /// Records `input` into `store` with extra `args`; panics unless the exit code is `expected_code`.
    pub fn make(store: &Path, input: &Path, args: &[&str], expected_code: i32) -> Self {
        Self::make_with_env(store, input, args, &[], expected_code)
    }

    /// [`Recording::make`] with the environment variables `env` set for the process.
    pub fn make_with_env(
        store: &Path,
        input: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        expected_code: i32,
    ) -> Self {
        let mut argv = vec![
            "record",
            input.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
        ];
        argv.extend_from_slice(args);
        let output = run_with_env(&argv, env);
        assert_eq!(
            output.status.code(),
            Some(expected_code),
            "ivs-recorder {argv:?}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8(output.stdout.clone()).unwrap();
        let dir = PathBuf::from(
            stdout
                .lines()
                .last()
                .expect("the location is printed last")
                .trim(),
        );
        assert!(dir.is_dir(), "{} is a directory", dir.display());
        let text = dir.to_str().unwrap();
        let prefix = text[text
            .find("ivs/v1/")
            .expect("the location ends with the prefix")..]
            .to_owned();
        Self {
            dir,
            prefix,
            output,
        }
    }

    /// A recording made by someone else (a live server) at `dir`.
    pub fn found(dir: PathBuf, prefix: String) -> Self {
        Self {
            dir,
            prefix,
            output: Output {
                status: std::process::ExitStatus::default(),
                stdout: Vec::new(),
                stderr: Vec::new(),
            },
        }
    }

    /// Every object under the prefix: relative key → bytes.
    pub fn objects(&self) -> BTreeMap<String, Vec<u8>> {
        let mut objects = BTreeMap::new();
        collect(&self.dir, &self.dir, &mut objects);
        objects
    }

    /// The keys under the prefix, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.objects().into_keys().collect()
    }

    /// A JSON object of the recording.
    pub fn json(&self, key: &str) -> Value {
        let bytes = std::fs::read(self.dir.join(key)).unwrap_or_else(|err| panic!("{key}: {err}"));
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            !text.contains('\n') && !text.contains(": "),
            "{key} is compact JSON: {text}"
        );
        serde_json::from_str(&text).unwrap()
    }

    /// The bytes of `media/thumbnails/thumb<N>.jpg` for every N, in order.
    pub fn thumbnails(&self) -> Vec<Vec<u8>> {
        let objects = self.objects();
        let mut numbered: Vec<(u64, Vec<u8>)> = objects
            .into_iter()
            .filter_map(|(key, bytes)| {
                let number = key
                    .strip_prefix("media/thumbnails/thumb")?
                    .strip_suffix(".jpg")?
                    .parse()
                    .ok()?;
                Some((number, bytes))
            })
            .collect();
        numbered.sort_by_key(|(n, _)| *n);
        for (expected, (n, _)) in numbered.iter().enumerate() {
            assert_eq!(*n, expected as u64, "thumbnail numbers have no gaps");
        }
        numbered.into_iter().map(|(_, bytes)| bytes).collect()
    }

    /// stderr as text.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
}

fn collect(root: &Path, dir: &Path, into: &mut BTreeMap<String, Vec<u8>>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(root, &path, into);
        } else {
            let key = path
                .strip_prefix(root)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            let bytes =
                std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            into.insert(key, bytes);
        }
    }
}

/// Every file under `dir`, as paths relative to it.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut files = BTreeMap::new();
    if dir.exists() {
        collect(dir, dir, &mut files);
    }
    files.into_keys().collect()
}

/// Bits in the sample clips' barcode (see sample-media/generate.sh).
const BARCODE_BITS: u32 = 12;

/// A decoded thumbnail: its size and the frame index its barcode shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thumbnail {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The frame index read from the barcode band.
    pub frame: u32,
}

/// Decodes a JPEG with the `image` crate and reads the barcode band at the top.
pub fn read_thumbnail(jpeg: &[u8]) -> Thumbnail {
    assert!(jpeg.starts_with(&[0xFF, 0xD8]), "a JPEG starts with SOI");
    let image = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
        .expect("the thumbnail is a valid JPEG")
        .to_luma8();
    let (width, height) = image.dimensions();
    let band = height / 10;
    let y = band / 2;
    let mut frame = 0;
    for bit in 0..BARCODE_BITS {
        let centre = ((2 * bit + 1) * width) / (2 * BARCODE_BITS);
        let half = (width / BARCODE_BITS / 4).max(1);
        let mut sum = 0u32;
        let mut count = 0u32;
        for x in centre - half..=centre + half {
            for dy in 0..=band / 4 {
                sum += u32::from(image.get_pixel(x, y - band / 8 + dy).0[0]);
                count += 1;
            }
        }
        frame = (frame << 1) | u32::from(sum / count > 128);
    }
    Thumbnail {
        width,
        height,
        frame,
    }
}

/// How [`record_in_memory_with`] calls the library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// `record_file` on a plain thread.
    Thread,
    /// `record_file_async` awaited on a multi-thread runtime.
    Async,
}

/// Records the 720p sample through the library into a memory store with the configuration
/// `json`, a STANDARD channel `AbCdEfGh1234` and the clock stopped at 2024-09-01 00:05:07 UTC.
pub fn record_in_memory(
    json: &str,
) -> (
    ivs_recorder::recording::RecordOutcome,
    ivs_recorder::storage::Store,
) {
    record_in_memory_with(json, &sample("720p30-gop2s.mp4"), Caller::Thread)
}

/// [`record_in_memory`] of `input`, called as `caller` says.
pub fn record_in_memory_with(
    json: &str,
    input: &Path,
    caller: Caller,
) -> (
    ivs_recorder::recording::RecordOutcome,
    ivs_recorder::storage::Store,
) {
    record_in_memory_encoded(json, input, caller, Default::default())
}

/// [`record_in_memory_with`] with the rungs encoded as `encoding` says.
pub fn record_in_memory_encoded(
    json: &str,
    input: &Path,
    caller: Caller,
    encoding: ivs_recorder::model::EncoderSettings,
) -> (
    ivs_recorder::recording::RecordOutcome,
    ivs_recorder::storage::Store,
) {
    use ivs_recorder::model::{Channel, ChannelType, CreateRecordingConfigurationRequest};
    use ivs_recorder::recording::{RecordRequest, record_file, record_file_async};
    use ivs_recorder::storage::{Store, StoreLocation};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = Store::new(StoreLocation::Memory);
    let arn = "arn:aws:ivs:us-west-2:123456789012:channel/AbCdEfGh1234";
    let channel = Channel::new(arn.into(), "test".into(), ChannelType::Standard, None).unwrap();
    let configuration = CreateRecordingConfigurationRequest::from_json(json)
        .unwrap()
        .into_configuration(
            "arn:aws:ivs:us-west-2:123456789012:recording-configuration/AbCdEfGh1234".into(),
        )
        .unwrap();
    let request = RecordRequest {
        input: input.to_owned(),
        realtime: false,
        channel,
        configuration,
        bucket: store.bucket("ivs-recordings").unwrap(),
        clock: std::sync::Arc::new(ivs_recorder::time::FixedClock(
            time::macros::datetime!(2024-09-01 00:05:07 UTC),
        )),
        progress: None,
        writer_policy: ivs_recorder::storage::WriterPolicy::default(),
        encoding: std::sync::Arc::new(encoding),
    };
    let outcome = match caller {
        Caller::Thread => std::thread::scope(|s| {
            s.spawn(|| record_file(request, runtime.handle()))
                .join()
                .unwrap()
        }),
        Caller::Async => runtime.block_on(record_file_async(request)),
    }
    .unwrap();
    (outcome, store)
}

/// Every object of `store`, key → bytes.
pub fn all_objects(store: &dyn object_store::ObjectStore) -> BTreeMap<String, Vec<u8>> {
    use futures::TryStreamExt;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let listed: Vec<object_store::ObjectMeta> = store.list(None).try_collect().await.unwrap();
        let mut all = BTreeMap::new();
        for meta in listed {
            let bytes = store
                .get(&meta.location)
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            all.insert(meta.location.to_string(), bytes.to_vec());
        }
        all
    })
}

/// Every object of `bucket` in a memory store, keyed relative to `prefix`.
pub fn memory_objects(
    store: &ivs_recorder::storage::Store,
    bucket: &str,
    prefix: &str,
) -> BTreeMap<String, Vec<u8>> {
    let bucket = store.bucket(bucket).unwrap();
    all_objects(bucket.object_store().as_ref())
        .into_iter()
        .filter_map(|(key, bytes)| {
            key.strip_prefix(&format!("{prefix}/"))
                .map(|relative| (relative.to_owned(), bytes))
        })
        .collect()
}

/// A GET of `path` on `127.0.0.1:port` with `headers`: (status, response headers, body).
pub fn http_get(
    port: u16,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut request = reqwest::Client::new().get(format!("http://127.0.0.1:{port}{path}"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.bytes().await.unwrap().to_vec())
    })
}
