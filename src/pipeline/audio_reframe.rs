//! Decoded audio of any codec made into what the AAC encoder takes: planar 32-bit float frames of
//! exactly its frame size (1024 samples), with timestamps counted in samples. MP3 decodes to
//! 1152-sample frames, Opus to 960, PCM to whatever the container packed; swresample converts the
//! sample format and a small FIFO re-cuts the frames.

use ffmpeg::ChannelLayout;
use ffmpeg::software::resampling;
use ffmpeg::util::frame::audio::Audio as AudioFrame;
use ffmpeg_next as ffmpeg;

/// The sample format the AAC encoder takes.
const PLANAR_FLOAT: ffmpeg::format::Sample =
    ffmpeg::format::Sample::F32(ffmpeg::format::sample::Type::Planar);

/// The channel layout of `frame` or, when the container left it unset, the default one for its
/// channel count.
pub fn layout_of(layout: ChannelLayout, channels: u16) -> ChannelLayout {
    if layout.is_empty() {
        ChannelLayout::default(i32::from(channels.max(1)))
    } else {
        layout
    }
}

/// Converts decoded frames to planar float and re-cuts them to `frame_size` samples.
pub struct AudioReframer {
    resampler: Option<resampling::Context>,
    layout: ChannelLayout,
    rate: u32,
    frame_size: usize,
    /// Samples waiting, one buffer per channel.
    planes: Vec<Vec<f32>>,
    /// Timestamp (in 1 / rate) of the first waiting sample.
    next_pts: Option<i64>,
}

impl std::fmt::Debug for AudioReframer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioReframer")
            .field("rate", &self.rate)
            .field("frame_size", &self.frame_size)
            .field("waiting", &self.planes.first().map_or(0, Vec::len))
            .finish_non_exhaustive()
    }
}

impl AudioReframer {
    /// A reframer to `layout` at `rate` Hz, in frames of `frame_size` samples.
    pub fn new(layout: ChannelLayout, rate: u32, frame_size: usize) -> Self {
        let channels = usize::try_from(layout.channels().max(1)).unwrap_or(1);
        Self {
            resampler: None,
            layout,
            rate,
            frame_size: frame_size.max(1),
            planes: vec![Vec::new(); channels],
            next_pts: None,
        }
    }

    /// Takes a decoded frame whose pts is in 1 / rate; returns the whole frames now ready.
    pub fn push(&mut self, frame: &AudioFrame) -> Result<Vec<AudioFrame>, ffmpeg::Error> {
        if self.next_pts.is_none() {
            self.next_pts = frame.pts();
        }
        let converted = if frame.format() == PLANAR_FLOAT
            && layout_of(frame.channel_layout(), frame.channels()) == self.layout
        {
            None
        } else {
            let resampler = match &mut self.resampler {
                Some(resampler) => resampler,
                None => self.resampler.insert(resampling::Context::get(
                    frame.format(),
                    layout_of(frame.channel_layout(), frame.channels()),
                    self.rate,
                    PLANAR_FLOAT,
                    self.layout,
                    self.rate,
                )?),
            };
            let mut input = frame.clone();
            input.set_channel_layout(layout_of(frame.channel_layout(), frame.channels()));
            let mut output = AudioFrame::empty();
            resampler.run(&input, &mut output)?;
            Some(output)
        };
        let source = converted.as_ref().unwrap_or(frame);
        for (index, plane) in self.planes.iter_mut().enumerate() {
            plane.extend_from_slice(&source.plane::<f32>(index)[..source.samples()]);
        }
        let mut ready = Vec::new();
        while self.planes[0].len() >= self.frame_size {
            ready.push(self.take(self.frame_size));
        }
        Ok(ready)
    }

    /// The samples left over at the end, as one shorter frame.
    pub fn flush(&mut self) -> Option<AudioFrame> {
        let left = self.planes[0].len();
        (left > 0).then(|| self.take(left))
    }

    fn take(&mut self, samples: usize) -> AudioFrame {
        let mut frame = AudioFrame::new(PLANAR_FLOAT, samples, self.layout);
        frame.set_rate(self.rate);
        for (index, plane) in self.planes.iter_mut().enumerate() {
            frame.plane_mut::<f32>(index)[..samples].copy_from_slice(&plane[..samples]);
            plane.drain(..samples);
        }
        frame.set_pts(self.next_pts);
        self.next_pts = self
            .next_pts
            .map(|pts| pts + i64::try_from(samples).unwrap_or(0));
        frame
    }
}
