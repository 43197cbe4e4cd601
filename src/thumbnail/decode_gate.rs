//! Which packets must be decoded to get the thumbnail frames, and which can be skipped. Pure.
//!
//! Decoding every frame of a 1080p stream costs far more than the thumbnails need. The gate keeps
//! the decoder idle between a taken thumbnail and the last keyframe before the next boundary,
//! without seeking or looking ahead, so it works on live input too:
//!
//! - While idle, packets are *held* (not decoded).
//! - A keyframe before the next boundary makes the held packets useless: they are dropped and
//!   holding restarts at that keyframe (the decoder will be reset before it).
//! - A keyframe that is itself the wanted frame (at or after the boundary, with nothing held that
//!   could come first) is decoded *alone* and drained at once.
//! - Any other packet at or after the boundary means the wanted frame is in the held packets or in
//!   this one: everything held is decoded, in order (catch-up), and decoding goes on until the
//!   wanted frame comes out.
//!
//! Held packets never span more than one GOP or one thumbnail interval, whichever is shorter. Keyframes are assumed to be
//! random-access points (IDR, closed GOP), which is what IVS ingest asks of encoders.
//! On BASIC channels only keyframes are candidates, so only those keyframes are decoded.

/// Packets to send to the decoder now.
#[derive(Debug, PartialEq, Eq)]
pub struct DecodeStep<T> {
    /// Reset the decoder first (the packets start at a keyframe).
    pub reset: bool,
    /// The packets, in decode order.
    pub packets: Vec<T>,
    /// Drain the decoder after them: the last one is the wanted frame.
    pub drain: bool,
}

/// A packet's timing as the gate sees it.
#[derive(Debug, Clone, Copy)]
pub struct PacketTiming {
    /// Presentation timestamp.
    pub pts: i64,
    /// Whether the packet starts a random-access point.
    pub is_key: bool,
}

/// The gate's state: decoding (until the wanted frame comes out) or idle (holding packets).
#[derive(Debug)]
pub struct DecodeGate<T> {
    keyframes_only: bool,
    decoding: bool,
    held: Vec<T>,
    held_max_pts: Option<i64>,
    /// The held packets start at a keyframe the decoder no longer has (it was drained and reset).
    held_needs_reset: bool,
}

impl<T: Clone> DecodeGate<T> {
    /// A gate for frame-exact thumbnails (transcoded channels).
    pub fn every_frame() -> Self {
        Self::new(false)
    }

    /// A gate for thumbnails taken from keyframes only (BASIC channels).
    pub fn keyframes_only() -> Self {
        Self::new(true)
    }

    /// Whether only keyframes are decoded (each alone, from a reset decoder).
    pub fn is_keyframes_only(&self) -> bool {
        self.keyframes_only
    }

    fn new(keyframes_only: bool) -> Self {
        Self {
            keyframes_only,
            decoding: false,
            held: Vec::new(),
            held_max_pts: None,
            held_needs_reset: false,
        }
    }

    /// Decides what to do with the next packet in decode order, given the timestamp the next
    /// thumbnail waits for. `None` means the packet is held (or, keyframes only, not needed).
    pub fn on_packet(
        &mut self,
        packet: T,
        timing: PacketTiming,
        next_boundary: i64,
    ) -> Option<DecodeStep<T>> {
        if self.keyframes_only {
            return (timing.is_key && timing.pts >= next_boundary)
                .then(|| step(true, vec![packet], true));
        }
        if self.decoding {
            return Some(step(false, vec![packet], false));
        }
        let wanted_may_be_held = self.held_max_pts.is_some_and(|pts| pts >= next_boundary);
        if timing.is_key && !wanted_may_be_held {
            self.clear_held();
            if timing.pts >= next_boundary {
                // This keyframe is the wanted frame. Keep it: if the next boundary falls inside
                // its GOP, decoding must restart from it.
                self.hold(packet.clone(), timing.pts);
                self.held_needs_reset = true;
                return Some(step(true, vec![packet], true));
            }
            // A later start point for the wanted frame: hold from here, decode nothing yet.
            self.hold(packet, timing.pts);
            self.held_needs_reset = true;
            return None;
        }
        if timing.pts >= next_boundary || wanted_may_be_held {
            self.decoding = true;
            let reset = std::mem::take(&mut self.held_needs_reset);
            let mut packets = std::mem::take(&mut self.held);
            self.held_max_pts = None;
            packets.push(packet);
            return Some(step(reset, packets, false));
        }
        self.hold(packet, timing.pts);
        None
    }

    /// The wanted frame came out of the decoder: go idle until the next boundary approaches.
    pub fn on_frame_taken(&mut self) {
        self.decoding = false;
    }

    /// How many packets are held now.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    fn hold(&mut self, packet: T, pts: i64) {
        self.held_max_pts = Some(self.held_max_pts.map_or(pts, |max| max.max(pts)));
        self.held.push(packet);
    }

    fn clear_held(&mut self) {
        self.held.clear();
        self.held_max_pts = None;
        self.held_needs_reset = false;
    }
}

fn step<T>(reset: bool, packets: Vec<T>, drain: bool) -> DecodeStep<T> {
    DecodeStep {
        reset,
        packets,
        drain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::thumbnail::schedule::ThumbnailSchedule;
    use crate::time::TimeBase;

    /// A GOP structure in decode order: (pts, key). `I P B B P B B …` with 2 B-frames.
    fn stream(frames: i64, gop: i64) -> Vec<(i64, bool)> {
        let mut out = Vec::new();
        let mut gop_start = 0;
        while gop_start < frames {
            let gop_end = (gop_start + gop).min(frames);
            out.push((gop_start, true));
            let mut anchor = gop_start;
            while anchor + 1 < gop_end {
                let next_anchor = (anchor + 3).min(gop_end - 1);
                out.push((next_anchor, false));
                for b in anchor + 1..next_anchor {
                    out.push((b, false));
                }
                anchor = next_anchor;
            }
            gop_start = gop_end;
        }
        out
    }

    /// Runs the gate against a model decoder that outputs frames in pts order once every
    /// packet up to them has been decoded since the last reset; returns (thumbnails, decodes).
    fn simulate(
        gate: &mut DecodeGate<(i64, bool)>,
        packets: &[(i64, bool)],
        interval_frames: u32,
    ) -> (Vec<i64>, usize) {
        let mut schedule = ThumbnailSchedule::new(0, interval_frames, TimeBase::new(1, 1).unwrap());
        let mut decoded: Vec<i64> = Vec::new(); // pts decoded since last reset, awaiting output
        let mut thumbnails = Vec::new();
        let mut decodes = 0;
        let mut last_output = i64::MIN;
        for (index, &(pts, is_key)) in packets.iter().enumerate() {
            let Some(DecodeStep {
                reset,
                packets: batch,
                drain: alone,
            }) = gate.on_packet(
                (pts, is_key),
                PacketTiming { pts, is_key },
                schedule.next_boundary(),
            )
            else {
                continue;
            };
            if reset {
                decoded.clear();
                last_output = i64::MIN;
            }
            decodes += batch.len();
            decoded.extend(batch.iter().map(|p| p.0));
            // Output: every decoded frame whose pts is below all pts still to come in this GOP
            // is ready (a simple reorder model); alone = drained entirely.
            let upcoming_min = if alone {
                i64::MAX
            } else {
                packets[index + 1..]
                    .iter()
                    .map(|p| p.0)
                    .min()
                    .unwrap_or(i64::MAX)
            };
            decoded.sort_unstable();
            while let Some(&first) = decoded.first() {
                if first >= upcoming_min {
                    break;
                }
                decoded.remove(0);
                assert!(first > last_output, "frames come out in order");
                last_output = first;
                if schedule.offer(first).is_some() {
                    thumbnails.push(first);
                    gate.on_frame_taken();
                }
            }
            if alone {
                decoded.clear();
                last_output = i64::MIN;
            }
        }
        (thumbnails, decodes)
    }

    #[test]
    fn interval_equal_to_gop_decodes_one_frame_per_thumbnail() {
        let packets = stream(300, 60);
        let (thumbnails, decodes) = simulate(&mut DecodeGate::every_frame(), &packets, 60);
        assert_eq!(thumbnails, [0, 60, 120, 180, 240]);
        assert_eq!(decodes, 5);
    }

    #[test]
    fn long_gop_takes_exact_frames_between_keyframes() {
        // 10 s GOP at 30 fps, 2 s interval: boundaries fall between keyframes.
        let packets = stream(600, 300);
        let (thumbnails, decodes) = simulate(&mut DecodeGate::every_frame(), &packets, 60);
        assert_eq!(thumbnails, [0, 60, 120, 180, 240, 300, 360, 420, 480, 540]);
        assert!(decodes <= 600, "{decodes}");
    }

    #[test]
    fn short_gop_skips_whole_gops() {
        // 1 s GOP, 5 s interval: only the GOPs holding a boundary are touched.
        let packets = stream(900, 30);
        let (thumbnails, decodes) = simulate(&mut DecodeGate::every_frame(), &packets, 150);
        assert_eq!(thumbnails, [0, 150, 300, 450, 600, 750]);
        assert_eq!(decodes, 6);
    }

    #[test]
    fn boundaries_inside_gops_catch_up_from_the_keyframe() {
        // Keyframes every 45 frames, interval 60: boundary 60 lies inside the GOP at 45.
        let packets = stream(200, 45);
        let (thumbnails, decodes) = simulate(&mut DecodeGate::every_frame(), &packets, 60);
        assert_eq!(thumbnails, [0, 60, 120, 180]);
        assert!(decodes < 200 / 2, "{decodes}");
    }

    #[test]
    fn keyframes_only_decodes_just_the_taken_keyframes() {
        let packets = stream(600, 150); // keyframe every 5 s, interval 2 s
        let (thumbnails, decodes) = simulate(&mut DecodeGate::keyframes_only(), &packets, 60);
        assert_eq!(thumbnails, [0, 150, 300, 450]);
        assert_eq!(decodes, 4);
    }

    #[test]
    fn held_packets_are_dropped_at_a_keyframe() {
        let key = |pts| PacketTiming { pts, is_key: true };
        let delta = |pts| PacketTiming { pts, is_key: false };
        let mut gate: DecodeGate<u32> = DecodeGate::every_frame();
        assert_eq!(
            gate.on_packet(1, key(0), 0),
            Some(step(true, vec![1], true))
        );
        gate.on_frame_taken();
        assert_eq!(gate.on_packet(2, delta(3), 60), None);
        assert_eq!(
            gate.held(),
            2,
            "the drained keyframe and the packet after it"
        );
        assert_eq!(gate.on_packet(3, key(30), 60), None);
        assert_eq!(gate.held(), 1, "holding restarts at the keyframe");
        assert_eq!(gate.on_packet(4, delta(31), 60), None);
        assert_eq!(
            gate.on_packet(5, delta(60), 60),
            Some(step(true, vec![3, 4, 5], false))
        );
        assert_eq!(
            gate.on_packet(6, delta(61), 60),
            Some(step(false, vec![6], false)),
            "decoding until taken"
        );
    }

    #[test]
    fn catch_up_after_a_drained_keyframe_restarts_from_it() {
        let key = |pts| PacketTiming { pts, is_key: true };
        let delta = |pts| PacketTiming { pts, is_key: false };
        let mut gate: DecodeGate<u32> = DecodeGate::every_frame();
        assert_eq!(
            gate.on_packet(1, key(0), 0),
            Some(step(true, vec![1], true))
        );
        gate.on_frame_taken();
        assert_eq!(gate.on_packet(2, delta(2), 3), None);
        assert_eq!(
            gate.on_packet(3, delta(4), 3),
            Some(step(true, vec![1, 2, 3], false))
        );
    }
}
