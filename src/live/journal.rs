//! The local journal of open live recordings: one small JSON file per recording (its bucket,
//! prefix and `recording-started.json`), written when it opens and removed when it ends. What a
//! killed `serve` leaves here is finished by the next start ([`finish_left_open`]): playlists
//! closed with `#EXT-X-ENDLIST`, `recording-ended.json` with what was stored.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::recording::recover::{self, OpenRecordingEntry};
use crate::storage::Store;
use crate::time::Clock;

/// The journal directory.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
}

/// One open recording's journal entry; [`JournalTicket::close`] removes it.
#[derive(Debug)]
pub struct JournalTicket {
    path: PathBuf,
}

impl JournalTicket {
    /// The recording ended: forgets it.
    pub fn close(self) {
        if let Err(err) = std::fs::remove_file(&self.path)
            && err.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(
                "cannot remove the journal entry {}: {err}",
                self.path.display()
            );
        }
    }
}

impl Journal {
    /// The journal in `dir` (created when missing).
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
        })
    }

    /// Notes that `entry` is open. A journal that cannot be written is logged, not fatal: the
    /// recording goes on, only a crash would leave it open.
    pub fn opened(&self, entry: &OpenRecordingEntry) -> Option<JournalTicket> {
        let id = entry.prefix.rsplit('/').next().unwrap_or("recording");
        let path = self.dir.join(format!("{id}.json"));
        let staging = self.dir.join(format!("{id}.json.new"));
        let json = serde_json::to_vec(entry).ok()?;
        let written =
            std::fs::write(&staging, json).and_then(|()| std::fs::rename(&staging, &path));
        match written {
            Ok(()) => Some(JournalTicket { path }),
            Err(err) => {
                tracing::warn!(
                    "cannot note the open recording in the journal {}: {err}",
                    self.dir.display()
                );
                None
            }
        }
    }

    /// The entries left in the journal, each with its file.
    fn left_open(&self) -> Vec<(PathBuf, Result<OpenRecordingEntry, String>)> {
        let Ok(files) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut entries: Vec<_> = files
            .filter_map(Result::ok)
            .map(|file| file.path())
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .map(|path| {
                let entry = std::fs::read(&path)
                    .map_err(|err| err.to_string())
                    .and_then(|bytes| {
                        serde_json::from_slice(&bytes).map_err(|err| err.to_string())
                    });
                (path, entry)
            })
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries
    }
}

/// Finishes every recording the journal says an earlier run left open, in `store`; returns how
/// many were finished. Entries that cannot be finished now (the store is down) stay for the
/// next start; unreadable ones are logged and removed.
pub async fn finish_left_open(journal: &Journal, store: &Store, clock: &Arc<dyn Clock>) -> usize {
    let mut finished = 0;
    let here = store.location().to_string();
    for (path, entry) in journal.left_open() {
        let entry = match entry {
            Ok(entry) if entry.store != here => continue,
            Ok(entry) => entry,
            Err(why) => {
                tracing::warn!(
                    "removing the unreadable journal entry {}: {why}",
                    path.display()
                );
                let _ = std::fs::remove_file(&path);
                continue;
            }
        };
        let outcome = match store.bucket(&entry.bucket) {
            Ok(bucket) => recover::finish_left_open(&bucket, &entry, clock.now())
                .await
                .map_err(|err| crate::error::error_chain(&err)),
            Err(err) => Err(crate::error::error_chain(&err)),
        };
        match outcome {
            Ok(recovered) => {
                tracing::info!(
                    prefix = %recovered.prefix,
                    duration_ms = recovered.duration_ms,
                    playlists_closed = recovered.playlists_closed,
                    "finished a recording an earlier run left open ({})",
                    if recovered.ended {
                        "recording-ended.json"
                    } else {
                        "recording-failed.json: nothing playable was stored"
                    }
                );
                let _ = std::fs::remove_file(&path);
                finished += 1;
            }
            Err(why) => tracing::warn!(
                prefix = %entry.prefix,
                "cannot finish a recording an earlier run left open (kept for the next start): {why}"
            ),
        }
    }
    finished
}
