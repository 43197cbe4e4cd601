//! ID3v2.4 tags for the `timed_id3` stream of IVS segments (PID 0x102), pure.
//!
//! IVS puts one tag at the first pts of every GOP, with text frames `TRCK` (the GOP's running
//! index), `TDEN` and `TDTG` (its wall-clock time, whole seconds), `TOFN` (`index-0000000000.ts`),
//! `TSSE` (the encoder) and a `TXXX` named `segmentmetadata` holding JSON timings. The same
//! stream carries timed metadata (`PutMetadata`) as `TXXX` frames: [`txxx_tag`].

use time::OffsetDateTime;
use time::macros::format_description;

/// `TSSE` of our tags: the encoder.
pub const ENCODER: &str = concat!("ivs-recorder ", env!("CARGO_PKG_VERSION"));
/// Text encoding byte of ID3v2.4 text frames: UTF-8.
const UTF8: u8 = 3;

/// What the per-GOP tag says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GopTag {
    /// The GOP's running index in the recording.
    pub index: u64,
    /// Wall-clock time of the GOP's first frame.
    pub at: OffsetDateTime,
    /// The encoder's name (`TSSE`).
    pub encoder: String,
}

impl GopTag {
    /// The tag's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let time = self
            .at
            .format(format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]"
            ))
            .unwrap_or_default();
        // IVS's latency data: when the GOP was ingested and transcoded (ms since the epoch),
        // from which players such as the IVS Player SDK measure live latency.
        let millis = self.at.unix_timestamp_nanos() / 1_000_000;
        let metadata = format!(
            r#"{{"broadc_r":0,"broadc_s":1,"cmd":"ld_lat_data","ingest_r":{millis},"ingest_s":3,"stream_offset":{},"transc_r":{millis},"transc_s":{millis}}}"#,
            self.index
        );
        tag(&[
            text_frame(b"TRCK", &self.index.to_string()),
            text_frame(b"TDEN", &time),
            text_frame(b"TDTG", &time),
            text_frame(b"TOFN", &format!("index-{:010}.ts", self.index)),
            text_frame(b"TSSE", &self.encoder),
            txxx_frame("segmentmetadata", &metadata),
        ])
    }
}

/// A tag holding one `TXXX` frame: `description` and its `value` (timed metadata).
pub fn txxx_tag(description: &str, value: &str) -> Vec<u8> {
    tag(&[txxx_frame(description, value)])
}

/// A text frame (`T???`): encoding, the text, a terminating NUL.
fn text_frame(id: &[u8; 4], text: &str) -> Vec<u8> {
    let mut body = vec![UTF8];
    body.extend_from_slice(text.as_bytes());
    body.push(0);
    frame(id, &body)
}

/// A `TXXX` frame: encoding, description, NUL, value, NUL.
fn txxx_frame(description: &str, value: &str) -> Vec<u8> {
    let mut body = vec![UTF8];
    body.extend_from_slice(description.as_bytes());
    body.push(0);
    body.extend_from_slice(value.as_bytes());
    body.push(0);
    frame(b"TXXX", &body)
}

/// A frame: id, syncsafe size, no flags, body.
fn frame(id: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut frame = id.to_vec();
    frame.extend_from_slice(&syncsafe(body.len()));
    frame.extend_from_slice(&[0, 0]);
    frame.extend_from_slice(body);
    frame
}

/// A tag: the `ID3` header (version 2.4, no flags, syncsafe size) and the frames.
fn tag(frames: &[Vec<u8>]) -> Vec<u8> {
    let size: usize = frames.iter().map(Vec::len).sum();
    let mut tag = b"ID3\x04\x00\x00".to_vec();
    tag.extend_from_slice(&syncsafe(size));
    for frame in frames {
        tag.extend_from_slice(frame);
    }
    tag
}

/// `size` as four 7-bit bytes (sizes above 256 MiB are clamped; ours are tiny).
fn syncsafe(size: usize) -> [u8; 4] {
    let size = u32::try_from(size).unwrap_or(u32::MAX).min(0x0fff_ffff);
    [
        ((size >> 21) & 0x7f) as u8,
        ((size >> 14) & 0x7f) as u8,
        ((size >> 7) & 0x7f) as u8,
        (size & 0x7f) as u8,
    ]
}

/// The frames of a tag as `(id, body)`, for tests and readers; `None` when it is not ID3v2.4.
pub fn frames(tag: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    if tag.len() < 10 || &tag[..4] != b"ID3\x04" {
        return None;
    }
    let size = unsyncsafe(&tag[6..10]);
    let end = (10 + size).min(tag.len());
    let mut at = 10;
    let mut frames = Vec::new();
    while at + 10 <= end && tag[at] != 0 {
        let id = String::from_utf8_lossy(&tag[at..at + 4]).into_owned();
        let length = unsyncsafe(&tag[at + 4..at + 8]);
        let body = tag.get(at + 10..at + 10 + length)?.to_vec();
        frames.push((id, body));
        at += 10 + length;
    }
    Some(frames)
}

fn unsyncsafe(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .fold(0, |size, byte| (size << 7) | usize::from(byte & 0x7f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn gop_tags_have_the_frames_ivs_writes() {
        let tag = GopTag {
            index: 1,
            at: datetime!(2023-02-09 22:55:42.4 UTC),
            encoder: "ivs-recorder 0.1.0".to_owned(),
        }
        .to_bytes();
        assert_eq!(&tag[..6], b"ID3\x04\x00\x00");
        let frames = frames(&tag).unwrap();
        let ids: Vec<&str> = frames.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["TRCK", "TDEN", "TDTG", "TOFN", "TSSE", "TXXX"]);
        assert_eq!(frames[0].1, b"\x031\x00");
        assert_eq!(frames[1].1, b"\x032023-02-09T22:55:42\x00");
        assert_eq!(frames[3].1, b"\x03index-0000000001.ts\x00");
        assert_eq!(
            frames[5].1,
            b"\x03segmentmetadata\x00{\"broadc_r\":0,\"broadc_s\":1,\"cmd\":\"ld_lat_data\",\"ingest_r\":1675983342400,\"ingest_s\":3,\"stream_offset\":1,\"transc_r\":1675983342400,\"transc_s\":1675983342400}\x00"
        );
    }

    #[test]
    fn reads_the_real_ivs_tag_layout() {
        // The first tag of the real 720p30/0.ts (shared/reference), first two frames.
        let mut real = b"ID3\x04\x00\x00\x00\x00\x00\x22".to_vec();
        real.extend_from_slice(b"TRCK\x00\x00\x00\x03\x00\x00\x030\x00");
        real.extend_from_slice(b"TDEN\x00\x00\x00\x15\x00\x00\x032023-02-09T22:55:41\x00");
        let frames = frames(&real).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].1, b"\x032023-02-09T22:55:41\x00");
    }

    #[test]
    fn txxx_tags_carry_any_payload_with_syncsafe_sizes() {
        let payload = "x".repeat(1000);
        let tag = txxx_tag("", &payload);
        // 1000 + encoding + NUL + NUL = 1003 bytes of body; 1013 of frame.
        assert_eq!(&tag[6..10], &[0, 0, 7, 0x75]);
        let frames = frames(&tag).unwrap();
        assert_eq!(frames[0].0, "TXXX");
        assert_eq!(frames[0].1.len(), 1003);
        assert_eq!(syncsafe(0x0fff_ffff), [0x7f; 4]);
    }
}
