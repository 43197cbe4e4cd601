//! The one ordered writer every object of a recording goes through: objects are stored strictly in
//! the order they are queued (decision D13), from producer threads outside the async runtime.
//!
//! When the store fails, the writer retries the object at the head of the queue with exponential
//! back-off, and meanwhile moves everything that arrives into a local [`Spool`] on disk (bounded),
//! so media work goes on. When the store answers again, the spool drains in order. When the
//! store stays down past the deadline, the writer gives up: it keeps spooling what still arrives
//! (the recorder then ends the recording as failed), and returns an error naming the spool
//! directory, which `ivs-recorder flush-spool` uploads later.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::spool::{Spool, SpoolEntry};
use super::{Artifact, Bucket, StorageError};

/// Objects waiting to be written; the producers block when it is full.
const WRITE_QUEUE: usize = 16;

/// How the writer rides out store outages.
#[derive(Debug, Clone)]
pub struct WriterPolicy {
    /// Folder under which a spool directory is created when the store fails.
    pub spool_root: PathBuf,
    /// Most bytes the spool may hold; past it, producers wait.
    pub spool_limit_bytes: u64,
    /// How long the store may stay unreachable before the recording fails.
    pub deadline: Duration,
    /// First retry delay; doubles up to `max_retry`.
    pub first_retry: Duration,
    /// Longest retry delay.
    pub max_retry: Duration,
}

impl Default for WriterPolicy {
    fn default() -> Self {
        Self {
            spool_root: PathBuf::from("ivs-recorder-spool"),
            spool_limit_bytes: 1024 * 1024 * 1024,
            deadline: Duration::from_secs(60),
            first_retry: Duration::from_millis(100),
            max_retry: Duration::from_secs(2),
        }
    }
}

/// What the writer stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Keys in the order they were written (a key written twice appears twice).
    pub keys: Vec<String>,
    /// Bytes written.
    pub bytes: u64,
    /// Failed attempts that were retried.
    pub retries: u64,
    /// Objects that went through the spool.
    pub spooled: u64,
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
    gave_up: Arc<AtomicBool>,
}

impl ArtifactSender {
    /// Queues `artifact`, blocking while the queue is full (from a recording thread, or from a
    /// task of a multi-thread runtime).
    pub fn send_blocking(&self, artifact: Artifact) -> Result<(), StorageError> {
        super::blocking::outside_async(|| self.sender.blocking_send(artifact)).map_err(|rejected| {
            StorageError::WriterStopped {
                key: rejected.0.key,
            }
        })
    }

    /// Whether the store has stayed unreachable past the deadline (the recording should end).
    pub fn store_gave_up(&self) -> bool {
        self.gave_up.load(Ordering::Relaxed)
    }
}

impl ArtifactWriter {
    /// Starts the writer for `bucket` on `runtime`.
    pub fn spawn(bucket: Bucket, runtime: &Handle, policy: WriterPolicy) -> Self {
        let (sender, receiver) = mpsc::channel::<Artifact>(WRITE_QUEUE);
        let gave_up = Arc::new(AtomicBool::new(false));
        let task = runtime.spawn(Writer::new(bucket, receiver, policy, gave_up.clone()).run());
        Self {
            sender: ArtifactSender { sender, gave_up },
            task,
        }
    }

    /// A handle to queue artifacts with.
    pub fn sender(&self) -> ArtifactSender {
        self.sender.clone()
    }

    /// [`Self::finish`] for code outside async tasks (the recording threads): blocks until
    /// everything queued is written. `runtime` must be the runtime the writer was spawned on.
    pub fn finish_blocking(self, runtime: &Handle) -> Result<WriteReport, StorageError> {
        super::blocking::wait(runtime, self.finish())
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

/// An object waiting to be stored.
enum Pending {
    Memory(Artifact),
    Spooled(SpoolEntry),
}

struct Writer {
    bucket: Bucket,
    receiver: mpsc::Receiver<Artifact>,
    policy: WriterPolicy,
    gave_up: Arc<AtomicBool>,
    queue: VecDeque<Pending>,
    spool: Option<Spool>,
    closed: bool,
    report: WriteReport,
    waiting: QueueGauge,
}

/// This writer's share of `ivs_recorder_store_queue_objects`, taken back when it stops.
#[derive(Debug, Default)]
struct QueueGauge {
    reported: i64,
}

impl QueueGauge {
    fn set(&mut self, waiting: usize) {
        let waiting = i64::try_from(waiting).unwrap_or(i64::MAX);
        crate::metrics::global().store_queue_changed(waiting - self.reported);
        self.reported = waiting;
    }
}

impl Drop for QueueGauge {
    fn drop(&mut self) {
        self.set(0);
    }
}

impl Writer {
    fn new(
        bucket: Bucket,
        receiver: mpsc::Receiver<Artifact>,
        policy: WriterPolicy,
        gave_up: Arc<AtomicBool>,
    ) -> Self {
        Self {
            bucket,
            receiver,
            policy,
            gave_up,
            queue: VecDeque::new(),
            spool: None,
            closed: false,
            report: WriteReport::default(),
            waiting: QueueGauge::default(),
        }
    }

    async fn run(mut self) -> Result<WriteReport, StorageError> {
        let mut outage: Option<(Instant, Duration)> = None;
        loop {
            self.waiting.set(self.queue.len() + self.receiver.len());
            if self.queue.is_empty() {
                if let Some(spool) = self.spool.take() {
                    // Everything spooled is stored: the outage is over.
                    tracing::info!(spool = %spool.dir().display(), "the store is reachable again; spool drained");
                    let _ = tokio::task::spawn_blocking(move || spool.delete()).await;
                }
                outage = None;
                if self.closed {
                    return Ok(self.report);
                }
                match self.receiver.recv().await {
                    Some(artifact) => self.queue.push_back(Pending::Memory(artifact)),
                    None => {
                        self.closed = true;
                        continue;
                    }
                }
            }
            let artifact = match self.head().await? {
                Some(artifact) => artifact,
                None => continue,
            };
            match self.bucket.put(&artifact).await {
                Ok(()) => {
                    self.pop_head().await?;
                    tracing::debug!(key = %artifact.key, bytes = artifact.bytes.len(), "stored");
                    self.report.bytes += artifact.bytes.len() as u64;
                    crate::metrics::global().stored(artifact.bytes.len() as u64);
                    if let Some(taken_at) = artifact.taken_at {
                        crate::metrics::global().thumbnail_stored(taken_at.elapsed());
                    }
                    self.report.keys.push(artifact.key);
                    if let Some((_, delay)) = &mut outage {
                        *delay = self.policy.first_retry;
                    }
                }
                Err(err) => {
                    self.report.retries += 1;
                    crate::metrics::global().store_retry();
                    let (since, delay) =
                        *outage.get_or_insert_with(|| (Instant::now(), self.policy.first_retry));
                    if self.spool.is_none() {
                        tracing::warn!(error = %err, "the store failed; retrying and spooling to disk meanwhile");
                        self.start_spool().await?;
                    }
                    if since.elapsed() >= self.policy.deadline {
                        return self.give_up(since.elapsed(), err).await;
                    }
                    self.wait_spooling(delay).await?;
                    outage = Some((since, (delay * 2).min(self.policy.max_retry)));
                }
            }
        }
    }

    /// The object at the head of the queue.
    async fn head(&mut self) -> Result<Option<Artifact>, StorageError> {
        match self.queue.front() {
            None => Ok(None),
            Some(Pending::Memory(artifact)) => Ok(Some(artifact.clone())),
            Some(Pending::Spooled(entry)) => {
                let entry = entry.clone();
                self.on_spool(move |spool| spool.load(&entry))
                    .await
                    .map(Some)
            }
        }
    }

    async fn pop_head(&mut self) -> Result<(), StorageError> {
        if let Some(Pending::Spooled(entry)) = self.queue.pop_front()
            && self.spool.is_some()
        {
            self.on_spool(move |spool| spool.remove(&entry)).await?;
        }
        Ok(())
    }

    async fn start_spool(&mut self) -> Result<(), StorageError> {
        let name = format!(
            "{}-{}-{:x}",
            self.bucket.name(),
            std::process::id(),
            rand_suffix()
        );
        let dir = self.policy.spool_root.join(name);
        let (bucket, limit) = (self.bucket.name().to_owned(), self.policy.spool_limit_bytes);
        let created = {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || Spool::create(&dir, &bucket, limit)).await
        };
        let spool = match created {
            Ok(spool) => spool.map_err(|source| StorageError::Spool {
                dir: dir.clone(),
                source,
            })?,
            Err(join_error) => std::panic::resume_unwind(join_error.into_panic()),
        };
        self.spool = Some(spool);
        // Move what waits in memory to disk, keeping the order.
        for index in 0..self.queue.len() {
            if let Pending::Memory(artifact) = &self.queue[index] {
                let artifact = artifact.clone();
                let bytes = artifact.bytes.len() as u64;
                let entry = self.on_spool(move |spool| spool.push(&artifact)).await?;
                self.queue[index] = Pending::Spooled(entry);
                self.report.spooled += 1;
                crate::metrics::global().spooled(bytes);
            }
        }
        Ok(())
    }

    /// Runs `work` on the spool on a blocking thread: disk I/O stays off the async workers.
    async fn on_spool<T: Send + 'static>(
        &mut self,
        work: impl FnOnce(&mut Spool) -> std::io::Result<T> + Send + 'static,
    ) -> Result<T, StorageError> {
        let Some(mut spool) = self.spool.take() else {
            return Err(StorageError::Spool {
                dir: self.policy.spool_root.clone(),
                source: std::io::Error::other("no spool is open"),
            });
        };
        let done = tokio::task::spawn_blocking(move || {
            let result = work(&mut spool);
            (spool, result)
        })
        .await;
        let (spool, result) = match done {
            Ok(done) => done,
            Err(join_error) => std::panic::resume_unwind(join_error.into_panic()),
        };
        let dir = spool.dir().to_owned();
        self.spool = Some(spool);
        result.map_err(|source| StorageError::Spool { dir, source })
    }

    /// Waits `delay` before the next retry, spooling whatever arrives meanwhile.
    async fn wait_spooling(&mut self, delay: Duration) -> Result<(), StorageError> {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            let room = self.spool.as_ref().is_some_and(|s| s.has_room(0));
            tokio::select! {
                () = &mut sleep => return Ok(()),
                received = self.receiver.recv(), if !self.closed && room => match received {
                    Some(artifact) => self.spool_artifact(artifact).await?,
                    None => self.closed = true,
                },
            }
        }
    }

    async fn spool_artifact(&mut self, artifact: Artifact) -> Result<(), StorageError> {
        let bytes = artifact.bytes.len() as u64;
        let entry = self.on_spool(move |spool| spool.push(&artifact)).await?;
        self.queue.push_back(Pending::Spooled(entry));
        self.report.spooled += 1;
        crate::metrics::global().spooled(bytes);
        Ok(())
    }

    /// The deadline passed: keep what still arrives in the spool, then report where it is.
    async fn give_up(
        mut self,
        down_for: Duration,
        last: StorageError,
    ) -> Result<WriteReport, StorageError> {
        self.gave_up.store(true, Ordering::Relaxed);
        tracing::error!(error = %last, "the store stayed unreachable past the deadline; keeping the spool");
        while !self.closed {
            match self.receiver.recv().await {
                Some(artifact) => self.spool_artifact(artifact).await?,
                None => self.closed = true,
            }
        }
        let spool = self.spool.take().expect("an outage has a spool");
        Err(StorageError::StoreUnavailable {
            bucket: self.bucket.name().to_owned(),
            seconds: down_for.as_secs(),
            objects: self.queue.len(),
            bytes: spool.bytes(),
            spool: spool.dir().to_owned(),
            source: Box::new(last),
        })
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()) ^ d.as_secs())
}
