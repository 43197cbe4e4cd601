//! The pipeline driver: decode once, fan out. It owns the ladder decoder and feeds every sink:
//!
//! - packet sinks: the passthrough renditions (source packets untouched) and, when nothing is
//!   transcoded, the gated thumbnail sampler;
//! - frame sinks: the transcoded rungs ([`RungChain`], each scaling and encoding on a thread of
//!   its own) and the thumbnail tap, which takes the ladder's frames;
//! - audio: passed through, or decoded once and re-encoded to AAC per bitrate.
//!
//! Everything it makes goes to a [`PipelineSink`] (the recording's HLS renditions and thumbnail
//! thread), in order per rendition.

use std::sync::Arc;

use ffmpeg::util::frame::video::Video as VideoFrame;
use ffmpeg_next as ffmpeg;

use super::audio::{AudioTranscodeError, AudioTranscoder};
use super::rung::{RungSettings, RungUsage, VideoEncodeError};
use super::rung_chain::{RungChain, RungPacket};
use super::thumbnail_tap::ThumbnailTap;
use crate::av::decode::{DecodeError, VideoDecoder, frame_pts};
use crate::av::ts_mux::{TsStream, TsStreams};
use crate::error::{Failure, FailureKind};
use crate::ingest::InputInfo;
use crate::ladder::{AudioSource, Rendition, VideoSource, decodes_every_frame};
use crate::model::EncoderSettings;
use crate::thumbnail::{SampledFrame, SamplerStats};

/// Decoder threads when every frame is decoded for the ladder.
const LADDER_DECODER_THREADS: usize = 2;

/// Why the pipeline could not start.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The source could not be decoded for the ladder.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A rung could not be encoded.
    #[error(transparent)]
    Video(#[from] VideoEncodeError),
    /// Audio could not be transcoded.
    #[error(transparent)]
    Audio(#[from] AudioTranscodeError),
}

/// Where the pipeline's output goes.
pub trait PipelineSink {
    /// A video packet of rendition number `rendition` (a source packet for passthrough, an
    /// encoded one for a transcoded rung).
    fn video(&mut self, rendition: usize, packet: &ffmpeg::Packet) -> Result<(), Failure>;
    /// An audio packet of rendition number `rendition`.
    fn audio(&mut self, rendition: usize, packet: &ffmpeg::Packet) -> Result<(), Failure>;
    /// A frame chosen as a thumbnail.
    fn thumbnail(&mut self, frame: SampledFrame) -> Result<(), Failure>;
}

/// Where a rendition's audio comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioRoute {
    /// No audio.
    None,
    /// The source's AAC packets.
    Source,
    /// The source re-encoded to AAC at this bitrate.
    Aac(u32),
}

/// What the pipeline did over one stream.
#[derive(Debug, Clone, Default)]
pub struct PipelineReport {
    /// Thumbnails taken.
    pub taken: u64,
    /// The gated thumbnail decoder's work, when there was one.
    pub sampler: Option<SamplerStats>,
    /// What each transcoded rung did and cost, largest first.
    pub rungs: Vec<RungUsage>,
}

/// The media pipeline of one stream.
pub struct Pipeline {
    /// Per rendition: which rung of the chain encodes it (`None`: passthrough).
    rungs_of: Vec<Option<usize>>,
    /// Per rung of the chain: its rendition.
    renditions_of: Vec<usize>,
    audio_routes: Vec<AudioRoute>,
    streams: Vec<TsStreams>,
    decoder: Option<VideoDecoder>,
    rungs: Option<RungChain>,
    audio: Option<AudioTranscoder>,
    thumbnails: Option<ThumbnailTap>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("rungs", &self.rungs)
            .field("audio_routes", &self.audio_routes)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// A pipeline making `renditions` (highest first) out of `info`'s streams, the transcoded
    /// ones encoded as `encoding` says, with `thumbnails` as its thumbnail tap; `label` (the
    /// channel's name) labels its rungs' encode speed in `/metrics`.
    pub fn start(
        renditions: &[Rendition],
        encoding: &EncoderSettings,
        info: &InputInfo,
        thumbnails: Option<ThumbnailTap>,
        label: &str,
    ) -> Result<Self, PipelineError> {
        let source_audio = info.audio.as_ref();
        // Only AAC passes through; other audio is transcoded where the plan says so
        // (`ladder::conform`) and left out elsewhere.
        let source_is_aac =
            source_audio.is_some_and(|a| a.parameters.id() == ffmpeg::codec::Id::AAC);
        let mut bitrates: Vec<u32> = renditions
            .iter()
            .filter_map(|r| match r.audio {
                AudioSource::Transcoded { bitrate } => Some(bitrate),
                AudioSource::Passthrough => None,
            })
            .collect();
        bitrates.sort_unstable();
        bitrates.dedup();
        let audio = match source_audio {
            Some(source) if !bitrates.is_empty() => Some(AudioTranscoder::new(
                source.parameters.clone(),
                source.time_base,
                &bitrates,
            )?),
            _ => None,
        };
        let decoder = if decodes_every_frame(renditions) {
            Some(VideoDecoder::open_frame_threaded(
                info.video.parameters.clone(),
                LADDER_DECODER_THREADS,
            )?)
        } else {
            None
        };
        let mut rungs_of = Vec::new();
        let mut renditions_of = Vec::new();
        let mut settings = Vec::new();
        for (index, rendition) in renditions.iter().enumerate() {
            match rendition.video {
                VideoSource::Passthrough => rungs_of.push(None),
                VideoSource::Transcoded { bitrate } => {
                    rungs_of.push(Some(settings.len()));
                    renditions_of.push(index);
                    settings.push(RungSettings {
                        rendition: rendition.clone(),
                        bitrate,
                        time_base: info.video.av_time_base,
                        source_frame_rate: info.video.frame_rate,
                        encoding: encoding.for_rung(&rendition.name).clone(),
                        label: label.to_owned(),
                    });
                }
            }
        }
        let rungs = if settings.is_empty() {
            None
        } else {
            Some(RungChain::start(settings)?)
        };
        let mut audio_routes = Vec::new();
        let mut streams = Vec::new();
        for (rendition, rung) in renditions.iter().zip(&rungs_of) {
            let video = match (rung, &rungs) {
                (Some(rung), Some(chain)) => TsStream {
                    parameters: chain.parameters()[*rung].clone(),
                    time_base: info.video.av_time_base,
                },
                _ => TsStream {
                    parameters: info.video.parameters.clone(),
                    time_base: info.video.av_time_base,
                },
            };
            let (route, audio_stream) = match (source_audio, rendition.audio, &audio) {
                (None, _, _) => (AudioRoute::None, None),
                (Some(_), AudioSource::Passthrough, _) if !source_is_aac => {
                    (AudioRoute::None, None)
                }
                (Some(source), AudioSource::Passthrough, _) => (
                    AudioRoute::Source,
                    Some(TsStream {
                        parameters: source.parameters.clone(),
                        time_base: source.time_base,
                    }),
                ),
                (Some(_), AudioSource::Transcoded { bitrate }, Some(transcoder)) => (
                    AudioRoute::Aac(bitrate),
                    transcoder.parameters(bitrate).map(|parameters| TsStream {
                        parameters,
                        time_base: transcoder.time_base(),
                    }),
                ),
                (Some(_), AudioSource::Transcoded { .. }, None) => (AudioRoute::None, None),
            };
            audio_routes.push(route);
            streams.push(TsStreams {
                video,
                audio: audio_stream,
            });
        }
        Ok(Self {
            rungs_of,
            renditions_of,
            audio_routes,
            streams,
            decoder,
            rungs,
            audio,
            thumbnails,
        })
    }

    /// The streams of each rendition, in rendition order.
    pub fn streams(&self) -> &[TsStreams] {
        &self.streams
    }

    /// Whether rendition number `rendition` is encoded here (its packets come from a rung thread,
    /// later than the source's audio) rather than passed through.
    pub fn is_encoded(&self, rendition: usize) -> bool {
        self.rungs_of.get(rendition).is_some_and(Option::is_some)
    }

    /// Takes a source video packet (decode order).
    pub fn push_video(
        &mut self,
        packet: ffmpeg::Packet,
        sink: &mut dyn PipelineSink,
    ) -> Result<(), Failure> {
        for (rendition, rung) in self.rungs_of.iter().enumerate() {
            if rung.is_none() {
                sink.video(rendition, &packet)?;
            }
        }
        if let Some(decoder) = &mut self.decoder {
            // A packet the decoder refuses is skipped, as a player would.
            let frames = taken_frames(
                |on_frame| decoder.decode(&packet, on_frame),
                "skipping a video packet the ladder decoder refused",
            );
            for frame in frames {
                self.fan_out(frame, sink)?;
            }
        }
        if let Some(tap) = &mut self.thumbnails {
            for sampled in tap.offer_packet(packet) {
                sink.thumbnail(sampled)?;
            }
        }
        self.forward_rung_packets(sink)
    }

    /// Takes a source audio packet.
    pub fn push_audio(
        &mut self,
        packet: &ffmpeg::Packet,
        sink: &mut dyn PipelineSink,
    ) -> Result<(), Failure> {
        for (rendition, route) in self.audio_routes.iter().enumerate() {
            if *route == AudioRoute::Source {
                sink.audio(rendition, packet)?;
            }
        }
        if let Some(transcoder) = &mut self.audio {
            transcoder.push(packet).map_err(processing)?;
            self.forward_transcoded_audio(sink)?;
        }
        Ok(())
    }

    /// Ends the stream: drains the decoder, flushes every encoder and hands out what they held.
    pub fn finish(mut self, sink: &mut dyn PipelineSink) -> Result<PipelineReport, Failure> {
        if let Some(mut decoder) = self.decoder.take() {
            // A broken last packet (truncated input) loses that frame, not the recording.
            let frames = taken_frames(
                |on_frame| decoder.drain(on_frame),
                "the ladder decoder failed while draining",
            );
            for frame in frames {
                self.fan_out(frame, sink)?;
            }
        }
        if let Some(transcoder) = &mut self.audio {
            transcoder.finish().map_err(processing)?;
            self.forward_transcoded_audio(sink)?;
        }
        let mut report = PipelineReport::default();
        if let Some(chain) = self.rungs.take() {
            let (packets, usages) = chain.finish().map_err(processing)?;
            for packet in packets {
                self.forward(packet, sink)?;
            }
            report.rungs = usages;
        }
        if let Some(tap) = &mut self.thumbnails {
            for sampled in tap.finish() {
                sink.thumbnail(sampled)?;
            }
            report.taken = tap.taken();
            report.sampler = tap.stats();
        }
        Ok(report)
    }

    /// One decoded source frame to every frame sink: the thumbnail tap, then the rungs.
    fn fan_out(&mut self, frame: VideoFrame, sink: &mut dyn PipelineSink) -> Result<(), Failure> {
        let Some(pts) = frame_pts(&frame) else {
            return Ok(());
        };
        if let Some(sampled) = self
            .thumbnails
            .as_mut()
            .and_then(|tap| tap.offer_frame(&frame, pts))
        {
            sink.thumbnail(sampled)?;
        }
        let is_key = frame.is_key() || frame.kind() == ffmpeg::picture::Type::I;
        if let Some(chain) = &self.rungs
            && !chain.push(Arc::new(frame), pts, is_key)
        {
            // A rung stopped: finishing the chain says why.
            if let Some(chain) = self.rungs.take() {
                chain.finish().map_err(processing)?;
            }
            return Err(Failure::new(
                FailureKind::Processing,
                "a rung encoder stopped",
            ));
        }
        Ok(())
    }

    fn forward_rung_packets(&mut self, sink: &mut dyn PipelineSink) -> Result<(), Failure> {
        let Some(chain) = &self.rungs else {
            return Ok(());
        };
        let ready: Vec<RungPacket> = chain.ready_packets().collect();
        for packet in ready {
            self.forward(packet, sink)?;
        }
        Ok(())
    }

    fn forward(&self, packet: RungPacket, sink: &mut dyn PipelineSink) -> Result<(), Failure> {
        sink.video(self.renditions_of[packet.rung], &packet.packet)
    }

    fn forward_transcoded_audio(&mut self, sink: &mut dyn PipelineSink) -> Result<(), Failure> {
        let Some(transcoder) = &mut self.audio else {
            return Ok(());
        };
        let mut by_bitrate: Vec<(u32, Vec<ffmpeg::Packet>)> = Vec::new();
        for route in &self.audio_routes {
            if let AudioRoute::Aac(bitrate) = *route
                && !by_bitrate.iter().any(|(b, _)| *b == bitrate)
            {
                by_bitrate.push((bitrate, transcoder.take(bitrate)));
            }
        }
        for (rendition, route) in self.audio_routes.iter().enumerate() {
            if let AudioRoute::Aac(bitrate) = *route
                && let Some((_, packets)) = by_bitrate.iter().find(|(b, _)| *b == bitrate)
            {
                for packet in packets {
                    sink.audio(rendition, packet)?;
                }
            }
        }
        Ok(())
    }
}

/// The frames a decoder call hands out, each taken out of the decoder's buffer; a decoder error
/// is logged as `failed` and costs only the frames it did not produce.
fn taken_frames(
    call: impl FnOnce(&mut dyn FnMut(&mut VideoFrame)) -> Result<(), DecodeError>,
    failed: &str,
) -> Vec<VideoFrame> {
    let mut frames = Vec::new();
    if let Err(err) = call(&mut |slot: &mut VideoFrame| {
        frames.push(std::mem::replace(slot, VideoFrame::empty()));
    }) {
        tracing::warn!(error = %err, "{failed}");
    }
    frames
}

fn processing(err: impl std::error::Error) -> Failure {
    Failure::from_error(FailureKind::Processing, &err)
}
