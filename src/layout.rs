//! Every object key of a recording (spec section 1), built in one place.
//!
//! The prefix is `ivs/v1/<account>/<channel id>/<y>/<m>/<d>/<h>/<min>/<recording id>`: no leading
//! slash and no zero padding (spec 1.1). Keys below it are fixed names, numbered files unpadded.

use std::fmt;

use time::OffsetDateTime;

/// The S3 prefix of one recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingPrefix {
    prefix: String,
}

impl RecordingPrefix {
    /// The prefix for a recording of `channel_id` under `account_id` that started at `started`
    /// (truncated to the minute, UTC).
    ///
    /// ```
    /// use ivs_recorder::layout::RecordingPrefix;
    /// let started = time::macros::datetime!(2023-02-09 22:55:41 UTC);
    /// let prefix = RecordingPrefix::new("098435415742", "2rrcA103rn67", started, "Pd8MyZnzUAFl");
    /// assert_eq!(prefix.as_str(), "ivs/v1/098435415742/2rrcA103rn67/2023/2/9/22/55/Pd8MyZnzUAFl");
    /// assert_eq!(prefix.thumbnail(3), format!("{prefix}/media/thumbnails/thumb3.jpg"));
    /// ```
    pub fn new(
        account_id: &str,
        channel_id: &str,
        started: OffsetDateTime,
        recording_id: &str,
    ) -> Self {
        let utc = started.to_offset(time::UtcOffset::UTC);
        let prefix = format!(
            "ivs/v1/{account_id}/{channel_id}/{}/{}/{}/{}/{}/{recording_id}",
            utc.year(),
            u8::from(utc.month()),
            utc.day(),
            utc.hour(),
            utc.minute(),
        );
        Self { prefix }
    }

    /// The prefix itself, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.prefix
    }

    fn key(&self, rest: &str) -> String {
        format!("{}/{rest}", self.prefix)
    }

    /// `events/ivs-check`: the empty write probe, stored first.
    pub fn ivs_check(&self) -> String {
        self.key("events/ivs-check")
    }

    /// `events/recording-started.json`.
    pub fn recording_started(&self) -> String {
        self.key("events/recording-started.json")
    }

    /// `events/recording-ended.json`.
    pub fn recording_ended(&self) -> String {
        self.key("events/recording-ended.json")
    }

    /// `events/recording-failed.json`.
    pub fn recording_failed(&self) -> String {
        self.key("events/recording-failed.json")
    }

    /// `media/thumbnails/thumb<N>.jpg`.
    pub fn thumbnail(&self, index: u64) -> String {
        self.key(&format!("{THUMBNAILS_PATH}/thumb{index}.jpg"))
    }

    /// `media/latest_thumbnail/thumb.jpg`.
    pub fn latest_thumbnail(&self) -> String {
        self.key(LATEST_THUMBNAIL_PATH)
    }

    /// `media/hls/master.m3u8`.
    pub fn master_playlist(&self) -> String {
        self.key(&format!("{HLS_PATH}/{MASTER_PLAYLIST}"))
    }

    /// `media/hls/byte-range-multivariant.m3u8`.
    pub fn byte_range_multivariant_playlist(&self) -> String {
        self.key(&format!("{HLS_PATH}/{BYTE_RANGE_MULTIVARIANT_PLAYLIST}"))
    }

    /// `media/hls/<rendition>/playlist.m3u8`.
    pub fn rendition_playlist(&self, rendition: &str) -> String {
        self.key(&format!("{HLS_PATH}/{rendition}/{RENDITION_PLAYLIST}"))
    }

    /// `media/hls/<rendition>/byte-range-variant.m3u8`.
    pub fn byte_range_variant_playlist(&self, rendition: &str) -> String {
        self.key(&format!(
            "{HLS_PATH}/{rendition}/{BYTE_RANGE_VARIANT_PLAYLIST}"
        ))
    }

    /// `media/hls/<rendition>/<N>.ts`.
    pub fn segment(&self, rendition: &str, index: u64) -> String {
        self.key(&format!("{HLS_PATH}/{rendition}/{index}.ts"))
    }

    /// A prefix read back (from a journal): `ivs/v1/<account>/<channel>/<y>/<m>/<d>/<h>/<min>/<id>`
    /// with nothing empty, `.` or `..` in it; `None` otherwise.
    pub fn parse(prefix: &str) -> Option<Self> {
        let parts: Vec<&str> = prefix.split('/').collect();
        let well_formed = parts.len() == 10
            && parts[0] == "ivs"
            && parts[1] == "v1"
            && parts[2..].iter().all(|part| {
                !part.is_empty()
                    && *part != "."
                    && *part != ".."
                    && part
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            });
        well_formed.then(|| Self {
            prefix: prefix.to_owned(),
        })
    }
}

impl fmt::Display for RecordingPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.prefix)
    }
}

/// `media.hls.path` in the metadata JSON.
pub const HLS_PATH: &str = "media/hls";
/// `media.hls.playlist`.
pub const MASTER_PLAYLIST: &str = "master.m3u8";
/// `media.hls.byte_range_playlist`.
pub const BYTE_RANGE_MULTIVARIANT_PLAYLIST: &str = "byte-range-multivariant.m3u8";
/// `renditions[].playlist`.
pub const RENDITION_PLAYLIST: &str = "playlist.m3u8";
/// `renditions[].byte_range_playlist`.
pub const BYTE_RANGE_VARIANT_PLAYLIST: &str = "byte-range-variant.m3u8";
/// `media.thumbnails.path`: a folder.
pub const THUMBNAILS_PATH: &str = "media/thumbnails";
/// `media.latest_thumbnail.path`: a file.
pub const LATEST_THUMBNAIL_PATH: &str = "media/latest_thumbnail/thumb.jpg";

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn sample_prefix() -> RecordingPrefix {
        RecordingPrefix::new(
            "098435415742",
            "2rrcA103rn67",
            datetime!(2023-02-09 22:55:41.55 UTC),
            "Pd8MyZnzUAFl",
        )
    }

    #[test]
    fn prefix_matches_the_real_sample() {
        assert_eq!(
            sample_prefix().as_str(),
            "ivs/v1/098435415742/2rrcA103rn67/2023/2/9/22/55/Pd8MyZnzUAFl"
        );
    }

    #[test]
    fn date_parts_are_unpadded_utc() {
        let prefix = RecordingPrefix::new("1", "c", datetime!(2020-06-23 22:12:59 +02:00), "r");
        assert_eq!(prefix.as_str(), "ivs/v1/1/c/2020/6/23/20/12/r");
        let midnight = RecordingPrefix::new("1", "c", datetime!(2024-09-01 00:05:00 UTC), "r");
        assert_eq!(midnight.as_str(), "ivs/v1/1/c/2024/9/1/0/5/r");
    }

    #[test]
    fn keys_under_the_prefix() {
        let p = sample_prefix();
        let root = p.as_str();
        let cases = [
            (p.ivs_check(), "events/ivs-check"),
            (p.recording_started(), "events/recording-started.json"),
            (p.recording_ended(), "events/recording-ended.json"),
            (p.recording_failed(), "events/recording-failed.json"),
            (p.thumbnail(0), "media/thumbnails/thumb0.jpg"),
            (p.thumbnail(32), "media/thumbnails/thumb32.jpg"),
            (p.latest_thumbnail(), "media/latest_thumbnail/thumb.jpg"),
            (p.master_playlist(), "media/hls/master.m3u8"),
            (
                p.byte_range_multivariant_playlist(),
                "media/hls/byte-range-multivariant.m3u8",
            ),
            (
                p.rendition_playlist("720p30"),
                "media/hls/720p30/playlist.m3u8",
            ),
            (
                p.byte_range_variant_playlist("160p30"),
                "media/hls/160p30/byte-range-variant.m3u8",
            ),
            (p.segment("720p30", 16), "media/hls/720p30/16.ts"),
        ];
        for (key, rest) in cases {
            assert_eq!(key, format!("{root}/{rest}"));
        }
    }
}
