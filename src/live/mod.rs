//! Live ingest (`ivs-recorder serve`): RTMP publishers recorded while they stream, reconnects
//! merged within the recording's window, stream sessions and EventBridge-shaped events.
//!
//! - [`channels`]: the channels served (the `--channels` file or the default one).
//! - [`rtmp`]: the RTMP server (tokio + `rml_rtmp`), one task per connection.
//! - [`registry`]: stream key → channel; refuses unknown keys and second publishers.
//! - [`recorder`]: one thread per channel recording its publishes, with the reconnect window.
//! - [`limits`]: pure; ingest limits (D19) and merge eligibility (D10).
//! - [`sessions`], [`events`]: the stream session records and the event log.
//! - [`tls`]: the RTMPS acceptor.

pub mod channels;
pub mod events;
pub mod limits;
pub mod recorder;
pub mod registry;
pub mod rtmp;
pub mod sessions;
pub mod tls;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Runtime;

use self::channels::LiveChannel;
use self::events::{EventLog, EventsFileError};
use self::recorder::RecorderContext;
use self::registry::{INGEST_APP, IngestRegistry};
use self::rtmp::{ConnectionSettings, serve_rtmp};
use self::sessions::SessionRegistry;
use crate::ids::DEFAULT_ACCOUNT_ID;
use crate::storage::{Store, WriterPolicy};
use crate::time::Clock;

/// Everything `serve` needs.
#[derive(Debug)]
pub struct ServeConfig {
    /// The channels to ingest.
    pub channels: Vec<LiveChannel>,
    /// Where RTMP listens.
    pub rtmp_listen: SocketAddr,
    /// RTMPS: where it listens, the PEM certificate chain and the PEM private key.
    pub rtmps: Option<RtmpsConfig>,
    /// Where recordings go.
    pub store: Store,
    /// Retries, spool and deadline for store outages.
    pub writer_policy: WriterPolicy,
    /// JSON-lines file of events.
    pub events_file: Option<PathBuf>,
    /// No data for this long ends a session.
    pub starvation_timeout: Duration,
    /// Region of ARNs and events.
    pub region: String,
    /// Wall clock.
    pub clock: Arc<dyn Clock>,
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

/// Why `serve` could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The RTMP address could not be bound.
    #[error("cannot listen for RTMP on {address}")]
    Bind {
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

fn bind(
    runtime: &Runtime,
    address: SocketAddr,
) -> Result<(tokio::net::TcpListener, SocketAddr), ServeError> {
    let bind_error = |source| ServeError::Bind { address, source };
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(address))
        .map_err(bind_error)?;
    let bound = listener.local_addr().map_err(bind_error)?;
    Ok((listener, bound))
}

/// Serves until SIGINT or SIGTERM, then finalises every live recording and returns.
pub fn serve(config: ServeConfig, runtime: &Runtime) -> Result<(), ServeError> {
    let sessions = SessionRegistry::default();
    let events = EventLog::new(
        config.events_file.as_deref(),
        sessions.clone(),
        DEFAULT_ACCOUNT_ID,
        &config.region,
    )?;
    let (listener, address) = bind(runtime, config.rtmp_listen)?;
    let secure = match &config.rtmps {
        None => None,
        Some(rtmps) => {
            let acceptor = tls::acceptor(&rtmps.cert, &rtmps.key)?;
            let (listener, address) = bind(runtime, rtmps.listen)?;
            Some((listener, address, acceptor))
        }
    };
    let context = RecorderContext {
        runtime: runtime.handle().clone(),
        store: Arc::new(config.store),
        writer_policy: config.writer_policy,
        clock: config.clock,
        events,
        sessions,
    };
    let registry = Arc::new(IngestRegistry::new(config.channels, &context));
    // A closed stdout must not stop the server: write errors are ignored.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "ivs-recorder: RTMP ingest listening on {address}");
    if let Some((_, secure_address, _)) = &secure {
        let _ = writeln!(
            out,
            "ivs-recorder: RTMPS ingest listening on {secure_address}"
        );
    }
    for live in registry.channels() {
        let recording = live.recording.as_ref().map_or_else(
            || "not recorded".to_owned(),
            |c| {
                let bucket = c
                    .destination_configuration
                    .s3
                    .as_ref()
                    .map_or("", |s3| s3.bucket_name.as_str());
                format!("records to bucket {bucket}")
            },
        );
        let _ = writeln!(
            out,
            "  channel {} ({}, {}, {recording}): {}",
            live.channel.name,
            live.channel.arn,
            live.channel.channel_type,
            ingest_url("rtmp", address, &live.stream_key)
        );
        if let Some((_, secure_address, _)) = &secure {
            let _ = writeln!(
                out,
                "  channel {}: {}",
                live.channel.name,
                ingest_url("rtmps", *secure_address, &live.stream_key)
            );
        }
    }
    let _ = out.flush();
    drop(out);

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let settings = ConnectionSettings {
        starvation_timeout: config.starvation_timeout,
    };
    runtime.block_on(async {
        let mut servers = vec![tokio::spawn(serve_rtmp(
            listener,
            None,
            Arc::clone(&registry),
            settings,
            stopped.clone(),
        ))];
        if let Some((listener, _, acceptor)) = secure {
            servers.push(tokio::spawn(serve_rtmp(
                listener,
                Some(acceptor),
                Arc::clone(&registry),
                settings,
                stopped,
            )));
        }
        let signal = shutdown_signal().await;
        tracing::info!("{signal}: closing every connection and finalising live recordings");
        let _ = stop.send(true);
        for server in servers {
            let _ = server.await;
        }
    });
    registry.close();
    tracing::info!("every recording is finalised");
    Ok(())
}

/// Waits for SIGINT or SIGTERM; names the one that came.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = terminate.recv() => "SIGTERM",
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
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
