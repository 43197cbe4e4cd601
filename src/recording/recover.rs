//! Recordings a killed process left open, finished by the next run: every rendition's playlists
//! are closed with `#EXT-X-ENDLIST`, and `recording-ended.json` lists what was stored (the
//! duration its playlists add up to), or `recording-failed.json` when nothing playable was
//! stored. What a recording needs for this is one small journal entry, written when it opens and
//! removed when it ends (`live::journal`).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::metadata::{Ending, RecordingMetadata};
use crate::hls::unfinished;
use crate::layout::{self, RecordingPrefix};
use crate::storage::{Artifact, Bucket, StorageError};
use crate::time::rfc3339_seconds;

/// What a journal keeps about one open recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenRecordingEntry {
    /// The store it records into, as [`crate::storage::StoreLocation`] displays it (a later run
    /// on another store leaves the entry alone).
    pub store: String,
    /// The bucket it records into.
    pub bucket: String,
    /// Its prefix in the bucket.
    pub prefix: String,
    /// Its `recording-started.json`.
    pub started: RecordingMetadata,
}

/// How a left-open recording was finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// The prefix.
    pub prefix: String,
    /// Ended with what was stored, or failed (nothing playable was stored).
    pub ended: bool,
    /// The media its playlists list, in ms.
    pub duration_ms: u64,
    /// Playlists that had to be closed.
    pub playlists_closed: usize,
}

/// Why a left-open recording could not be finished.
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    /// The journal entry's prefix is not one this tool writes.
    #[error("the journal names prefix {0}, which is not a recording prefix")]
    BadPrefix(String),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Finishes the recording `entry` describes in `bucket`: closes its playlists and writes the
/// ending document, unless one is already there. `now` is used only when the started time is
/// unreadable.
pub async fn finish_left_open(
    bucket: &Bucket,
    entry: &OpenRecordingEntry,
    now: OffsetDateTime,
) -> Result<Recovered, RecoverError> {
    let prefix = RecordingPrefix::parse(&entry.prefix)
        .ok_or_else(|| RecoverError::BadPrefix(crate::model::abbreviated(&entry.prefix)))?;
    let mut recovered = Recovered {
        prefix: entry.prefix.clone(),
        ended: true,
        duration_ms: 0,
        playlists_closed: 0,
    };
    for ending in [prefix.recording_ended(), prefix.recording_failed()] {
        if bucket.get(&ending).await?.is_some() {
            // It was finished after all (the journal entry outlived it).
            return Ok(recovered);
        }
    }
    let mut segments = 0;
    for rendition in &entry.started.media.hls.renditions {
        for key in [
            prefix.rendition_playlist(&rendition.path),
            prefix.byte_range_variant_playlist(&rendition.path),
        ] {
            let Some(bytes) = bucket.get(&key).await? else {
                continue;
            };
            let Some(found) = unfinished::read(&String::from_utf8_lossy(&bytes)) else {
                continue;
            };
            if key.ends_with(layout::RENDITION_PLAYLIST) {
                recovered.duration_ms = recovered.duration_ms.max(found.duration_ms);
                segments = segments.max(found.segments);
            }
            if let Some(closed) = found.closed {
                bucket.put(&Artifact::playlist(key, closed)).await?;
                recovered.playlists_closed += 1;
            }
        }
    }
    recovered.ended = segments > 0;
    let started_at = time::OffsetDateTime::parse(
        &entry.started.recording_started_at,
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap_or(now);
    // It ended when its last stored media did.
    let ended_at = started_at + time::Duration::milliseconds(recovered.duration_ms as i64);
    let (key, ending) = if recovered.ended {
        (prefix.recording_ended(), Ending::Ended)
    } else {
        (
            prefix.recording_failed(),
            Ending::Failed("InternalServerException".to_owned()),
        )
    };
    let document = entry
        .started
        .ending(rfc3339_seconds(ended_at), recovered.duration_ms, ending);
    bucket.put(&Artifact::json(key, document.to_json())).await?;
    Ok(recovered)
}
