//! End-to-end tests: the real `ivs-recorder` binary (and the library entry point) on real media,
//! checked with independent readers (the `image` crate's JPEG decoder, serde_json, the file system).

mod util;

mod api;
mod architecture;
mod bad_input;
mod bench;
mod browser;
mod encoder_settings;
mod hls;
mod hostile;
mod ladder;
mod live;
mod live_rig;
mod metrics;
mod outage;
mod playback;
mod quality;
mod real_ivs_segments;
mod record;
mod rtmp_client;
mod s3;
mod sdk;
mod seaweedfs;
mod thumbnails;
mod ts_packets;
