//! Codec parameters built from configuration bytes (a live stream has no demuxer to fill them),
//! and the configuration bytes ("extradata": avcC, AudioSpecificConfig, …) of any stream.

use ffmpeg::ffi;
use ffmpeg_next as ffmpeg;

/// libavutil could not allocate a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("out of memory: libavutil could not allocate {bytes} bytes of codec configuration")]
pub struct AllocError {
    /// What was asked for.
    pub bytes: usize,
}

/// libavcodec's short name of codec `id` (`h264`, `hevc`, `aac`, `mp3`, …).
pub fn codec_name(id: ffmpeg::codec::Id) -> String {
    id.name().to_owned()
}

/// The codec configuration bytes of a stream (empty when it has none).
pub fn extradata(parameters: &ffmpeg::codec::Parameters) -> Vec<u8> {
    // SAFETY: `parameters` owns a valid AVCodecParameters; extradata is `extradata_size` bytes.
    unsafe {
        let raw = parameters.as_ptr();
        let size = usize::try_from((*raw).extradata_size).unwrap_or(0);
        if (*raw).extradata.is_null() || size == 0 {
            Vec::new()
        } else {
            std::slice::from_raw_parts((*raw).extradata, size).to_vec()
        }
    }
}

/// `parameters` without their container's codec tag (an MP4's `avc1`), as another muxer (FLV)
/// needs them for a stream copy.
pub fn without_codec_tag(parameters: &ffmpeg::codec::Parameters) -> ffmpeg::codec::Parameters {
    let mut copy = parameters.clone();
    // SAFETY: `copy` owns its AVCodecParameters; `codec_tag` is a plain integer field.
    unsafe {
        (*copy.as_mut_ptr()).codec_tag = 0;
    }
    copy
}

/// Codec parameters of an H.264 stream configured by `avcc` (an AVCDecoderConfigurationRecord).
pub fn h264_parameters(avcc: &[u8]) -> Result<ffmpeg::codec::Parameters, AllocError> {
    let mut parameters = ffmpeg::codec::Parameters::new();
    // SAFETY: `parameters` owns a freshly allocated AVCodecParameters with no extradata yet.
    unsafe {
        let raw = parameters.as_mut_ptr();
        (*raw).codec_type = ffi::AVMediaType::AVMEDIA_TYPE_VIDEO;
        (*raw).codec_id = ffi::AVCodecID::AV_CODEC_ID_H264;
    }
    set_extradata(&mut parameters, avcc)?;
    Ok(parameters)
}

/// Codec parameters of an AAC stream configured by `config` (an AudioSpecificConfig) with
/// `sample_rate` and `channels` as it declares them.
pub fn aac_parameters(
    config: &[u8],
    sample_rate: u32,
    channels: u8,
) -> Result<ffmpeg::codec::Parameters, AllocError> {
    let mut parameters = ffmpeg::codec::Parameters::new();
    // SAFETY: `parameters` owns a freshly allocated AVCodecParameters; the channel layout is
    // initialised by libavutil, which writes only into the struct it is given.
    unsafe {
        let raw = parameters.as_mut_ptr();
        (*raw).codec_type = ffi::AVMediaType::AVMEDIA_TYPE_AUDIO;
        (*raw).codec_id = ffi::AVCodecID::AV_CODEC_ID_AAC;
        (*raw).sample_rate = i32::try_from(sample_rate).unwrap_or(48_000);
        (*raw).frame_size = 1024;
        ffi::av_channel_layout_default(&mut (*raw).ch_layout, i32::from(channels));
        #[allow(deprecated)]
        {
            (*raw).channels = i32::from(channels);
        }
    }
    set_extradata(&mut parameters, config)?;
    Ok(parameters)
}

/// Gives `parameters` (which has no extradata yet) a padded copy of `bytes` as its extradata.
fn set_extradata(
    parameters: &mut ffmpeg::codec::Parameters,
    bytes: &[u8],
) -> Result<(), AllocError> {
    let padded = bytes.len() + ffi::AV_INPUT_BUFFER_PADDING_SIZE as usize;
    let size = i32::try_from(bytes.len()).map_err(|_| AllocError { bytes: padded })?;
    // SAFETY: the buffer is allocated zeroed with the padding libav requires and holds
    // `bytes.len()` copied bytes; from here on the AVCodecParameters owns it and frees it.
    unsafe {
        let buffer = ffi::av_mallocz(padded).cast::<u8>();
        if buffer.is_null() {
            return Err(AllocError { bytes: padded });
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), buffer, bytes.len());
        let raw = parameters.as_mut_ptr();
        (*raw).extradata = buffer;
        (*raw).extradata_size = size;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_bytes_round_trip() {
        let avcc = [1, 0x4d, 0x40, 0x1f, 0xff, 0xe1];
        let parameters = h264_parameters(&avcc).unwrap();
        assert_eq!(parameters.id(), ffmpeg::codec::Id::H264);
        assert_eq!(extradata(&parameters), avcc);
        let asc = [0x11, 0x90];
        let parameters = aac_parameters(&asc, 48_000, 2).unwrap();
        assert_eq!(parameters.id(), ffmpeg::codec::Id::AAC);
        assert_eq!(extradata(&parameters), asc);
        assert!(extradata(&ffmpeg::codec::Parameters::new()).is_empty());
    }
}
