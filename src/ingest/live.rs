//! A live publisher as input: the media messages of one RTMP publish, received on a bounded queue
//! from the connection, turned into the [`InputInfo`] and packets the recorder reads.
//!
//! Probing waits for the H.264 configuration and the first keyframe (decoding it gives the true
//! picture size); audio counts when its AAC configuration came before that keyframe. Timestamps
//! are RTMP's milliseconds. While reading, the video bitrate is measured over a sliding window
//! so a publisher over the channel's limit is stopped (D19).

use std::collections::VecDeque;

use ffmpeg_next as ffmpeg;

use super::flv::{self, AacConfig, AudioTag, FlvError, VideoTag};
pub use super::message::{LiveMessage, LiveMetadata};
use super::queue::QueueReceiver;
use super::{AudioInfo, InputInfo, InputPacket, PacketSource, VideoInfo};
use crate::av::decode::VideoDecoder;
use crate::av::parameters::{AllocError, aac_parameters, h264_parameters};
use crate::codecs;
use crate::error::error_chain;
use crate::time::TimeBase;

/// RTMP timestamps are milliseconds.
const MILLIS: TimeBase = TimeBase {
    numerator: 1,
    denominator: 1000,
};
/// Window over which the ingest bitrate is measured: long enough that a constant-bitrate
/// encoder's rate-control bursts average out.
const BITRATE_WINDOW_MS: i64 = 10_000;
/// A stream counts as over its limit when it exceeds it by more than this share (rate control
/// of a CBR encoder at the limit overshoots by a few percent).
const BITRATE_TOLERANCE_PERCENT: u64 = 5;
/// How long (video ms past the first keyframe) probing waits for an AAC configuration when audio
/// has been announced but not configured yet.
const AUDIO_CONFIG_WAIT_MS: u32 = 1_000;
/// Frame rate assumed when neither metadata nor timestamps tell it.
const FALLBACK_FRAME_RATE: f64 = 30.0;

/// Why a live stream could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The publisher stopped before sending a keyframe.
    #[error("the publisher stopped before sending an H.264 keyframe")]
    EndedBeforeKeyframe,
    /// A keyframe came before the H.264 configuration.
    #[error("an H.264 keyframe came before the decoder configuration (AVC sequence header)")]
    NoSequenceHeader,
    /// A message that is not H.264 / AAC or is malformed.
    #[error(transparent)]
    Flv(#[from] FlvError),
    /// Codec parameters could not be allocated.
    #[error(transparent)]
    Alloc(#[from] AllocError),
    /// The first keyframe does not decode.
    #[error("the first keyframe is not decodable H.264: {0}")]
    Undecodable(String),
}

/// The video and audio parameters a stream was probed with.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbedStream {
    /// `avc1.PPCCLL`.
    pub video_codec: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frames per second.
    pub frame_rate: f64,
    /// H.264 profile_idc and level_idc.
    pub profile_level: (u8, u8),
    /// `mp4a.40.N` and the AAC configuration, when there is audio.
    pub audio: Option<(String, AacConfig)>,
    /// What the publisher declared.
    pub metadata: LiveMetadata,
}

/// A bitrate limit that was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitrateBreach {
    /// The limit, bits per second.
    pub limit_bps: u64,
    /// What was measured, bits per second.
    pub measured_bps: u64,
}

/// An RTMP publish being read.
pub struct LiveInput {
    messages: QueueReceiver,
    info: InputInfo,
    probed: ProbedStream,
    pending: VecDeque<InputPacket>,
    audio_frame_ms: i64,
    bitrate: BitrateMeter,
    max_bitrate_bps: Option<u64>,
    breach: Option<BitrateBreach>,
    stopped_by: Option<String>,
}

impl std::fmt::Debug for LiveInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveInput")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl LiveInput {
    /// Reads messages until the stream's configuration and first keyframe are known. `source`
    /// names the stream in messages; `max_bitrate_bps` is the channel's ingest limit.
    pub fn probe(
        mut messages: QueueReceiver,
        source: String,
        max_bitrate_bps: Option<u64>,
    ) -> Result<Self, LiveError> {
        crate::av::init();
        let mut metadata = LiveMetadata::default();
        let mut avcc: Option<Vec<u8>> = None;
        let mut aac: Option<(Vec<u8>, AacConfig)> = None;
        let mut held: Vec<LiveMessage> = Vec::new();
        // (keyframe bytes, its timestamp) once seen; audio seen without its configuration.
        let mut keyframe: Option<(Vec<u8>, u32)> = None;
        let mut audio_waiting = false;
        loop {
            let Some(message) = messages.blocking_recv() else {
                if keyframe.is_some() {
                    break;
                }
                return Err(LiveError::EndedBeforeKeyframe);
            };
            match &message {
                LiveMessage::Metadata(declared) => metadata = declared.clone(),
                // Before the first keyframe there is no segment to carry it (held after it).
                LiveMessage::TimedMetadata(_) => {}
                LiveMessage::Video { body, timestamp_ms } => match flv::parse_video(body)? {
                    VideoTag::SequenceHeader(config) => avcc = Some(config.to_vec()),
                    VideoTag::Frame {
                        keyframe: true,
                        data,
                        ..
                    } if keyframe.is_none() => {
                        if avcc.is_none() {
                            return Err(LiveError::NoSequenceHeader);
                        }
                        keyframe = Some((data.to_vec(), *timestamp_ms));
                    }
                    VideoTag::Frame { .. } | VideoTag::Ignored => {}
                },
                LiveMessage::Audio { body, .. } => match flv::parse_audio(body)? {
                    // An encoder that learns its AAC configuration late (ADTS input copied)
                    // first sends an empty one.
                    AudioTag::SequenceHeader([]) => audio_waiting = true,
                    AudioTag::SequenceHeader(config) => {
                        aac = Some((config.to_vec(), flv::parse_aac_config(config)?));
                    }
                    AudioTag::Frame(_) => audio_waiting |= aac.is_none(),
                },
            }
            let past_keyframe = keyframe.as_ref().map(|(_, at)| *at);
            let latest = match &message {
                LiveMessage::Video { timestamp_ms, .. } => Some(*timestamp_ms),
                _ => None,
            };
            if past_keyframe.is_some() {
                held.push(message);
            }
            if let Some(key_at) = past_keyframe {
                // Wait up to 1 s of video for an audio configuration that is still to come.
                let waited_enough =
                    latest.is_some_and(|at| at.saturating_sub(key_at) >= AUDIO_CONFIG_WAIT_MS);
                if aac.is_some() || !audio_waiting || waited_enough {
                    break;
                }
            }
        }
        let Some((keyframe, _)) = keyframe else {
            return Err(LiveError::EndedBeforeKeyframe);
        };
        let avcc = avcc.ok_or(LiveError::NoSequenceHeader)?;
        let video_parameters = h264_parameters(&avcc)?;
        let (width, height) = decode_size(&video_parameters, &keyframe)?;
        let frame_rate = metadata
            .frame_rate
            .filter(|rate| rate.is_finite() && *rate > 0.0)
            .unwrap_or(FALLBACK_FRAME_RATE);
        let audio = aac
            .as_ref()
            .map(|(config, parsed)| {
                aac_parameters(config, parsed.sample_rate, parsed.channels).map(|parameters| {
                    AudioInfo {
                        stream_index: 1,
                        time_base: ffmpeg::Rational::new(1, 1000),
                        parameters,
                    }
                })
            })
            .transpose()?;
        let audio_frame_ms = aac
            .as_ref()
            .map_or(21, |(_, c)| 1_024_000 / i64::from(c.sample_rate.max(1)));
        let probed = ProbedStream {
            video_codec: codecs::avc1(&avcc).unwrap_or_else(|| "avc1.4D401F".to_owned()),
            width,
            height,
            frame_rate,
            profile_level: (
                avcc.get(1).copied().unwrap_or(0),
                avcc.get(3).copied().unwrap_or(0),
            ),
            audio: aac
                .as_ref()
                .map(|(config, parsed)| (codecs::mp4a(config), *parsed)),
            metadata,
        };
        let info = InputInfo {
            source,
            video: VideoInfo {
                stream_index: 0,
                width,
                height,
                frame_rate,
                time_base: MILLIS,
                av_time_base: ffmpeg::Rational::new(1, 1000),
                codec_name: "h264".to_owned(),
                parameters: video_parameters,
            },
            audio,
            declared_duration_ms: None,
            timestamp_wrap_us: Some(crate::timeline::RTMP_WRAP_US),
        };
        let mut input = Self {
            messages,
            info,
            probed,
            pending: VecDeque::new(),
            audio_frame_ms,
            bitrate: BitrateMeter::default(),
            max_bitrate_bps,
            breach: None,
            stopped_by: None,
        };
        for message in held {
            if let Some(packet) = input.convert(message)? {
                input.pending.push_back(packet);
            }
        }
        Ok(input)
    }

    /// What the stream was probed with.
    pub fn probed(&self) -> &ProbedStream {
        &self.probed
    }

    /// The bitrate breach that stopped reading, if one did.
    pub fn breach(&self) -> Option<BitrateBreach> {
        self.breach
    }

    /// Why reading stopped early without failing the recording (a message that could not be
    /// used), if it did.
    pub fn stopped_by(&self) -> Option<&str> {
        self.stopped_by.as_deref()
    }

    /// Video bits per second over the last window.
    pub fn measured_bitrate_bps(&self) -> u64 {
        self.bitrate.bps()
    }

    /// Turns one message into a packet (`None` for configuration and ignored messages).
    fn convert(&mut self, message: LiveMessage) -> Result<Option<InputPacket>, LiveError> {
        match message {
            LiveMessage::Metadata(_) => Ok(None),
            LiveMessage::TimedMetadata(payload) => Ok(Some(InputPacket::TimedMetadata(payload))),
            LiveMessage::Video { timestamp_ms, body } => match flv::parse_video(&body)? {
                VideoTag::Frame {
                    keyframe,
                    composition_ms,
                    data,
                } => {
                    let dts = i64::from(timestamp_ms);
                    self.bitrate.add(dts, body.len());
                    let mut packet = ffmpeg::Packet::copy(data);
                    packet.set_dts(Some(dts));
                    packet.set_pts(Some(dts + i64::from(composition_ms)));
                    packet.set_stream(0);
                    if keyframe {
                        packet.set_flags(ffmpeg::packet::Flags::KEY);
                    }
                    Ok(Some(InputPacket::Video(packet)))
                }
                VideoTag::SequenceHeader(_) | VideoTag::Ignored => Ok(None),
            },
            LiveMessage::Audio { timestamp_ms, body } => match flv::parse_audio(&body)? {
                AudioTag::Frame(data) if self.info.audio.is_some() => {
                    let at = i64::from(timestamp_ms);
                    let mut packet = ffmpeg::Packet::copy(data);
                    packet.set_dts(Some(at));
                    packet.set_pts(Some(at));
                    packet.set_duration(self.audio_frame_ms);
                    packet.set_stream(1);
                    Ok(Some(InputPacket::Audio(packet)))
                }
                AudioTag::Frame(_) | AudioTag::SequenceHeader(_) => Ok(None),
            },
        }
    }
}

impl PacketSource for LiveInput {
    type Error = LiveError;

    fn info(&self) -> &InputInfo {
        &self.info
    }

    fn next_packet(&mut self) -> Result<Option<InputPacket>, LiveError> {
        if let Some(packet) = self.pending.pop_front() {
            return Ok(Some(packet));
        }
        loop {
            if self.breach.is_some() || self.stopped_by.is_some() {
                return Ok(None);
            }
            let Some(message) = self.messages.blocking_recv() else {
                return Ok(None);
            };
            match self.convert(message) {
                Ok(Some(packet)) => {
                    if let Some(limit) = self.max_bitrate_bps {
                        let measured = self.bitrate.bps();
                        if measured > limit + limit * BITRATE_TOLERANCE_PERCENT / 100 {
                            self.breach = Some(BitrateBreach {
                                limit_bps: limit,
                                measured_bps: measured,
                            });
                        }
                    }
                    return Ok(Some(packet));
                }
                Ok(None) => {}
                Err(err) => {
                    // The stream ends here; what was recorded stays.
                    self.stopped_by = Some(err.to_string());
                    return Ok(None);
                }
            }
        }
    }
}

/// Video bytes over a sliding window of media time.
#[derive(Debug, Default)]
struct BitrateMeter {
    samples: VecDeque<(i64, usize)>,
    bytes: usize,
}

impl BitrateMeter {
    fn add(&mut self, at_ms: i64, bytes: usize) {
        self.samples.push_back((at_ms, bytes));
        self.bytes += bytes;
        while let Some(&(first, size)) = self.samples.front() {
            if at_ms - first <= BITRATE_WINDOW_MS {
                break;
            }
            self.samples.pop_front();
            self.bytes -= size;
        }
    }

    /// Bits per second once a full window has been seen; 0 before.
    fn bps(&self) -> u64 {
        let (Some(&(first, _)), Some(&(last, _))) = (self.samples.front(), self.samples.back())
        else {
            return 0;
        };
        let span = last - first;
        if span < BITRATE_WINDOW_MS - 1_000 {
            return 0;
        }
        (self.bytes as u64 * 8 * 1000) / u64::try_from(span.max(1)).unwrap_or(1)
    }
}

/// The picture size of the first keyframe, decoded.
fn decode_size(
    parameters: &ffmpeg::codec::Parameters,
    keyframe: &[u8],
) -> Result<(u32, u32), LiveError> {
    let undecodable = |why: String| LiveError::Undecodable(why);
    let mut decoder =
        VideoDecoder::open(parameters.clone(), 1).map_err(|err| undecodable(error_chain(&err)))?;
    let mut packet = ffmpeg::Packet::copy(keyframe);
    packet.set_pts(Some(0));
    packet.set_dts(Some(0));
    packet.set_flags(ffmpeg::packet::Flags::KEY);
    let size = std::cell::Cell::new(None);
    let mut on_frame = |frame: &mut ffmpeg::util::frame::video::Video| {
        if size.get().is_none() {
            size.set(Some((frame.width(), frame.height())));
        }
    };
    decoder
        .decode(&packet, &mut on_frame)
        .map_err(|err| undecodable(error_chain(&err)))?;
    if size.get().is_none() {
        decoder
            .drain(&mut on_frame)
            .map_err(|err| undecodable(error_chain(&err)))?;
    }
    match size.get() {
        Some((width, height)) if width > 0 && height > 0 => Ok((width, height)),
        _ => Err(undecodable("it produced no picture".to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitrate_is_measured_over_a_full_window_only() {
        let mut meter = BitrateMeter::default();
        // 30 fps, 12_500 bytes a frame = 3 Mbps.
        for frame in 0..240 {
            meter.add(frame * 1000 / 30, 12_500);
        }
        assert_eq!(meter.bps(), 0, "8 s is less than a window");
        for frame in 240..600 {
            meter.add(frame * 1000 / 30, 12_500);
        }
        let bps = meter.bps();
        assert!((2_950_000..3_100_000).contains(&bps), "{bps}");
    }
}
