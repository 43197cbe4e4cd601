//! ivs-recorder: a local stand-in for Amazon IVS "auto-record to S3".
//!
//! It turns a media file (and, later, an RTMP publish) into exactly the objects IVS writes in a
//! recording bucket: `events/recording-*.json`, the HLS renditions under `media/hls/`, and
//! interval thumbnails under `media/thumbnails/` and `media/latest_thumbnail/`.
//!
//! # Layout
//!
//! ```text
//!  file ──► ingest::FileInput ── packets ──► thumbnail::ThumbnailSampler ──► thumbnail::worker
//!                                             (decode gate + schedule)        (scale, JPEG)
//!                                                                                  │
//!  recording::recorder  ── ivs-check, recording-started.json ──► storage::ArtifactWriter ◄┘
//!                       ── recording-ended.json / -failed.json ─►   (one ordered queue)
//!                                                                          │
//!                                                          object_store: directory | memory
//! ```
//!
//! - [`model`]: IVS API shapes and their validation.
//! - [`ladder`]: pure; the renditions a channel type makes, selection, thumbnail size.
//! - [`layout`]: pure; every object key.
//! - [`time`]: media time bases and the wall clock.
//! - [`ingest`]: inputs that yield packets.
//! - [`pipeline`]: decoding (the rendition fan-out joins it later).
//! - [`thumbnail`]: which frames become thumbnails, and the JPEGs.
//! - [`hls`]: segments, playlists and masters.
//! - [`recording`]: one recording from input to stored objects; its metadata JSON.
//! - [`storage`]: store locations and the ordered writer.
//! - [`cli`], [`progress`]: the command line.

#![warn(missing_docs, missing_debug_implementations)]

pub mod cli;
pub mod hls;
pub mod ids;
pub mod ingest;
pub mod ladder;
pub mod layout;
pub mod media;
pub mod model;
pub mod pipeline;
pub mod progress;
pub mod recording;
pub mod storage;
pub mod thumbnail;
pub mod time;
pub mod transcode;
