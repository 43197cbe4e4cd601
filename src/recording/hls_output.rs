//! The HLS side of a recording: every selected rendition segmented, muxed and published while the
//! input is read. Passthrough renditions take the source packets; transcoded ones take the frames
//! of one shared decoder, each rung scaled from the nearest larger one and encoded with an IDR
//! wherever the source has a keyframe. Audio is passed through or re-encoded per rendition.

use std::sync::Arc;

use ffmpeg::util::frame::video::Video as VideoFrame;
use ffmpeg_next as ffmpeg;
use time::OffsetDateTime;

use crate::hls::codecs;
use crate::hls::mux::{MuxError, TsStream};
use crate::hls::playlist::Variant;
use crate::hls::publisher::{HlsPublisher, PublishedRendition};
use crate::hls::rendition::{Continuation, FinishedSegment, RenditionSegments};
use crate::ids::ChannelArn;
use crate::ingest::{InputInfo, extradata};
use crate::ladder::{AudioSource, Rendition, VideoSource, decodes_every_frame};
use crate::layout::RecordingPrefix;
use crate::pipeline::decode::{DecodeError, VideoDecoder, frame_pts};
use crate::storage::{ArtifactSender, StorageError};
use crate::time::Clock;
use crate::transcode::audio::{AudioTranscodeError, AudioTranscoder};
use crate::transcode::video::{RungEncoder, VideoEncodeError};

/// Decoder threads when every frame is decoded for the ladder.
const LADDER_DECODER_THREADS: usize = 2;

/// Why HLS output failed.
#[derive(Debug, thiserror::Error)]
pub enum HlsError {
    /// A segment could not be muxed.
    #[error(transparent)]
    Mux(#[from] MuxError),
    /// An object could not be queued for storage.
    #[error(transparent)]
    Storage(#[from] StorageError),
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

/// Everything needed to start HLS output at the first keyframe.
#[derive(Debug, Clone)]
pub struct HlsSetup {
    /// The renditions to record, highest first.
    pub renditions: Vec<Rendition>,
    /// The recording's prefix.
    pub prefix: RecordingPrefix,
    /// The channel (its id and account go into the masters).
    pub channel: ChannelArn,
    /// Wall-clock time of the first frame.
    pub first_frame_at: OffsetDateTime,
}

/// Where a rendition's audio comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AudioRoute {
    None,
    Source,
    Aac(u32),
}

/// One rendition being recorded.
struct RenditionOutput {
    segments: RenditionSegments,
    /// `None` for passthrough.
    encoder: Option<RungEncoder>,
    audio: AudioRoute,
}

/// HLS output of one recording.
pub struct HlsOutput {
    renditions: Vec<RenditionOutput>,
    decoder: Option<VideoDecoder>,
    audio: Option<AudioTranscoder>,
    publisher: HlsPublisher,
    store: ArtifactSender,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for HlsOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HlsOutput")
            .field("publisher", &self.publisher)
            .finish_non_exhaustive()
    }
}

impl HlsOutput {
    /// Starts output of `info`'s streams; this stream's media time 0 is the video pts `origin`.
    /// With `previous` (the publisher of the recording's earlier streams, D9), segment numbers and
    /// the media timeline continue after a discontinuity; `stream_started_at` (the wall-clock time
    /// of this stream's first frame) then places its PROGRAM-DATE-TIMEs.
    pub fn start(
        setup: HlsSetup,
        info: &InputInfo,
        origin: i64,
        previous: Option<HlsPublisher>,
        stream_started_at: OffsetDateTime,
        store: ArtifactSender,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, HlsError> {
        let continuation = previous
            .as_ref()
            .map_or_else(Continuation::default, |publisher| {
                let media_offset_ms = publisher.duration_ms().unwrap_or(0);
                let wall_ms = (stream_started_at - publisher.first_frame_at()).whole_milliseconds();
                let gap_ms = u64::try_from(wall_ms)
                    .unwrap_or(0)
                    .saturating_sub(media_offset_ms);
                Continuation {
                    first_index: publisher.next_segment_index(),
                    media_offset_ms,
                    gap_ms,
                    discontinuity: true,
                }
            });
        let source_audio = info
            .audio
            .as_ref()
            .filter(|a| a.parameters.id() == ffmpeg::codec::Id::AAC);
        let mut bitrates: Vec<u32> = setup
            .renditions
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
        let decoder = if decodes_every_frame(&setup.renditions) {
            Some(VideoDecoder::open_frame_threaded(
                info.video.parameters.clone(),
                LADDER_DECODER_THREADS,
            )?)
        } else {
            None
        };

        let mut renditions = Vec::new();
        let mut published = Vec::new();
        for rendition in &setup.renditions {
            let (video, encoder, video_codec) = match rendition.video {
                VideoSource::Passthrough => {
                    let stream = TsStream {
                        parameters: info.video.parameters.clone(),
                        time_base: info.video.av_time_base,
                    };
                    (
                        stream,
                        None,
                        codecs::avc1(&extradata(&info.video.parameters)),
                    )
                }
                VideoSource::Transcoded { bitrate } => {
                    let encoder = RungEncoder::new(
                        rendition,
                        bitrate,
                        info.video.av_time_base,
                        info.video.frame_rate,
                    )?;
                    let stream = TsStream {
                        parameters: encoder.parameters(),
                        time_base: info.video.av_time_base,
                    };
                    (stream, Some(encoder), None)
                }
            };
            let (route, audio_stream) = match (source_audio, rendition.audio, &audio) {
                (None, _, _) => (AudioRoute::None, None),
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
            let audio_codec = audio_stream
                .as_ref()
                .map(|s| codecs::mp4a(&extradata(&s.parameters)));
            let variant = Variant {
                name: rendition.name.clone(),
                bandwidth: 0,
                codecs: String::new(),
                width: rendition.width,
                height: rendition.height,
            };
            published.push(PublishedRendition::new(variant, video_codec, audio_codec));
            renditions.push(RenditionOutput {
                segments: RenditionSegments::new(video, audio_stream, origin, continuation),
                encoder,
                audio: route,
            });
        }
        let publisher = previous.unwrap_or_else(|| {
            HlsPublisher::new(
                setup.prefix,
                &setup.channel.channel_id,
                &setup.channel.account_id,
                setup.first_frame_at,
                published,
            )
        });
        Ok(Self {
            renditions,
            decoder,
            audio,
            publisher,
            store,
            clock,
        })
    }

    /// Takes a source video packet. Frames decoded for the ladder are handed to `on_frame`
    /// (thumbnails take theirs there, so the source is decoded once).
    pub fn push_video(
        &mut self,
        packet: &ffmpeg::Packet,
        on_frame: &mut dyn FnMut(&VideoFrame, i64),
    ) -> Result<(), HlsError> {
        for index in 0..self.renditions.len() {
            if self.renditions[index].encoder.is_none() {
                let finished = self.renditions[index].segments.push_video(packet)?;
                self.publish(index, finished)?;
            }
        }
        let Some(mut decoder) = self.decoder.take() else {
            return Ok(());
        };
        let mut failure = None;
        let mut frame_handler = |frame: &mut VideoFrame| {
            if failure.is_none()
                && let Err(err) = self.encode_frame(frame, on_frame)
            {
                failure = Some(err);
            }
        };
        let decoded = decoder.decode(packet, &mut frame_handler);
        self.decoder = Some(decoder);
        if let Some(err) = failure {
            return Err(err);
        }
        if let Err(err) = decoded {
            // A packet the decoder refuses is skipped, as a player would.
            tracing::warn!(error = %err, "skipping a video packet the ladder decoder refused");
        }
        Ok(())
    }

    /// Takes a source audio packet.
    pub fn push_audio(&mut self, packet: &ffmpeg::Packet) -> Result<(), HlsError> {
        for output in &mut self.renditions {
            if output.audio == AudioRoute::Source {
                output.segments.push_audio(packet);
            }
        }
        if let Some(transcoder) = &mut self.audio {
            transcoder.push(packet)?;
            self.route_transcoded_audio();
        }
        Ok(())
    }

    /// Ends this stream: flushes encoders and publishes the last segments, closed at `end_pts`.
    /// Returns the publisher, which a merged reconnect continues and
    /// [`HlsPublisher::finish`] ends.
    pub fn end_stream(
        mut self,
        end_pts: i64,
        on_frame: &mut dyn FnMut(&VideoFrame, i64),
    ) -> Result<HlsPublisher, HlsError> {
        if let Some(mut decoder) = self.decoder.take() {
            let mut failure = None;
            let drained = decoder.drain(&mut |frame: &mut VideoFrame| {
                if failure.is_none()
                    && let Err(err) = self.encode_frame(frame, on_frame)
                {
                    failure = Some(err);
                }
            });
            if let Some(err) = failure {
                return Err(err);
            }
            if let Err(err) = drained {
                // A broken last packet (truncated input) loses that frame, not the recording.
                tracing::warn!(error = %err, "the ladder decoder failed while draining");
            }
        }
        if let Some(transcoder) = &mut self.audio {
            transcoder.finish()?;
            self.route_transcoded_audio();
        }
        for index in 0..self.renditions.len() {
            if let Some(mut encoder) = self.renditions[index].encoder.take() {
                let mut packets = Vec::new();
                encoder.finish(&mut |packet| packets.push(packet.clone()))?;
                for packet in packets {
                    let finished = self.renditions[index].segments.push_video(&packet)?;
                    self.publish(index, finished)?;
                }
            }
            let finished = self.renditions[index].segments.finish(end_pts)?;
            self.publish(index, finished)?;
        }
        Ok(self.publisher)
    }

    /// Encodes one decoded source frame into every transcoded rung, each scaled from the
    /// nearest larger transcoded rung.
    fn encode_frame(
        &mut self,
        frame: &VideoFrame,
        on_frame: &mut dyn FnMut(&VideoFrame, i64),
    ) -> Result<(), HlsError> {
        let Some(pts) = frame_pts(frame) else {
            return Ok(());
        };
        on_frame(frame, pts);
        let is_key = frame.is_key() || frame.kind() == ffmpeg::picture::Type::I;
        let mut larger: Option<usize> = None;
        let mut finished = Vec::new();
        for index in 0..self.renditions.len() {
            if self.renditions[index].encoder.is_none() {
                continue;
            }
            let (before, after) = self.renditions.split_at_mut(index);
            let input = larger
                .and_then(|i| before[i].encoder.as_ref())
                .map_or(frame, RungEncoder::picture);
            let output = &mut after[0];
            let mut packets = Vec::new();
            let encoder = output.encoder.as_mut().expect("checked above");
            let used = encoder.encode(input, pts, is_key, &mut |packet| {
                packets.push(packet.clone())
            })?;
            for packet in packets {
                if let Some(segment) = output.segments.push_video(&packet)? {
                    finished.push((index, segment));
                }
            }
            // A rung that dropped this frame (frame-rate cap) has a stale picture: smaller rungs
            // scale from the source instead.
            larger = used.then_some(index);
        }
        for (index, segment) in finished {
            self.publish(index, Some(segment))?;
        }
        Ok(())
    }

    fn route_transcoded_audio(&mut self) {
        let Some(transcoder) = &mut self.audio else {
            return;
        };
        let mut by_bitrate: Vec<(u32, Vec<ffmpeg::Packet>)> = Vec::new();
        for output in &self.renditions {
            if let AudioRoute::Aac(bitrate) = output.audio
                && !by_bitrate.iter().any(|(b, _)| *b == bitrate)
            {
                by_bitrate.push((bitrate, transcoder.take(bitrate)));
            }
        }
        for output in &mut self.renditions {
            if let AudioRoute::Aac(bitrate) = output.audio
                && let Some((_, packets)) = by_bitrate.iter().find(|(b, _)| *b == bitrate)
            {
                for packet in packets {
                    output.segments.push_audio(packet);
                }
            }
        }
    }

    fn publish(&mut self, index: usize, finished: Option<FinishedSegment>) -> Result<(), HlsError> {
        if let Some(segment) = finished {
            self.publisher
                .publish(index, segment, &self.store, self.clock.as_ref())?;
        }
        Ok(())
    }
}
