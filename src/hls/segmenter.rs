//! Where segments and GOPs begin (decision D11). Pure.
//!
//! A new segment starts at the first keyframe at or after 10.0 s of media since the current
//! segment began; every keyframe starts a GOP (one byte-range entry, D12). Cuts are decided on the
//! source's timestamps, so every rendition fed the same keyframes cuts at the same instants and
//! all `playlist.m3u8` files of a recording come out identical.

use crate::time::TimeBase;

/// Minimum media time of a segment before the next keyframe may cut it.
pub const SEGMENT_MILLIS: i64 = 10_000;

/// What a video packet means for the segment structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// Not a keyframe (or before the first one): goes into the current GOP.
    None,
    /// A keyframe inside the current segment: starts a GOP.
    Gop,
    /// A keyframe that starts a new segment (and a GOP); `index` is the new segment's number.
    Segment {
        /// The new segment's number.
        index: u64,
    },
}

/// Decides segment and GOP boundaries from video packets in decode order.
#[derive(Debug, Clone)]
pub struct Segmenter {
    time_base: TimeBase,
    origin: Option<i64>,
    segment_start: i64,
    next_index: u64,
}

impl Segmenter {
    /// A segmenter for timestamps in `time_base`; the first keyframe starts segment `first_index`.
    pub fn new(time_base: TimeBase, first_index: u64) -> Self {
        Self {
            time_base,
            origin: None,
            segment_start: 0,
            next_index: first_index,
        }
    }

    /// Classifies a video packet at `pts`.
    pub fn on_video(&mut self, pts: i64, is_key: bool) -> Boundary {
        if !is_key {
            return Boundary::None;
        }
        let cut = match self.origin {
            None => {
                self.origin = Some(pts);
                true
            }
            Some(_) => self.time_base.ticks_to_millis(pts - self.segment_start) >= SEGMENT_MILLIS,
        };
        if cut {
            self.segment_start = pts;
            let index = self.next_index;
            self.next_index += 1;
            Boundary::Segment { index }
        } else {
            Boundary::Gop
        }
    }

    /// Milliseconds from the first keyframe to `pts`, the media timeline of playlists. Rounded per
    /// instant (not per duration), so durations computed as differences add up exactly.
    pub fn media_millis(&self, pts: i64) -> u64 {
        let origin = self.origin.unwrap_or(pts);
        u64::try_from(self.time_base.ticks_to_millis(pts - origin)).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(keyframes_at_frames: &[i64]) -> Vec<(i64, Boundary)> {
        let mut segmenter = Segmenter::new(TimeBase::new(1, 30).unwrap(), 0);
        keyframes_at_frames
            .iter()
            .map(|&pts| (pts, segmenter.on_video(pts, true)))
            .collect()
    }

    #[test]
    fn cuts_at_the_first_keyframe_at_or_after_ten_seconds() {
        // Keyframes every 2 s: segments start at 0, 10, 20 s.
        let keyframes: Vec<i64> = (0..13).map(|n| n * 60).collect();
        let segments: Vec<i64> = run(&keyframes)
            .into_iter()
            .filter(|(_, b)| matches!(b, Boundary::Segment { .. }))
            .map(|(pts, _)| pts)
            .collect();
        assert_eq!(segments, [0, 300, 600]);
    }

    #[test]
    fn irregular_keyframes_make_longer_segments() {
        // Keyframes at 0, 4, 8, 11.2, 14 s: the first cut is at 11.2 s (first at or after 10).
        let boundaries = run(&[0, 120, 240, 336, 420]);
        assert_eq!(
            boundaries.iter().map(|(_, b)| *b).collect::<Vec<_>>(),
            [
                Boundary::Segment { index: 0 },
                Boundary::Gop,
                Boundary::Gop,
                Boundary::Segment { index: 1 },
                Boundary::Gop
            ]
        );
    }

    #[test]
    fn non_keyframes_never_cut_and_numbering_can_continue() {
        let mut segmenter = Segmenter::new(TimeBase::new(1, 90_000).unwrap(), 17);
        assert_eq!(segmenter.on_video(5, false), Boundary::None);
        assert_eq!(
            segmenter.on_video(1_000, true),
            Boundary::Segment { index: 17 }
        );
        assert_eq!(segmenter.on_video(1_000 + 900_000, false), Boundary::None);
        assert_eq!(
            segmenter.on_video(1_000 + 900_000, true),
            Boundary::Segment { index: 18 }
        );
        assert_eq!(segmenter.media_millis(1_000 + 900_000), 10_000);
    }
}
