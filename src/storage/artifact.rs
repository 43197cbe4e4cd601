//! What the recorder stores: an object key, its bytes and its Content-Type (decision D14).

use bytes::Bytes;

/// An object to store.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// Full key, prefix included.
    pub key: String,
    /// The object's bytes.
    pub bytes: Bytes,
    /// Its Content-Type (decision D14).
    pub content_type: &'static str,
}

impl Artifact {
    /// A JSON document.
    pub fn json(key: String, json: String) -> Self {
        Self {
            key,
            bytes: Bytes::from(json),
            content_type: "application/json",
        }
    }

    /// A JPEG image.
    pub fn jpeg(key: String, bytes: Bytes) -> Self {
        Self {
            key,
            bytes,
            content_type: "image/jpeg",
        }
    }

    /// An HLS playlist.
    pub fn playlist(key: String, text: String) -> Self {
        Self {
            key,
            bytes: Bytes::from(text),
            content_type: "application/x-mpegURL",
        }
    }

    /// An MPEG-TS segment.
    pub fn segment(key: String, bytes: Bytes) -> Self {
        Self {
            key,
            bytes,
            content_type: "video/MP2T",
        }
    }

    /// An empty marker object (`events/ivs-check`).
    pub fn empty(key: String) -> Self {
        Self {
            key,
            bytes: Bytes::new(),
            content_type: "application/octet-stream",
        }
    }

    /// The `'static` Content-Type matching `text` (one of D14's), `application/octet-stream`
    /// for anything else.
    pub fn known_content_type(text: &str) -> &'static str {
        [
            "application/json",
            "image/jpeg",
            "application/x-mpegURL",
            "video/MP2T",
            "application/octet-stream",
        ]
        .into_iter()
        .find(|known| *known == text)
        .unwrap_or("application/octet-stream")
    }
}
