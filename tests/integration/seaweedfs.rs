//! End to end against a separate S3 server process: SeaweedFS, started by `scripts/test.sh`
//! (which `.ci/run` runs). Fails, naming what is missing, when that server is not running.

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;

use crate::s3::{relative, same_media, timeless};
use crate::util::{Recording, sample};

/// The SeaweedFS server `scripts/test.sh` started: its endpoint, access key and secret.
pub fn seaweedfs() -> (String, String, String) {
    let (Ok(endpoint), Ok(access_key), Ok(secret_key)) = (
        std::env::var("IVS_RECORDER_SEAWEEDFS_ENDPOINT"),
        std::env::var("IVS_RECORDER_SEAWEEDFS_ACCESS_KEY"),
        std::env::var("IVS_RECORDER_SEAWEEDFS_SECRET_KEY"),
    ) else {
        panic!(
            "missing prerequisite: no SeaweedFS server (IVS_RECORDER_SEAWEEDFS_* unset); run the \
             suite with scripts/test.sh, which installs and starts one"
        );
    };
    (endpoint, access_key, secret_key)
}

/// Every object under `prefix` of bucket `ivs-recordings` in SeaweedFS: bytes and Content-Type.
pub fn stored_objects(
    prefix: &str,
) -> std::collections::BTreeMap<String, (Vec<u8>, Option<String>)> {
    let (endpoint, access_key, secret_key) = seaweedfs();
    let store = AmazonS3Builder::new()
        .with_endpoint(&endpoint)
        .with_allow_http(true)
        .with_bucket_name("ivs-recordings")
        .with_region("us-east-1")
        .with_access_key_id(&access_key)
        .with_secret_access_key(&secret_key)
        .build()
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        use futures::TryStreamExt;
        let path = object_store::path::Path::from(prefix);
        let listed: Vec<_> = store.list(Some(&path)).try_collect().await.unwrap();
        let mut objects = std::collections::BTreeMap::new();
        for meta in listed {
            let result = store.get(&meta.location).await.unwrap();
            let content_type = result
                .attributes
                .get(&object_store::Attribute::ContentType)
                .map(|v| v.to_string());
            objects.insert(
                meta.location.to_string(),
                (result.bytes().await.unwrap().to_vec(), content_type),
            );
        }
        objects
    })
}

#[test]
fn records_into_seaweedfs() {
    let (endpoint, access_key, secret_key) = seaweedfs();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_ivs-recorder"))
        .arg("record")
        .arg(sample("720p30-gop2s.mp4"))
        .args(["--store", "s3", "--s3-endpoint", &endpoint])
        .env("AWS_ACCESS_KEY_ID", &access_key)
        .env("AWS_SECRET_ACCESS_KEY", &secret_key)
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let location = String::from_utf8(output.stdout).unwrap();
    let prefix = location
        .trim()
        .strip_prefix("s3://ivs-recordings/")
        .unwrap()
        .to_owned();
    let stored = stored_objects(&prefix);
    let dir = tempfile::tempdir().unwrap();
    let local = Recording::make(dir.path(), &sample("720p30-gop2s.mp4"), &[], 0);
    let expected = local.objects();
    let bytes: std::collections::BTreeMap<String, Vec<u8>> = stored
        .iter()
        .map(|(k, (b, _))| (k.clone(), b.clone()))
        .collect();
    let stored_relative = relative(&bytes);
    assert_eq!(
        stored_relative.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (key, bytes) in &stored_relative {
        if timeless(key) {
            assert!(same_media(key, bytes, &expected[key]), "{key} identical");
        }
    }
    for (key, (_, content_type)) in &stored {
        if key.ends_with(".ts") {
            assert_eq!(content_type.as_deref(), Some("video/MP2T"), "{key}");
        }
    }
    eprintln!(
        "SeaweedFS at {endpoint} holds {} objects of the recording",
        stored.len()
    );
}
