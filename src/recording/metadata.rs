//! The `events/recording-*.json` files (spec section 2, decisions D6 and D17): compact JSON whose
//! key order follows the real IVS files, renditions highest first.

use serde::{Deserialize, Serialize};

use crate::ladder::Rendition;
use crate::layout;
use crate::model::ThumbnailConfiguration;

/// `recording_status` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecordingStatus {
    /// In `recording-started.json`.
    RecordingStarted,
    /// In `recording-ended.json`.
    RecordingEnded,
    /// In `recording-failed.json`.
    RecordingEndedWithFailure,
}

/// One `recording-*.json` document. Field order is the serialised key order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingMetadata {
    /// Always `v1`.
    pub version: String,
    /// RFC 3339, whole seconds.
    pub recording_started_at: String,
    /// Only when the recording has ended.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub recording_ended_at: Option<String>,
    /// The channel's ARN.
    pub channel_arn: String,
    /// Started, ended or failed.
    pub recording_status: RecordingStatus,
    /// Only on failure (omitted on success, as the real files do).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub recording_status_message: Option<String>,
    /// What was recorded, and where.
    pub media: MediaMetadata,
}

/// `media`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaMetadata {
    /// `media.hls`.
    pub hls: HlsMetadata,
    /// Present when thumbnails are kept in sequence.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub thumbnails: Option<ThumbnailMetadata>,
    /// Present when the latest thumbnail is kept.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub latest_thumbnail: Option<ThumbnailMetadata>,
}

/// `media.hls`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HlsMetadata {
    /// Media duration in ms; only once the recording has ended.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub duration_ms: Option<u64>,
    /// `media/hls`.
    pub path: String,
    /// `master.m3u8`.
    pub playlist: String,
    /// `byte-range-multivariant.m3u8`.
    pub byte_range_playlist: String,
    /// Highest first (D6).
    pub renditions: Vec<RenditionMetadata>,
}

/// `media.hls.renditions[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenditionMetadata {
    /// The rendition folder, e.g. `720p30`.
    pub path: String,
    /// `playlist.m3u8`.
    pub playlist: String,
    /// `byte-range-variant.m3u8`.
    pub byte_range_playlist: String,
    /// Width in pixels.
    pub resolution_width: u32,
    /// Height in pixels.
    pub resolution_height: u32,
}

/// `media.thumbnails` and `media.latest_thumbnail`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThumbnailMetadata {
    /// A folder for `thumbnails`, a file for `latest_thumbnail`.
    pub path: String,
    /// Width in pixels.
    pub resolution_width: u32,
    /// Height in pixels.
    pub resolution_height: u32,
}

/// The facts about one recording that all three documents are made from.
#[derive(Debug, Clone)]
pub struct RecordingFacts<'a> {
    /// The channel's ARN.
    pub channel_arn: &'a str,
    /// `recording_started_at`, already formatted.
    pub started_at: String,
    /// The recorded renditions, highest first.
    pub renditions: &'a [Rendition],
    /// The thumbnail configuration in force.
    pub thumbnails: &'a ThumbnailConfiguration,
    /// Thumbnail width and height.
    pub thumbnail_size: (u32, u32),
}

/// How a recording ended, for [`RecordingFacts::ended`].
#[derive(Debug, Clone)]
pub enum Ending {
    /// `RECORDING_ENDED`.
    Ended,
    /// `RECORDING_ENDED_WITH_FAILURE` with this `recording_status_message`.
    Failed(String),
}

impl RecordingFacts<'_> {
    /// `recording-started.json`.
    pub fn started(&self) -> RecordingMetadata {
        RecordingMetadata {
            version: "v1".to_owned(),
            recording_started_at: self.started_at.clone(),
            recording_ended_at: None,
            channel_arn: self.channel_arn.to_owned(),
            recording_status: RecordingStatus::RecordingStarted,
            recording_status_message: None,
            media: self.media(None),
        }
    }

    /// `recording-ended.json` or `recording-failed.json`.
    pub fn ended(&self, ended_at: String, duration_ms: u64, ending: Ending) -> RecordingMetadata {
        self.started().ending(ended_at, duration_ms, ending)
    }

    fn media(&self, duration_ms: Option<u64>) -> MediaMetadata {
        let (width, height) = self.thumbnail_size;
        let thumbnail_at = |path: &str| ThumbnailMetadata {
            path: path.to_owned(),
            resolution_width: width,
            resolution_height: height,
        };
        MediaMetadata {
            hls: HlsMetadata {
                duration_ms,
                path: layout::HLS_PATH.to_owned(),
                playlist: layout::MASTER_PLAYLIST.to_owned(),
                byte_range_playlist: layout::BYTE_RANGE_MULTIVARIANT_PLAYLIST.to_owned(),
                renditions: self
                    .renditions
                    .iter()
                    .map(|r| RenditionMetadata {
                        path: r.name.clone(),
                        playlist: layout::RENDITION_PLAYLIST.to_owned(),
                        byte_range_playlist: layout::BYTE_RANGE_VARIANT_PLAYLIST.to_owned(),
                        resolution_width: r.width,
                        resolution_height: r.height,
                    })
                    .collect(),
            },
            thumbnails: self
                .thumbnails
                .keeps_sequence()
                .then(|| thumbnail_at(layout::THUMBNAILS_PATH)),
            latest_thumbnail: self
                .thumbnails
                .keeps_latest()
                .then(|| thumbnail_at(layout::LATEST_THUMBNAIL_PATH)),
        }
    }
}

impl RecordingMetadata {
    /// Compact JSON, as IVS writes it.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("metadata is plain data and always serialises")
    }

    /// The `recording-ended.json` or `recording-failed.json` of the recording this
    /// `recording-started.json` began (for a recording finished by a later run).
    pub fn ending(&self, ended_at: String, duration_ms: u64, ending: Ending) -> Self {
        let (recording_status, recording_status_message) = match ending {
            Ending::Ended => (RecordingStatus::RecordingEnded, None),
            Ending::Failed(message) => (RecordingStatus::RecordingEndedWithFailure, Some(message)),
        };
        let mut ended = self.clone();
        ended.recording_ended_at = Some(ended_at);
        ended.recording_status = recording_status;
        ended.recording_status_message = recording_status_message;
        ended.media.hls.duration_ms = Some(duration_ms);
        ended
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ladder::{Ladder, SourceVideo};
    use crate::model::{ChannelType, ThumbnailStorage};

    const ARN: &str = "arn:aws:ivs:us-east-1:098435415742:channel/2rrcA103rn67";
    /// `events/recording-ended.json` of the real IVS recording (spec 2.3), verbatim.
    const REAL_ENDED: &str = r#"{"version":"v1","recording_started_at":"2023-02-09T22:55:41Z","recording_ended_at":"2023-02-09T22:58:30Z","channel_arn":"arn:aws:ivs:us-east-1:098435415742:channel/2rrcA103rn67","recording_status":"RECORDING_ENDED","media":{"hls":{"duration_ms":171546,"path":"media/hls","playlist":"master.m3u8","byte_range_playlist":"byte-range-multivariant.m3u8","renditions":[{"path":"720p30","playlist":"playlist.m3u8","byte_range_playlist":"byte-range-variant.m3u8","resolution_width":1280,"resolution_height":720},{"path":"480p30","playlist":"playlist.m3u8","byte_range_playlist":"byte-range-variant.m3u8","resolution_width":852,"resolution_height":480},{"path":"360p30","playlist":"playlist.m3u8","byte_range_playlist":"byte-range-variant.m3u8","resolution_width":640,"resolution_height":360},{"path":"160p30","playlist":"playlist.m3u8","byte_range_playlist":"byte-range-variant.m3u8","resolution_width":284,"resolution_height":160}]},"thumbnails":{"path":"media/thumbnails"}}}"#;

    fn sample_ladder() -> Vec<Rendition> {
        let source = SourceVideo {
            width: 1280,
            height: 720,
            frame_rate: 30.0,
        };
        Ladder::plan(ChannelType::Standard, None, source)
            .renditions()
            .to_vec()
    }

    #[test]
    fn ended_file_matches_the_real_one_byte_for_byte_in_2023_form() {
        // The 2023 sample predates thumbnail resolution fields; everything else must match exactly.
        let renditions = sample_ladder();
        let thumbnails = ThumbnailConfiguration::default();
        let facts = RecordingFacts {
            channel_arn: ARN,
            started_at: "2023-02-09T22:55:41Z".into(),
            renditions: &renditions,
            thumbnails: &thumbnails,
            thumbnail_size: (1280, 720),
        };
        let ours = facts
            .ended("2023-02-09T22:58:30Z".into(), 171_546, Ending::Ended)
            .to_json();
        let without_thumbnail_size = ours.replace(
            r#","resolution_width":1280,"resolution_height":720}}}"#,
            "}}}",
        );
        assert_eq!(without_thumbnail_size, REAL_ENDED.trim_end());
    }

    #[test]
    fn started_has_no_end_fields() {
        let renditions = sample_ladder();
        let thumbnails = ThumbnailConfiguration {
            storage: vec![ThumbnailStorage::Sequential, ThumbnailStorage::Latest],
            ..ThumbnailConfiguration::default()
        };
        let facts = RecordingFacts {
            channel_arn: ARN,
            started_at: "2023-02-09T22:55:41Z".into(),
            renditions: &renditions,
            thumbnails: &thumbnails,
            thumbnail_size: (852, 480),
        };
        let json = facts.started().to_json();
        assert!(json.starts_with(
            r#"{"version":"v1","recording_started_at":"2023-02-09T22:55:41Z","channel_arn":"#
        ));
        assert!(!json.contains("recording_ended_at"));
        assert!(!json.contains("duration_ms"));
        assert!(!json.contains("recording_status_message"));
        assert!(json.contains(r#""recording_status":"RECORDING_STARTED""#));
        assert!(json.ends_with(
            r#""thumbnails":{"path":"media/thumbnails","resolution_width":852,"resolution_height":480},"latest_thumbnail":{"path":"media/latest_thumbnail/thumb.jpg","resolution_width":852,"resolution_height":480}}}"#
        ));
    }

    #[test]
    fn failed_carries_a_message_and_no_renditions_means_empty_list() {
        let thumbnails = ThumbnailConfiguration {
            recording_mode: crate::model::ThumbnailRecordingMode::Disabled,
            ..ThumbnailConfiguration::default()
        };
        let facts = RecordingFacts {
            channel_arn: ARN,
            started_at: "2023-02-09T22:55:41Z".into(),
            renditions: &[],
            thumbnails: &thumbnails,
            thumbnail_size: (1280, 720),
        };
        let failed = facts.ended(
            "2023-02-09T22:56:00Z".into(),
            0,
            Ending::Failed("InternalServerException".into()),
        );
        let json = failed.to_json();
        assert!(json.contains(r#""recording_status":"RECORDING_ENDED_WITH_FAILURE","recording_status_message":"InternalServerException""#));
        assert!(json.contains(r#""duration_ms":0,"#));
        assert!(json.contains(r#""renditions":[]"#));
        assert!(!json.contains("thumbnail"));
        let parsed: RecordingMetadata = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed, failed);
    }
}
