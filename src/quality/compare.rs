//! Compares encoded files with their source, frame by frame by presentation time, as FFmpeg's
//! `psnr` / `ssim` filters do behind `scale=W:H:flags=lanczos` on the source: the source is
//! decoded once, each of its frames scaled (Lanczos) to the size of every file compared with it,
//! and each encoded frame is scored against the latest source frame at or before its time (times
//! counted from each file's first frame).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg::util::frame::video::Video as VideoFrame;
use ffmpeg_next as ffmpeg;

use super::metrics::{Plane, QualityTotals, score_frame};
use crate::av::decode::{DecodeError, VideoDecoder, frame_pts};
use crate::ingest::{FileInput, InputError};

/// Decoder threads per file read.
const DECODER_THREADS: usize = 2;
/// Timestamps this close (seconds) are the same instant (time bases round differently).
const SAME_INSTANT: f64 = 1e-4;

/// Why files could not be compared.
#[derive(Debug, thiserror::Error)]
pub enum QualityError {
    /// A file could not be opened or read.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A file's video could not be decoded.
    #[error("cannot decode the video of {}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        #[source]
        source: DecodeError,
    },
    /// A frame could not be scaled for comparison.
    #[error("cannot scale {} for comparison", path.display())]
    Scale {
        /// The file.
        path: PathBuf,
        /// What libswscale said.
        #[source]
        source: ffmpeg::Error,
    },
    /// No frame of a file fell at or after the source's first.
    #[error("{} has no frame at the times of {}", path.display(), reference.display())]
    NoOverlap {
        /// The encoded file.
        path: PathBuf,
        /// The source.
        reference: PathBuf,
    },
}

/// How one encoded file compares with the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The encoded file.
    pub path: PathBuf,
    /// Its picture size.
    pub size: (u32, u32),
    /// The figures.
    pub totals: QualityTotals,
    /// Its frames before the source's first (not scored).
    pub unmatched: u64,
}

/// A file's decoded video frames in presentation order, with their time in seconds from its
/// first frame.
struct FrameReader {
    path: PathBuf,
    input: FileInput,
    decoder: VideoDecoder,
    seconds_per_tick: f64,
    first_pts: Option<i64>,
    ready: VecDeque<(f64, VideoFrame)>,
    ended: bool,
}

impl FrameReader {
    fn open(path: &Path) -> Result<Self, QualityError> {
        let input = FileInput::open(path, false)?;
        let video = &input.info().video;
        let decoder = VideoDecoder::open_frame_threaded(video.parameters.clone(), DECODER_THREADS)
            .map_err(|source| QualityError::Decode {
                path: path.to_owned(),
                source,
            })?;
        let base = video.av_time_base;
        Ok(Self {
            path: path.to_owned(),
            seconds_per_tick: f64::from(base.numerator()) / f64::from(base.denominator().max(1)),
            input,
            decoder,
            first_pts: None,
            ready: VecDeque::new(),
            ended: false,
        })
    }

    /// The next frame, without taking it.
    fn peek(&mut self) -> Result<Option<&(f64, VideoFrame)>, QualityError> {
        while self.ready.is_empty() && !self.ended {
            self.read_more()?;
        }
        Ok(self.ready.front())
    }

    fn next(&mut self) -> Result<Option<(f64, VideoFrame)>, QualityError> {
        self.peek()?;
        Ok(self.ready.pop_front())
    }

    fn read_more(&mut self) -> Result<(), QualityError> {
        let mut decoded = Vec::new();
        let mut take = |slot: &mut VideoFrame| {
            decoded.push(std::mem::replace(slot, VideoFrame::empty()));
        };
        let outcome = match self.input.next_video_packet()? {
            Some(packet) => self.decoder.decode(&packet, &mut take),
            None => {
                self.ended = true;
                self.decoder.drain(&mut take)
            }
        };
        outcome.map_err(|source| QualityError::Decode {
            path: self.path.clone(),
            source,
        })?;
        for frame in decoded {
            let Some(pts) = frame_pts(&frame) else {
                continue;
            };
            let first = *self.first_pts.get_or_insert(pts);
            let seconds = (pts - first) as f64 * self.seconds_per_tick;
            self.ready.push_back((seconds, frame));
        }
        Ok(())
    }
}

/// A scaler to `size` in YUV 4:2:0, made for the first input shape it sees.
struct ToYuv420 {
    size: (u32, u32),
    flags: scaling::Flags,
    context: Option<((Pixel, u32, u32), scaling::Context)>,
}

impl ToYuv420 {
    fn new(size: (u32, u32), flags: scaling::Flags) -> Self {
        Self {
            size,
            flags,
            context: None,
        }
    }

    fn convert(&mut self, frame: &VideoFrame) -> Result<VideoFrame, ffmpeg::Error> {
        let shape = (frame.format(), frame.width(), frame.height());
        if self.context.as_ref().map(|(s, _)| *s) != Some(shape) {
            let context = scaling::Context::get(
                shape.0,
                shape.1,
                shape.2,
                Pixel::YUV420P,
                self.size.0,
                self.size.1,
                self.flags,
            )?;
            self.context = Some((shape, context));
        }
        let mut out = VideoFrame::new(Pixel::YUV420P, self.size.0, self.size.1);
        if let Some((_, context)) = &mut self.context {
            context.run(frame, &mut out)?;
        }
        Ok(out)
    }
}

/// The Y, U and V planes of a YUV 4:2:0 frame, for [`super::metrics`].
pub fn frame_planes(frame: &VideoFrame) -> [Plane<'_>; 3] {
    std::array::from_fn(|index| Plane {
        data: frame.data(index),
        stride: frame.stride(index),
        width: frame.plane_width(index) as usize,
        height: frame.plane_height(index) as usize,
    })
}

/// One encoded file being compared.
struct Candidate {
    reader: FrameReader,
    size: (u32, u32),
    /// Its own frames in 4:2:0 when they are in another format (a no-op scaler otherwise).
    own: ToYuv420,
    /// The source scaled to its size.
    reference: ToYuv420,
    totals: QualityTotals,
    unmatched: u64,
}

impl Candidate {
    fn open(path: &Path) -> Result<Self, QualityError> {
        let mut reader = FrameReader::open(path)?;
        let size = match reader.peek()? {
            Some((_, frame)) => (frame.width(), frame.height()),
            None => {
                let video = &reader.input.info().video;
                (video.width, video.height)
            }
        };
        Ok(Self {
            reader,
            size,
            own: ToYuv420::new(size, scaling::Flags::POINT),
            reference: ToYuv420::new(size, scaling::Flags::LANCZOS),
            totals: QualityTotals::default(),
            unmatched: 0,
        })
    }

    /// Scores every frame of this file before `until` (seconds; `None`: to its end) against
    /// `source` (whose time is `source_time`).
    fn score_until(
        &mut self,
        source: &VideoFrame,
        source_time: f64,
        until: Option<f64>,
    ) -> Result<(), QualityError> {
        let mut scaled_source: Option<VideoFrame> = None;
        loop {
            let due = match self.reader.peek()? {
                Some((time, _)) => until.is_none_or(|until| *time < until - SAME_INSTANT),
                None => false,
            };
            if !due {
                return Ok(());
            }
            let Some((time, frame)) = self.reader.next()? else {
                return Ok(());
            };
            if time < source_time - SAME_INSTANT {
                self.unmatched += 1;
                continue;
            }
            let scale_error = |source| QualityError::Scale {
                path: self.reader.path.clone(),
                source,
            };
            if scaled_source.is_none() {
                scaled_source = Some(self.reference.convert(source).map_err(scale_error)?);
            }
            let converted;
            let distorted = if frame.format() == Pixel::YUV420P {
                &frame
            } else {
                converted = self.own.convert(&frame).map_err(scale_error)?;
                &converted
            };
            if let Some(reference) = &scaled_source {
                self.totals.add(&score_frame(
                    frame_planes(distorted),
                    frame_planes(reference),
                ));
            }
        }
    }
}

/// Compares each of `encoded` with `source`; `on_frame` is told each source frame's time as the
/// work goes on.
pub fn compare_with_source(
    source: &Path,
    encoded: &[PathBuf],
    on_frame: &mut dyn FnMut(f64),
) -> Result<Vec<Comparison>, QualityError> {
    crate::av::init();
    let mut reference = FrameReader::open(source)?;
    let mut candidates = encoded
        .iter()
        .map(|path| Candidate::open(path))
        .collect::<Result<Vec<_>, _>>()?;
    let Some((mut time, mut frame)) = reference.next()? else {
        return Ok(Vec::new());
    };
    loop {
        on_frame(time);
        let next = reference.next()?;
        for candidate in &mut candidates {
            candidate.score_until(&frame, time, next.as_ref().map(|(t, _)| *t))?;
        }
        match next {
            Some((next_time, next_frame)) => (time, frame) = (next_time, next_frame),
            None => break,
        }
    }
    candidates
        .into_iter()
        .map(|candidate| {
            if candidate.totals.frames() == 0 {
                return Err(QualityError::NoOverlap {
                    path: candidate.reader.path,
                    reference: source.to_owned(),
                });
            }
            Ok(Comparison {
                path: candidate.reader.path,
                size: candidate.size,
                totals: candidate.totals,
                unmatched: candidate.unmatched,
            })
        })
        .collect()
}
