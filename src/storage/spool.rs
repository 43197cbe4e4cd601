//! A local spool: objects waiting for an unreachable store, kept on disk in order, bounded in
//! size. Layout: `spool.json` (the bucket), `manifest.jsonl` (one line per object, in order) and
//! `<seq>.bin` (the bytes). An object's file is deleted once it is stored, so what is left on
//! disk is exactly what still has to be uploaded, and `ivs-recorder flush-spool DIR` can resume.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::Artifact;

/// The longest object key S3 accepts, in bytes.
const MAX_KEY_BYTES: usize = 1024;

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// Whether `key` is an object key that stays inside its bucket: relative, at most 1024 bytes,
/// without empty, `.` or `..` segments, backslashes or control characters.
fn check_key(key: &str) -> Result<(), String> {
    let shown = crate::model::abbreviated(key);
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(format!(
            "object key {shown} must be 1 to {MAX_KEY_BYTES} bytes long"
        ));
    }
    if key.contains('\\') || key.chars().any(char::is_control) {
        return Err(format!(
            "object key {shown} has a backslash or a control character"
        ));
    }
    if key
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..")
    {
        return Err(format!(
            "object key {shown} has an empty, `.` or `..` segment (it could leave the bucket)"
        ));
    }
    Ok(())
}

/// One spooled object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpoolEntry {
    /// Position in the write order.
    pub seq: u64,
    /// Object key.
    pub key: String,
    /// Content-Type.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct SpoolInfo {
    bucket: String,
}

/// A spool directory.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    limit_bytes: u64,
    bytes: u64,
    next_seq: u64,
    manifest: File,
}

impl Spool {
    /// Creates a spool for `bucket` in `dir` holding at most `limit_bytes`.
    pub fn create(dir: &Path, bucket: &str, limit_bytes: u64) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let info = serde_json::to_string(&SpoolInfo {
            bucket: bucket.to_owned(),
        })
        .map_err(io::Error::other)?;
        fs::write(dir.join("spool.json"), info)?;
        let manifest = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("manifest.jsonl"))?;
        Ok(Self {
            dir: dir.to_owned(),
            limit_bytes,
            bytes: 0,
            next_seq: 0,
            manifest,
        })
    }

    /// Opens an existing spool: its bucket and the entries still to upload, in order. What
    /// `spool.json` and the manifest say is checked as a configuration would be: a bucket that is
    /// not a valid bucket name or a key that could leave the bucket is refused, naming the file.
    pub fn open(dir: &Path) -> io::Result<(Self, String, Vec<SpoolEntry>)> {
        let info_path = dir.join("spool.json");
        let info: SpoolInfo = serde_json::from_slice(&fs::read(&info_path).map_err(|err| {
            io::Error::new(
                err.kind(),
                format!("cannot read {}: {err}", info_path.display()),
            )
        })?)
        .map_err(|err| {
            invalid(format!(
                "{} is not a spool description: {err}",
                info_path.display()
            ))
        })?;
        crate::model::check_bucket_name("its bucket", &info.bucket)
            .map_err(|err| invalid(format!("{}: {err}", info_path.display())))?;
        let manifest_path = dir.join("manifest.jsonl");
        let manifest = File::open(&manifest_path).map_err(|err| {
            io::Error::new(
                err.kind(),
                format!("cannot read {}: {err}", manifest_path.display()),
            )
        })?;
        let mut entries = Vec::new();
        for (number, line) in io::BufReader::new(manifest).lines().enumerate() {
            let at = || format!("{} line {}", manifest_path.display(), number + 1);
            let entry: SpoolEntry = serde_json::from_str(&line?)
                .map_err(|err| invalid(format!("{}: not a spool entry: {err}", at())))?;
            check_key(&entry.key).map_err(|why| invalid(format!("{}: {why}", at())))?;
            if dir.join(format!("{}.bin", entry.seq)).exists() {
                entries.push(entry);
            }
        }
        let manifest = OpenOptions::new()
            .append(true)
            .open(dir.join("manifest.jsonl"))?;
        let spool = Self {
            dir: dir.to_owned(),
            limit_bytes: u64::MAX,
            bytes: entries.iter().map(|e| e.size).sum(),
            next_seq: entries.last().map_or(0, |e| e.seq + 1),
            manifest,
        };
        Ok((spool, info.bucket, entries))
    }

    /// The spool's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes held now.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Whether an object of `size` bytes fits under the limit.
    pub fn has_room(&self, size: u64) -> bool {
        self.bytes + size <= self.limit_bytes
    }

    /// Appends `artifact`.
    pub fn push(&mut self, artifact: &Artifact) -> io::Result<SpoolEntry> {
        let entry = SpoolEntry {
            seq: self.next_seq,
            key: artifact.key.clone(),
            content_type: artifact.content_type.to_owned(),
            size: artifact.bytes.len() as u64,
        };
        fs::write(self.dir.join(format!("{}.bin", entry.seq)), &artifact.bytes)?;
        let line = serde_json::to_string(&entry).map_err(io::Error::other)?;
        writeln!(self.manifest, "{line}")?;
        self.manifest.flush()?;
        self.next_seq += 1;
        self.bytes += entry.size;
        Ok(entry)
    }

    /// Reads a spooled object back.
    pub fn load(&self, entry: &SpoolEntry) -> io::Result<Artifact> {
        let bytes = fs::read(self.dir.join(format!("{}.bin", entry.seq)))?;
        Ok(Artifact {
            key: entry.key.clone(),
            bytes: Bytes::from(bytes),
            content_type: Artifact::known_content_type(&entry.content_type),
            taken_at: None,
        })
    }

    /// Forgets an object that has been stored.
    pub fn remove(&mut self, entry: &SpoolEntry) -> io::Result<()> {
        fs::remove_file(self.dir.join(format!("{}.bin", entry.seq)))?;
        self.bytes = self.bytes.saturating_sub(entry.size);
        Ok(())
    }

    /// Deletes the spool once everything in it has been stored.
    pub fn delete(self) -> io::Result<()> {
        fs::remove_dir_all(&self.dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_could_leave_the_bucket_are_refused() {
        for good in [
            "ivs/v1/1/c/2026/1/2/3/4/abc/media/hls/720p30/0.ts",
            "a",
            "a/b.c/d..e",
        ] {
            assert_eq!(check_key(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "a//b",
            "a/../../b",
            "../x",
            "./x",
            "a\\b",
            "a\nb",
        ] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
        assert!(
            check_key(&"k".repeat(1025))
                .unwrap_err()
                .contains("(1025 characters)")
        );
    }

    #[test]
    fn a_spool_naming_a_bucket_outside_the_store_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::create(dir.path(), "good-bucket", 1 << 20).unwrap();
        drop(spool);
        fs::write(dir.path().join("spool.json"), r#"{"bucket":"../../x"}"#).unwrap();
        let err = Spool::open(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("spool.json: its bucket must match [a-z0-9-.]+, got \"../../x\""),
            "{err}"
        );
        fs::write(dir.path().join("spool.json"), r#"{"bucket":"good-bucket"}"#).unwrap();
        fs::write(
            dir.path().join("manifest.jsonl"),
            r#"{"seq":0,"key":"../../../tmp/escaped","content_type":"video/MP2T","size":1}"#,
        )
        .unwrap();
        let err = Spool::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("manifest.jsonl line 1: object key"), "{err}");
        fs::write(dir.path().join("manifest.jsonl"), "not json\n").unwrap();
        let err = Spool::open(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("manifest.jsonl line 1: not a spool entry"),
            "{err}"
        );
    }

    #[test]
    fn keeps_order_and_resumes_after_partial_upload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool");
        let mut spool = Spool::create(&path, "bucket", 100).unwrap();
        let a = spool
            .push(&Artifact::json("p/a.json".into(), "{}".into()))
            .unwrap();
        let b = spool
            .push(&Artifact::segment(
                "p/0.ts".into(),
                Bytes::from_static(&[0x47; 10]),
            ))
            .unwrap();
        assert!(spool.has_room(88) && !spool.has_room(89));
        assert_eq!(spool.load(&b).unwrap().content_type, "video/MP2T");
        spool.remove(&a).unwrap();
        drop(spool);
        let (spool, bucket, entries) = Spool::open(&path).unwrap();
        assert_eq!(bucket, "bucket");
        assert_eq!(entries, std::slice::from_ref(&b));
        assert_eq!(spool.bytes(), 10);
        assert_eq!(spool.load(&b).unwrap().bytes.len(), 10);
        spool.delete().unwrap();
        assert!(!path.exists());
    }
}
