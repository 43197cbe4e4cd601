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
    /// For a thumbnail: when the frame it shows entered the recorder (the store times the delay
    /// to its storing, for `/metrics`). Not kept through the disk spool.
    pub taken_at: Option<std::time::Instant>,
}

impl Artifact {
    /// A JSON document.
    pub fn json(key: String, json: String) -> Self {
        Self {
            key,
            bytes: Bytes::from(json),
            content_type: "application/json",
            taken_at: None,
        }
    }

    /// A JPEG image.
    pub fn jpeg(key: String, bytes: Bytes) -> Self {
        Self {
            key,
            bytes,
            content_type: "image/jpeg",
            taken_at: None,
        }
    }

    /// The same object, noted as showing a frame that entered the recorder at `at`.
    pub fn taken_at(mut self, at: std::time::Instant) -> Self {
        self.taken_at = Some(at);
        self
    }

    /// An HLS playlist.
    pub fn playlist(key: String, text: String) -> Self {
        Self {
            key,
            bytes: Bytes::from(text),
            content_type: "application/x-mpegURL",
            taken_at: None,
        }
    }

    /// An MPEG-TS segment.
    pub fn segment(key: String, bytes: Bytes) -> Self {
        Self {
            key,
            bytes,
            content_type: "video/MP2T",
            taken_at: None,
        }
    }

    /// An empty marker object (`events/ivs-check`).
    pub fn empty(key: String) -> Self {
        Self {
            key,
            bytes: Bytes::new(),
            content_type: "application/octet-stream",
            taken_at: None,
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
