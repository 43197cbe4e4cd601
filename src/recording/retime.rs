//! The input's packets put on its [`Timeline`]: each packet's decode and presentation timestamps
//! move by the offset the timeline places it with, so what reaches the pipeline only moves forward
//! (a backward step, a wrap or a forward jump in the input never reaches the muxer or the
//! recording's duration). Each re-timing is logged with both timestamps.

use ffmpeg::util::mathematics::rescale::Rescale as _;
use ffmpeg_next as ffmpeg;

use crate::ingest::InputInfo;
use crate::timeline::{Step, Timeline, Track};

/// Microseconds, the timeline's unit.
const MICROS: ffmpeg::Rational = ffmpeg::Rational(1, 1_000_000);
/// AAC's 1024 samples at 48 kHz: an audio packet's duration when it does not say.
const NOMINAL_AUDIO_US: i64 = 21_333;
/// Re-timings logged one by one before they are only counted.
const LOGGED_DISCONTINUITIES: u32 = 10;

/// Re-times one input's packets.
#[derive(Debug)]
pub struct Retimer {
    timeline: Timeline,
    source: String,
    video_time_base: ffmpeg::Rational,
    audio_time_base: Option<ffmpeg::Rational>,
    frame_us: i64,
    discontinuities: u32,
}

impl Retimer {
    /// A retimer for the packets of `info`.
    pub fn new(info: &InputInfo) -> Self {
        Self {
            timeline: Timeline::new(info.timestamp_wrap_us),
            source: info.source.clone(),
            video_time_base: info.video.av_time_base,
            audio_time_base: info.audio.as_ref().map(|audio| audio.time_base),
            frame_us: (1_000_000.0 / info.video.frame_rate).round() as i64,
            discontinuities: 0,
        }
    }

    /// How many discontinuities were re-timed.
    pub fn discontinuities(&self) -> u32 {
        self.discontinuities
    }

    /// Moves `packet` (of `track`) onto the timeline. Packets without timestamps stay as they are.
    pub fn retime(&mut self, track: Track, packet: &mut ffmpeg::Packet) {
        let time_base = match track {
            Track::Video => self.video_time_base,
            Track::Audio => self.audio_time_base.unwrap_or(self.video_time_base),
        };
        let Some(raw) = packet.dts().or(packet.pts()) else {
            return;
        };
        let nominal_us = match (packet.duration(), track) {
            (duration, _) if duration > 0 => duration.rescale(time_base, MICROS),
            (_, Track::Video) => self.frame_us,
            (_, Track::Audio) => NOMINAL_AUDIO_US,
        };
        let raw_us = raw.rescale(time_base, MICROS);
        let placed = self.timeline.place(track, raw_us, nominal_us);
        if placed.step.is_discontinuity() {
            self.log(track, placed.step, raw_us, placed.at_us);
        }
        if placed.offset_us != 0 {
            let shift = placed.offset_us.rescale(MICROS, time_base);
            packet.set_dts(packet.dts().map(|dts| dts + shift));
            packet.set_pts(packet.pts().map(|pts| pts + shift));
        }
    }

    fn log(&mut self, track: Track, step: Step, raw_us: i64, at_us: i64) {
        self.discontinuities += 1;
        if self.discontinuities > LOGGED_DISCONTINUITIES {
            return;
        }
        let seconds = |us: i64| us as f64 / 1e6;
        let what = match step {
            Step::Backward { by_us } => format!("went back {:.3} s", seconds(by_us)),
            Step::Forward { by_us } => format!(
                "jumped ahead {:.3} s (more than the {} s allowed)",
                seconds(by_us),
                crate::timeline::MAX_FORWARD_GAP_US / 1_000_000
            ),
            Step::First | Step::InOrder | Step::Wrapped => return,
        };
        tracing::warn!(
            "{}: the {} timestamps {what} (to {:.3} s); re-timed to continue at {:.3} s of the recording's timeline{}",
            self.source,
            match track {
                Track::Video => "video",
                Track::Audio => "audio",
            },
            seconds(raw_us),
            seconds(at_us),
            if self.discontinuities == LOGGED_DISCONTINUITIES {
                "; further re-timings are not logged"
            } else {
                ""
            }
        );
    }
}
