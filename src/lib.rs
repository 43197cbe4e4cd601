//! ivs-recorder: a local stand-in for Amazon IVS "auto-record to S3".
//!
//! It turns a media file or a live RTMP(S) publish into exactly the objects IVS writes in a
//! recording bucket: `events/recording-*.json`, the HLS renditions under `media/hls/`, and
//! interval thumbnails under `media/thumbnails/` and `media/latest_thumbnail/`.
//!
//! # Layout
//!
//! ```text
//!  RTMP(S) ─► live::rtmp ─► live::registry ─► live::recorder (per channel, reconnect window)
//!                                               └─► ingest::live::LiveInput ─┐ same packets
//!  file ──► ingest::FileInput ─┬─ video packets ─► passthrough renditions (BASIC, source) ──┐
//!                              │                 ─► pipeline::decode (once) ─► transcode::video
//!                              │                      │  rungs: scale from the next larger,   │
//!                              │                      │  x264 with IDR at source keyframes ───┤
//!                              │                      └─► thumbnails (schedule) ─► JPEG ──┐   │
//!                              │   (no transcoding: thumbnail::ThumbnailSampler, a gated  │   │
//!                              │    decoder that decodes only the frames it needs) ───────┤   │
//!                              └─ audio packets ─► passthrough / transcode::audio (AAC) ──┼───┤
//!                                                                                         │   ▼
//!                          hls::rendition (segmenter + MPEG-TS mux) ─► hls::publisher ────┼─► D13
//!  recording::recorder: ivs-check, recording-started.json … recording-ended/-failed.json ─┤  order
//!                                                                                         ▼
//!                       storage::ArtifactWriter (one ordered queue; retries, disk spool)
//!                                    │
//!                   object_store: directory | memory | S3 (MinIO, SeaweedFS, AWS)
//! ```
//!
//! - [`model`]: IVS API shapes and their validation.
//! - [`ladder`]: pure; the renditions a channel type makes, selection, thumbnail size.
//! - [`layout`]: pure; every object key.
//! - [`time`]: media time bases and the wall clock.
//! - [`ingest`]: inputs that yield packets.
//! - [`pipeline`]: the video decoder wrapper.
//! - [`thumbnail`]: which frames become thumbnails, and the JPEGs.
//! - [`transcode`]: x264 rungs and AAC re-encoding for the ladders.
//! - [`hls`]: segments, playlists and masters.
//! - [`recording`]: one recording from input to stored objects; its metadata JSON.
//! - [`live`]: `serve`: RTMP ingest, live recording with the reconnect window, sessions, events.
//! - [`storage`]: store locations, the ordered writer and its spool.
//! - [`cli`], [`progress`]: the command line.

#![warn(missing_docs, missing_debug_implementations)]

pub mod av;
pub mod cli;
pub mod codecs;
pub mod error;
pub mod hls;
pub mod ids;
pub mod ingest;
pub mod ladder;
pub mod layout;
pub mod live;
pub mod model;
pub mod pipeline;
pub mod progress;
pub mod recording;
pub mod storage;
pub mod thumbnail;
pub mod time;
