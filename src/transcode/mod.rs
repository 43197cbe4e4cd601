//! Transcoding for the ladders of STANDARD and ADVANCED channels: one encoder per transcoded
//! rung ([`video`]) and one AAC encoder per audio bitrate ([`audio`]).

pub mod audio;
pub mod video;
