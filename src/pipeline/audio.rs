//! Audio for transcoded renditions: the source audio decoded once and re-encoded to AAC once per
//! bitrate the ladder needs (64 and 48 kbps on STANDARD's 360p and 160p, 128/64/48 on ADVANCED;
//! and the source's bitrate where audio that is not AAC would have passed through). AAC sources
//! decode straight into the encoder's frames; other codecs go through an [`AudioReframer`].

use ffmpeg::util::frame::audio::Audio as AudioFrame;
use ffmpeg::util::mathematics::rescale::Rescale as _;
use ffmpeg_next as ffmpeg;

use super::audio_reframe::{AudioReframer, layout_of};

/// Why audio could not be transcoded.
#[derive(Debug, thiserror::Error)]
pub enum AudioTranscodeError {
    /// A decoder or encoder could not be opened.
    #[error("cannot set up audio {what}")]
    Open {
        /// What was being set up.
        what: String,
        /// What libav said.
        #[source]
        source: ffmpeg::Error,
    },
    /// Decoding or encoding failed.
    #[error("cannot transcode audio")]
    Transcode {
        /// What libav said.
        #[source]
        source: ffmpeg::Error,
    },
}

/// An AAC encoder at one bitrate and the packets it has produced since the last take.
struct BitrateEncoder {
    bitrate: u32,
    encoder: ffmpeg::encoder::Audio,
    ready: Vec<ffmpeg::Packet>,
}

/// Decodes the source audio once and encodes it at each bitrate.
pub struct AudioTranscoder {
    decoder: ffmpeg::decoder::Audio,
    frame: AudioFrame,
    source_time_base: ffmpeg::Rational,
    encoders: Vec<BitrateEncoder>,
    /// For sources that are not AAC: conversion to the encoder's format and frame size.
    reframer: Option<AudioReframer>,
}

impl std::fmt::Debug for AudioTranscoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bitrates: Vec<u32> = self.encoders.iter().map(|e| e.bitrate).collect();
        f.debug_struct("AudioTranscoder")
            .field("bitrates", &bitrates)
            .finish_non_exhaustive()
    }
}

impl AudioTranscoder {
    /// A transcoder from the source stream (`parameters`, `time_base`) to AAC at each of
    /// `bitrates` (bits/s), keeping the source's sample rate and channel layout.
    pub fn new(
        parameters: ffmpeg::codec::Parameters,
        time_base: ffmpeg::Rational,
        bitrates: &[u32],
    ) -> Result<Self, AudioTranscodeError> {
        let open_error = |what: &str| {
            let what = what.to_owned();
            move |source| AudioTranscodeError::Open { what, source }
        };
        let parameters_id = parameters.id();
        let decoder = ffmpeg::codec::context::Context::from_parameters(parameters)
            .map_err(open_error("decoder"))?
            .decoder()
            .audio()
            .map_err(open_error("decoder"))?;
        let codec =
            ffmpeg::encoder::find(ffmpeg::codec::Id::AAC).ok_or(AudioTranscodeError::Open {
                what: "AAC encoder".into(),
                source: ffmpeg::Error::EncoderNotFound,
            })?;
        let is_aac = parameters_id == ffmpeg::codec::Id::AAC;
        let layout = layout_of(decoder.channel_layout(), decoder.channels());
        let mut encoders = Vec::new();
        for &bitrate in bitrates {
            let what = format!("AAC encoder at {} kbps", bitrate / 1000);
            let mut encoder = ffmpeg::codec::context::Context::new_with_codec(codec)
                .encoder()
                .audio()
                .map_err(open_error(&what))?;
            encoder.set_rate(i32::try_from(decoder.rate()).unwrap_or(48_000));
            encoder.set_channel_layout(layout);
            encoder.set_format(ffmpeg::format::Sample::F32(
                ffmpeg::format::sample::Type::Planar,
            ));
            encoder.set_bit_rate(bitrate as usize);
            encoder.set_time_base(ffmpeg::Rational::new(
                1,
                i32::try_from(decoder.rate()).unwrap_or(48_000),
            ));
            let encoder = encoder.open_as(codec).map_err(open_error(&what))?;
            encoders.push(BitrateEncoder {
                bitrate,
                encoder,
                ready: Vec::new(),
            });
        }
        let frame_size = encoders
            .first()
            .map_or(1024, |e| e.encoder.frame_size() as usize);
        let reframer = (!is_aac).then(|| AudioReframer::new(layout, decoder.rate(), frame_size));
        Ok(Self {
            decoder,
            frame: AudioFrame::empty(),
            source_time_base: time_base,
            encoders,
            reframer,
        })
    }

    /// Time base of the encoded packets (1 / sample rate).
    pub fn time_base(&self) -> ffmpeg::Rational {
        ffmpeg::Rational::new(1, i32::try_from(self.decoder.rate()).unwrap_or(48_000))
    }

    /// Codec parameters of the encoder at `bitrate` (for the muxer).
    pub fn parameters(&self, bitrate: u32) -> Option<ffmpeg::codec::Parameters> {
        self.encoders
            .iter()
            .find(|e| e.bitrate == bitrate)
            .map(|e| ffmpeg::codec::Parameters::from(&*e.encoder))
    }

    /// Decodes a source packet and encodes what comes out at every bitrate.
    pub fn push(&mut self, packet: &ffmpeg::Packet) -> Result<(), AudioTranscodeError> {
        let error = |source| AudioTranscodeError::Transcode { source };
        match self.decoder.send_packet(packet) {
            Ok(()) => {}
            // A packet the decoder refuses is skipped, as a player would.
            Err(ffmpeg::Error::InvalidData) => return Ok(()),
            Err(source) => return Err(error(source)),
        }
        self.drain_decoder()
    }

    /// Flushes everything at the end of the input.
    pub fn finish(&mut self) -> Result<(), AudioTranscodeError> {
        let _ = self.decoder.send_eof();
        self.drain_decoder()?;
        if let Some(last) = self.reframer.as_mut().and_then(AudioReframer::flush) {
            self.encode(&last)?;
        }
        for encoder in &mut self.encoders {
            let _ = encoder.encoder.send_eof();
            receive(encoder)?;
        }
        Ok(())
    }

    /// The packets encoded at `bitrate` since the last call.
    pub fn take(&mut self, bitrate: u32) -> Vec<ffmpeg::Packet> {
        self.encoders
            .iter_mut()
            .find(|e| e.bitrate == bitrate)
            .map(|e| std::mem::take(&mut e.ready))
            .unwrap_or_default()
    }

    fn drain_decoder(&mut self) -> Result<(), AudioTranscodeError> {
        loop {
            match self.decoder.receive_frame(&mut self.frame) {
                Ok(()) => {
                    let rate = ffmpeg::Rational::new(
                        1,
                        i32::try_from(self.decoder.rate()).unwrap_or(48_000),
                    );
                    let pts = self
                        .frame
                        .pts()
                        .map(|pts| pts.rescale(self.source_time_base, rate));
                    self.frame.set_pts(pts);
                    match &mut self.reframer {
                        None => {
                            let frame = std::mem::replace(&mut self.frame, AudioFrame::empty());
                            let encoded = self.encode(&frame);
                            self.frame = frame;
                            encoded?;
                        }
                        Some(reframer) => {
                            let frames = reframer
                                .push(&self.frame)
                                .map_err(|source| AudioTranscodeError::Transcode { source })?;
                            for frame in frames {
                                self.encode(&frame)?;
                            }
                        }
                    }
                }
                Err(ffmpeg::Error::Eof) => return Ok(()),
                Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => {
                    return Ok(());
                }
                Err(source) => return Err(AudioTranscodeError::Transcode { source }),
            }
        }
    }
}

impl AudioTranscoder {
    /// Sends one encoder-ready frame to every bitrate's encoder.
    fn encode(&mut self, frame: &AudioFrame) -> Result<(), AudioTranscodeError> {
        for encoder in &mut self.encoders {
            encoder
                .encoder
                .send_frame(frame)
                .map_err(|source| AudioTranscodeError::Transcode { source })?;
            receive(encoder)?;
        }
        Ok(())
    }
}

fn receive(encoder: &mut BitrateEncoder) -> Result<(), AudioTranscodeError> {
    loop {
        let mut packet = ffmpeg::Packet::empty();
        match encoder.encoder.receive_packet(&mut packet) {
            Ok(()) => encoder.ready.push(packet),
            Err(ffmpeg::Error::Eof) => return Ok(()),
            Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => {
                return Ok(());
            }
            Err(source) => return Err(AudioTranscodeError::Transcode { source }),
        }
    }
}
