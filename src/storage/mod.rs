//! Where recordings are stored: store locations, buckets, and (in `writer`) the one ordered
//! writer every object goes through.
//!
//! A store location is a local directory holding one folder per bucket (the way MinIO lays out
//! its disk), `memory` (objects live in the process, for tests and benchmarks), or the S3 API
//! (MinIO, SeaweedFS, AWS). All are `object_store` backends behind [`Bucket`].

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::{
    Attribute, Attributes, BackoffConfig, ClientOptions, ObjectStore, PutMultipartOptions,
    PutOptions, PutPayload, RetryConfig, WriteMultipart,
};

mod artifact;
pub mod blocking;
pub mod spool;
mod writer;

pub use artifact::Artifact;
pub use writer::{ArtifactSender, ArtifactWriter, WriteReport, WriterPolicy};

/// Why storing failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The bucket folder could not be created or opened.
    #[error("cannot use bucket {bucket} at {location}")]
    Bucket {
        /// The bucket.
        bucket: String,
        /// Where the store is.
        location: String,
        /// What went wrong.
        #[source]
        source: Box<object_store::Error>,
    },
    /// S3 was asked for without any credentials to sign with.
    #[error(
        "no credentials for {location}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or \
         AWS_WEB_IDENTITY_TOKEN_FILE, or ECS's AWS_CONTAINER_CREDENTIALS_RELATIVE_URI); the EC2 \
         instance metadata service is only asked with AWS_EC2_METADATA_DISABLED=false"
    )]
    NoCredentials {
        /// Where the store is.
        location: String,
    },
    /// An object could not be read.
    #[error("cannot read object {key} from {location}")]
    Get {
        /// The object's key.
        key: String,
        /// Where the store is.
        location: String,
        /// What went wrong.
        #[source]
        source: Box<object_store::Error>,
    },
    /// An object could not be written.
    #[error("cannot write object {key} to {location}")]
    Put {
        /// The object's key.
        key: String,
        /// Where the store is.
        location: String,
        /// What went wrong.
        #[source]
        source: Box<object_store::Error>,
    },
    /// The spool directory could not be used.
    #[error("cannot use the spool directory {}", dir.display())]
    Spool {
        /// The spool directory.
        dir: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The store stayed unreachable past the deadline; what was not stored is in the spool.
    #[error(
        "the store for bucket {bucket} stayed unreachable for {seconds} s; {objects} object(s) ({bytes} bytes) are kept in {}; upload them later with `ivs-recorder flush-spool {}` and the same --store options",
        spool.display(),
        spool.display()
    )]
    StoreUnavailable {
        /// The bucket.
        bucket: String,
        /// How long the store was down.
        seconds: u64,
        /// Objects left in the spool.
        objects: usize,
        /// Their bytes.
        bytes: u64,
        /// The spool directory.
        spool: PathBuf,
        /// The last store error.
        #[source]
        source: Box<StorageError>,
    },
    /// The writer stopped before the object could be queued (an earlier write failed).
    #[error("the object writer has stopped; {key} was not written")]
    WriterStopped {
        /// The object that was not written.
        key: String,
    },
}

/// Where a store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A local directory with one folder per bucket.
    Directory(PathBuf),
    /// Process memory.
    Memory,
    /// The S3 API: `endpoint` (MinIO, SeaweedFS, …) or AWS S3 when `None`; requests are
    /// path-style. Credentials and region given here win over the standard `AWS_*` variables.
    S3 {
        /// e.g. `http://localhost:9000`.
        endpoint: Option<String>,
        /// Access key and secret; `None`: from the environment.
        credentials: Option<S3Credentials>,
        /// e.g. `us-east-1`; `None`: from the environment, else the default region.
        region: Option<String>,
    },
}

/// An S3 access key and its secret (the secret never appears in `Debug` output).
#[derive(Clone, PartialEq, Eq)]
pub struct S3Credentials {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
}

impl fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

/// Objects larger than this go up as multipart uploads.
const MULTIPART_THRESHOLD: usize = 8 * 1024 * 1024;
/// Part size of multipart uploads (S3's minimum is 5 MiB).
const MULTIPART_PART: usize = 5 * 1024 * 1024;

impl FromStr for StoreLocation {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text {
            "memory" | "memory://" => Self::Memory,
            "s3" | "s3://" => Self::S3 {
                endpoint: None,
                credentials: None,
                region: None,
            },
            path => Self::Directory(PathBuf::from(path.strip_prefix("file://").unwrap_or(path))),
        })
    }
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Directory(path) => write!(f, "{}", path.display()),
            Self::Memory => f.write_str("memory://"),
            Self::S3 {
                endpoint: Some(endpoint),
                ..
            } => write!(f, "S3 at {endpoint}"),
            Self::S3 { endpoint: None, .. } => f.write_str("AWS S3"),
        }
    }
}

/// A store: hands out buckets.
#[derive(Debug)]
pub struct Store {
    location: StoreLocation,
    memory_buckets: Mutex<HashMap<String, Arc<InMemory>>>,
}

impl Store {
    /// Where it is.
    pub fn location(&self) -> &StoreLocation {
        &self.location
    }

    /// A store at `location`.
    pub fn new(location: StoreLocation) -> Self {
        Self {
            location,
            memory_buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The bucket `name`; a local directory store creates its folder when missing.
    pub fn bucket(&self, name: &str) -> Result<Bucket, StorageError> {
        let bucket_error = |source| StorageError::Bucket {
            bucket: name.to_owned(),
            location: self.location.to_string(),
            source: Box::new(source),
        };
        match &self.location {
            StoreLocation::Directory(root) => {
                let folder = root.join(name);
                std::fs::create_dir_all(&folder).map_err(|err| {
                    bucket_error(object_store::Error::Generic {
                        store: "LocalFileSystem",
                        source: Box::new(err),
                    })
                })?;
                let store = LocalFileSystem::new_with_prefix(&folder).map_err(bucket_error)?;
                Ok(Bucket {
                    name: name.to_owned(),
                    location: self.location.to_string(),
                    display: folder.display().to_string(),
                    store: Arc::new(store),
                    keeps_content_type: false,
                })
            }
            StoreLocation::Memory => {
                let mut buckets = self
                    .memory_buckets
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                let store = buckets
                    .entry(name.to_owned())
                    .or_insert_with(|| Arc::new(InMemory::new()));
                Ok(Bucket {
                    name: name.to_owned(),
                    location: self.location.to_string(),
                    display: format!("memory://{name}"),
                    store: store.clone(),
                    keeps_content_type: true,
                })
            }
            StoreLocation::S3 {
                endpoint,
                credentials,
                region,
            } => {
                if credentials.is_none() && !credentials_in_environment(|v| std::env::var(v).ok()) {
                    return Err(StorageError::NoCredentials {
                        location: self.location.to_string(),
                    });
                }
                let store = s3_store(
                    name,
                    endpoint.as_deref(),
                    credentials.as_ref(),
                    region.as_deref(),
                )
                .map_err(bucket_error)?;
                Ok(Bucket {
                    name: name.to_owned(),
                    location: self.location.to_string(),
                    display: format!("s3://{name}"),
                    store: Arc::new(store),
                    keeps_content_type: true,
                })
            }
        }
    }
}

/// Whether the environment (read through `var`) gives S3 credentials, or asks for the EC2
/// instance role explicitly. Without this check the S3 client would quietly ask the instance
/// metadata address (169.254.169.254) and report its refusal.
fn credentials_in_environment(var: impl Fn(&str) -> Option<String>) -> bool {
    let set = |name: &str| var(name).is_some_and(|value| !value.is_empty());
    (set("AWS_ACCESS_KEY_ID") && set("AWS_SECRET_ACCESS_KEY"))
        || set("AWS_WEB_IDENTITY_TOKEN_FILE")
        || set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        || set("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        || var("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("false"))
}

/// An S3 client for `bucket`: settings given, else from the standard `AWS_*` variables;
/// path-style requests, plain HTTP when the endpoint says so. It fails fast (one retry within
/// 2 s): the writer's own retries and spool ride out longer outages without stalling media work.
fn s3_store(
    bucket: &str,
    endpoint: Option<&str>,
    credentials: Option<&S3Credentials>,
    region: Option<&str>,
) -> Result<impl ObjectStore, object_store::Error> {
    let retry = RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: 1,
        retry_timeout: Duration::from_secs(2),
    };
    let client = ClientOptions::new()
        .with_connect_timeout(Duration::from_secs(2))
        .with_timeout(Duration::from_secs(30))
        .with_allow_http(endpoint.is_some_and(|e| e.starts_with("http://")));
    let mut builder = AmazonS3Builder::from_env()
        .with_retry(retry)
        .with_client_options(client)
        .with_bucket_name(bucket)
        .with_virtual_hosted_style_request(false);
    if let Some(region) = region {
        builder = builder.with_region(region);
    } else if std::env::var_os("AWS_REGION").is_none()
        && std::env::var_os("AWS_DEFAULT_REGION").is_none()
    {
        builder = builder.with_region(crate::ids::DEFAULT_REGION);
    }
    if let Some(credentials) = credentials {
        builder = builder
            .with_access_key_id(&credentials.access_key_id)
            .with_secret_access_key(&credentials.secret_access_key);
    }
    if let Some(endpoint) = endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    builder.build()
}

/// One bucket of a store.
#[derive(Debug, Clone)]
pub struct Bucket {
    name: String,
    display: String,
    /// The store's location, for messages (the endpoint, for S3).
    location: String,
    store: Arc<dyn ObjectStore>,
    /// Local files have nowhere to keep a Content-Type.
    keeps_content_type: bool,
}

impl Bucket {
    /// The bucket's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The object store behind the bucket.
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Checks that the bucket exists and answers to our credentials, without writing anything.
    pub async fn check(&self) -> Result<(), StorageError> {
        let probe = ObjectPath::from("ivs");
        self.store
            .list_with_delimiter(Some(&probe))
            .await
            .map(|_| ())
            .map_err(|source| StorageError::Bucket {
                bucket: self.name.clone(),
                location: self.location.clone(),
                source: Box::new(source),
            })
    }

    /// [`Self::check`] from synchronous code (see [`blocking`]).
    pub fn check_blocking(&self, runtime: &tokio::runtime::Handle) -> Result<(), StorageError> {
        blocking::wait(runtime, self.check())
    }

    /// Where `key` is, for people: a path on disk, `memory://bucket/key` or `s3://bucket/key`.
    pub fn describe(&self, key: &str) -> String {
        format!("{}/{key}", self.display)
    }

    /// The bytes of the object at `key`; `None` when there is none.
    pub async fn get(&self, key: &str) -> Result<Option<bytes::Bytes>, StorageError> {
        let get_error = |source| StorageError::Get {
            key: key.to_owned(),
            location: self.display.clone(),
            source: Box::new(source),
        };
        match self.store.get(&ObjectPath::from(key)).await {
            Ok(found) => found.bytes().await.map(Some).map_err(get_error),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(get_error(source)),
        }
    }

    pub(crate) async fn put(&self, artifact: &Artifact) -> Result<(), StorageError> {
        let mut attributes = Attributes::new();
        if self.keeps_content_type {
            attributes.insert(Attribute::ContentType, artifact.content_type.into());
        }
        let path = ObjectPath::from(artifact.key.as_str());
        let put_error = |source| StorageError::Put {
            key: artifact.key.clone(),
            location: self.display.clone(),
            source: Box::new(source),
        };
        if artifact.bytes.len() > MULTIPART_THRESHOLD {
            let options = PutMultipartOptions {
                attributes,
                ..PutMultipartOptions::default()
            };
            let upload = self
                .store
                .put_multipart_opts(&path, options)
                .await
                .map_err(put_error)?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, MULTIPART_PART);
            writer.write(&artifact.bytes);
            return writer.finish().await.map(|_| ()).map_err(put_error);
        }
        let options = PutOptions {
            attributes,
            ..PutOptions::default()
        };
        self.store
            .put_opts(
                &path,
                PutPayload::from_bytes(artifact.bytes.clone()),
                options,
            )
            .await
            .map(|_| ())
            .map_err(put_error)
    }
}

/// Uploads, in order, what a recording left in the spool `dir` into the bucket it was made for
/// in `store`, then deletes the spool. Returns the objects and bytes uploaded. Stops at the first
/// failure, leaving what is not yet stored in the spool.
pub async fn flush_spool(
    dir: &std::path::Path,
    store: &Store,
) -> Result<(usize, u64), StorageError> {
    let spool_error = |source| StorageError::Spool {
        dir: dir.to_owned(),
        source,
    };
    let (mut spool, bucket_name, entries) = spool::Spool::open(dir).map_err(spool_error)?;
    let bucket = store.bucket(&bucket_name)?;
    bucket.check().await?;
    let mut bytes = 0;
    for entry in &entries {
        let artifact = spool.load(entry).map_err(spool_error)?;
        bucket.put(&artifact).await?;
        spool.remove(entry).map_err(spool_error)?;
        // What was written, whatever the manifest says the size was.
        bytes += artifact.bytes.len() as u64;
    }
    spool.delete().map_err(spool_error)?;
    Ok((entries.len(), bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use object_store::ObjectStore;

    #[test]
    fn credentials_come_from_the_environment_or_an_explicit_ask_for_the_instance_role() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert!(!credentials_in_environment(env(&[])));
        assert!(!credentials_in_environment(env(&[(
            "AWS_ACCESS_KEY_ID",
            "k"
        )])));
        assert!(!credentials_in_environment(env(&[(
            "AWS_EC2_METADATA_DISABLED",
            "true"
        )])));
        assert!(credentials_in_environment(env(&[
            ("AWS_ACCESS_KEY_ID", "k"),
            ("AWS_SECRET_ACCESS_KEY", "s")
        ])));
        assert!(credentials_in_environment(env(&[(
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "/t"
        )])));
        assert!(credentials_in_environment(env(&[(
            "AWS_EC2_METADATA_DISABLED",
            "false"
        )])));
    }

    #[test]
    fn locations_parse() {
        assert_eq!(
            "memory".parse::<StoreLocation>().unwrap(),
            StoreLocation::Memory
        );
        assert_eq!(
            "./recordings".parse::<StoreLocation>().unwrap(),
            StoreLocation::Directory(PathBuf::from("./recordings"))
        );
        assert_eq!(
            "file:///tmp/x".parse::<StoreLocation>().unwrap(),
            StoreLocation::Directory(PathBuf::from("/tmp/x"))
        );
    }

    #[test]
    fn writer_keeps_order_and_content_types() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let store = Store::new(StoreLocation::Memory);
        let bucket = store.bucket("b").unwrap();
        let writer =
            ArtifactWriter::spawn(bucket.clone(), runtime.handle(), WriterPolicy::default());
        let sender = writer.sender();
        let keys = [
            "p/events/ivs-check",
            "p/events/recording-started.json",
            "p/media/thumbnails/thumb0.jpg",
        ];
        std::thread::scope(|scope| {
            scope.spawn(|| {
                sender
                    .send_blocking(Artifact::empty(keys[0].into()))
                    .unwrap();
                sender
                    .send_blocking(Artifact::json(keys[1].into(), "{}".into()))
                    .unwrap();
                sender
                    .send_blocking(Artifact::jpeg(
                        keys[2].into(),
                        Bytes::from_static(b"\xff\xd8"),
                    ))
                    .unwrap();
            });
        });
        drop(sender);
        let report = runtime.block_on(writer.finish()).unwrap();
        assert_eq!(report.keys, keys);
        assert_eq!(report.bytes, 4);
        let object = runtime
            .block_on(bucket.object_store().get(&ObjectPath::from(keys[2])))
            .unwrap();
        assert_eq!(
            object
                .attributes
                .get(&Attribute::ContentType)
                .map(|v| v.as_ref()),
            Some("image/jpeg")
        );
    }

    #[test]
    fn directory_store_creates_the_bucket_folder_and_writes_files() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(StoreLocation::Directory(dir.path().to_owned()));
        let bucket = store.bucket("ivs-recordings").unwrap();
        let writer =
            ArtifactWriter::spawn(bucket.clone(), runtime.handle(), WriterPolicy::default());
        let sender = writer.sender();
        std::thread::spawn(move || {
            sender
                .send_blocking(Artifact::json("a/b.json".into(), "{\"x\":1}".into()))
                .unwrap()
        })
        .join()
        .unwrap();
        runtime.block_on(writer.finish()).unwrap();
        let written = std::fs::read_to_string(dir.path().join("ivs-recordings/a/b.json")).unwrap();
        assert_eq!(written, "{\"x\":1}");
        assert_eq!(
            bucket.describe("a/b.json"),
            format!("{}/a/b.json", dir.path().join("ivs-recordings").display())
        );
    }
}
