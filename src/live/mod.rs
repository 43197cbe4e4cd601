//! Live ingest (`ivs-recorder serve`): RTMP publishers recorded while they stream, reconnects
//! merged within the recording's window, stream sessions and EventBridge-shaped events.
//!
//! - [`channels`]: the channels served from the start (the `--channels` file or the default one).
//! - [`rtmp`]: the RTMP server (tokio + `rml_rtmp`), one task per connection.
//! - [`registry`]: stream key → channel over the catalog the API shares; refuses unknown keys
//!   and second publishers; the live streams the API reads and stops.
//! - [`channel_recorder`]: one thread per channel recording its publishes, with the reconnect
//!   window.
//! - [`ingest_rate`]: pure; a publisher's bitrate and frame rate over the last seconds.
//! - [`limits`]: pure; ingest limits (D19) and merge eligibility (D10).
//! - [`event`]: pure; the typed IVS events and their EventBridge shape.
//! - [`event_log`]: where events go (log line, stream session, JSON-lines file, webhook).
//! - [`webhook`]: events POSTed to `--events-url`, off the ingest path, with retries.
//! - [`sessions`]: the stream session records behind GetStreamSession.
//! - [`journal`]: the open recordings, so those a killed server left are finished at the next
//!   start.
//! - [`tls`]: the RTMPS acceptor.

pub mod channel_recorder;
pub mod channels;
pub mod event;
pub mod event_log;
pub mod ingest_rate;
pub mod journal;
pub mod limits;
pub mod registry;
pub mod rtmp;
pub mod sessions;
pub mod tls;
pub mod webhook;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use self::channel_recorder::{RecorderContext, RecorderHooks};
use self::channels::LiveChannel;
use self::event_log::{EventLog, EventsFileError};
use self::registry::{INGEST_APP, IngestRegistry};
pub use self::rtmp::ConnectionSettings;
use self::rtmp::serve_rtmp;
use self::sessions::SessionRegistry;
use crate::control::catalog::Catalog;
use crate::control::state_db::StateError;
use crate::model::EncoderSettings;
use crate::storage::{Store, WriterPolicy};
use crate::time::Clock;

/// The journal of open recordings lives in this folder of the spool root.
const JOURNAL_FOLDER: &str = "open-recordings";

/// Everything the live server needs besides its sockets.
#[derive(Debug)]
pub struct ServeConfig {
    /// The channels to start with (put in `catalog`).
    pub channels: Vec<LiveChannel>,
    /// Every resource: what the API creates and the channels above.
    pub catalog: Arc<Catalog>,
    /// The stream sessions (loaded from the state file, when there is one).
    pub sessions: SessionRegistry,
    /// Where events are POSTed as they happen.
    pub events_url: Option<String>,
    /// Where recordings go.
    pub store: Store,
    /// Retries, spool and deadline for store outages.
    pub writer_policy: WriterPolicy,
    /// JSON-lines file of events.
    pub events_file: Option<PathBuf>,
    /// Timeouts and the connection cap of the RTMP(S) listeners.
    pub connections: ConnectionSettings,
    /// Wall clock.
    pub clock: Arc<dyn Clock>,
    /// How the transcoded rungs are encoded (`--encoder-settings`).
    pub encoding: Arc<EncoderSettings>,
    /// Instrumentation for tests (default: none).
    pub hooks: RecorderHooks,
}

/// The sockets the live server accepts publishers on, bound by the caller.
pub struct Listeners {
    /// Plain RTMP.
    pub rtmp: TcpListener,
    /// RTMPS: its listener and the TLS acceptor.
    pub rtmps: Option<(TcpListener, TlsAcceptor)>,
}

impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listeners")
            .field("rtmp", &self.rtmp)
            .field("rtmps", &self.rtmps.as_ref().map(|(listener, _)| listener))
            .finish()
    }
}

/// RTMPS settings.
#[derive(Debug, Clone)]
pub struct RtmpsConfig {
    /// Where RTMPS listens.
    pub listen: SocketAddr,
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// Why the live server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// An address could not be bound.
    #[error("cannot listen for {protocol} on {address}")]
    Bind {
        /// `RTMP` or `RTMPS`.
        protocol: &'static str,
        /// The address.
        address: SocketAddr,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The events file could not be opened.
    #[error(transparent)]
    Events(#[from] EventsFileError),
    /// The RTMPS certificate or key is unusable.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The state file could not be written.
    #[error(transparent)]
    State(#[from] StateError),
    /// The events URL is unusable.
    #[error(transparent)]
    Webhook(#[from] webhook::WebhookError),
}

/// The ingest URL (`scheme` `rtmp` or `rtmps`) of `stream_key` on a server at `address`.
pub fn ingest_url(scheme: &str, address: SocketAddr, stream_key: &str) -> String {
    let host = if address.ip().is_unspecified() {
        "localhost".to_owned()
    } else {
        address.ip().to_string()
    };
    format!(
        "{scheme}://{host}:{}/{INGEST_APP}/{stream_key}",
        address.port()
    )
}

/// Binds `address` for `protocol` (`RTMP` or `RTMPS`).
pub async fn bind(protocol: &'static str, address: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| ServeError::Bind {
            protocol,
            address,
            source,
        })
}

/// Binds plain RTMP on `rtmp` and, when configured, RTMPS with its certificate.
pub async fn listen(
    rtmp: SocketAddr,
    rtmps: Option<&RtmpsConfig>,
) -> Result<Listeners, ServeError> {
    let plain = bind("RTMP", rtmp).await?;
    let secure = match rtmps {
        None => None,
        Some(rtmps) => {
            let acceptor = tls::acceptor(&rtmps.cert, &rtmps.key)?;
            Some((bind("RTMPS", rtmps.listen).await?, acceptor))
        }
    };
    Ok(Listeners {
        rtmp: plain,
        rtmps: secure,
    })
}

/// The running live server: RTMP(S) ingest over the registry the API shares.
#[derive(Debug)]
pub struct LiveServer {
    registry: Arc<IngestRegistry>,
    servers: Vec<tokio::task::JoinHandle<()>>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl LiveServer {
    /// Starts serving publishers on `listeners` (on the current runtime); the configured
    /// channels are put in the catalog first.
    pub fn start(config: ServeConfig, listeners: Listeners) -> Result<Self, ServeError> {
        channels::seed(&config.catalog, &config.channels)?;
        let account = config.catalog.account().clone();
        let webhook = config
            .events_url
            .as_deref()
            .map(webhook::Webhook::start)
            .transpose()?;
        let events = EventLog::new(
            config.events_file.as_deref(),
            config.sessions.clone(),
            &account.account_id,
            &account.region,
        )?
        .with_webhook(webhook);
        let journal_dir = config.writer_policy.spool_root.join(JOURNAL_FOLDER);
        let journal = match journal::Journal::open(&journal_dir) {
            Ok(journal) => Some(Arc::new(journal)),
            Err(err) => {
                tracing::warn!(
                    "no journal of open recordings in {} ({err}): recordings a crash cuts off will stay open",
                    journal_dir.display()
                );
                None
            }
        };
        let store = Arc::new(config.store);
        if let Some(journal) = &journal {
            // Recordings a killed run left open; in the background, the store may be slow.
            let (journal, store, clock) = (journal.clone(), store.clone(), config.clock.clone());
            tokio::spawn(async move {
                journal::finish_left_open(&journal, &store, &clock).await;
            });
        }
        let context = RecorderContext {
            runtime: tokio::runtime::Handle::current(),
            store,
            writer_policy: config.writer_policy,
            encoding: config.encoding,
            clock: config.clock,
            events,
            sessions: config.sessions,
            hooks: config.hooks,
            journal,
        };
        let registry = Arc::new(IngestRegistry::new(config.catalog, context));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let settings = config.connections;
        let mut servers = vec![tokio::spawn(serve_rtmp(
            listeners.rtmp,
            None,
            Arc::clone(&registry),
            settings,
            stopped.clone(),
        ))];
        if let Some((listener, acceptor)) = listeners.rtmps {
            servers.push(tokio::spawn(serve_rtmp(
                listener,
                Some(acceptor),
                Arc::clone(&registry),
                settings,
                stopped,
            )));
        }
        Ok(Self {
            registry,
            servers,
            stop,
        })
    }

    /// The registry of channels and live streams (what the API reads and stops).
    pub fn registry(&self) -> Arc<IngestRegistry> {
        Arc::clone(&self.registry)
    }

    /// Closes every connection, finalises every live recording (and those waiting in their
    /// reconnect window) and returns.
    pub async fn shutdown(self) {
        tracing::info!("closing every connection and finalising live recordings");
        let _ = self.stop.send(true);
        for server in self.servers {
            let _ = server.await;
        }
        let registry = self.registry;
        // Joining the recorder threads blocks: off the async workers.
        let closing = tokio::task::spawn_blocking(move || registry.close()).await;
        if let Err(join_error) = closing {
            tracing::error!("finalising the live recordings panicked: {join_error}");
        }
        tracing::info!("every recording is finalised");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ingest_urls_name_a_reachable_host() {
        assert_eq!(
            ingest_url("rtmp", "0.0.0.0:1935".parse().unwrap(), "sk_1"),
            "rtmp://localhost:1935/app/sk_1"
        );
        assert_eq!(
            ingest_url("rtmps", "127.0.0.1:41000".parse().unwrap(), "k"),
            "rtmps://127.0.0.1:41000/app/k"
        );
    }
}
