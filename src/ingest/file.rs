//! A media file as input: opened with libavformat, read packet by packet, optionally paced to
//! real time as a live publisher would send it.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ffmpeg_next as ffmpeg;

use super::{AudioInfo, InputInfo, InputPacket, VideoInfo};
use crate::time::TimeBase;

/// Why an input could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file does not exist.
    #[error("input file {} does not exist", path.display())]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// libavformat could not open or probe it.
    #[error("cannot open {} as media (corrupt, truncated or not a media file)", path.display())]
    Open {
        /// The path given.
        path: PathBuf,
        /// What libavformat said.
        #[source]
        source: ffmpeg::Error,
    },
    /// It has no video stream (IVS does not record audio-only input).
    #[error("{} has no video stream; IVS records video (audio-only input is not supported)", path.display())]
    NoVideo {
        /// The path given.
        path: PathBuf,
    },
    /// The video stream cannot be used.
    #[error("the video stream of {} is unusable: {why}", path.display())]
    BadVideo {
        /// The path given.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// Nothing in the file can start a recording: no video keyframe before its end.
    #[error("{} has no video keyframe in its first {packets} packets: there is nothing to record", path.display())]
    NoKeyframe {
        /// The path given.
        path: PathBuf,
        /// The packets read looking for one.
        packets: usize,
    },
    /// Reading failed before the first video keyframe: nothing could be recorded.
    #[error("reading {} failed before its first video keyframe (a file that needs seeking, e.g. an MP4 with its index at the end, cannot be read from a pipe)", path.display())]
    ReadBeforeKeyframe {
        /// The path given.
        path: PathBuf,
        /// What libavformat said.
        #[source]
        source: ffmpeg::Error,
    },
    /// Reading failed part-way.
    #[error("reading {} failed at {at_seconds:.3} s of media", path.display())]
    Read {
        /// The path given.
        path: PathBuf,
        /// How far the media had got.
        at_seconds: f64,
        /// What libavformat said.
        #[source]
        source: ffmpeg::Error,
    },
}

/// An opened media file.
pub struct FileInput {
    path: PathBuf,
    input: ffmpeg::format::context::Input,
    info: InputInfo,
    pacer: Option<Pacer>,
    last_pts_seconds: f64,
    /// Packets read by [`FileInput::prime`], handed out first.
    ahead: VecDeque<InputPacket>,
}

/// Packets [`FileInput::prime`] reads at most looking for the first keyframe.
const PRIME_MAX_PACKETS: usize = 10_000;

impl std::fmt::Debug for FileInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileInput")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl FileInput {
    /// Opens `path` and finds its video stream. With `realtime`, packets are released no faster
    /// than their timestamps advance.
    pub fn open(path: &Path, realtime: bool) -> Result<Self, InputError> {
        crate::av::init();
        if !path.exists() {
            return Err(InputError::NotFound {
                path: path.to_owned(),
            });
        }
        let input = ffmpeg::format::input(path).map_err(|source| InputError::Open {
            path: path.to_owned(),
            source,
        })?;
        let info = probe(path, &input)?;
        Ok(Self {
            path: path.to_owned(),
            input,
            info,
            pacer: realtime.then(Pacer::default),
            last_pts_seconds: 0.0,
            ahead: VecDeque::new(),
        })
    }

    /// Reads ahead to the first video keyframe, so a file that cannot start a recording is found
    /// before anything is written. The packets read are handed out again by `next_packet`.
    pub fn prime(&mut self) -> Result<(), InputError> {
        while self.ahead.len() < PRIME_MAX_PACKETS {
            let packet = match self.read_packet() {
                Ok(Some(packet)) => packet,
                Ok(None) => break,
                Err(InputError::Read { source, .. }) => {
                    return Err(InputError::ReadBeforeKeyframe {
                        path: self.path.clone(),
                        source,
                    });
                }
                Err(other) => return Err(other),
            };
            let is_keyframe = matches!(&packet, InputPacket::Video(video) if video.is_key());
            self.ahead.push_back(packet);
            if is_keyframe {
                return Ok(());
            }
        }
        Err(InputError::NoKeyframe {
            path: self.path.clone(),
            packets: self.ahead.len(),
        })
    }

    /// What the input holds.
    pub fn info(&self) -> &InputInfo {
        &self.info
    }

    /// The next video packet (audio is skipped), `None` at the end of the file.
    pub fn next_video_packet(&mut self) -> Result<Option<ffmpeg::Packet>, InputError> {
        loop {
            match self.next_packet()? {
                None => return Ok(None),
                Some(InputPacket::Video(packet)) => return Ok(Some(packet)),
                Some(InputPacket::Audio(_) | InputPacket::TimedMetadata(_)) => {}
            }
        }
    }

    /// The next video or audio packet, `None` at the end of the file.
    pub fn next_packet(&mut self) -> Result<Option<InputPacket>, InputError> {
        match self.ahead.pop_front() {
            Some(packet) => Ok(Some(packet)),
            None => self.read_packet(),
        }
    }

    /// The next packet from the file itself.
    fn read_packet(&mut self) -> Result<Option<InputPacket>, InputError> {
        loop {
            let mut packet = ffmpeg::Packet::empty();
            match packet.read(&mut self.input) {
                Ok(()) => {}
                Err(ffmpeg::Error::Eof) => return Ok(None),
                Err(source) => {
                    return Err(InputError::Read {
                        path: self.path.clone(),
                        at_seconds: self.last_pts_seconds,
                        source,
                    });
                }
            }
            if self
                .info
                .audio
                .as_ref()
                .is_some_and(|audio| audio.stream_index == packet.stream())
            {
                return Ok(Some(InputPacket::Audio(packet)));
            }
            if packet.stream() != self.info.video.stream_index {
                continue;
            }
            if let Some(pts) = packet.pts().or(packet.dts()) {
                let seconds = self.info.video.time_base.ticks_to_seconds(pts);
                if let Some(pacer) = &mut self.pacer {
                    pacer.wait_for(seconds);
                }
                self.last_pts_seconds = self.last_pts_seconds.max(seconds);
            }
            return Ok(Some(InputPacket::Video(packet)));
        }
    }
}

fn probe(path: &Path, input: &ffmpeg::format::context::Input) -> Result<InputInfo, InputError> {
    let stream = input
        .streams()
        .best(ffmpeg::media::Type::Video)
        .ok_or_else(|| InputError::NoVideo {
            path: path.to_owned(),
        })?;
    let bad = |why: String| InputError::BadVideo {
        path: path.to_owned(),
        why,
    };
    let parameters = stream.parameters();
    let codec = ffmpeg::codec::context::Context::from_parameters(parameters.clone())
        .map_err(|err| bad(format!("cannot read its codec parameters ({err})")))?;
    let decoder = codec
        .decoder()
        .video()
        .map_err(|err| bad(format!("no decoder for it ({err})")))?;
    let (width, height) = (decoder.width(), decoder.height());
    if width == 0 || height == 0 {
        return Err(bad("its picture size is unknown (0x0)".to_owned()));
    }
    let time_base = TimeBase::new(
        i64::from(stream.time_base().numerator()),
        i64::from(stream.time_base().denominator()),
    )
    .ok_or_else(|| bad(format!("its time base {} is invalid", stream.time_base())))?;
    let rate = stream.avg_frame_rate();
    let rate = if rate.numerator() > 0 && rate.denominator() > 0 {
        rate
    } else {
        stream.rate()
    };
    let frame_rate = f64::from(rate);
    if !(frame_rate.is_finite() && frame_rate > 0.0) {
        return Err(bad("its frame rate is unknown".to_owned()));
    }
    let declared_duration_ms = if stream.duration() > 0 {
        Some(time_base.ticks_to_millis(stream.duration()))
    } else if input.duration() > 0 {
        Some(input.duration() / 1000)
    } else {
        None
    };
    let codec_name = crate::av::parameters::codec_name(parameters.id());
    Ok(InputInfo {
        source: path.display().to_string(),
        video: VideoInfo {
            stream_index: stream.index(),
            width,
            height,
            frame_rate,
            time_base,
            av_time_base: stream.time_base(),
            codec_name,
            parameters,
        },
        audio: input
            .streams()
            .best(ffmpeg::media::Type::Audio)
            .map(|audio| AudioInfo {
                stream_index: audio.index(),
                time_base: audio.time_base(),
                parameters: audio.parameters(),
            }),
        declared_duration_ms,
        timestamp_wrap_us: None,
    })
}

/// Releases packets no faster than real time, measured from the first one.
#[derive(Debug, Default)]
struct Pacer {
    origin: Option<(Instant, f64)>,
}

impl Pacer {
    fn wait_for(&mut self, media_seconds: f64) {
        let (started, first) = *self.origin.get_or_insert((Instant::now(), media_seconds));
        let due = Duration::from_secs_f64((media_seconds - first).max(0.0));
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
    }
}
