//! The media timeline of one input: its raw timestamps made into one that only moves forward at
//! the pace of the media. Pure and table-tested.
//!
//! Inputs misbehave: `cat a.ts a.ts` starts again at zero half-way, an RTMP publisher's 32-bit
//! millisecond clock wraps after 49.7 days, an encoder restarts or jumps an hour ahead. The policy:
//!
//! - **in order**: a timestamp after the track's previous one by at most [`MAX_FORWARD_GAP_US`]
//!   (10 s, as Retina allows) is used as it is (plus the offset of any earlier re-timing);
//! - **wrap**: with a wrap period (RTMP: 2³² ms), a step that is a large backward one but a small
//!   forward one modulo the period continues exactly, one period later;
//! - **backward step or forward jump**: anything else is a discontinuity; the timeline continues
//!   one nominal frame after the latest instant placed on any track, so nothing recorded before is
//!   lost or overlapped and a gap is never counted as media time.
//!
//! Decode timestamps are placed (they must rise); presentation timestamps move with them.

/// The longest forward step between two packets of one track taken as media time.
pub const MAX_FORWARD_GAP_US: i64 = 10_000_000;

/// RTMP's 32-bit millisecond timestamps wrap after this many microseconds.
pub const RTMP_WRAP_US: i64 = (1 << 32) * 1000;

/// Which track of the input a timestamp belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Track {
    /// The video stream.
    Video,
    /// The audio stream.
    Audio,
}

impl Track {
    fn index(self) -> usize {
        match self {
            Self::Video => 0,
            Self::Audio => 1,
        }
    }
}

/// How a timestamp related to its track's previous one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The track's first timestamp, near the others.
    First,
    /// After the previous one, within the allowed gap.
    InOrder,
    /// The raw clock wrapped; the timeline continues exactly.
    Wrapped,
    /// The raw clock went back by this many µs (or stood still): re-timed.
    Backward {
        /// How far back, in µs (0: the same timestamp again).
        by_us: i64,
    },
    /// The raw clock jumped ahead by this many µs, beyond [`MAX_FORWARD_GAP_US`]: re-timed.
    Forward {
        /// How far ahead, in µs.
        by_us: i64,
    },
}

impl Step {
    /// Whether the timeline was re-timed here (a discontinuity in the input).
    pub fn is_discontinuity(self) -> bool {
        matches!(self, Self::Backward { .. } | Self::Forward { .. })
    }
}

/// Where one timestamp was placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// The timestamp on the timeline, in µs.
    pub at_us: i64,
    /// What was added to the raw timestamp (apply it to the packet's dts and pts alike).
    pub offset_us: i64,
    /// How it related to the previous one.
    pub step: Step,
}

/// The timeline of one input. Timestamps are in µs.
#[derive(Debug, Clone)]
pub struct Timeline {
    wrap_us: Option<i64>,
    /// What is added to each track's raw timestamps.
    offset_us: [i64; 2],
    /// The offset of the latest wrap or re-timing on any track: a track whose clock went the
    /// same way (both tracks of `cat a.ts a.ts`) takes it on, keeping the tracks in sync.
    shared_offset_us: i64,
    /// The last placed timestamp per track.
    last_us: [Option<i64>; 2],
    /// The latest instant placed on any track (a timestamp plus its nominal duration).
    latest_end_us: Option<i64>,
}

impl Timeline {
    /// A timeline whose raw clock wraps every `wrap_us` µs (RTMP: [`RTMP_WRAP_US`]), or never.
    pub fn new(wrap_us: Option<i64>) -> Self {
        Self {
            wrap_us: wrap_us.filter(|period| *period > 0),
            offset_us: [0; 2],
            shared_offset_us: 0,
            last_us: [None; 2],
            latest_end_us: None,
        }
    }

    /// Places the raw timestamp `raw_us` of `track`, whose packet lasts about `nominal_us`.
    pub fn place(&mut self, track: Track, raw_us: i64, nominal_us: i64) -> Placement {
        let index = track.index();
        let step = self.step(index, raw_us);
        if step.is_discontinuity() {
            let resume_at = self
                .latest_end_us
                .unwrap_or_else(|| raw_us.saturating_add(self.offset_us[index]));
            self.offset_us[index] = resume_at.saturating_sub(raw_us);
            self.shared_offset_us = self.offset_us[index];
        }
        let at_us = raw_us.saturating_add(self.offset_us[index]);
        self.last_us[index] = Some(at_us);
        let end = at_us.saturating_add(nominal_us.max(1));
        self.latest_end_us = Some(self.latest_end_us.map_or(end, |latest| latest.max(end)));
        Placement {
            at_us,
            offset_us: self.offset_us[index],
            step,
        }
    }

    /// How `raw_us` relates to the track's previous timestamp; takes on the shared offset or a
    /// wrap when one of them puts it in order.
    fn step(&mut self, index: usize, raw_us: i64) -> Step {
        let in_order = |delta: i64| delta > 0 && delta <= MAX_FORWARD_GAP_US;
        let Some(last) = self.last_us[index] else {
            self.offset_us[index] = self.shared_offset_us;
            let candidate = raw_us.saturating_add(self.shared_offset_us);
            return match self.latest_end_us {
                Some(latest) if candidate.abs_diff(latest) > MAX_FORWARD_GAP_US.unsigned_abs() => {
                    jump(candidate - latest)
                }
                _ => Step::First,
            };
        };
        let delta = raw_us.saturating_add(self.offset_us[index]) - last;
        if in_order(delta) {
            return Step::InOrder;
        }
        let shared = raw_us.saturating_add(self.shared_offset_us) - last;
        if self.shared_offset_us != self.offset_us[index] && in_order(shared) {
            self.offset_us[index] = self.shared_offset_us;
            return Step::InOrder;
        }
        if let Some(period) = self.wrap_us
            && delta < 0
            && in_order(delta + period)
        {
            self.offset_us[index] += period;
            self.shared_offset_us = self.offset_us[index];
            return Step::Wrapped;
        }
        jump(delta)
    }
}

/// A step outside the policy: backward (or standing still) or forward beyond the gap.
fn jump(delta: i64) -> Step {
    if delta <= 0 {
        Step::Backward { by_us: -delta }
    } else {
        Step::Forward { by_us: delta }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Track::{Audio, Video};

    const FRAME: i64 = 33_333;
    /// (name, wrap period, (track, raw ms) in, (placed ms, step) out).
    type Case<'a> = (&'a str, Option<i64>, &'a [(Track, i64)], &'a [(i64, Step)]);
    const AAC: i64 = 21_333;

    /// Places each (track, raw ms) and returns (placed ms, step) per row.
    fn walk(wrap_us: Option<i64>, rows: &[(Track, i64)]) -> Vec<(i64, Step)> {
        let mut timeline = Timeline::new(wrap_us);
        rows.iter()
            .map(|&(track, raw_ms)| {
                let nominal = if track == Video { FRAME } else { AAC };
                let placed = timeline.place(track, raw_ms * 1000, nominal);
                assert_eq!(placed.at_us, raw_ms * 1000 + placed.offset_us);
                (placed.at_us / 1000, placed.step)
            })
            .collect()
    }

    #[test]
    fn every_case_of_the_policy() {
        let wrap_ms = 1_i64 << 32;
        #[rustfmt::skip]
        let cases: &[Case] = &[
            ("in order, two tracks, a start that is not zero", None,
             &[(Video, 5_000), (Audio, 5_010), (Video, 5_033), (Audio, 5_031)],
             &[(5_000, Step::First), (5_010, Step::First), (5_033, Step::InOrder), (5_031, Step::InOrder)]),
            ("a gap of 10 s is media time", None,
             &[(Video, 0), (Video, 10_000)],
             &[(0, Step::First), (10_000, Step::InOrder)]),
            ("cat a.ts a.ts: back to zero continues after the latest instant", None,
             &[(Video, 0), (Audio, 10), (Video, 3_966), (Audio, 3_990), (Video, 0), (Audio, 10), (Video, 33)],
             &[(0, Step::First), (10, Step::First), (3_966, Step::InOrder), (3_990, Step::InOrder),
               (4_011, Step::Backward { by_us: 3_966_000 }), (4_021, Step::InOrder), (4_044, Step::InOrder)]),
            ("a repeated timestamp is a backward step of 0", None,
             &[(Video, 0), (Video, 33), (Video, 33)],
             &[(0, Step::First), (33, Step::InOrder), (66, Step::Backward { by_us: 0 })]),
            ("a forward jump of an hour is not media time", None,
             &[(Video, 0), (Video, 33), (Video, 3_600_066), (Video, 3_600_099)],
             &[(0, Step::First), (33, Step::InOrder), (66, Step::Forward { by_us: 3_600_033_000 }), (99, Step::InOrder)]),
            ("a track that starts far from the others joins them", None,
             &[(Video, 0), (Video, 33), (Audio, 7_200_000), (Audio, 7_200_021)],
             &[(0, Step::First), (33, Step::InOrder), (66, Step::Forward { by_us: 7_199_933_667 }), (87, Step::InOrder)]),
            ("RTMP's 32-bit clock wraps and the timeline continues exactly", Some(wrap_ms * 1000),
             &[(Video, wrap_ms - 66), (Video, wrap_ms - 33), (Video, 0), (Audio, 5), (Video, 33)],
             &[(wrap_ms - 66, Step::First), (wrap_ms - 33, Step::InOrder), (wrap_ms, Step::Wrapped),
               (wrap_ms + 5, Step::First), (wrap_ms + 33, Step::InOrder)]),
            ("without a wrap period the same step is a backward one", None,
             &[(Video, wrap_ms - 33), (Video, 0)],
             &[(wrap_ms - 33, Step::First), (wrap_ms, Step::Backward { by_us: (wrap_ms - 33) * 1000 })]),
            ("a small backward step is not taken for a wrap", Some(wrap_ms * 1000),
             &[(Video, 1_000), (Video, 900)],
             &[(1_000, Step::First), (1_033, Step::Backward { by_us: 100_000 })]),
        ];
        for (name, wrap, rows, expected) in cases {
            assert_eq!(walk(*wrap, rows), *expected, "{name}");
        }
    }

    #[test]
    fn timestamps_only_rise_per_track_whatever_comes_in() {
        let raw = [
            0_i64, 40, 80, -5_000, 7, 3_600_000, 3_600_040, 10, 10, 20_000_000, 50,
        ];
        let mut timeline = Timeline::new(Some(RTMP_WRAP_US));
        let mut last = i64::MIN;
        for ms in raw {
            let placed = timeline.place(Video, ms * 1000, 40_000);
            assert!(
                placed.at_us > last,
                "{ms} ms placed at {} after {last}",
                placed.at_us
            );
            last = placed.at_us;
        }
        // The only media time beyond frames is the in-policy 5 s step from -5000 to 7 ms.
        assert!(
            last < 6_000_000,
            "no jump counted as media time: ends at {last} µs"
        );
    }
}
