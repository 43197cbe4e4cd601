//! What a publisher sends per second, over the last few whole seconds: the ingest bitrate and
//! frame rate `/metrics` shows per channel. Pure: times are passed in.

use std::collections::VecDeque;

/// Whole seconds averaged over.
pub const WINDOW_SECONDS: u64 = 5;

/// Bytes and video frames counted per second of arrival.
#[derive(Debug, Default)]
pub struct IngestRate {
    /// (second since the stream started, bytes, video frames), oldest first.
    seconds: VecDeque<(u64, u64, u64)>,
}

impl IngestRate {
    /// A message of `bytes` arrived `at_ms` after the stream started; `video` when it is a frame.
    pub fn add(&mut self, at_ms: u64, bytes: u64, video: bool) {
        let second = at_ms / 1000;
        match self.seconds.back_mut() {
            Some((last, total, frames)) if *last == second => {
                *total += bytes;
                *frames += u64::from(video);
            }
            _ => self.seconds.push_back((second, bytes, u64::from(video))),
        }
        while self
            .seconds
            .front()
            .is_some_and(|(first, _, _)| first + WINDOW_SECONDS + 1 < second)
        {
            self.seconds.pop_front();
        }
    }

    /// (bits per second, frames per second) over the last [`WINDOW_SECONDS`] whole seconds
    /// before `now_ms` (fewer while the stream is younger).
    pub fn rates(&self, now_ms: u64) -> (f64, f64) {
        let current = now_ms / 1000;
        let span = WINDOW_SECONDS.min(current).max(1);
        let (bytes, frames) = self
            .seconds
            .iter()
            .filter(|(second, _, _)| *second < current && *second + span >= current)
            .fold((0, 0), |(b, f), (_, bytes, frames)| (b + bytes, f + frames));
        let seconds = span as f64;
        (bytes as f64 * 8.0 / seconds, frames as f64 / seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_the_last_whole_seconds() {
        let mut rate = IngestRate::default();
        // 30 frames of 10 000 bytes a second for 8 s, and an audio message a second.
        for second in 0..8 {
            for frame in 0..30 {
                rate.add(second * 1000 + frame * 33, 10_000, true);
            }
            rate.add(second * 1000 + 500, 500, false);
        }
        let (bps, fps) = rate.rates(8_000);
        assert_eq!(fps, 30.0);
        assert_eq!(bps, (30.0 * 10_000.0 + 500.0) * 8.0);
        // The current, unfinished second is not counted; a stalled stream falls to zero.
        assert_eq!(rate.rates(8_999).1, 30.0);
        assert_eq!(rate.rates(20_000), (0.0, 0.0));
        // A young stream averages over what it has.
        let mut young = IngestRate::default();
        young.add(100, 1000, true);
        assert_eq!(young.rates(1_500), (8000.0, 1.0));
    }
}
