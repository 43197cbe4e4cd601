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

    /// Opens an existing spool: its bucket and the entries still to upload, in order.
    pub fn open(dir: &Path) -> io::Result<(Self, String, Vec<SpoolEntry>)> {
        let info: SpoolInfo =
            serde_json::from_slice(&fs::read(dir.join("spool.json"))?).map_err(io::Error::other)?;
        let mut entries = Vec::new();
        for line in io::BufReader::new(File::open(dir.join("manifest.jsonl"))?).lines() {
            let entry: SpoolEntry = serde_json::from_str(&line?).map_err(io::Error::other)?;
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
