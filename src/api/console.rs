//! The web console at `/`: one page (`web/console/`, built into the binary with hls.js from its
//! npm package) and the read-only JSON it draws from, unsigned like playback:
//!
//! - `GET /console/api/channels`: every channel, its state, ingest URLs, playback path, the live
//!   stream (health, viewers, latest thumbnail);
//! - `GET /console/api/channels/key?arn=…`: a channel's stream key, shown on click (refused when
//!   the API checks signatures: the console has no login);
//! - `GET /console/api/recordings`: the recordings in every recording configuration's bucket,
//!   with their metadata document and thumbnails;
//! - `GET /console/api/events`: the IVS events as they happen (server-sent events).

use std::convert::Infallible;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, TryStreamExt};
use object_store::ObjectStore;
use object_store::path::Path as ObjectPath;
use serde_json::{Value, json};

use super::playback::{RECORDINGS_PREFIX, recording_buckets};
use super::query::query_values;
use crate::control::arn::ResourceKind;
use crate::control::documents::{playback_path, playback_url};
use crate::live::registry::IngestRegistry;

/// The page's files: (path, content type, text).
const ASSETS: [(&str, &str, &str); 3] = [
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("../../web/console/index.html"),
    ),
    (
        "/console/console.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/console/console.js"),
    ),
    (
        "/console/console.css",
        "text/css; charset=utf-8",
        include_str!("../../web/console/console.css"),
    ),
];

/// hls.js, from the npm package `scripts/install-deps.sh` installs (see `build.rs`).
#[cfg(bundled_hls_js)]
const HLS_JS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/web/node_modules/hls.js/dist/hls.min.js"
));
#[cfg(not(bundled_hls_js))]
const HLS_JS: &str = "console.error('hls.js is not in this build: run scripts/install-deps.sh (npm ci in web/), then rebuild');";

/// Where hls.js is served.
pub const HLS_JS_PATH: &str = "/console/hls.min.js";

/// One of the page's files, or `None`.
pub fn asset(path: &str) -> Option<Response> {
    let (content_type, text) = if path == HLS_JS_PATH {
        ("text/javascript; charset=utf-8", HLS_JS)
    } else {
        ASSETS
            .iter()
            .find(|(asset, _, _)| *asset == path)
            .map(|(_, content_type, text)| (*content_type, *text))?
    };
    Some(([(header::CONTENT_TYPE, content_type)], text).into_response())
}

/// What the console shows of the server itself.
#[derive(Debug, Clone, Default)]
pub struct ConsoleSettings {
    /// `rtmp://host:port/app/` (and `rtmps://…`) of the ingest listeners.
    pub ingest_urls: Vec<String>,
    /// Whether stream keys are withheld (the API checks signatures).
    pub hide_stream_keys: bool,
}

/// `GET /console/api/channels`.
pub async fn channels(registry: &IngestRegistry, settings: &ConsoleSettings) -> Response {
    let docs: Vec<Value> = registry
        .catalog()
        .read(|txn| txn.list(ResourceKind::Channel).cloned().collect());
    let mut channels = Vec::new();
    for doc in &docs {
        let arn = doc["arn"].as_str().unwrap_or_default();
        let stream = registry.live_stream(arn);
        let mut thumbnail = None;
        if let Some((bucket, prefix)) = stream.as_ref().and_then(|s| s.playback.recorded_at()) {
            let key = format!("{prefix}/media/latest_thumbnail/thumb.jpg");
            if exists(registry, &bucket, &key).await {
                thumbnail = Some(format!("{RECORDINGS_PREFIX}{bucket}/{key}"));
            }
        }
        let live = stream.map(|stream| {
            json!({
                "streamId": stream.stream_id,
                "startTime": crate::time::rfc3339_seconds(stream.start_time),
                "health": stream.health().as_str(),
                "viewerCount": stream.playback.viewer_count(),
                "playable": stream.playback.is_playable(),
                "renditions": stream.playback.rendition_names(),
                "latestThumbnail": thumbnail,
            })
        });
        channels.push(json!({
                "arn": arn,
                "name": doc["name"],
                "type": doc["type"],
                "latencyMode": doc["latencyMode"],
                "recordingConfigurationArn": doc["recordingConfigurationArn"],
                "state": if live.is_some() { "LIVE" } else { "OFFLINE" },
                "ingestUrls": settings.ingest_urls,
                "playbackUrl": playback_url(doc),
                "playbackPath": playback_path(&playback_url(doc)),
                "stream": live,
        }));
    }
    json_response(&json!({ "channels": channels }))
}

/// `GET /console/api/channels/key?arn=…`.
pub fn stream_key(registry: &IngestRegistry, settings: &ConsoleSettings, query: &str) -> Response {
    if settings.hide_stream_keys {
        return (
            StatusCode::FORBIDDEN,
            "the console shows no stream keys while the API checks signatures: use GetStreamKey",
        )
            .into_response();
    }
    let arn = query_values(query, "arn")
        .into_iter()
        .next()
        .unwrap_or_default();
    let key = registry.catalog().read(|txn| {
        txn.list(ResourceKind::StreamKey)
            .find(|key| key["channelArn"] == arn.as_str())
            .and_then(|key| key["value"].as_str().map(str::to_owned))
    });
    match key {
        Some(value) => json_response(&json!({ "channelArn": arn, "streamKey": value })),
        None => (StatusCode::NOT_FOUND, "no stream key for this channel").into_response(),
    }
}

/// `GET /console/api/recordings`: newest first in each bucket.
pub async fn recordings(registry: &IngestRegistry) -> Response {
    let mut buckets = Vec::new();
    for name in recording_buckets(registry) {
        let listed = match registry.store().bucket(&name) {
            Ok(bucket) => list_recordings(bucket.object_store().as_ref(), &name).await,
            Err(err) => Err(err.to_string()),
        };
        buckets.push(match listed {
            Ok(recordings) => json!({ "bucket": name, "recordings": recordings }),
            Err(err) => json!({ "bucket": name, "recordings": [], "error": err }),
        });
    }
    json_response(&json!({ "buckets": buckets }))
}

/// The recordings of one bucket: each one's prefix, state, metadata document and thumbnails.
async fn list_recordings(store: &dyn ObjectStore, bucket: &str) -> Result<Vec<Value>, String> {
    let keys: Vec<String> = store
        .list(Some(&ObjectPath::from("ivs/v1")))
        .map_ok(|meta| meta.location.to_string())
        .try_collect()
        .await
        .map_err(|err| err.to_string())?;
    let mut recordings = Vec::new();
    for started in keys
        .iter()
        .filter(|key| key.ends_with("/events/recording-started.json"))
    {
        let prefix = started.trim_end_matches("/events/recording-started.json");
        let document = |name: &str| format!("{prefix}/events/{name}");
        let mut state = "RECORDING";
        let mut metadata = None;
        for (name, ending) in [
            ("recording-ended.json", "ENDED"),
            ("recording-failed.json", "FAILED"),
        ] {
            if keys.contains(&document(name)) {
                state = ending;
                metadata = read_json(store, &document(name)).await;
            }
        }
        let mut thumbnails: Vec<(u64, &String)> = keys
            .iter()
            .filter_map(|key| {
                let number = key
                    .strip_prefix(&format!("{prefix}/media/thumbnails/thumb"))?
                    .strip_suffix(".jpg")?
                    .parse()
                    .ok()?;
                Some((number, key))
            })
            .collect();
        thumbnails.sort();
        let url = |key: &str| format!("{RECORDINGS_PREFIX}{bucket}/{key}");
        let started_doc = read_json(store, started).await;
        recordings.push(json!({
            "prefix": prefix,
            "state": state,
            "startedAt": started_doc.as_ref().and_then(|d| d.get("recording_started_at")).cloned(),
            "channelArn": started_doc.as_ref().and_then(|d| d.get("channel_arn")).cloned(),
            "metadata": metadata,
            "thumbnails": thumbnails.iter().map(|(_, key)| url(key)).collect::<Vec<_>>(),
            "playback": url(&format!("{prefix}/media/hls/byte-range-multivariant.m3u8")),
        }));
    }
    recordings.sort_by(|a, b| b["startedAt"].as_str().cmp(&a["startedAt"].as_str()));
    Ok(recordings)
}

/// Whether `key` is in `bucket` now.
async fn exists(registry: &IngestRegistry, bucket: &str, key: &str) -> bool {
    match registry.store().bucket(bucket) {
        Ok(bucket) => bucket
            .object_store()
            .head(&ObjectPath::from(key))
            .await
            .is_ok(),
        Err(_) => false,
    }
}

async fn read_json(store: &dyn ObjectStore, key: &str) -> Option<Value> {
    let bytes = store
        .get(&ObjectPath::from(key))
        .await
        .ok()?
        .bytes()
        .await
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// `GET /console/api/events`: every IVS event from now on, as server-sent events named after the
/// event's `detail-type` with its JSON envelope as data.
pub fn events(
    registry: &IngestRegistry,
) -> Sse<impl Stream<Item = Result<Event, Infallible>> + use<>> {
    let receiver = registry.events().watch();
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let event = match receiver.recv().await {
            Ok(line) => Event::default().event("ivs").data(line),
            Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                Event::default().event("missed").data(missed.to_string())
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(event), receiver))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

fn json_response(value: &Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// Marks a response as not to be cached (the JSON changes as streams come and go).
pub fn no_cache(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
