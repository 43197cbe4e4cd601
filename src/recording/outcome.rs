//! How a recording turned out: the errors that prevent one, and how one that ran ended.

use crate::av::decode::DecodeError;
use crate::error::Failure;
use crate::ingest::InputError;
use crate::model::ValidationError;
use crate::storage::StorageError;
use crate::thumbnail::ThumbnailError;

/// Why a recording could not be made. Errors before any object is written leave the store
/// untouched; a storage error may leave part of the recording.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The channel or configuration is invalid.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The input could not be opened.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The video decoder could not be opened.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The thumbnail encoder could not be set up.
    #[error(transparent)]
    Thumbnail(#[from] ThumbnailError),
    /// Objects could not be stored.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// How a recording ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordingResult {
    /// `recording-ended.json` was written.
    Ended,
    /// `recording-failed.json` was written; the failure says what broke.
    Failed(Failure),
}
