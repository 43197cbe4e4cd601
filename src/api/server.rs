//! The HTTP side of the API (axum): REST-JSON as the AWS CLI and SDKs speak it (spec 6.1). Every
//! operation is `POST /<OperationName>` with a JSON body; the tag operations are
//! `GET|POST|DELETE /tags/{resourceArn}`. Each request is routed, its SigV4 signature checked,
//! its body checked against the model, and answered with the operation's status (200, or 204
//! with no body) or an IVS error (`x-amzn-ErrorType`, `{"exceptionMessage": …}`). Request bodies
//! are never logged: they carry stream keys and metadata.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;

use super::console::{self, ConsoleSettings};
use super::error::{ApiError, ErrorKind};
use super::model::ServiceModel;
use super::ops::{Context, channels, recording_configurations, stored, stream_keys, streams, tags};
use super::playback;
use super::query::query_values;
use super::sigv4::{self, Credentials, SignedRequest};
use super::throttle::Throttle;
use super::validate::validate_input;
use crate::live::ServeError;
use crate::live::registry::IngestRegistry;

/// `serve`: live ingest on `listeners` and the API on `api`, until `shutdown` completes; then the
/// API stops answering and every live recording is finalised.
pub async fn run(
    config: crate::live::ServeConfig,
    listeners: crate::live::Listeners,
    api: TcpListener,
    credentials: Option<Credentials>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let mut ingest_urls = Vec::new();
    if let Ok(address) = listeners.rtmp.local_addr() {
        ingest_urls.push(format!("rtmp://{address}/app/"));
    }
    if let Some(Ok(address)) = listeners.rtmps.as_ref().map(|(l, _)| l.local_addr()) {
        ingest_urls.push(format!("rtmps://{address}/app/"));
    }
    let console = ConsoleSettings {
        ingest_urls,
        hide_stream_keys: credentials.is_some(),
    };
    let server = crate::live::LiveServer::start(config, listeners)?;
    let (stop_api, api_stopped) = tokio::sync::oneshot::channel::<()>();
    let api_task = tokio::spawn(
        ApiServer::new(server.registry(), credentials)
            .with_console(console)
            .serve(api, async {
                let _ = api_stopped.await;
            }),
    );
    shutdown.await;
    let _ = stop_api.send(());
    let _ = api_task.await;
    server.shutdown().await;
    Ok(())
}

/// Binds the API's address.
pub async fn bind(address: SocketAddr) -> Result<TcpListener, ServeError> {
    crate::live::bind("the IVS API", address).await
}

/// The API server.
#[derive(Debug, Clone)]
pub struct ApiServer {
    context: Arc<Context>,
    credentials: Option<Arc<Credentials>>,
    console: Arc<ConsoleSettings>,
}

/// One request, as the operations see it.
struct ApiRequest {
    operation: String,
    input: Map<String, Value>,
}

impl ApiServer {
    /// An API over `registry`; with `credentials`, signatures are verified with them.
    pub fn new(registry: Arc<IngestRegistry>, credentials: Option<Credentials>) -> Self {
        Self {
            context: Arc::new(Context {
                registry,
                throttle: Mutex::new(Throttle::default()),
            }),
            credentials: credentials.map(Arc::new),
            console: Arc::new(ConsoleSettings::default()),
        }
    }

    /// The same server, its web console showing `console`.
    pub fn with_console(mut self, console: ConsoleSettings) -> Self {
        self.console = Arc::new(console);
        self
    }

    /// Serves requests on `listener` until `shutdown` completes.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) {
        use axum::routing::get;
        let registry = self.context.registry.clone();
        let live_registry = registry.clone();
        let recordings_registry = registry.clone();
        let router = self
            .console_routes()
            .route(
                "/metrics",
                get(move || {
                    let registry = registry.clone();
                    async move { metrics_page(&registry) }
                }),
            )
            .route(
                &format!("{}{{*rest}}", playback::PLAYBACK_PREFIX),
                get(move |uri: Uri, headers: HeaderMap| {
                    let registry = live_registry.clone();
                    async move {
                        let rest = uri.path().trim_start_matches(playback::PLAYBACK_PREFIX);
                        let query = uri.query().unwrap_or_default();
                        playback::live(&registry, rest, query, &headers).await
                    }
                })
                .options(|| async { playback::preflight() }),
            )
            .route(
                &format!("{}{{*rest}}", playback::RECORDINGS_PREFIX),
                get(move |uri: Uri, headers: HeaderMap| {
                    let registry = recordings_registry.clone();
                    async move {
                        let path = percent_decode_str(uri.path())
                            .decode_utf8_lossy()
                            .into_owned();
                        let rest = path.trim_start_matches(playback::RECORDINGS_PREFIX);
                        playback::recorded_object(&registry, rest, &headers).await
                    }
                })
                .options(|| async { playback::preflight() }),
            )
            .fallback(
                move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                    let server = self.clone();
                    async move { server.answer(&method, &uri, &headers, &body).await }
                },
            );
        if let Err(err) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!("the IVS API server stopped: {err}");
        }
    }

    /// The web console's page, files and JSON.
    fn console_routes(&self) -> axum::Router {
        use axum::routing::get;
        let registry = &self.context.registry;
        let (for_channels, for_key, for_recordings, for_events) = (
            registry.clone(),
            registry.clone(),
            registry.clone(),
            registry.clone(),
        );
        let (settings, key_settings) = (self.console.clone(), self.console.clone());
        let file = |uri: Uri| async move {
            console::asset(uri.path())
                .unwrap_or_else(|| (StatusCode::NOT_FOUND, "no such console file").into_response())
        };
        axum::Router::new()
            .route("/", get(file))
            .route("/console/{file}", get(file))
            .route(
                "/console/api/channels",
                get(move || async move {
                    console::no_cache(console::channels(&for_channels, &settings).await)
                }),
            )
            .route(
                "/console/api/channels/key",
                get(move |uri: Uri| async move {
                    console::stream_key(&for_key, &key_settings, uri.query().unwrap_or_default())
                }),
            )
            .route(
                "/console/api/recordings",
                get(move || async move {
                    console::no_cache(console::recordings(&for_recordings).await)
                }),
            )
            .route(
                "/console/api/events",
                get(move || async move { console::events(&for_events) }),
            )
    }

    /// Answers one HTTP request.
    pub async fn answer(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response {
        // Named as soon as the path names an operation, even when the request is then refused.
        let operation_name = route(method, uri.path())
            .map_or_else(|_| String::from("Unknown"), |(operation, _)| operation);
        let outcome = match self.parse(method, uri, headers, body) {
            Ok(request) => {
                let answer = self.dispatch(&request).await;
                if let Err(err) = &answer {
                    tracing::info!(operation = request.operation, "{err}");
                }
                answer.map(|body| (request.operation, body))
            }
            Err(err) => {
                tracing::info!(path = uri.path(), "refused: {err}");
                Err(err)
            }
        };
        let response = match outcome {
            Ok((operation, body)) => success(&operation, body),
            Err(err) => failure(&err),
        };
        crate::metrics::global().api_request(&operation_name, response.status().as_u16());
        response
    }

    fn parse(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<ApiRequest, ApiError> {
        let (operation, resource_arn) = route(method, uri.path())?;
        let header_pairs: Vec<(String, String)> = headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let signed = SignedRequest {
            method: method.as_str(),
            path: uri.path(),
            query: uri.query().unwrap_or_default(),
            headers: &header_pairs,
            body,
        };
        sigv4::verify(&signed, self.credentials.as_deref())
            .map_err(|err| ApiError::new(ErrorKind::AccessDenied, err.to_string()))?;
        let mut input = if body.iter().all(u8::is_ascii_whitespace) {
            Map::new()
        } else {
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(input)) => input,
                Ok(_) => {
                    return Err(ApiError::new(
                        ErrorKind::Validation,
                        "the request body must be a JSON object",
                    ));
                }
                Err(err) => {
                    return Err(ApiError::new(
                        ErrorKind::Validation,
                        format!("the request body is not valid JSON: {err}"),
                    ));
                }
            }
        };
        if let Some(arn) = resource_arn {
            input.insert("resourceArn".into(), json!(arn));
            if operation == "UntagResource" {
                let keys: Vec<Value> = query_values(uri.query().unwrap_or_default(), "tagKeys")
                    .into_iter()
                    .map(Value::String)
                    .collect();
                input.insert("tagKeys".into(), Value::Array(keys));
            }
        }
        let value = Value::Object(input);
        validate_input(ServiceModel::ivs(), &operation, &value)?;
        let Value::Object(input) = value else {
            unreachable!("built as an object above")
        };
        Ok(ApiRequest { operation, input })
    }

    async fn dispatch(&self, request: &ApiRequest) -> Result<Value, ApiError> {
        let context = &self.context;
        let input = &request.input;
        match request.operation.as_str() {
            "CreateRecordingConfiguration" => recording_configurations::create(context, input),
            "GetRecordingConfiguration" => recording_configurations::get(context, input),
            "ListRecordingConfigurations" => recording_configurations::list(context, input),
            "DeleteRecordingConfiguration" => recording_configurations::delete(context, input),
            "CreateChannel" => channels::create(context, input),
            "GetChannel" => channels::get(context, input),
            "BatchGetChannel" => channels::batch(context, input),
            "ListChannels" => channels::list(context, input),
            "UpdateChannel" => channels::update(context, input),
            "DeleteChannel" => channels::delete(context, input),
            "CreateStreamKey" => stream_keys::create(context, input),
            "GetStreamKey" => stream_keys::get(context, input),
            "BatchGetStreamKey" => stream_keys::batch(context, input),
            "ListStreamKeys" => stream_keys::list(context, input),
            "DeleteStreamKey" => stream_keys::delete(context, input),
            "GetStream" => streams::get(context, input),
            "ListStreams" => streams::list(context, input),
            "StopStream" => streams::stop(context, input),
            "PutMetadata" => streams::put_metadata(context, input).await,
            "GetStreamSession" => streams::get_session(context, input),
            "ListStreamSessions" => streams::list_sessions(context, input),
            "ListTagsForResource" => tags::list(context, input),
            "TagResource" => tags::tag(context, input),
            "UntagResource" => tags::untag(context, input),
            "ImportPlaybackKeyPair" => stored::import_key_pair(context, input),
            "StartViewerSessionRevocation" => stored::revoke_viewer(context, input),
            "BatchStartViewerSessionRevocation" => stored::revoke_viewers(context, input),
            "InsertAdBreak" => stored::insert_ad_break(context, input),
            operation => stored_operation(context, operation, input),
        }
    }
}

/// The Create/Get/List/Update/Delete operations of the stored kinds.
fn stored_operation(
    context: &Context,
    operation: &str,
    input: &Map<String, Value>,
) -> Result<Value, ApiError> {
    const KINDS: [(&str, &str, stored::StoredKind); 4] = [
        ("PlaybackKeyPair", "PlaybackKeyPairs", stored::KEY_PAIRS),
        (
            "PlaybackRestrictionPolicy",
            "PlaybackRestrictionPolicies",
            stored::RESTRICTION_POLICIES,
        ),
        (
            "AdConfiguration",
            "AdConfigurations",
            stored::AD_CONFIGURATIONS,
        ),
        (
            "FailoverSlateConfiguration",
            "FailoverSlateConfigurations",
            stored::FAILOVER_SLATES,
        ),
    ];
    for (one, many, kind) in KINDS {
        let Some(verb) = operation
            .strip_suffix(one)
            .or_else(|| operation.strip_suffix(many))
        else {
            continue;
        };
        return match (verb, operation.ends_with(many)) {
            ("Create", false) => stored::create(context, kind, input),
            ("Get", false) => stored::get(context, kind, input),
            ("Update", false) => stored::update(context, kind, input),
            ("Delete", false) => stored::delete(context, kind, input),
            ("List", true) => stored::list(context, kind, input),
            _ => break,
        };
    }
    Err(ApiError::new(
        ErrorKind::InternalServer,
        format!("{operation} is in the model but not served"),
    ))
}

/// The operation a method and path name, and the tag operations' resource ARN.
fn route(method: &Method, path: &str) -> Result<(String, Option<String>), ApiError> {
    let model = ServiceModel::ivs();
    if let Some(encoded) = path.strip_prefix("/tags/") {
        let arn = percent_decode_str(encoded).decode_utf8_lossy().into_owned();
        let operation = match *method {
            Method::GET => "ListTagsForResource",
            Method::POST => "TagResource",
            Method::DELETE => "UntagResource",
            _ => {
                return Err(ApiError::new(
                    ErrorKind::UnknownOperation,
                    format!(
                        "{method} {path}: tags are read with GET, set with POST, removed with DELETE"
                    ),
                ));
            }
        };
        return Ok((operation.to_owned(), Some(arn)));
    }
    let name = path.trim_start_matches('/');
    match model.operations.get(name) {
        Some(operation)
            if operation.http.request_uri == path && operation.http.method == method.as_str() =>
        {
            Ok((name.to_owned(), None))
        }
        Some(operation) => Err(ApiError::new(
            ErrorKind::UnknownOperation,
            format!(
                "{name} is {} {}",
                operation.http.method, operation.http.request_uri
            ),
        )),
        None => Err(ApiError::new(
            ErrorKind::UnknownOperation,
            format!(
                "{method} {path}: no such IVS operation (operations are POST /<OperationName>)"
            ),
        )),
    }
}

fn json_response(status: u16, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn success(operation: &str, body: Value) -> Response {
    let status = ServiceModel::ivs()
        .operations
        .get(operation)
        .map_or(200, |op| op.http.response_code);
    if status == 204 {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        return response;
    }
    let body = if body.is_null() { json!({}) } else { body };
    json_response(status, body.to_string())
}

fn failure(err: &ApiError) -> Response {
    let mut response = json_response(err.kind.status(), err.body());
    if let Ok(name) = HeaderValue::from_str(err.kind.name()) {
        response.headers_mut().insert("x-amzn-errortype", name);
    }
    response
}

/// `GET /metrics`: the process's metrics in the Prometheus text format, the live streams and
/// their ingest taken now.
fn metrics_page(registry: &IngestRegistry) -> Response {
    use axum::response::IntoResponse;
    let metrics = crate::metrics::global();
    let live: Vec<_> = registry
        .live_streams()
        .iter()
        .map(|stream| stream.ingest_sample())
        .collect();
    metrics.set_live(&live);
    (
        [(axum::http::header::CONTENT_TYPE, prometheus::TEXT_FORMAT)],
        metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_operations_and_tag_paths() {
        assert_eq!(
            route(&Method::POST, "/GetChannel").unwrap(),
            ("GetChannel".to_owned(), None)
        );
        let (operation, arn) = route(
            &Method::DELETE,
            "/tags/arn%3Aaws%3Aivs%3Aus-west-2%3A123456789012%3Achannel%2Fabc",
        )
        .unwrap();
        assert_eq!(operation, "UntagResource");
        assert_eq!(
            arn.unwrap(),
            "arn:aws:ivs:us-west-2:123456789012:channel/abc"
        );
        assert_eq!(
            route(&Method::POST, "/MakeCoffee").unwrap_err().kind,
            ErrorKind::UnknownOperation
        );
        assert_eq!(
            route(&Method::GET, "/GetChannel").unwrap_err().kind,
            ErrorKind::UnknownOperation
        );
    }
}
