//! Segments down to the TS packet, against the real IVS recording: PIDs and stream types, PAT and
//! PMT once per GOP at the start of its byte range, no SDT, a timed ID3 tag per GOP, continuity
//! counters that run on across segments and byte ranges, and clips cut across boundaries that
//! decode with no continuity error and no corrupt frame.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ivs_recorder::av::ts_mux::{TS_PACKET, TsStream, packet_pid};
use ivs_recorder::hls::id3;
use ivs_recorder::hls::rendition::{Continuation, RenditionSegments, VideoArrival};
use ivs_recorder::ingest::{FileInput, InputPacket};

use crate::hls::media_playlist;
use crate::util::{Recording, reference_recording, sample};

/// A parsed transport stream.
pub struct Ts<'a> {
    packets: Vec<&'a [u8]>,
}

impl<'a> Ts<'a> {
    pub fn parse(bytes: &'a [u8]) -> Self {
        assert_eq!(bytes.len() % TS_PACKET, 0, "whole TS packets");
        let packets: Vec<&[u8]> = bytes.chunks_exact(TS_PACKET).collect();
        assert!(packets.iter().all(|p| p[0] == 0x47), "sync bytes");
        Self { packets }
    }

    pub fn pids(&self) -> Vec<u16> {
        self.packets.iter().filter_map(|p| packet_pid(p)).collect()
    }

    pub fn counts(&self) -> BTreeMap<u16, usize> {
        let mut counts = BTreeMap::new();
        for pid in self.pids() {
            *counts.entry(pid).or_default() += 1;
        }
        counts
    }

    /// Packets whose continuity counter is not the previous one of their PID plus one.
    pub fn continuity_errors(&self) -> usize {
        let mut last: BTreeMap<u16, u8> = BTreeMap::new();
        let mut errors = 0;
        for packet in &self.packets {
            let has_payload = packet[3] & 0x10 != 0;
            if !has_payload {
                continue;
            }
            let pid = packet_pid(packet).unwrap();
            let counter = packet[3] & 0x0f;
            if let Some(previous) = last.insert(pid, counter)
                && (previous + 1) % 16 != counter
            {
                errors += 1;
            }
        }
        errors
    }

    fn payload(packet: &[u8]) -> &[u8] {
        let control = (packet[3] >> 4) & 3;
        let start = if control & 2 != 0 {
            5 + usize::from(packet[4])
        } else {
            4
        };
        if control & 1 == 0 || start >= TS_PACKET {
            &[]
        } else {
            &packet[start..]
        }
    }

    /// `(stream_type, pid)` of the first PMT's elementary streams.
    pub fn pmt_streams(&self) -> Vec<(u8, u16)> {
        let packet = self
            .packets
            .iter()
            .find(|p| packet_pid(p) == Some(0x1000))
            .expect("a PMT");
        let payload = Self::payload(packet);
        let section = &payload[1 + usize::from(payload[0])..];
        let section_length = (usize::from(section[1] & 0x0f) << 8) | usize::from(section[2]);
        let program_info = (usize::from(section[10] & 0x0f) << 8) | usize::from(section[11]);
        let end = 3 + section_length - 4;
        let mut at = 12 + program_info;
        let mut streams = Vec::new();
        while at + 5 <= end {
            let stream_type = section[at];
            let pid = (u16::from(section[at + 1] & 0x1f) << 8) | u16::from(section[at + 2]);
            let info = (usize::from(section[at + 3] & 0x0f) << 8) | usize::from(section[at + 4]);
            streams.push((stream_type, pid));
            at += 5 + info;
        }
        streams
    }

    /// The PES packets of `pid`: (PTS in 90 kHz ticks, payload).
    pub fn pes(&self, pid: u16) -> Vec<(Option<i64>, Vec<u8>)> {
        let mut all: Vec<Vec<u8>> = Vec::new();
        for packet in self.packets.iter().filter(|p| packet_pid(p) == Some(pid)) {
            let payload = Self::payload(packet);
            if packet[1] & 0x40 != 0 {
                all.push(payload.to_vec());
            } else if let Some(last) = all.last_mut() {
                last.extend_from_slice(payload);
            }
        }
        all.into_iter()
            .map(|pes| {
                let header = usize::from(pes[8]);
                let pts = (pes[7] & 0x80 != 0).then(|| {
                    let b = &pes[9..14];
                    (i64::from(b[0] & 0x0e) << 29)
                        | (i64::from(b[1]) << 22)
                        | (i64::from(b[2] & 0xfe) << 14)
                        | (i64::from(b[3]) << 7)
                        | (i64::from(b[4]) >> 1)
                });
                (pts, pes[9 + header..].to_vec())
            })
            .collect()
    }
}

/// What the ffmpeg CLI says (warnings and errors) decoding `clip` to the end.
pub fn ffmpeg_complaints(dir: &Path, name: &str, clip: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, clip).unwrap();
    let output = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "warning", "-i"])
        .arg(&path)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    assert!(output.status.success(), "ffmpeg decodes {name}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `(offset, length)` of every GOP range of segment `uri` in a byte-range playlist.
fn byte_ranges(playlist: &[u8], uri: &str) -> Vec<(usize, usize)> {
    media_playlist(playlist)
        .segments
        .iter()
        .filter(|s| s.uri == uri)
        .map(|s| {
            let range = s.byte_range.as_ref().unwrap();
            (range.offset.unwrap() as usize, range.length as usize)
        })
        .collect()
}

fn record(dir: &Path, channel_type: &str) -> Recording {
    Recording::make(
        dir,
        &sample("720p30-gop2s.mp4"),
        &["--channel-type", channel_type],
        0,
    )
}

#[test]
fn segments_have_the_packet_structure_of_the_real_ivs_segments() {
    let reference = reference_recording();
    let real = std::fs::read(reference.join("media/hls/720p30/0.ts")).unwrap();
    let real = Ts::parse(&real);
    let dir = tempfile::tempdir().unwrap();
    let recording = record(dir.path(), "STANDARD");
    let objects = recording.objects();
    let mut track = Vec::new();
    for rendition in ["720p30", "480p30", "360p30", "160p30"] {
        let playlist = &objects[&format!("media/hls/{rendition}/byte-range-variant.m3u8")];
        for segment in ["0.ts", "1.ts"] {
            let bytes = &objects[&format!("media/hls/{rendition}/{segment}")];
            let ts = Ts::parse(bytes);
            let ours: BTreeSet<u16> = ts.counts().keys().copied().collect();
            let theirs: BTreeSet<u16> = real.counts().keys().copied().collect();
            assert_eq!(
                ours, theirs,
                "{rendition}/{segment}: the PIDs of IVS's, no SDT"
            );
            assert!(!ours.contains(&0x11));
            assert_eq!(
                ts.pmt_streams(),
                real.pmt_streams(),
                "stream types and PIDs"
            );
            assert_eq!(
                ts.pmt_streams(),
                [(0x0f, 0x100), (0x1b, 0x101), (0x15, 0x102)]
            );
            // PAT and PMT exactly once per GOP, at the start of its byte range, then the ID3 tag.
            let ranges = byte_ranges(playlist, segment);
            assert_eq!(ts.counts()[&0], ranges.len(), "{rendition}/{segment}: PATs");
            assert_eq!(ts.counts()[&0x1000], ranges.len());
            for (offset, length) in &ranges {
                let range = Ts::parse(&bytes[*offset..offset + length]);
                assert_eq!(
                    &range.pids()[..3],
                    [0, 0x1000, 0x102],
                    "{rendition} range @{offset}"
                );
                assert_eq!(range.counts()[&0], 1);
            }
            // One ID3 tag per GOP with IVS's frames.
            let tags = ts.pes(0x102);
            assert_eq!(tags.len(), ranges.len());
            for (_, tag) in &tags {
                let frames = id3::frames(tag).expect("ID3v2.4");
                let ids: Vec<&str> = frames.iter().map(|(id, _)| id.as_str()).collect();
                assert_eq!(ids, ["TRCK", "TDEN", "TDTG", "TOFN", "TSSE", "TXXX"]);
                if rendition == "720p30" {
                    track.push(
                        String::from_utf8_lossy(&frames[0].1[1..])
                            .trim_end_matches('\0')
                            .to_owned(),
                    );
                }
            }
        }
    }
    let expected: Vec<String> = (0..6).map(|n| n.to_string()).collect();
    assert_eq!(track, expected, "TRCK counts the GOPs of the recording");
    // The real tags carry the same frames.
    let real_tag = &real.pes(0x102)[0].1;
    let real_ids: Vec<String> = id3::frames(real_tag)
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(real_ids, ["TRCK", "TDEN", "TDTG", "TOFN", "TSSE", "TXXX"]);
}

#[test]
fn clips_across_segment_and_byte_range_boundaries_decode_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    for channel_type in ["BASIC", "STANDARD"] {
        let store = dir.path().join(channel_type);
        let recording = record(&store, channel_type);
        let objects = recording.objects();
        let renditions: &[&str] = if channel_type == "BASIC" {
            &["720p30"]
        } else {
            &["720p30", "480p30", "360p30", "160p30"]
        };
        for rendition in renditions {
            let first = &objects[&format!("media/hls/{rendition}/0.ts")];
            let second = &objects[&format!("media/hls/{rendition}/1.ts")];
            // Whole segments, one after the other.
            let whole = [first.as_slice(), second.as_slice()].concat();
            assert_eq!(
                Ts::parse(&whole).continuity_errors(),
                0,
                "{rendition}: 0.ts + 1.ts"
            );
            let said = ffmpeg_complaints(dir.path(), "whole.ts", &whole);
            assert!(
                said.is_empty(),
                "{channel_type} {rendition} 0.ts + 1.ts: {said}"
            );
            // The last GOP of 0.ts and the first of 1.ts, fetched by byte range.
            let playlist = &objects[&format!("media/hls/{rendition}/byte-range-variant.m3u8")];
            let (offset, length) = *byte_ranges(playlist, "0.ts").last().unwrap();
            let (next_offset, next_length) = byte_ranges(playlist, "1.ts")[0];
            let clip = [
                &first[offset..offset + length],
                &second[next_offset..next_offset + next_length],
            ]
            .concat();
            assert_eq!(
                Ts::parse(&clip).continuity_errors(),
                0,
                "{rendition}: range clip"
            );
            let said = ffmpeg_complaints(dir.path(), "clip.ts", &clip);
            assert!(
                said.is_empty(),
                "{channel_type} {rendition} range clip: {said}"
            );
        }
    }
}

#[test]
fn timed_metadata_goes_in_at_the_media_time_it_is_given() {
    let mut input = FileInput::open(&sample("720p30-gop2s.mp4"), false).unwrap();
    let info = input.info().clone();
    let video = TsStream {
        parameters: info.video.parameters.clone(),
        time_base: info.video.av_time_base,
    };
    let continuation = Continuation::start(time::OffsetDateTime::UNIX_EPOCH);
    let mut segments: Option<RenditionSegments> = None;
    let mut inserted_at = None;
    let mut origin = None;
    let mut finished = Vec::new();
    let payload = r#"{"question":"Which city?","options":["Paris","Tokyo"]}"#;
    while let Some(packet) = input.next_packet().unwrap() {
        let InputPacket::Video(packet) = packet else {
            continue;
        };
        let pts = packet.pts().unwrap();
        let origin = *origin.get_or_insert(pts);
        let rendition = segments.get_or_insert_with(|| {
            RenditionSegments::new(
                video.clone(),
                None,
                VideoArrival::InStep,
                origin,
                continuation,
            )
        });
        finished.extend(rendition.push_video(&packet).unwrap());
        // About 3.5 s in: the payload goes in at this frame's time.
        if inserted_at.is_none() && info.video.time_base.ticks_to_millis(pts - origin) >= 3_500 {
            let tag = id3::txxx_tag("", payload);
            assert!(rendition.insert_metadata(&tag, pts).unwrap());
            inserted_at = Some(info.video.time_base.ticks_to_millis(pts - origin));
        }
    }
    finished.extend(segments.unwrap().finish(12 * 12_800).unwrap());
    let first = &finished[0];
    let tags = Ts::parse(&first.bytes).pes(0x102);
    let found: Vec<(i64, String)> = tags
        .iter()
        .filter_map(|(pts, tag)| {
            let frames = id3::frames(tag)?;
            let (id, body) = frames.first()?;
            (id == "TXXX" && frames.len() == 1)
                .then(|| (pts.unwrap(), String::from_utf8_lossy(body).into_owned()))
        })
        .collect();
    assert_eq!(found.len(), 1, "one timed metadata tag");
    // The tag's PTS is the media time it was given, on the video's clock: the PTS of that frame.
    let (pts, body) = &found[0];
    let video: Vec<i64> = Ts::parse(&first.bytes)
        .pes(0x101)
        .iter()
        .filter_map(|(pts, _)| *pts)
        .collect();
    assert!(video.contains(pts), "a video frame has the tag's PTS");
    assert_eq!((pts - video[0]) / 90, inserted_at.unwrap());
    assert!(body.contains(payload), "{body}");
}
