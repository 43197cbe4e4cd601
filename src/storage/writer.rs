//! The one ordered writer every object of a recording goes through: objects are stored strictly in
//! the order they are queued (decision D13), from producer threads outside the async runtime.

use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{Artifact, Bucket, StorageError};

/// Objects waiting to be written; the producers block when it is full.
const WRITE_QUEUE: usize = 16;

/// What the writer stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Keys in the order they were written (a key written twice appears twice).
    pub keys: Vec<String>,
    /// Bytes written.
    pub bytes: u64,
}

/// Writes artifacts one after another on the async runtime; producers on other threads send.
#[derive(Debug)]
pub struct ArtifactWriter {
    sender: ArtifactSender,
    task: JoinHandle<Result<WriteReport, StorageError>>,
}

/// A cloneable handle that queues artifacts, blocking while the queue is full.
#[derive(Debug, Clone)]
pub struct ArtifactSender {
    sender: mpsc::Sender<Artifact>,
}

impl ArtifactSender {
    /// Queues `artifact` from a thread outside the async runtime.
    pub fn send_blocking(&self, artifact: Artifact) -> Result<(), StorageError> {
        self.sender
            .blocking_send(artifact)
            .map_err(|rejected| StorageError::WriterStopped {
                key: rejected.0.key,
            })
    }
}

impl ArtifactWriter {
    /// Starts the writer for `bucket` on `runtime`.
    pub fn spawn(bucket: Bucket, runtime: &Handle) -> Self {
        let (sender, mut receiver) = mpsc::channel::<Artifact>(WRITE_QUEUE);
        let task = runtime.spawn(async move {
            let mut report = WriteReport::default();
            while let Some(artifact) = receiver.recv().await {
                bucket.put(&artifact).await?;
                report.bytes += artifact.bytes.len() as u64;
                report.keys.push(artifact.key);
            }
            Ok(report)
        });
        Self {
            sender: ArtifactSender { sender },
            task,
        }
    }

    /// A handle to queue artifacts with.
    pub fn sender(&self) -> ArtifactSender {
        self.sender.clone()
    }

    /// Waits until everything queued (by every sender, which must all be dropped) is written.
    pub async fn finish(self) -> Result<WriteReport, StorageError> {
        drop(self.sender);
        match self.task.await {
            Ok(result) => result,
            Err(join_error) => std::panic::resume_unwind(join_error.into_panic()),
        }
    }
}
