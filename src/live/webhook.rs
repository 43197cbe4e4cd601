//! `--events-url`: every event's EventBridge envelope POSTed as JSON to the user's webhook, in
//! order, from a task of its own: a slow or dead webhook never blocks ingest or recording. Each
//! event is tried [`ATTEMPTS`] times with doubling back-off; an event still refused then is
//! dropped with a warning (the `--events` file, when given, still has it). The queue holds at
//! most [`QUEUE`] events; past that new events are dropped, and said so.

use std::time::Duration;

use tokio::sync::mpsc;

/// Tries per event.
pub const ATTEMPTS: u32 = 5;
/// Events waiting to be sent, at most.
pub const QUEUE: usize = 10_000;
/// The first back-off; it doubles each try.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// How long one POST may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the webhook cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Not an `http://` or `https://` URL.
    #[error("--events-url {0:?} is not an http:// or https:// URL")]
    NotHttp(String),
    /// The HTTP client could not be built.
    #[error("cannot set up the events webhook client")]
    Client(#[source] reqwest::Error),
}

/// The sending side: cheap to clone, never blocks.
#[derive(Debug, Clone)]
pub struct Webhook {
    queue: mpsc::Sender<String>,
}

impl Webhook {
    /// Starts POSTing to `url` on the current runtime.
    pub fn start(url: &str) -> Result<Self, WebhookError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| WebhookError::NotHttp(url.to_owned()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(WebhookError::NotHttp(url.to_owned()));
        }
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(WebhookError::Client)?;
        let (queue, events) = mpsc::channel(QUEUE);
        tokio::spawn(deliver(client, parsed, events));
        Ok(Self { queue })
    }

    /// Queues one event (its JSON envelope).
    pub fn send(&self, envelope: String) {
        if self.queue.try_send(envelope).is_err() {
            tracing::warn!("the events webhook is {QUEUE} events behind: an event is dropped");
        }
    }
}

async fn deliver(client: reqwest::Client, url: reqwest::Url, mut events: mpsc::Receiver<String>) {
    while let Some(envelope) = events.recv().await {
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1..=ATTEMPTS {
            let sent = client
                .post(url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(envelope.clone())
                .send()
                .await;
            let why = match sent {
                Ok(response) if response.status().is_success() => break,
                Ok(response) => format!("it answered {}", response.status()),
                Err(err) => crate::error::error_chain(&err),
            };
            if attempt == ATTEMPTS {
                tracing::warn!(url = %url, "an event could not be delivered after {ATTEMPTS} tries: {why}");
                break;
            }
            tracing::debug!(url = %url, attempt, "the events webhook failed, retrying: {why}");
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }
}
