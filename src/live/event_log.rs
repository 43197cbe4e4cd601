//! Where events go: one log line each, the stream session's `truncatedEvents`, and optionally
//! the JSON-lines file `--events FILE`, each line an EventBridge envelope, and the webhook
//! `--events-url` (the same envelope, POSTed off the ingest path).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::event::{IvsEvent, new_event_id};
use super::sessions::{SessionEvent, SessionRegistry};
use super::webhook::Webhook;

/// Why the events file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the events file {}", path.display())]
pub struct EventsFileError {
    /// The file given.
    pub path: PathBuf,
    /// What the OS said.
    #[source]
    pub source: std::io::Error,
}

/// Where events go: a log line each, the stream session, and optionally a JSON-lines file.
#[derive(Debug, Clone)]
pub struct EventLog {
    file: Option<Arc<Mutex<std::fs::File>>>,
    sessions: SessionRegistry,
    webhook: Option<Webhook>,
    account: String,
    region: String,
    /// Every event's JSON envelope, for those watching (the web console's event stream).
    watchers: tokio::sync::broadcast::Sender<String>,
}

/// Events a slow watcher may fall behind by before it misses some.
const WATCHER_BACKLOG: usize = 256;

impl EventLog {
    /// A log appending to `path` when given.
    pub fn new(
        path: Option<&Path>,
        sessions: SessionRegistry,
        account: &str,
        region: &str,
    ) -> Result<Self, EventsFileError> {
        let file = path
            .map(|path| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| EventsFileError {
                        path: path.to_owned(),
                        source,
                    })
            })
            .transpose()?;
        Ok(Self {
            file: file.map(|f| Arc::new(Mutex::new(f))),
            sessions,
            webhook: None,
            account: account.to_owned(),
            region: region.to_owned(),
            watchers: tokio::sync::broadcast::channel(WATCHER_BACKLOG).0,
        })
    }

    /// Every event emitted from now on, as its JSON envelope.
    pub fn watch(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.watchers.subscribe()
    }

    /// The same log, also POSTing every event to `webhook`.
    pub fn with_webhook(mut self, webhook: Option<Webhook>) -> Self {
        self.webhook = webhook;
        self
    }

    /// Emits `event`.
    pub fn emit(&self, event: IvsEvent) {
        tracing::info!(
            stream = event.stream_id(),
            channel = %event.channel_arn,
            "{}: {}",
            event.detail_type(),
            event.name()
        );
        self.sessions.record_event(
            event.stream_id(),
            SessionEvent {
                is_error: event.kind().is_error(),
                name: event.name().to_owned(),
                event_type: event.detail_type().to_owned(),
                event_time: event.time,
                code: event.code().map(str::to_owned),
            },
        );
        if self.file.is_none() && self.webhook.is_none() && self.watchers.receiver_count() == 0 {
            return;
        }
        let envelope = event.envelope(new_event_id(), &self.account, &self.region);
        let line = match serde_json::to_string(&envelope) {
            Ok(line) => line,
            Err(err) => {
                tracing::warn!(error = %err, "cannot serialise an event");
                return;
            }
        };
        if let Some(file) = &self.file {
            let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
            if let Err(err) = writeln!(file, "{line}").and_then(|()| file.flush()) {
                tracing::warn!(error = %err, "cannot append to the events file");
            }
        }
        if self.watchers.receiver_count() > 0 {
            let _ = self.watchers.send(line.clone());
        }
        if let Some(webhook) = &self.webhook {
            webhook.send(line);
        }
    }
}
