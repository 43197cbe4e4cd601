//! The FLV tag bodies an RTMP publisher sends (video and audio messages), read into what the
//! recorder needs: H.264 configuration and frames, AAC configuration and frames. Pure.
//!
//! IVS ingests H.264 video and AAC audio; anything else is refused with its name.

/// Why a tag body cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlvError {
    /// A message with no bytes.
    #[error("an empty {0} message")]
    Empty(&'static str),
    /// A tag body shorter than its header.
    #[error("a {what} message of {len} bytes is too short")]
    Truncated {
        /// Which kind of message.
        what: &'static str,
        /// How long it was.
        len: usize,
    },
    /// Video that is not H.264.
    #[error("video codec {0} is not supported: IVS ingests H.264")]
    VideoCodec(String),
    /// Audio that is not AAC.
    #[error("audio codec {0} is not supported: IVS ingests AAC")]
    AudioCodec(String),
    /// An AudioSpecificConfig that cannot be read.
    #[error("the AAC configuration is invalid: {0}")]
    AudioConfig(&'static str),
}

/// A video message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoTag<'a> {
    /// The AVCDecoderConfigurationRecord (avcC): SPS and PPS.
    SequenceHeader(&'a [u8]),
    /// One access unit, NAL units with 4-byte (usually) length prefixes.
    Frame {
        /// A keyframe (IDR).
        keyframe: bool,
        /// pts - dts in ms.
        composition_ms: i32,
        /// The NAL units.
        data: &'a [u8],
    },
    /// End of sequence, or an info/command frame: nothing to record.
    Ignored,
}

/// An audio message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioTag<'a> {
    /// The AudioSpecificConfig.
    SequenceHeader(&'a [u8]),
    /// One raw AAC frame.
    Frame(&'a [u8]),
}

/// FLV video codec ids (the low nibble of the first byte).
fn video_codec_name(id: u8) -> String {
    match id {
        2 => "Sorenson H.263".to_owned(),
        3 => "Screen video".to_owned(),
        4 => "VP6".to_owned(),
        5 => "VP6 with alpha".to_owned(),
        6 => "Screen video 2".to_owned(),
        12 => "HEVC".to_owned(),
        other => format!("id {other}"),
    }
}

/// FLV sound formats (the high nibble of the first byte).
fn audio_codec_name(id: u8) -> String {
    match id {
        0 | 3 => "PCM".to_owned(),
        1 => "ADPCM".to_owned(),
        2 => "MP3".to_owned(),
        4..=6 => "Nellymoser".to_owned(),
        7 => "G.711 A-law".to_owned(),
        8 => "G.711 mu-law".to_owned(),
        11 => "Speex".to_owned(),
        14 => "MP3 8 kHz".to_owned(),
        other => format!("id {other}"),
    }
}

/// Reads a video message body.
pub fn parse_video(body: &[u8]) -> Result<VideoTag<'_>, FlvError> {
    let &first = body.first().ok_or(FlvError::Empty("video"))?;
    if first & 0x80 != 0 {
        // Enhanced RTMP: a FourCC names the codec (hvc1, av01, vp09…), never plain H.264.
        let fourcc = body.get(1..5).map_or_else(
            || "unknown".to_owned(),
            |c| String::from_utf8_lossy(c).into(),
        );
        return Err(FlvError::VideoCodec(fourcc));
    }
    let frame_type = first >> 4;
    let codec = first & 0x0f;
    if codec != 7 {
        return Err(FlvError::VideoCodec(video_codec_name(codec)));
    }
    if frame_type == 5 {
        return Ok(VideoTag::Ignored);
    }
    if body.len() < 5 {
        return Err(FlvError::Truncated {
            what: "H.264 video",
            len: body.len(),
        });
    }
    let composition = i32::from_be_bytes([0, body[2], body[3], body[4]]);
    // Sign-extend the 24-bit value.
    let composition_ms = (composition << 8) >> 8;
    let data = &body[5..];
    match body[1] {
        0 => Ok(VideoTag::SequenceHeader(data)),
        1 => Ok(VideoTag::Frame {
            keyframe: frame_type == 1,
            composition_ms,
            data,
        }),
        _ => Ok(VideoTag::Ignored),
    }
}

/// Reads an audio message body.
pub fn parse_audio(body: &[u8]) -> Result<AudioTag<'_>, FlvError> {
    let &first = body.first().ok_or(FlvError::Empty("audio"))?;
    let format = first >> 4;
    if format != 10 {
        return Err(FlvError::AudioCodec(audio_codec_name(format)));
    }
    if body.len() < 2 {
        return Err(FlvError::Truncated {
            what: "AAC audio",
            len: body.len(),
        });
    }
    Ok(match body[1] {
        0 => AudioTag::SequenceHeader(&body[2..]),
        _ => AudioTag::Frame(&body[2..]),
    })
}

/// What an AudioSpecificConfig says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AacConfig {
    /// Audio object type (2 = AAC-LC).
    pub object_type: u8,
    /// Samples per second.
    pub sample_rate: u32,
    /// Channel count (0 = defined in the stream, taken as 2).
    pub channels: u8,
}

const AAC_SAMPLE_RATES: [u32; 13] = [
    96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000,
    7_350,
];

/// Reads an AudioSpecificConfig (ISO 14496-3 1.6.2.1): object type, sampling rate, channels.
pub fn parse_aac_config(config: &[u8]) -> Result<AacConfig, FlvError> {
    let mut bits = Bits::new(config);
    let too_short = FlvError::AudioConfig("too short");
    let mut object_type = bits.take(5).ok_or(too_short.clone())?;
    if object_type == 31 {
        object_type = 32 + bits.take(6).ok_or(too_short.clone())?;
    }
    let rate_index = bits.take(4).ok_or(too_short.clone())?;
    let sample_rate = if rate_index == 15 {
        bits.take(24).ok_or(too_short.clone())?
    } else {
        *AAC_SAMPLE_RATES
            .get(rate_index as usize)
            .ok_or(FlvError::AudioConfig("reserved sampling frequency index"))?
    };
    let channels = bits.take(4).ok_or(too_short)?;
    Ok(AacConfig {
        object_type: u8::try_from(object_type).unwrap_or(u8::MAX),
        sample_rate,
        channels: if channels == 0 {
            2
        } else {
            u8::try_from(channels).unwrap_or(2)
        },
    })
}

/// A big-endian bit reader.
struct Bits<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Bits<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, position: 0 }
    }

    fn take(&mut self, count: usize) -> Option<u32> {
        let mut value = 0u32;
        for _ in 0..count {
            let byte = self.bytes.get(self.position / 8)?;
            let bit = (byte >> (7 - self.position % 8)) & 1;
            value = (value << 1) | u32::from(bit);
            self.position += 1;
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_avc_sequence_header() {
        let body = [0x17, 0x00, 0, 0, 0, 0x01, 0x4d, 0x40, 0x1f];
        assert_eq!(
            parse_video(&body),
            Ok(VideoTag::SequenceHeader(&[0x01, 0x4d, 0x40, 0x1f]))
        );
    }

    #[test]
    fn reads_key_and_inter_frames_with_signed_composition_time() {
        let key = [0x17, 0x01, 0x00, 0x00, 0x42, 0xaa];
        assert_eq!(
            parse_video(&key),
            Ok(VideoTag::Frame {
                keyframe: true,
                composition_ms: 66,
                data: &[0xaa],
            })
        );
        let inter = [0x27, 0x01, 0xff, 0xff, 0xdf, 0xbb];
        assert_eq!(
            parse_video(&inter),
            Ok(VideoTag::Frame {
                keyframe: false,
                composition_ms: -33,
                data: &[0xbb],
            })
        );
    }

    #[test]
    fn refuses_video_that_is_not_h264_by_name() {
        let vp6 = [0x14, 0x00];
        assert_eq!(
            parse_video(&vp6).unwrap_err().to_string(),
            "video codec VP6 is not supported: IVS ingests H.264"
        );
        let enhanced_hevc = [0x90, b'h', b'v', b'c', b'1'];
        assert_eq!(
            parse_video(&enhanced_hevc),
            Err(FlvError::VideoCodec("hvc1".to_owned()))
        );
        assert_eq!(parse_video(&[]), Err(FlvError::Empty("video")));
        assert!(matches!(
            parse_video(&[0x17, 0x01]),
            Err(FlvError::Truncated { len: 2, .. })
        ));
    }

    #[test]
    fn end_of_sequence_and_info_frames_are_ignored() {
        assert_eq!(parse_video(&[0x17, 0x02, 0, 0, 0]), Ok(VideoTag::Ignored));
        assert_eq!(parse_video(&[0x57, 0x00]), Ok(VideoTag::Ignored));
    }

    #[test]
    fn reads_aac_messages_and_refuses_mp3() {
        assert_eq!(
            parse_audio(&[0xaf, 0x00, 0x11, 0x90]),
            Ok(AudioTag::SequenceHeader(&[0x11, 0x90]))
        );
        assert_eq!(
            parse_audio(&[0xaf, 0x01, 0x21]),
            Ok(AudioTag::Frame(&[0x21]))
        );
        assert_eq!(
            parse_audio(&[0x2f, 0x01]),
            Err(FlvError::AudioCodec("MP3".to_owned()))
        );
    }

    #[test]
    fn reads_audio_specific_configs() {
        // AAC-LC, 48 kHz, stereo: 00010 0011 0010 000
        assert_eq!(
            parse_aac_config(&[0x11, 0x90]),
            Ok(AacConfig {
                object_type: 2,
                sample_rate: 48_000,
                channels: 2
            })
        );
        // AAC-LC, 44.1 kHz, mono: 00010 0100 0001 000
        assert_eq!(
            parse_aac_config(&[0x12, 0x08]),
            Ok(AacConfig {
                object_type: 2,
                sample_rate: 44_100,
                channels: 1
            })
        );
        assert!(parse_aac_config(&[0x11]).is_err());
        assert!(parse_aac_config(&[0x16, 0x90]).is_err());
    }
}
