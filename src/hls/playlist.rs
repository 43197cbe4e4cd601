//! Playlist text, exactly as IVS writes it (spec 3.5 and 9). Pure renderers.
//!
//! - `<rendition>/playlist.m3u8`: VERSION 3, one entry per segment, `PLAYLIST-TYPE:EVENT` always,
//!   `#EXT-X-ENDLIST` once the recording has ended.
//! - `<rendition>/byte-range-variant.m3u8`: VERSION 4, one entry per GOP with
//!   `#EXT-X-BYTERANGE:<length>@<offset>`; `EVENT` while recording, `VOD` at the end.
//! - `master.m3u8` / `byte-range-multivariant.m3u8`: highest rendition first, no trailing newline.
//!
//! Durations are whole milliseconds on the media timeline, so EXTINF values add up exactly to
//! `TWITCH-TOTAL-SECS` and `duration_ms`, and each PROGRAM-DATE-TIME is the previous one plus the
//! previous EXTINF.

use std::fmt::Write;

use time::OffsetDateTime;
use time::macros::format_description;

/// One GOP of a segment: a byte range of its `.ts` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GopEntry {
    /// Start on the media timeline, in ms from the recording's first frame.
    pub start_ms: u64,
    /// Duration in ms.
    pub duration_ms: u64,
    /// Byte offset in the segment.
    pub offset: u64,
    /// Byte length.
    pub length: u64,
}

/// One finished segment, `<index>.ts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentEntry {
    /// The N of `N.ts`.
    pub index: u64,
    /// Start on the media timeline, in ms from the recording's first frame.
    pub start_ms: u64,
    /// Duration in ms.
    pub duration_ms: u64,
    /// Its GOPs, tiling the file from offset 0 to its size.
    pub gops: Vec<GopEntry>,
    /// Whether a new stream starts here (reconnects), preceded by `#EXT-X-DISCONTINUITY`.
    pub discontinuity: bool,
    /// Wall-clock time between streams before this segment (merged reconnects, D9): added to its
    /// PROGRAM-DATE-TIME so the gap shows while the media timeline stays media-only.
    pub gap_ms: u64,
}

/// Everything a rendition playlist is rendered from.
#[derive(Debug, Clone, Copy)]
pub struct PlaylistState<'a> {
    /// Finished segments, in order.
    pub segments: &'a [SegmentEntry],
    /// Wall-clock time of the first frame (PROGRAM-DATE-TIME of segment 0).
    pub first_frame_at: OffsetDateTime,
    /// Wall-clock time of this write (`#ID3-EQUIV-TDTG`).
    pub written_at: OffsetDateTime,
    /// Whether the recording has ended (`#EXT-X-ENDLIST`, byte-range `VOD`).
    pub ended: bool,
}

impl PlaylistState<'_> {
    /// `ceil(max EXTINF)`, at least 1.
    fn target_duration(&self) -> u64 {
        let longest = self
            .segments
            .iter()
            .map(|s| s.duration_ms)
            .max()
            .unwrap_or(0);
        longest.div_ceil(1000).max(1)
    }

    fn total_ms(&self) -> u64 {
        self.segments.iter().map(|s| s.duration_ms).sum()
    }

    fn date_time_at(&self, media_ms: u64, gap_ms: u64) -> String {
        program_date_time(wall_clock_at(self.first_frame_at, media_ms, gap_ms))
    }
}

/// The wall-clock time of media time `media_ms` in a recording whose first frame was at
/// `first_frame_at` and which lost `gap_ms` of wall clock between merged streams.
pub fn wall_clock_at(first_frame_at: OffsetDateTime, media_ms: u64, gap_ms: u64) -> OffsetDateTime {
    let wall_ms = media_ms.saturating_add(gap_ms);
    first_frame_at + time::Duration::milliseconds(i64::try_from(wall_ms).unwrap_or(i64::MAX))
}

/// `#EXT-X-PROGRAM-DATE-TIME` value: UTC with milliseconds and `Z`.
pub fn program_date_time(at: OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    utc.format(format).unwrap_or_default()
}

fn tdtg(at: OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    utc.format(format).unwrap_or_default()
}

/// Seconds with 3 decimals from whole milliseconds, e.g. `10.267`.
fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// `<rendition>/playlist.m3u8`.
pub fn media_playlist(state: &PlaylistState<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "#EXTM3U");
    let _ = writeln!(out, "#EXT-X-VERSION:3");
    let _ = writeln!(out, "#EXT-X-TARGETDURATION:{}", state.target_duration());
    let _ = writeln!(out, "#ID3-EQUIV-TDTG:{}", tdtg(state.written_at));
    let _ = writeln!(out, "#EXT-X-PLAYLIST-TYPE:EVENT");
    let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:0");
    let _ = writeln!(out, "#EXT-X-TWITCH-ELAPSED-SECS:0.000");
    let _ = writeln!(
        out,
        "#EXT-X-TWITCH-TOTAL-SECS:{}",
        seconds(state.total_ms())
    );
    for segment in state.segments {
        if segment.discontinuity {
            let _ = writeln!(out, "#EXT-X-DISCONTINUITY");
        }
        let _ = writeln!(
            out,
            "#EXT-X-PROGRAM-DATE-TIME:{}",
            state.date_time_at(segment.start_ms, segment.gap_ms)
        );
        let _ = writeln!(out, "#EXTINF:{},", seconds(segment.duration_ms));
        let _ = writeln!(out, "{}.ts", segment.index);
    }
    if state.ended {
        let _ = writeln!(out, "#EXT-X-ENDLIST");
    }
    out
}

/// `<rendition>/byte-range-variant.m3u8`.
pub fn byte_range_playlist(state: &PlaylistState<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "#EXTM3U");
    let _ = writeln!(out, "#EXT-X-VERSION:4");
    let _ = writeln!(out, "#EXT-X-TARGETDURATION:{}", state.target_duration());
    let _ = writeln!(
        out,
        "#EXT-X-PLAYLIST-TYPE:{}",
        if state.ended { "VOD" } else { "EVENT" }
    );
    let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:0");
    for segment in state.segments {
        for (n, gop) in segment.gops.iter().enumerate() {
            if n == 0 && segment.discontinuity {
                let _ = writeln!(out, "#EXT-X-DISCONTINUITY");
            }
            let _ = writeln!(
                out,
                "#EXT-X-PROGRAM-DATE-TIME:{}",
                state.date_time_at(gop.start_ms, segment.gap_ms)
            );
            let _ = writeln!(out, "#EXTINF:{},", seconds(gop.duration_ms));
            let _ = writeln!(out, "#EXT-X-BYTERANGE:{}@{}", gop.length, gop.offset);
            let _ = writeln!(out, "{}.ts", segment.index);
        }
    }
    if state.ended {
        let _ = writeln!(out, "#EXT-X-ENDLIST");
    }
    out
}

/// One rendition as the multivariant playlists list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// Folder and group id, e.g. `720p30`.
    pub name: String,
    /// Bits per second.
    pub bandwidth: u64,
    /// RFC 6381 codecs, e.g. `avc1.4D401F,mp4a.40.2`.
    pub codecs: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Variant {
    /// `EXT-X-MEDIA NAME`: `720p` for 30 fps rungs, the folder name otherwise (`720p60`).
    fn display_name(&self) -> &str {
        self.name
            .strip_suffix("p30")
            .map_or(self.name.as_str(), |_| &self.name[..self.name.len() - 2])
    }
}

/// `master.m3u8` (`byte_range: false`) or `byte-range-multivariant.m3u8` (`true`); variants highest
/// first. `content_id` is the channel id, `customer_id` the account id.
pub fn multivariant_playlist(
    variants: &[Variant],
    content_id: &str,
    customer_id: &str,
    byte_range: bool,
) -> String {
    let file = if byte_range {
        "byte-range-variant.m3u8"
    } else {
        "playlist.m3u8"
    };
    multivariant_lines(variants, content_id, customer_id, |variant| {
        format!("{}/{file}", variant.name)
    })
    .join("\n")
}

/// The lines of a multivariant playlist as IVS writes them, each variant's URI from `uri`.
pub fn multivariant_lines(
    variants: &[Variant],
    content_id: &str,
    customer_id: &str,
    uri: impl Fn(&Variant) -> String,
) -> Vec<String> {
    let mut lines = vec![
        "#EXTM3U".to_owned(),
        format!("#EXT-X-SESSION-DATA:DATA-ID=\"net.live-video.content.id\",VALUE=\"{content_id}\""),
        format!(
            "#EXT-X-SESSION-DATA:DATA-ID=\"net.live-video.customer.id\",VALUE=\"{customer_id}\""
        ),
    ];
    for variant in variants {
        let name = &variant.name;
        lines.push(format!(
            "#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID=\"{name}\",NAME=\"{}\",AUTOSELECT=YES,DEFAULT=YES",
            variant.display_name()
        ));
        lines.push(format!(
            "#EXT-X-STREAM-INF:PROGRAM-ID=1,BANDWIDTH={},CODECS=\"{}\",RESOLUTION={}x{},VIDEO=\"{name}\"",
            variant.bandwidth, variant.codecs, variant.width, variant.height
        ));
        lines.push(uri(variant));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// The first two segments of the real 720p30 recording and their first GOPs.
    fn real_head() -> Vec<SegmentEntry> {
        vec![
            SegmentEntry {
                index: 0,
                start_ms: 0,
                duration_ms: 10_267,
                gops: vec![
                    GopEntry {
                        start_ms: 0,
                        duration_ms: 1000,
                        offset: 0,
                        length: 224_848,
                    },
                    GopEntry {
                        start_ms: 1000,
                        duration_ms: 1267,
                        offset: 224_848,
                        length: 381_264,
                    },
                ],
                discontinuity: false,
                gap_ms: 0,
            },
            SegmentEntry {
                index: 1,
                start_ms: 10_267,
                duration_ms: 10_000,
                gops: vec![GopEntry {
                    start_ms: 10_267,
                    duration_ms: 10_000,
                    offset: 0,
                    length: 100,
                }],
                discontinuity: false,
                gap_ms: 0,
            },
        ]
    }

    #[test]
    fn media_playlist_matches_the_real_head_and_tail_form() {
        let segments = real_head();
        let state = PlaylistState {
            segments: &segments,
            first_frame_at: datetime!(2023-02-09 22:55:41.550 UTC),
            written_at: datetime!(2023-02-09 22:58:35.123 UTC),
            ended: true,
        };
        assert_eq!(
            media_playlist(&state),
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:11\n#ID3-EQUIV-TDTG:2023-02-09T22:58:35\n\
             #EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-TWITCH-ELAPSED-SECS:0.000\n\
             #EXT-X-TWITCH-TOTAL-SECS:20.267\n\
             #EXT-X-PROGRAM-DATE-TIME:2023-02-09T22:55:41.550Z\n#EXTINF:10.267,\n0.ts\n\
             #EXT-X-PROGRAM-DATE-TIME:2023-02-09T22:55:51.817Z\n#EXTINF:10.000,\n1.ts\n#EXT-X-ENDLIST\n"
        );
    }

    #[test]
    fn byte_range_playlist_is_event_then_vod() {
        let segments = real_head();
        let mut state = PlaylistState {
            segments: &segments[..1],
            first_frame_at: datetime!(2023-02-09 22:55:41.550 UTC),
            written_at: datetime!(2023-02-09 22:58:35 UTC),
            ended: false,
        };
        let live = byte_range_playlist(&state);
        assert_eq!(
            live,
            "#EXTM3U\n#EXT-X-VERSION:4\n#EXT-X-TARGETDURATION:11\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-MEDIA-SEQUENCE:0\n\
             #EXT-X-PROGRAM-DATE-TIME:2023-02-09T22:55:41.550Z\n#EXTINF:1.000,\n#EXT-X-BYTERANGE:224848@0\n0.ts\n\
             #EXT-X-PROGRAM-DATE-TIME:2023-02-09T22:55:42.550Z\n#EXTINF:1.267,\n#EXT-X-BYTERANGE:381264@224848\n0.ts\n"
        );
        state.ended = true;
        let done = byte_range_playlist(&state);
        assert!(done.contains("#EXT-X-PLAYLIST-TYPE:VOD\n"));
        assert!(done.ends_with("0.ts\n#EXT-X-ENDLIST\n"));
    }

    #[test]
    fn discontinuity_precedes_the_first_segment_of_a_new_stream() {
        let mut segments = real_head();
        segments[1].discontinuity = true;
        let state = PlaylistState {
            segments: &segments,
            first_frame_at: datetime!(2023-02-09 22:55:41.550 UTC),
            written_at: datetime!(2023-02-09 22:58:35 UTC),
            ended: false,
        };
        assert!(media_playlist(&state).contains(
            "0.ts\n#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2023-02-09T22:55:51.817Z\n"
        ));
        assert!(byte_range_playlist(&state).contains(
            "0.ts\n#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2023-02-09T22:55:51.817Z\n"
        ));
    }

    #[test]
    fn multivariant_matches_the_real_master_byte_for_byte() {
        let variant = |name: &str, bandwidth, width, height| Variant {
            name: name.into(),
            bandwidth,
            codecs: "avc1.4D401F,mp4a.40.2".into(),
            width,
            height,
        };
        let variants = [
            variant("720p30", 2_440_200, 1280, 720),
            variant("480p30", 1_495_199, 852, 480),
            variant("360p30", 630_000, 640, 360),
            variant("160p30", 230_000, 284, 160),
        ];
        let real_master = "#EXTM3U\n\
#EXT-X-SESSION-DATA:DATA-ID=\"net.live-video.content.id\",VALUE=\"2rrcA103rn67\"\n\
#EXT-X-SESSION-DATA:DATA-ID=\"net.live-video.customer.id\",VALUE=\"098435415742\"\n\
#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID=\"720p30\",NAME=\"720p\",AUTOSELECT=YES,DEFAULT=YES\n\
#EXT-X-STREAM-INF:PROGRAM-ID=1,BANDWIDTH=2440200,CODECS=\"avc1.4D401F,mp4a.40.2\",RESOLUTION=1280x720,VIDEO=\"720p30\"\n\
720p30/playlist.m3u8\n\
#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID=\"480p30\",NAME=\"480p\",AUTOSELECT=YES,DEFAULT=YES\n\
#EXT-X-STREAM-INF:PROGRAM-ID=1,BANDWIDTH=1495199,CODECS=\"avc1.4D401F,mp4a.40.2\",RESOLUTION=852x480,VIDEO=\"480p30\"\n\
480p30/playlist.m3u8\n\
#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID=\"360p30\",NAME=\"360p\",AUTOSELECT=YES,DEFAULT=YES\n\
#EXT-X-STREAM-INF:PROGRAM-ID=1,BANDWIDTH=630000,CODECS=\"avc1.4D401F,mp4a.40.2\",RESOLUTION=640x360,VIDEO=\"360p30\"\n\
360p30/playlist.m3u8\n\
#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID=\"160p30\",NAME=\"160p\",AUTOSELECT=YES,DEFAULT=YES\n\
#EXT-X-STREAM-INF:PROGRAM-ID=1,BANDWIDTH=230000,CODECS=\"avc1.4D401F,mp4a.40.2\",RESOLUTION=284x160,VIDEO=\"160p30\"\n\
160p30/playlist.m3u8";
        assert_eq!(
            multivariant_playlist(&variants, "2rrcA103rn67", "098435415742", false),
            real_master
        );
        assert_eq!(
            multivariant_playlist(&variants, "2rrcA103rn67", "098435415742", true),
            real_master.replace("/playlist.m3u8", "/byte-range-variant.m3u8")
        );
    }

    #[test]
    fn sixty_fps_names_keep_their_rate() {
        let variant = Variant {
            name: "720p60".into(),
            bandwidth: 1,
            codecs: String::new(),
            width: 1280,
            height: 720,
        };
        assert_eq!(variant.display_name(), "720p60");
        let variant = Variant {
            name: "1080p30".into(),
            ..variant
        };
        assert_eq!(variant.display_name(), "1080p");
    }

    #[test]
    fn target_duration_rounds_up() {
        let segments = [SegmentEntry {
            index: 0,
            start_ms: 0,
            duration_ms: 11_200,
            gops: vec![],
            discontinuity: false,
            gap_ms: 0,
        }];
        let state = PlaylistState {
            segments: &segments,
            first_frame_at: datetime!(2023-02-09 22:55:41 UTC),
            written_at: datetime!(2023-02-09 22:55:41 UTC),
            ended: false,
        };
        assert!(media_playlist(&state).contains("#EXT-X-TARGETDURATION:12\n"));
    }
}
