//! The thread that turns sampled frames into stored thumbnails, so JPEG work runs beside decoding
//! instead of after it. Each thumbnail goes to `media/thumbnails/thumbN.jpg` (SEQUENTIAL) and/or
//! overwrites `media/latest_thumbnail/thumb.jpg` (LATEST), in the order taken.

use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::thread::JoinHandle;

use bytes::Bytes;

use super::jpeg::{JpegThumbnailer, ThumbnailError};
use super::sampler::SampledFrame;
use crate::layout::RecordingPrefix;
use crate::storage::{Artifact, ArtifactSender, StorageError};

/// Frames waiting for the JPEG thread; the decoder blocks when it is full (no frame is dropped).
const FRAME_QUEUE: usize = 2;

/// Why the thumbnail thread stopped.
#[derive(Debug, thiserror::Error)]
pub enum ThumbnailWorkerError {
    /// A thumbnail could not be made.
    #[error(transparent)]
    Thumbnail(#[from] ThumbnailError),
    /// A thumbnail could not be queued for storage.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The thread died of a panic (a bug).
    #[error("the thumbnail thread panicked")]
    Panicked,
}

/// Where thumbnails go.
#[derive(Debug, Clone)]
pub struct ThumbnailTargets {
    /// The recording's prefix.
    pub prefix: RecordingPrefix,
    /// Write `thumbN.jpg`.
    pub sequential: bool,
    /// Overwrite `latest_thumbnail/thumb.jpg`.
    pub latest: bool,
}

/// A running thumbnail thread.
#[derive(Debug)]
pub struct ThumbnailWorker {
    frames: SyncSender<SampledFrame>,
    thread: JoinHandle<Result<u64, ThumbnailWorkerError>>,
}

impl ThumbnailWorker {
    /// Starts a thread making `width` x `height` JPEGs and storing them through `store`. The
    /// encoder is built on that thread (swscale contexts stay on the thread that uses them);
    /// an encoder that cannot be built is reported here, before anything is recorded.
    pub fn spawn(
        (width, height): (u32, u32),
        targets: ThumbnailTargets,
        store: ArtifactSender,
    ) -> Result<Self, ThumbnailError> {
        let (frames, receiver) = sync_channel(FRAME_QUEUE);
        let (ready, is_ready) = sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("thumbnails".into())
            .spawn(move || {
                let thumbnailer = match JpegThumbnailer::new(width, height) {
                    Ok(thumbnailer) => {
                        let _ = ready.send(Ok(()));
                        thumbnailer
                    }
                    Err(err) => {
                        let _ = ready.send(Err(err));
                        return Ok(0);
                    }
                };
                run(thumbnailer, &targets, &store, receiver)
            })
            .expect("the OS can start a thread");
        match is_ready.recv() {
            Ok(Ok(())) => Ok(Self { frames, thread }),
            Ok(Err(err)) => Err(err),
            Err(_) => match thread.join() {
                Err(panic) => std::panic::resume_unwind(panic),
                Ok(_) => Err(ThumbnailError::NoEncoder),
            },
        }
    }

    /// Queues a frame; `false` when the thread has stopped (its error comes from [`Self::finish`]).
    pub fn push(&self, frame: SampledFrame) -> bool {
        self.frames.send(frame).is_ok()
    }

    /// Waits for every queued frame to be stored; returns how many thumbnails were made.
    pub fn finish(self) -> Result<u64, ThumbnailWorkerError> {
        drop(self.frames);
        self.thread
            .join()
            .unwrap_or(Err(ThumbnailWorkerError::Panicked))
    }
}

/// Encodes and stores every frame that comes. The JPEG encoder (and its picture at thumbnail
/// size) is let go whenever no frame is waiting and opened again for the next: a live stream
/// takes a thumbnail every few seconds and need not hold it in between.
fn run(
    thumbnailer: JpegThumbnailer,
    targets: &ThumbnailTargets,
    store: &ArtifactSender,
    frames: Receiver<SampledFrame>,
) -> Result<u64, ThumbnailWorkerError> {
    let size = thumbnailer.size();
    let mut thumbnailer = Some(thumbnailer);
    let mut made = 0;
    let mut next = frames.recv().ok();
    while let Some(sampled) = next {
        let encoder = match &mut thumbnailer {
            Some(encoder) => encoder,
            None => thumbnailer.insert(JpegThumbnailer::new(size.0, size.1)?),
        };
        let jpeg = Bytes::from(encoder.encode(&sampled.frame, sampled.number)?);
        let (number, taken_at) = (sampled.number, sampled.taken_at);
        drop(sampled);
        // The first object of each thumbnail carries its frame's time: one delay per thumbnail.
        if targets.sequential {
            store.send_blocking(
                Artifact::jpeg(targets.prefix.thumbnail(number), jpeg.clone()).taken_at(taken_at),
            )?;
        }
        if targets.latest {
            let latest = Artifact::jpeg(targets.prefix.latest_thumbnail(), jpeg);
            store.send_blocking(if targets.sequential {
                latest
            } else {
                latest.taken_at(taken_at)
            })?;
        }
        made += 1;
        next = match frames.try_recv() {
            Ok(waiting) => Some(waiting),
            Err(TryRecvError::Disconnected) => None,
            Err(TryRecvError::Empty) => {
                thumbnailer = None;
                frames.recv().ok()
            }
        };
    }
    Ok(made)
}
