//! Media work shared by every recording: decoding now; the rendition fan-out joins it with HLS.

pub mod decode;
