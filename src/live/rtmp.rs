//! The RTMP(S) ingest server: accepts connections on tokio (TLS first for RTMPS), runs the handshake and the RTMP session
//! with `rml_rtmp`'s sans-IO types, asks the registry to accept each publish, and passes the
//! media messages on. A connection that sends garbage, breaks the handshake, publishes to an
//! unknown key or goes quiet past the starvation timeout (D20) is closed with a logged reason;
//! the others carry on.
//!
//! What a connection may hold before it publishes is bounded: messages of at most
//! [`PRE_PUBLISH_MAX_MESSAGE`] bytes (RTMP commands are small), no more than
//! `max_connections` connections at once, and [`ConnectionSettings::publish_timeout`] to get from
//! the TCP connection to an accepted publish.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ServerSession, ServerSessionConfig, ServerSessionEvent, ServerSessionResult, StreamMetadata,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::registry::{IngestRegistry, PublishGuard};
use crate::ingest::live::{LiveMessage, LiveMetadata};

/// How long the handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Read buffer size.
const READ_BUFFER: usize = 64 * 1024;
/// Read buffer of the handshake (C0+C1 and C2 are 1537 and 1536 bytes).
const HANDSHAKE_BUFFER: usize = 4 * 1024;
/// The longest message accepted before a publish: `connect`, `createStream`, `publish` and
/// their kin are a few hundred bytes.
pub const PRE_PUBLISH_MAX_MESSAGE: usize = 64 * 1024;
/// The longest message accepted from a publisher (RTMP's own limit: a 24-bit length).
const PUBLISH_MAX_MESSAGE: usize = 16 * 1024 * 1024 - 1;

/// Why a connection was closed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The socket failed.
    #[error("socket error")]
    Io(#[from] std::io::Error),
    /// The peer closed during the handshake.
    #[error("the peer closed the connection during the RTMP handshake")]
    ClosedInHandshake,
    /// The handshake timed out.
    #[error("no RTMP handshake within {0} s")]
    HandshakeTimeout(u64),
    /// The handshake bytes are not RTMP.
    #[error("broken RTMP handshake: {0}")]
    Handshake(String),
    /// The RTMP session could not parse what was sent.
    #[error("invalid RTMP data: {0}")]
    Session(String),
    /// No publish was accepted in time.
    #[error("no accepted publish within {0} s of connecting")]
    NoPublish(u64),
    /// The RTMP parser failed in a way it should not have (a bug, contained).
    #[error(
        "the RTMP parser failed on this connection's data (an internal error; the connection is closed)"
    )]
    ParserPanicked,
    /// StopStream disconnected the publisher.
    #[error("StopStream: the stream was stopped through the API")]
    Stopped,
    /// No data for the starvation timeout.
    #[error("no data for {0} s: the session ends (encoder starvation)")]
    Starved(u64),
    /// The publish was refused.
    #[error("publish refused: {0}")]
    Refused(String),
}

/// Settings of every connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionSettings {
    /// No data for this long ends the session (D20).
    pub starvation_timeout: Duration,
    /// A connection without an accepted publish this long after it was opened is closed.
    pub publish_timeout: Duration,
    /// Connections open at once (RTMP and RTMPS each); more are closed as they arrive.
    pub max_connections: usize,
}

/// Serves RTMP connections from `listener` (RTMPS when `tls` is given) until `shutdown` turns
/// true; then closes every connection (their publishes end) and returns.
pub async fn serve_rtmp(
    listener: tokio::net::TcpListener,
    tls: Option<TlsAcceptor>,
    registry: Arc<IngestRegistry>,
    settings: ConnectionSettings,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    let permits = Arc::new(tokio::sync::Semaphore::new(settings.max_connections));
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
                        tracing::warn!(%peer, "refusing the RTMP connection: {} connections are open, the most allowed (--max-connections)", settings.max_connections);
                        drop(socket);
                        continue;
                    };
                    let _ = socket.set_nodelay(true);
                    let registry = Arc::clone(&registry);
                    let shutdown = shutdown.clone();
                    let tls = tls.clone();
                    connections.spawn(async move {
                        let _permit = permit;
                        match tls {
                            None => run_connection(socket, peer, registry, settings, shutdown).await,
                            Some(acceptor) => {
                                let accepted =
                                    tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(socket)).await;
                                match accepted {
                                    Ok(Ok(stream)) => {
                                        run_connection(stream, peer, registry, settings, shutdown).await;
                                    }
                                    Ok(Err(err)) => {
                                        tracing::warn!(%peer, "closing the RTMPS connection: TLS handshake failed: {err}");
                                    }
                                    Err(_) => tracing::warn!(%peer, "closing the RTMPS connection: no TLS handshake within {} s", HANDSHAKE_TIMEOUT.as_secs()),
                                }
                            }
                        }
                    });
                }
                Err(err) => tracing::warn!(error = %err, "accepting an RTMP connection failed"),
            },
            _ = shutdown.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    while connections.join_next().await.is_some() {}
}

/// Runs one connection (plain TCP or TLS) to its end and logs why it ended.
pub async fn run_connection<S>(
    socket: S,
    peer: SocketAddr,
    registry: Arc<IngestRegistry>,
    settings: ConnectionSettings,
    shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    tracing::debug!(%peer, "RTMP connection");
    let mut connection = Connection {
        socket,
        registry,
        settings,
        publish: None,
        shutdown,
    };
    match connection.run().await {
        Ok(()) => tracing::debug!(%peer, "RTMP connection closed"),
        Err(err) => {
            let stream = connection
                .publish
                .as_ref()
                .map(|p| p.stream_id().to_owned())
                .unwrap_or_default();
            tracing::warn!(%peer, stream, "closing the RTMP connection: {}", error_text(&err));
        }
    }
}

/// Completes when StopStream asks to disconnect `publish`; never without a publish.
async fn stop_requested(publish: Option<&PublishGuard>) {
    match publish {
        Some(publish) => publish.stop_requested().await,
        None => std::future::pending().await,
    }
}

/// Feeds `bytes` to the RTMP session. A panic in the parser (none is known; the patched chunk
/// layer and the fuzz tests are there to keep it so) ends this connection only.
fn handle_input(
    session: &mut ServerSession,
    bytes: &[u8],
) -> Result<Vec<ServerSessionResult>, ConnectionError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| session.handle_input(bytes)))
        .map_err(|_| ConnectionError::ParserPanicked)?
        .map_err(|err| ConnectionError::Session(err.to_string()))
}

fn error_text(err: &ConnectionError) -> String {
    crate::error::error_chain(err)
}

struct Connection<S> {
    socket: S,
    registry: Arc<IngestRegistry>,
    settings: ConnectionSettings,
    publish: Option<PublishGuard>,
    shutdown: watch::Receiver<bool>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    async fn run(&mut self) -> Result<(), ConnectionError> {
        let publish_deadline = tokio::time::Instant::now() + self.settings.publish_timeout;
        let handshake_timeout = HANDSHAKE_TIMEOUT.min(self.settings.publish_timeout);
        let remaining = tokio::time::timeout(handshake_timeout, self.handshake())
            .await
            .map_err(|_| ConnectionError::HandshakeTimeout(handshake_timeout.as_secs()))??;
        let (mut session, opening) = ServerSession::new(ServerSessionConfig::new())
            .map_err(|err| ConnectionError::Session(err.to_string()))?;
        session.set_max_message_length(PRE_PUBLISH_MAX_MESSAGE);
        self.handle(&mut session, opening).await?;
        let results = handle_input(&mut session, &remaining)?;
        self.handle(&mut session, results).await?;
        let mut buffer = vec![0u8; READ_BUFFER];
        loop {
            let publishing = self.publish.is_some();
            let no_publish = ConnectionError::NoPublish(self.settings.publish_timeout.as_secs());
            let wait = if publishing {
                self.settings.starvation_timeout
            } else {
                publish_deadline.saturating_duration_since(tokio::time::Instant::now())
            };
            let read = tokio::select! {
                read = tokio::time::timeout(wait, self.socket.read(&mut buffer)) => read,
                _ = self.shutdown.changed() => return Ok(()),
                () = stop_requested(self.publish.as_ref()) => return Err(ConnectionError::Stopped),
            };
            let count = match read {
                Err(_) if publishing => {
                    return Err(ConnectionError::Starved(
                        self.settings.starvation_timeout.as_secs(),
                    ));
                }
                Err(_) => return Err(no_publish),
                Ok(read) => read?,
            };
            if count == 0 {
                return Ok(());
            }
            let results = handle_input(&mut session, &buffer[..count])?;
            if !self.handle(&mut session, results).await? {
                return Ok(());
            }
            if !publishing && self.publish.is_some() {
                session.set_max_message_length(PUBLISH_MAX_MESSAGE);
            } else if self.publish.is_none() && tokio::time::Instant::now() >= publish_deadline {
                return Err(no_publish);
            }
        }
    }

    /// The RTMP handshake; returns the bytes read past its end.
    async fn handshake(&mut self) -> Result<Vec<u8>, ConnectionError> {
        let mut handshake = Handshake::new(PeerType::Server);
        let mut buffer = vec![0u8; HANDSHAKE_BUFFER];
        loop {
            let count = self.socket.read(&mut buffer).await?;
            if count == 0 {
                return Err(ConnectionError::ClosedInHandshake);
            }
            match handshake
                .process_bytes(&buffer[..count])
                .map_err(|err| ConnectionError::Handshake(format!("{err:?}")))?
            {
                HandshakeProcessResult::InProgress { response_bytes } => {
                    self.socket.write_all(&response_bytes).await?;
                }
                HandshakeProcessResult::Completed {
                    response_bytes,
                    remaining_bytes,
                } => {
                    self.socket.write_all(&response_bytes).await?;
                    return Ok(remaining_bytes);
                }
            }
        }
    }

    /// Sends responses and acts on events; `false` when the publisher is done or the recorder
    /// stopped reading.
    async fn handle(
        &mut self,
        session: &mut ServerSession,
        results: Vec<ServerSessionResult>,
    ) -> Result<bool, ConnectionError> {
        let mut queue = std::collections::VecDeque::from(results);
        while let Some(result) = queue.pop_front() {
            match result {
                ServerSessionResult::OutboundResponse(packet) => {
                    self.socket.write_all(&packet.bytes).await?;
                }
                ServerSessionResult::RaisedEvent(event) => {
                    if !self.on_event(session, event, &mut queue).await? {
                        return Ok(false);
                    }
                }
                ServerSessionResult::UnhandleableMessageReceived(_) => {}
            }
        }
        Ok(true)
    }

    async fn on_event(
        &mut self,
        session: &mut ServerSession,
        event: ServerSessionEvent,
        queue: &mut std::collections::VecDeque<ServerSessionResult>,
    ) -> Result<bool, ConnectionError> {
        let session_error =
            |err: rml_rtmp::sessions::ServerSessionError| ConnectionError::Session(err.to_string());
        match event {
            ServerSessionEvent::ConnectionRequested { request_id, .. } => {
                queue.extend(session.accept_request(request_id).map_err(session_error)?);
            }
            ServerSessionEvent::PublishStreamRequested {
                request_id,
                app_name,
                stream_key,
                ..
            } => match self.registry.begin_publish(&app_name, &stream_key) {
                Ok(guard) => {
                    tracing::info!(stream = guard.stream_id(), app = %app_name, "publish accepted");
                    self.publish = Some(guard);
                    queue.extend(session.accept_request(request_id).map_err(session_error)?);
                }
                Err(refusal) => {
                    let text = refusal.to_string();
                    for result in session
                        .reject_request(request_id, "NetStream.Publish.BadName", &text)
                        .map_err(session_error)?
                    {
                        if let ServerSessionResult::OutboundResponse(packet) = result {
                            self.socket.write_all(&packet.bytes).await?;
                        }
                    }
                    let _ = self.socket.flush().await;
                    return Err(ConnectionError::Refused(text));
                }
            },
            ServerSessionEvent::StreamMetadataChanged { metadata, .. } => {
                return Ok(self
                    .forward(LiveMessage::Metadata(convert(&metadata)))
                    .await);
            }
            ServerSessionEvent::VideoDataReceived {
                data, timestamp, ..
            } => {
                if data.len() > 1
                    && data[0] >> 4 == 1
                    && data[1] == 1
                    && let Some(guard) = &self.publish
                {
                    // Arrival times, for measuring the keyframe → thumbnail delay.
                    tracing::debug!(
                        stream = guard.stream_id(),
                        timestamp_ms = timestamp.value,
                        "keyframe arrived"
                    );
                }
                return Ok(self.forward(video(data, timestamp.value)).await);
            }
            ServerSessionEvent::AudioDataReceived {
                data, timestamp, ..
            } => {
                return Ok(self.forward(audio(data, timestamp.value)).await);
            }
            ServerSessionEvent::PublishStreamFinished { .. } => {
                self.publish = None;
                return Ok(false);
            }
            _ => {}
        }
        Ok(true)
    }

    /// Passes a message to the recorder; `false` when it stopped reading (it logged why).
    async fn forward(&mut self, message: LiveMessage) -> bool {
        match &self.publish {
            Some(guard) => guard.send(message).await,
            // Media before a publish is accepted is ignored.
            None => true,
        }
    }
}

fn video(body: Bytes, timestamp_ms: u32) -> LiveMessage {
    LiveMessage::Video { timestamp_ms, body }
}

fn audio(body: Bytes, timestamp_ms: u32) -> LiveMessage {
    LiveMessage::Audio { timestamp_ms, body }
}

fn convert(metadata: &StreamMetadata) -> LiveMetadata {
    LiveMetadata {
        frame_rate: metadata.video_frame_rate.map(f64::from),
        video_bitrate_kbps: metadata.video_bitrate_kbps,
        audio_bitrate_kbps: metadata.audio_bitrate_kbps,
        encoder: metadata.encoder.clone(),
    }
}
