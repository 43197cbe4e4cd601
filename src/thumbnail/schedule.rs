//! When thumbnails are taken (decision D7), in media time. Pure.
//!
//! Boundary `k` lies `k × targetIntervalSeconds` after the recording's first frame. A candidate
//! (any decoded frame on transcoded channels, a keyframe on BASIC) is taken when it is the first at
//! or after the next boundary; the schedule then moves to the first boundary after it, so a
//! boundary with no candidate before the next one is skipped and numbering stays gap-free.

use crate::time::TimeBase;

/// The boundaries of one recording and how many thumbnails have been taken.
#[derive(Debug, Clone)]
pub struct ThumbnailSchedule {
    start: i64,
    interval_millis: i64,
    time_base: TimeBase,
    next_boundary_index: i64,
    first_number: u64,
    taken: u64,
}

impl ThumbnailSchedule {
    /// A schedule starting at `start` (the first frame's timestamp, in `time_base` ticks) with one
    /// boundary every `interval_seconds`.
    pub fn new(start: i64, interval_seconds: u32, time_base: TimeBase) -> Self {
        Self {
            start,
            interval_millis: i64::from(interval_seconds) * 1000,
            time_base,
            next_boundary_index: 0,
            first_number: 0,
            taken: 0,
        }
    }

    /// The same schedule numbering its thumbnails from `first` (a stream merged into a recording
    /// continues the thumbnail numbers, D9).
    pub fn numbered_from(mut self, first: u64) -> Self {
        self.first_number = first;
        self
    }

    fn boundary(&self, index: i64) -> i64 {
        self.start
            + self
                .time_base
                .ticks_at_or_after_millis(index * self.interval_millis)
    }

    /// The timestamp the next thumbnail is waiting for.
    pub fn next_boundary(&self) -> i64 {
        self.boundary(self.next_boundary_index)
    }

    /// Whether a candidate at `pts` would be taken.
    pub fn wants(&self, pts: i64) -> bool {
        pts >= self.next_boundary()
    }

    /// Offers a candidate at `pts`; returns the thumbnail number when it is taken.
    pub fn offer(&mut self, pts: i64) -> Option<u64> {
        if !self.wants(pts) {
            return None;
        }
        let number = self.first_number + self.taken;
        self.taken += 1;
        // The first boundary strictly after `pts`.
        let elapsed_millis = self.time_base.ticks_to_millis(pts - self.start).max(0);
        let mut index = elapsed_millis / self.interval_millis;
        while self.boundary(index) <= pts {
            index += 1;
        }
        self.next_boundary_index = index;
        Some(number)
    }

    /// How many thumbnails this schedule has taken.
    pub fn taken(&self) -> u64 {
        self.taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames_30fps() -> TimeBase {
        TimeBase::new(1, 30).unwrap()
    }

    #[test]
    fn takes_the_first_frame_then_one_per_interval() {
        let mut schedule = ThumbnailSchedule::new(0, 2, frames_30fps());
        let taken: Vec<(i64, u64)> = (0..300)
            .filter_map(|pts| schedule.offer(pts).map(|n| (pts, n)))
            .collect();
        assert_eq!(taken.len(), 5);
        assert_eq!(taken, [(0, 0), (60, 1), (120, 2), (180, 3), (240, 4)]);
    }

    #[test]
    fn boundaries_are_relative_to_the_first_frame() {
        let tb = TimeBase::new(1, 90_000).unwrap();
        let start = 1_234_567;
        let mut schedule = ThumbnailSchedule::new(start, 1, tb);
        assert_eq!(schedule.offer(start), Some(0));
        assert_eq!(schedule.next_boundary(), start + 90_000);
        assert_eq!(schedule.offer(start + 89_999), None);
        assert_eq!(schedule.offer(start + 90_000), Some(1));
    }

    #[test]
    fn keyframe_candidates_skip_boundaries_without_one() {
        // BASIC with keyframes every 5 s and a 2 s interval: boundaries 0, 2, 4, 6, 8, 10, …
        let mut schedule = ThumbnailSchedule::new(0, 2, frames_30fps());
        let keyframes = [0, 150, 300, 450];
        let taken: Vec<Option<u64>> = keyframes.iter().map(|&pts| schedule.offer(pts)).collect();
        // Every keyframe is the first at or after some boundary: all taken, numbered without gaps.
        assert_eq!(taken, [Some(0), Some(1), Some(2), Some(3)]);
        // Keyframes every 1 s with a 2 s interval: every other one.
        let mut schedule = ThumbnailSchedule::new(0, 2, frames_30fps());
        let taken: Vec<i64> = (0..10)
            .map(|s| s * 30)
            .filter(|&pts| schedule.offer(pts).is_some())
            .collect();
        assert_eq!(taken, [0, 60, 120, 180, 240]);
    }

    #[test]
    fn a_gap_in_the_stream_gives_one_thumbnail_not_several() {
        let mut schedule = ThumbnailSchedule::new(0, 1, frames_30fps());
        assert_eq!(schedule.offer(0), Some(0));
        // Nothing until 5.5 s: boundaries 1..5 have no frame before the next one.
        assert_eq!(schedule.offer(165), Some(1));
        assert_eq!(schedule.next_boundary(), 180);
        assert_eq!(schedule.taken(), 2);
    }

    #[test]
    fn ntsc_rates_use_the_first_frame_at_or_after_the_exact_boundary() {
        // 30000/1001 fps, 1 s interval: boundary 1 is at 29.97 frames, so frame 30 is taken.
        let tb = TimeBase::new(1001, 30_000).unwrap();
        let mut schedule = ThumbnailSchedule::new(0, 1, tb);
        let taken: Vec<i64> = (0..100)
            .filter(|&pts| schedule.offer(pts).is_some())
            .collect();
        assert_eq!(taken, [0, 30, 60, 90]);
    }
}
