//! ivs-recorder: a local stand-in for Amazon IVS "auto-record to S3".
//!
//! It turns a media file or a live RTMP(S) publish into exactly the objects IVS writes in a
//! recording bucket: `events/recording-*.json`, the HLS renditions under `media/hls/`, and
//! interval thumbnails under `media/thumbnails/` and `media/latest_thumbnail/`.
//!
//! # Layout
//!
//! ```text
//!  RTMP(S) ─► live::rtmp ─► live::registry ─► live::channel_recorder (a thread per channel,
//!                                               │  reconnect window, events, sessions)
//!                                               └─► ingest::live::LiveInput ─┐
//!  file ───► ingest::FileInput ───────────────────────────────────────────────┤ packets
//!                                                                             ▼
//!  recording::session (one recording: D13 order, started → ended | failed)
//!    └─ recording::packet_loop (stream by stream; the media timeline)
//!         └─ pipeline::driver: decode once, fan out
//!              ├─ packet sinks: passthrough renditions; gated thumbnail sampler (no ladder)
//!              ├─ frame sinks:  pipeline::rung_chain (720p ─► 480p ─► … : scale + x264,
//!              │                a thread per rung); pipeline::thumbnail_tap
//!              └─ audio: passthrough, or pipeline::audio (AAC per bitrate)
//!                   │ PipelineSink
//!                   ├─► hls::output ─► hls::rendition (segmenter + av::ts_mux) ─► hls::publisher
//!                   └─► thumbnail::worker (scale + JPEG on its own thread)
//!                                         │
//!                        storage::ArtifactWriter (one ordered queue; retries, disk spool)
//!                                         │
//!                   object_store: directory | memory | S3 (MinIO, SeaweedFS, AWS)
//! ```
//!
//! Layers, lowest first (a module imports only from its own layer or below; no cycles; checked by
//! `tests/integration/architecture.rs`):
//!
//! 1. [`av`] (the one FFI module: every `unsafe` block), [`codecs`], [`cpu_time`], [`error`], [`ids`],
//!    [`ladder`], [`layout`], [`metrics`], [`model`], [`time`], [`timeline`], [`x264_cpu`]:
//!    foundations, most of them pure.
//! 2. [`ingest`] (inputs that yield packets), [`storage`] (buckets, the ordered writer, spool).
//! 3. [`thumbnail`] (which frames, the JPEGs), [`hls`] (segments, playlists, masters),
//!    [`pipeline`] (the decoder, the rungs, the fan-out), [`quality`] (PSNR / SSIM against the
//!    source, for `bench`).
//! 4. [`recording`]: one recording from input to stored objects; its metadata JSON.
//! 5. [`live`]: `serve` as a library ([`live::LiveServer`]): RTMP ingest, live recording with the
//!    reconnect window, sessions, events.
//!    [`control`]: the control plane's resources (one catalog for API and ingest; SQLite).
//!    [`api`]: the IVS control plane as REST-JSON, live playback at each channel's `playbackUrl`
//!    (from [`hls::live_window`], fed GOP by GOP by the recording), recorded objects over HTTP,
//!    the web console and `/metrics`; [`api::server::run`] is `serve` whole.
//!    [`publish`]: a light RTMP(S) publisher replaying files at real time (`publish`).
//!    [`bench`]: encoder settings measured (speed, bitrate, quality) on a file (`bench`).
//! 6. [`cli`], [`progress`]: the command line.

#![warn(missing_docs, missing_debug_implementations)]

pub mod api;
pub mod av;
pub mod bench;
pub mod cli;
pub mod codecs;
pub mod control;
pub mod cpu_time;
pub mod error;
pub mod hls;
pub mod ids;
pub mod ingest;
pub mod ladder;
pub mod layout;
pub mod live;
pub mod metrics;
pub mod model;
pub mod pipeline;
pub mod progress;
pub mod publish;
pub mod quality;
pub mod recording;
pub mod storage;
pub mod thumbnail;
pub mod time;
pub mod timeline;
pub mod x264_cpu;
