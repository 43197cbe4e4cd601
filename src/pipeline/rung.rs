//! One transcoded rung: scale (from the source frame or the next larger rung's picture) and
//! encode with libx264 under the rung's [`RungEncoding`] (`--encoder-settings`). By default that
//! is x264 `veryfast` at the rung's bitrate with an IDR exactly where the source has a keyframe
//! (decision D11) and nowhere else, so every rendition can be cut at the same timestamps; a fixed
//! GOP instead puts IDRs on a grid of media time shared by every rung.
//!
//! Each rung runs on a thread of its own ([`super::rung_chain`]), so x264 runs single-threaded
//! inside it by default: the rungs are the parallelism, and no encoder holds the extra frames that
//! x264's frame threads and their lookahead would.
//!
//! A rung counts what it costs ([`RungUsage`]): frames, encoded bytes, the wall time spent
//! scaling and encoding, and the CPU time of its thread and of the threads x264 started from it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg::util::frame::video::Video as VideoFrame;
use ffmpeg_next as ffmpeg;

use crate::ladder::Rendition;
use crate::model::{Keyframes, RateControl, RungEncoding};

/// Why a rung could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum VideoEncodeError {
    /// This FFmpeg has no libx264.
    #[error("FFmpeg has no libx264 encoder")]
    NoEncoder,
    /// The encoder or scaler could not be set up.
    #[error("cannot set up the {rendition} encoder")]
    Open {
        /// The rendition.
        rendition: String,
        /// What libav said.
        #[source]
        source: ffmpeg::Error,
    },
    /// The rung's thread could not be started.
    #[error("cannot start a rung encoder thread")]
    Thread {
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A rung's thread stopped without saying why (it panicked).
    #[error("a rung encoder thread stopped unexpectedly")]
    Stopped,
    /// A frame could not be scaled or encoded.
    #[error("cannot encode a {rendition} frame")]
    Encode {
        /// The rendition.
        rendition: String,
        /// What libav said.
        #[source]
        source: ffmpeg::Error,
    },
}

/// What one rung encodes to, and what its input frames are.
#[derive(Debug, Clone)]
pub struct RungSettings {
    /// The rendition (name, size, frame rate).
    pub rendition: Rendition,
    /// Target bitrate, bits per second.
    pub bitrate: u32,
    /// Time base of the input frames' timestamps.
    pub time_base: ffmpeg::Rational,
    /// Frame rate of the source.
    pub source_frame_rate: f64,
    /// How the rung is encoded and scaled.
    pub encoding: RungEncoding,
    /// Whose rung it is (the channel's name): the label of its encode speed in `/metrics`.
    pub label: String,
}

/// What one rung did and what it cost.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RungUsage {
    /// The rendition's name.
    pub rendition: String,
    /// Frames encoded.
    pub frames: u64,
    /// Bytes of H.264 the encoder produced.
    pub bytes: u64,
    /// Wall time spent scaling and encoding (not waiting for frames).
    pub wall: Duration,
    /// CPU time of the rung's thread and of the x264 threads it started.
    pub cpu: Duration,
}

impl RungUsage {
    /// Adds `other`'s counts (the same rung over a later stream).
    pub fn add(&mut self, other: &RungUsage) {
        self.frames += other.frames;
        self.bytes += other.bytes;
        self.wall += other.wall;
        self.cpu += other.cpu;
    }
}

/// Where the next IDR goes under a fixed GOP: on a grid of `interval` ticks from the first frame.
#[derive(Debug, Clone, Copy)]
struct KeyframeGrid {
    interval: i64,
    first: Option<i64>,
    last_cell: i64,
}

impl KeyframeGrid {
    /// Whether the frame at `pts` is the first one in a new cell of the grid.
    fn starts_gop(&mut self, pts: i64) -> bool {
        let first = *self.first.get_or_insert(pts);
        let cell = (pts - first).div_euclid(self.interval.max(1));
        if pts == first || cell > self.last_cell {
            self.last_cell = cell;
            true
        } else {
            false
        }
    }
}

/// Encodes one rung.
pub struct RungEncoder {
    name: String,
    width: u32,
    height: u32,
    bitrate: u32,
    /// Minimum pts step between output frames (frame-rate cap), in source ticks.
    min_step: i64,
    last_pts: Option<i64>,
    /// `None`: IDRs at the source's keyframes.
    grid: Option<KeyframeGrid>,
    scaler_flags: scaling::Flags,
    scaler: Option<((Pixel, u32, u32), scaling::Context)>,
    encoder: ffmpeg::encoder::Video,
    packet: ffmpeg::Packet,
    usage: RungUsage,
    speed: SpeedMeter,
}

/// The rung's encode speed, published to `/metrics` after each second of media.
#[derive(Debug)]
struct SpeedMeter {
    label: String,
    frame_rate: f64,
    /// Frames and work time at the last publication.
    since: (u64, Duration),
}

impl SpeedMeter {
    fn update(&mut self, rendition: &str, usage: &RungUsage) {
        let frames = usage.frames - self.since.0;
        if (frames as f64) < self.frame_rate {
            return;
        }
        let work = usage.wall.saturating_sub(self.since.1).as_secs_f64();
        if work > 0.0 {
            let speed = frames as f64 / self.frame_rate / work;
            crate::metrics::global().set_encode_speed(&self.label, rendition, Some(speed));
        }
        self.since = (usage.frames, usage.wall);
    }
}

impl std::fmt::Debug for RungEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RungEncoder")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl RungEncoder {
    /// An encoder for `settings.rendition` at `settings.bitrate`, as `settings.encoding` says.
    pub fn new(settings: &RungSettings) -> Result<Self, VideoEncodeError> {
        let RungSettings {
            rendition,
            bitrate,
            time_base,
            source_frame_rate,
            encoding,
            label,
        } = settings;
        let (bitrate, time_base, source_frame_rate) = (*bitrate, *time_base, *source_frame_rate);
        crate::av::init();
        let codec = ffmpeg::encoder::find_by_name("libx264").ok_or(VideoEncodeError::NoEncoder)?;
        let open_error = |source| VideoEncodeError::Open {
            rendition: rendition.name.clone(),
            source,
        };
        let mut encoder = ffmpeg::codec::context::Context::new_with_codec(codec)
            .encoder()
            .video()
            .map_err(open_error)?;
        let fps = rendition.frame_rate.round().max(1.0) as i32;
        encoder.set_width(rendition.width);
        encoder.set_height(rendition.height);
        encoder.set_format(Pixel::YUV420P);
        encoder.set_time_base(time_base);
        encoder.set_frame_rate(Some(ffmpeg::Rational::new(fps, 1)));
        encoder.set_bit_rate(match encoding.rate_control {
            RateControl::Crf(_) => 0,
            RateControl::Abr | RateControl::Cbr { .. } => {
                (f64::from(bitrate) * encoding.bitrate_scale).round() as usize
            }
        });
        // IDRs are forced where the source has keyframes, or on the fixed grid; never by x264.
        encoder.set_gop(u32::MAX / 4);
        let mut options = ffmpeg::Dictionary::new();
        // Average bitrate without VBV by default: x264 is deterministic then (VBV with frame
        // threads is not), and without AVX-512 (see `x264_cpu`), so the same input always
        // records to the same bytes.
        let instruction_sets = crate::x264_cpu::x264_instruction_sets();
        for (name, value) in
            encoding.x264_options(rendition.height, fps as u32, bitrate, instruction_sets)
        {
            options.set(&name, &value);
        }
        let encoder = encoder.open_as_with(codec, options).map_err(open_error)?;
        let source_tick_rate =
            f64::from(time_base.denominator()) / f64::from(time_base.numerator().max(1));
        // Drop frames only when the source is faster than the rung (e.g. 60 -> 30 fps).
        let min_step = if source_frame_rate > f64::from(fps) + 0.5 {
            ((source_tick_rate / f64::from(fps)) * 0.9) as i64
        } else {
            0
        };
        let grid = match encoding.keyframes {
            Keyframes::FollowSource => None,
            Keyframes::EverySeconds(seconds) => Some(KeyframeGrid {
                interval: (seconds * source_tick_rate).round() as i64,
                first: None,
                last_cell: 0,
            }),
        };
        Ok(Self {
            name: rendition.name.clone(),
            width: rendition.width,
            height: rendition.height,
            bitrate,
            min_step,
            last_pts: None,
            grid,
            scaler_flags: scaler_flags(&encoding.scaler),
            scaler: None,
            encoder,
            packet: ffmpeg::Packet::empty(),
            usage: RungUsage {
                rendition: rendition.name.clone(),
                ..RungUsage::default()
            },
            speed: SpeedMeter {
                label: label.clone(),
                frame_rate: rendition.frame_rate.max(1.0),
                since: (0, Duration::ZERO),
            },
        })
    }

    /// The rendition's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Target bitrate in bits per second.
    pub fn bitrate(&self) -> u32 {
        self.bitrate
    }

    /// Codec parameters of the encoded stream (for the muxer).
    pub fn parameters(&self) -> ffmpeg::codec::Parameters {
        ffmpeg::codec::Parameters::from(&*self.encoder)
    }

    /// Scales `input` (source frame or larger rung picture; `pts` and `is_key` from the source)
    /// and encodes it; returns the scaled picture (the next smaller rung's input), or `None` when
    /// the frame-rate cap dropped the frame. Encoded packets go to `on_packet`.
    pub fn encode(
        &mut self,
        input: &VideoFrame,
        pts: i64,
        is_key: bool,
        on_packet: &mut dyn FnMut(&ffmpeg::Packet),
    ) -> Result<Option<Arc<VideoFrame>>, VideoEncodeError> {
        if !is_key && self.last_pts.is_some_and(|last| pts - last < self.min_step) {
            return Ok(None);
        }
        self.last_pts = Some(pts);
        let began = Instant::now();
        let idr = match &mut self.grid {
            None => is_key,
            Some(grid) => grid.starts_gop(pts),
        };
        let encode_error = |source| VideoEncodeError::Encode {
            rendition: self.name.clone(),
            source,
        };
        let shape = (input.format(), input.width(), input.height());
        if self.scaler.as_ref().map(|(s, _)| *s) != Some(shape) {
            let context = scaling::Context::get(
                shape.0,
                shape.1,
                shape.2,
                Pixel::YUV420P,
                self.width,
                self.height,
                self.scaler_flags,
            )
            .map_err(encode_error)?;
            self.scaler = Some((shape, context));
        }
        // A new picture for every frame: the next rung may still be scaling from the last one,
        // and reusing a buffer the encoder was handed made the smallest rung's output differ
        // from run to run (measured; a fresh allocation costs less than 1% here).
        let mut scaled = VideoFrame::new(Pixel::YUV420P, self.width, self.height);
        // Zeroed: the bytes past each line's width (the 160p rung's 284-pixel lines sit in
        // 288-byte rows) would otherwise hold whatever the allocator had there, and SIMD code
        // downstream may read them; a recording must not depend on that.
        for plane in 0..scaled.planes() {
            scaled.data_mut(plane).fill(0);
        }
        let (_, scaler) = self.scaler.as_mut().ok_or(VideoEncodeError::Stopped)?;
        scaler.run(input, &mut scaled).map_err(encode_error)?;
        scaled.set_pts(Some(pts));
        scaled.set_kind(if idr {
            ffmpeg::picture::Type::I
        } else {
            ffmpeg::picture::Type::None
        });
        self.encoder.send_frame(&scaled).map_err(encode_error)?;
        self.receive(on_packet)?;
        self.usage.frames += 1;
        self.usage.wall += began.elapsed();
        self.speed.update(&self.name, &self.usage);
        Ok(Some(Arc::new(scaled)))
    }

    /// What the rung did so far (its CPU time is read when it finishes).
    pub fn usage(&self) -> &RungUsage {
        &self.usage
    }

    /// Flushes the encoder at the end of the input.
    pub fn finish(
        &mut self,
        on_packet: &mut dyn FnMut(&ffmpeg::Packet),
    ) -> Result<(), VideoEncodeError> {
        let began = Instant::now();
        let flushed = self.flush(on_packet);
        self.usage.wall += began.elapsed();
        // Read while the encoder (and any threads x264 started from this one) still exists.
        self.usage.cpu = crate::cpu_time::this_thread_and_its_helpers();
        crate::metrics::global().set_encode_speed(&self.speed.label, &self.name, None);
        flushed
    }

    fn flush(
        &mut self,
        on_packet: &mut dyn FnMut(&ffmpeg::Packet),
    ) -> Result<(), VideoEncodeError> {
        match self.encoder.send_eof() {
            Ok(()) | Err(ffmpeg::Error::Eof) => {}
            Err(source) => {
                return Err(VideoEncodeError::Encode {
                    rendition: self.name.clone(),
                    source,
                });
            }
        }
        self.receive(on_packet)
    }

    fn receive(
        &mut self,
        on_packet: &mut dyn FnMut(&ffmpeg::Packet),
    ) -> Result<(), VideoEncodeError> {
        loop {
            match self.encoder.receive_packet(&mut self.packet) {
                Ok(()) => {
                    self.usage.bytes += self.packet.size() as u64;
                    on_packet(&self.packet);
                }
                Err(ffmpeg::Error::Eof) => return Ok(()),
                Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => {
                    return Ok(());
                }
                Err(source) => {
                    return Err(VideoEncodeError::Encode {
                        rendition: self.name.clone(),
                        source,
                    });
                }
            }
        }
    }
}

/// The swscale algorithm named by the settings (validated there; bicubic otherwise).
fn scaler_flags(name: &str) -> scaling::Flags {
    match name {
        "fast_bilinear" => scaling::Flags::FAST_BILINEAR,
        "bilinear" => scaling::Flags::BILINEAR,
        "area" => scaling::Flags::AREA,
        "lanczos" => scaling::Flags::LANCZOS,
        "spline" => scaling::Flags::SPLINE,
        _ => scaling::Flags::BICUBIC,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_gop_starts_on_each_cell_of_the_grid() {
        // 30 fps in a 1/90000 time base, a GOP every 2 s, starting at an odd pts.
        let mut grid = KeyframeGrid {
            interval: 180_000,
            first: None,
            last_cell: 0,
        };
        let keys: Vec<i64> = (0..200)
            .map(|n| 12_345 + n * 3000)
            .filter(|&pts| grid.starts_gop(pts))
            .map(|pts| (pts - 12_345) / 3000)
            .collect();
        assert_eq!(keys, [0, 60, 120, 180]);
    }

    #[test]
    fn a_fixed_gop_skips_cells_a_dropped_frame_left_empty() {
        let mut grid = KeyframeGrid {
            interval: 100,
            first: None,
            last_cell: 0,
        };
        let keys: Vec<i64> = [0, 50, 99, 250, 260, 300]
            .into_iter()
            .filter(|&pts| grid.starts_gop(pts))
            .collect();
        assert_eq!(keys, [0, 250, 300]);
    }
}
