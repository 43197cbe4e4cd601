//! What players fetch from `serve`'s HTTP port, from any origin (`Access-Control-Allow-Origin: *`,
//! preflights answered):
//!
//! - live playback at each channel's `playbackUrl` path, from the stream's
//!   [`LiveWindow`]: `/api/video/v1/<region>.<account>.channel.<id>.m3u8` (multivariant),
//!   `…<id>/<rendition>.m3u8` (sliding-window media playlist), `…<id>/<rendition>/<n>.ts` (one
//!   GOP); 404 when the channel is not live, as IVS's playback answers. Media playlists answer
//!   blocking reloads (`_HLS_msn`, `CAN-BLOCK-RELOAD=YES`), so a player learns of a GOP as soon
//!   as it closes instead of at its next poll;
//! - recorded objects at `/recordings/<bucket>/<key>`, for the buckets of the recording
//!   configurations, with `Range` answered by 206 (the byte-range playlists need it).

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;

use super::query::query_values;
use crate::control::arn::ResourceKind;
use crate::hls::live_window::LiveWindow;
use crate::live::registry::IngestRegistry;

/// Where live playback paths start.
pub const PLAYBACK_PREFIX: &str = "/api/video/v1/";
/// Where recorded objects are served.
pub const RECORDINGS_PREFIX: &str = "/recordings/";

const PLAYLIST_TYPE: &str = "application/vnd.apple.mpegurl";
/// How long a blocking playlist reload waits for the GOP it names (three 2 s GOPs).
const BLOCKING_RELOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(6);

/// What a path under [`PLAYBACK_PREFIX`] asks for; `stem` is `<region>.<account>.channel.<id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaybackRequest<'a> {
    /// `<stem>.m3u8`.
    Multivariant {
        /// The channel's file stem.
        stem: &'a str,
    },
    /// `<stem>/<rendition>.m3u8`.
    MediaPlaylist {
        /// The channel's file stem.
        stem: &'a str,
        /// e.g. `480p30`.
        rendition: &'a str,
    },
    /// `<stem>/<rendition>/<index>.ts`.
    Segment {
        /// The channel's file stem.
        stem: &'a str,
        /// e.g. `480p30`.
        rendition: &'a str,
        /// The GOP's number.
        index: u64,
    },
}

impl<'a> PlaybackRequest<'a> {
    /// Reads the part of a path after [`PLAYBACK_PREFIX`].
    pub fn parse(rest: &'a str) -> Option<Self> {
        let parts: Vec<&str> = rest.split('/').collect();
        match parts.as_slice() {
            [file] => Some(Self::Multivariant {
                stem: file.strip_suffix(".m3u8")?,
            }),
            [stem, file] => Some(Self::MediaPlaylist {
                stem,
                rendition: file.strip_suffix(".m3u8")?,
            }),
            [stem, rendition, file] => Some(Self::Segment {
                stem,
                rendition,
                index: file.strip_suffix(".ts")?.parse().ok()?,
            }),
            _ => None,
        }
    }

    /// The channel's file stem.
    pub fn stem(&self) -> &'a str {
        match self {
            Self::Multivariant { stem }
            | Self::MediaPlaylist { stem, .. }
            | Self::Segment { stem, .. } => stem,
        }
    }
}

/// The channel ARN a playback file stem names (`us-west-2.123456789012.channel.abc` →
/// `arn:aws:ivs:us-west-2:123456789012:channel/abc`).
pub fn channel_arn_of_stem(stem: &str) -> Option<String> {
    let mut parts = stem.splitn(4, '.');
    let (region, account, kind, id) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let plain =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    (kind == "channel" && plain(region) && plain(account) && plain(id))
        .then(|| format!("arn:aws:ivs:{region}:{account}:channel/{id}"))
}

/// Answers a GET of live playback `rest` (the path after [`PLAYBACK_PREFIX`]) with `query` and
/// `headers` (a segment's `Range`).
pub async fn live(
    registry: &IngestRegistry,
    rest: &str,
    query: &str,
    headers: &HeaderMap,
) -> Response {
    let not_live = || not_found("the channel is not live");
    let Some(request) = PlaybackRequest::parse(rest) else {
        return not_found("no such playback path");
    };
    let Some(channel_arn) = channel_arn_of_stem(request.stem()) else {
        return not_found("no such channel");
    };
    let Some(stream) = registry.live_stream(&channel_arn) else {
        return not_live();
    };
    let window: &LiveWindow = &stream.playback;
    match request {
        PlaybackRequest::Multivariant { stem } => {
            window.multivariant(stem).map_or_else(not_live, playlist)
        }
        PlaybackRequest::MediaPlaylist { rendition, .. } => {
            let value = |name: &str| query_values(query, name).into_iter().next();
            if let Some(msn) = value("_HLS_msn") {
                let Ok(msn) = msn.parse() else {
                    return error(StatusCode::BAD_REQUEST, "_HLS_msn must be a number");
                };
                if window
                    .wait_for_gop(rendition, msn, BLOCKING_RELOAD_TIMEOUT)
                    .await
                    .is_err()
                {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "_HLS_msn is more than two segments ahead",
                    );
                }
            }
            let player = value("player");
            window
                .media_playlist(rendition, player.as_deref())
                .map_or_else(not_live, playlist)
        }
        PlaybackRequest::Segment {
            rendition, index, ..
        } => window.segment(rendition, index).map_or_else(
            || not_found("the segment is no longer live"),
            |bytes| bytes_response(bytes, "video/mp2t", headers),
        ),
    }
}

/// Answers a GET of `rest` (`<bucket>/<key>`, the path after [`RECORDINGS_PREFIX`]): the object,
/// or the range of it that `headers` ask for.
pub async fn recorded_object(
    registry: &IngestRegistry,
    rest: &str,
    headers: &HeaderMap,
) -> Response {
    let Some((bucket_name, key)) = rest.split_once('/') else {
        return not_found("no such object");
    };
    if key
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return not_found("no such object");
    }
    if !recording_buckets(registry).iter().any(|b| b == bucket_name) {
        return not_found("no recording configuration names this bucket");
    }
    let bucket = match registry.store().bucket(bucket_name) {
        Ok(bucket) => bucket,
        Err(err) => return error(StatusCode::BAD_GATEWAY, &err.to_string()),
    };
    match bucket.get(key).await {
        Ok(Some(bytes)) => bytes_response(bytes, content_type(key), headers),
        Ok(None) => not_found("no such object"),
        Err(err) => error(StatusCode::BAD_GATEWAY, &err.to_string()),
    }
}

/// The buckets the recording configurations record into.
pub fn recording_buckets(registry: &IngestRegistry) -> Vec<String> {
    let mut buckets: Vec<String> = registry.catalog().read(|txn| {
        txn.list(ResourceKind::RecordingConfiguration)
            .filter_map(|doc| {
                doc.pointer("/destinationConfiguration/s3/bucketName")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
            })
            .collect()
    });
    buckets.sort();
    buckets.dedup();
    buckets
}

/// The content type of a recorded object, by its name.
pub fn content_type(key: &str) -> &'static str {
    match key.rsplit_once('.').map(|(_, ext)| ext) {
        Some("m3u8") => PLAYLIST_TYPE,
        Some("ts") => "video/mp2t",
        Some("jpg") => "image/jpeg",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// The answer to a CORS preflight.
pub fn preflight() -> Response {
    let mut response = with_cors(Response::new(Body::empty()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Range, Content-Type"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

/// `Access-Control-Allow-Origin: *` and the headers a player may read.
pub fn with_cors(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Content-Length, Content-Range, Accept-Ranges"),
    );
    response
}

fn playlist(text: String) -> Response {
    let mut response = Response::new(Body::from(text));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(PLAYLIST_TYPE),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    with_cors(response)
}

/// `bytes` whole (200), or the one range `headers` ask for (206; 416 when it is outside them).
pub fn bytes_response(bytes: Bytes, content_type: &'static str, headers: &HeaderMap) -> Response {
    let size = bytes.len() as u64;
    let range = headers
        .get(header::RANGE)
        .and_then(|value| value.to_str().ok())
        .map(|value| {
            http_range_header::parse_range_header(value)
                .and_then(|ranges| ranges.validate(size))
                .ok()
                .filter(|ranges| ranges.len() == 1 && size > 0)
                .map(|ranges| ranges[0].clone())
        });
    let mut response = match range {
        None => Response::new(Body::from(bytes)),
        Some(Some(range)) => {
            let (start, end) = (*range.start(), *range.end());
            let part = bytes
                .slice(usize::try_from(start).unwrap_or(0)..=usize::try_from(end).unwrap_or(0));
            let mut response = Response::new(Body::from(part));
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            if let Ok(value) = HeaderValue::from_str(&format!("bytes {start}-{end}/{size}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            response
        }
        Some(None) => {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            response
        }
    };
    let out = response.headers_mut();
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    with_cors(response)
}

fn not_found(why: &str) -> Response {
    error(StatusCode::NOT_FOUND, why)
}

fn error(status: StatusCode, why: &str) -> Response {
    let mut response = Response::new(Body::from(format!("{why}\n")));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    with_cors(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_playback_paths() {
        let stem = "us-west-2.123456789012.channel.AbC1";
        assert_eq!(
            PlaybackRequest::parse("us-west-2.123456789012.channel.AbC1.m3u8"),
            Some(PlaybackRequest::Multivariant { stem })
        );
        assert_eq!(
            PlaybackRequest::parse("us-west-2.123456789012.channel.AbC1/480p30.m3u8"),
            Some(PlaybackRequest::MediaPlaylist {
                stem,
                rendition: "480p30"
            })
        );
        assert_eq!(
            PlaybackRequest::parse("us-west-2.123456789012.channel.AbC1/480p30/17.ts"),
            Some(PlaybackRequest::Segment {
                stem,
                rendition: "480p30",
                index: 17
            })
        );
        assert_eq!(PlaybackRequest::parse("a/b/x.ts"), None);
        assert_eq!(PlaybackRequest::parse("a/b/c/1.ts"), None);
        assert_eq!(
            channel_arn_of_stem(stem).unwrap(),
            "arn:aws:ivs:us-west-2:123456789012:channel/AbC1"
        );
        assert_eq!(channel_arn_of_stem("us-west-2.1.stage.x"), None);
        assert_eq!(channel_arn_of_stem("us-west-2.1.channel.a/b"), None);
    }

    #[test]
    fn answers_ranges_with_206_and_bad_ones_with_416() {
        let bytes = Bytes::from_static(b"0123456789");
        let mut headers = HeaderMap::new();
        let whole = bytes_response(bytes.clone(), "video/mp2t", &headers);
        assert_eq!(whole.status(), StatusCode::OK);
        assert_eq!(whole.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        headers.insert(header::RANGE, HeaderValue::from_static("bytes=2-4"));
        let part = bytes_response(bytes.clone(), "video/mp2t", &headers);
        assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(part.headers()[header::CONTENT_RANGE], "bytes 2-4/10");
        headers.insert(header::RANGE, HeaderValue::from_static("bytes=20-30"));
        let outside = bytes_response(bytes, "video/mp2t", &headers);
        assert_eq!(outside.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(outside.headers()[header::CONTENT_RANGE], "bytes */10");
    }
}
