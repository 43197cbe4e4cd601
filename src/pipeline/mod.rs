//! Media work shared by every recording: the video decoder, with libavcodec's send/receive
//! protocol wrapped once.

pub mod decode;
