//! `RecordingConfiguration` and its parts, with the API defaults and the model's constraints
//! (spec section 6.4).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::validation::{
    ValidationError, check_bucket_name, check_range, check_resource_name, check_tags,
    expect_objects,
};

/// Bucket used when no configuration file is given.
pub const DEFAULT_BUCKET: &str = "ivs-recordings";
/// `thumbnailConfiguration.targetIntervalSeconds` when absent.
pub const DEFAULT_THUMBNAIL_INTERVAL_SECONDS: u32 = 60;

/// The body of `CreateRecordingConfiguration`: every member optional except the destination, as on
/// the wire. [`CreateRecordingConfigurationRequest::into_configuration`] applies defaults and checks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRecordingConfigurationRequest {
    /// Where recordings go; required.
    pub destination_configuration: Option<DestinationConfiguration>,
    /// Free-form name, not unique.
    pub name: Option<String>,
    /// Seconds a disconnected stream may take to come back into the same recording (0..300).
    pub recording_reconnect_window_seconds: Option<i64>,
    /// Which renditions are recorded.
    pub rendition_configuration: Option<RenditionConfigurationInput>,
    /// Resource tags.
    pub tags: Option<BTreeMap<String, String>>,
    /// How thumbnails are recorded.
    pub thumbnail_configuration: Option<ThumbnailConfigurationInput>,
}

/// `renditionConfiguration` as sent: both members optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RenditionConfigurationInput {
    /// `ALL` when absent.
    pub rendition_selection: Option<RenditionSelection>,
    /// Required (non-empty) with `CUSTOM`.
    pub renditions: Option<Vec<ResolutionClass>>,
}

/// `thumbnailConfiguration` as sent: every member optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThumbnailConfigurationInput {
    /// `INTERVAL` when absent.
    pub recording_mode: Option<ThumbnailRecordingMode>,
    /// 1..60, 60 when absent.
    pub target_interval_seconds: Option<i64>,
    /// Source resolution when absent.
    pub resolution: Option<ResolutionClass>,
    /// `[SEQUENTIAL]` when absent.
    pub storage: Option<Vec<ThumbnailStorage>>,
}

/// A complete, validated recording configuration, shaped as `GetRecordingConfiguration` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordingConfiguration {
    /// `arn:aws:ivs:<region>:<account>:recording-configuration/<id>`.
    pub arn: String,
    /// Free-form name (may be empty).
    pub name: String,
    /// Where recordings go.
    pub destination_configuration: DestinationConfiguration,
    /// Lifecycle state.
    pub state: RecordingConfigurationState,
    /// Resource tags.
    pub tags: BTreeMap<String, String>,
    /// How thumbnails are recorded.
    pub thumbnail_configuration: ThumbnailConfiguration,
    /// Seconds a disconnected stream may take to come back into the same recording.
    pub recording_reconnect_window_seconds: u32,
    /// Which renditions are recorded.
    pub rendition_configuration: RenditionConfiguration,
}

/// `destinationConfiguration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DestinationConfiguration {
    /// The S3 destination; required.
    pub s3: Option<S3DestinationConfiguration>,
}

/// `destinationConfiguration.s3`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3DestinationConfiguration {
    /// 3..63 characters of `[a-z0-9-.]`.
    pub bucket_name: String,
}

/// `state` of a recording configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecordingConfigurationState {
    /// Just created; not yet usable.
    Creating,
    /// The bucket could not be used.
    CreateFailed,
    /// Ready to record.
    Active,
}

/// `renditionConfiguration` with defaults applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenditionConfiguration {
    /// Which renditions are recorded.
    pub rendition_selection: RenditionSelection,
    /// The classes recorded with `CUSTOM`.
    pub renditions: Vec<ResolutionClass>,
}

/// `renditionSelection`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RenditionSelection {
    /// Every rendition of the channel's ladder.
    All,
    /// No media at all, only thumbnails and metadata (decision D4).
    None,
    /// The listed classes, with fallback to the best available (decision D3).
    Custom,
}

/// A resolution class, a range of output heights (spec 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ResolutionClass {
    /// 160 ≤ height ≤ 360.
    LowestResolution,
    /// 360 < height ≤ 480.
    Sd,
    /// 480 < height ≤ 720.
    Hd,
    /// 720 < height ≤ 1080.
    FullHd,
}

impl ResolutionClass {
    /// The heights the class covers, inclusive.
    pub fn height_range(self) -> std::ops::RangeInclusive<u32> {
        match self {
            Self::LowestResolution => 160..=360,
            Self::Sd => 361..=480,
            Self::Hd => 481..=720,
            Self::FullHd => 721..=1080,
        }
    }

    /// Whether a picture of this height belongs to the class.
    pub fn contains(self, height: u32) -> bool {
        self.height_range().contains(&height)
    }
}

/// `thumbnailConfiguration` with defaults applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThumbnailConfiguration {
    /// Whether thumbnails are recorded.
    pub recording_mode: ThumbnailRecordingMode,
    /// Seconds of media between thumbnails (1..60).
    pub target_interval_seconds: u32,
    /// Thumbnail size class; `None` means the source resolution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<ResolutionClass>,
    /// Where thumbnails are stored.
    pub storage: Vec<ThumbnailStorage>,
}

impl ThumbnailConfiguration {
    /// Whether thumbnails are produced at all.
    pub fn is_enabled(&self) -> bool {
        self.recording_mode == ThumbnailRecordingMode::Interval && !self.storage.is_empty()
    }

    /// Whether every thumbnail is kept as `media/thumbnails/thumbN.jpg`.
    pub fn keeps_sequence(&self) -> bool {
        self.is_enabled() && self.storage.contains(&ThumbnailStorage::Sequential)
    }

    /// Whether `media/latest_thumbnail/thumb.jpg` is kept up to date.
    pub fn keeps_latest(&self) -> bool {
        self.is_enabled() && self.storage.contains(&ThumbnailStorage::Latest)
    }
}

impl Default for ThumbnailConfiguration {
    fn default() -> Self {
        Self {
            recording_mode: ThumbnailRecordingMode::Interval,
            target_interval_seconds: DEFAULT_THUMBNAIL_INTERVAL_SECONDS,
            resolution: None,
            storage: vec![ThumbnailStorage::Sequential],
        }
    }
}

/// `thumbnailConfiguration.recordingMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ThumbnailRecordingMode {
    /// One thumbnail per interval.
    Interval,
    /// No thumbnails.
    Disabled,
}

/// `thumbnailConfiguration.storage` entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ThumbnailStorage {
    /// `media/thumbnails/thumb0.jpg`, `thumb1.jpg`, …
    Sequential,
    /// `media/latest_thumbnail/thumb.jpg`, overwritten each interval.
    Latest,
}

/// The fields of a CreateRecordingConfiguration body that are JSON objects (structs), which
/// serde would also read from arrays.
pub(crate) const OBJECT_FIELDS: [&str; 5] = [
    "",
    "destinationConfiguration",
    "destinationConfiguration.s3",
    "thumbnailConfiguration",
    "renditionConfiguration",
];

impl CreateRecordingConfigurationRequest {
    /// A request for the bucket alone, every other member left to its default.
    pub fn for_bucket(bucket: &str) -> Self {
        Self {
            destination_configuration: Some(DestinationConfiguration {
                s3: Some(S3DestinationConfiguration {
                    bucket_name: bucket.to_owned(),
                }),
            }),
            ..Self::default()
        }
    }

    /// Parses a JSON body, naming the member at fault when it does not fit the shape.
    pub fn from_json(json: &str) -> Result<Self, ValidationError> {
        if let Ok(document) = serde_json::from_str::<serde_json::Value>(json) {
            expect_objects(&document, &OBJECT_FIELDS, "")?;
        }
        let deserializer = &mut serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(deserializer).map_err(|err| {
            let path = err.path().to_string();
            let field = if path == "." { "body".to_owned() } else { path };
            ValidationError::new(field, format!("is not valid: {}", err.inner()))
        })
    }

    /// Applies the API defaults and checks every constraint of the model; `arn` names the result.
    pub fn into_configuration(
        self,
        arn: String,
    ) -> Result<RecordingConfiguration, ValidationError> {
        let destination = self
            .destination_configuration
            .ok_or_else(|| ValidationError::new("destinationConfiguration", "is required"))?;
        let bucket = destination
            .s3
            .as_ref()
            .ok_or_else(|| ValidationError::new("destinationConfiguration.s3", "is required"))?;
        check_bucket_name(
            "destinationConfiguration.s3.bucketName",
            &bucket.bucket_name,
        )?;

        let name = self.name.unwrap_or_default();
        check_resource_name("name", &name)?;

        let tags = self.tags.unwrap_or_default();
        check_tags("tags", &tags)?;

        let window = self.recording_reconnect_window_seconds.unwrap_or(0);
        check_range("recordingReconnectWindowSeconds", window, 0, 300)?;

        Ok(RecordingConfiguration {
            arn,
            name,
            destination_configuration: destination,
            state: RecordingConfigurationState::Active,
            tags,
            thumbnail_configuration: thumbnail_configuration(self.thumbnail_configuration)?,
            recording_reconnect_window_seconds: u32::try_from(window).unwrap_or(0),
            rendition_configuration: rendition_configuration(self.rendition_configuration)?,
        })
    }
}

fn thumbnail_configuration(
    input: Option<ThumbnailConfigurationInput>,
) -> Result<ThumbnailConfiguration, ValidationError> {
    let input = input.unwrap_or_default();
    let interval = input
        .target_interval_seconds
        .unwrap_or(i64::from(DEFAULT_THUMBNAIL_INTERVAL_SECONDS));
    check_range(
        "thumbnailConfiguration.targetIntervalSeconds",
        interval,
        1,
        60,
    )?;
    let recording_mode = input
        .recording_mode
        .unwrap_or(ThumbnailRecordingMode::Interval);
    let storage = input
        .storage
        .unwrap_or_else(|| vec![ThumbnailStorage::Sequential]);
    if recording_mode == ThumbnailRecordingMode::Interval && storage.is_empty() {
        return Err(ValidationError::new(
            "thumbnailConfiguration.storage",
            "must list SEQUENTIAL, LATEST or both when recordingMode is INTERVAL, got []",
        ));
    }
    Ok(ThumbnailConfiguration {
        recording_mode,
        target_interval_seconds: u32::try_from(interval)
            .unwrap_or(DEFAULT_THUMBNAIL_INTERVAL_SECONDS),
        resolution: input.resolution,
        storage,
    })
}

fn rendition_configuration(
    input: Option<RenditionConfigurationInput>,
) -> Result<RenditionConfiguration, ValidationError> {
    let input = input.unwrap_or_default();
    let rendition_selection = input.rendition_selection.unwrap_or(RenditionSelection::All);
    let renditions = input.renditions.unwrap_or_default();
    if rendition_selection == RenditionSelection::Custom && renditions.is_empty() {
        return Err(ValidationError::new(
            "renditionConfiguration.renditions",
            "must list at least one of SD, HD, FULL_HD, LOWEST_RESOLUTION when renditionSelection is CUSTOM",
        ));
    }
    Ok(RenditionConfiguration {
        rendition_selection,
        renditions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:ivs:us-west-2:123456789012:recording-configuration/AbCdEfGh1234";

    fn configure(json: &str) -> Result<RecordingConfiguration, ValidationError> {
        CreateRecordingConfigurationRequest::from_json(json)?.into_configuration(ARN.to_owned())
    }

    #[test]
    fn minimal_body_gets_the_api_defaults() {
        let config =
            configure(r#"{"destinationConfiguration":{"s3":{"bucketName":"my-bucket"}}}"#).unwrap();
        assert_eq!(config.name, "");
        assert_eq!(config.recording_reconnect_window_seconds, 0);
        assert_eq!(config.state, RecordingConfigurationState::Active);
        assert_eq!(
            config.thumbnail_configuration,
            ThumbnailConfiguration::default()
        );
        assert_eq!(config.thumbnail_configuration.target_interval_seconds, 60);
        assert!(config.thumbnail_configuration.keeps_sequence());
        assert!(!config.thumbnail_configuration.keeps_latest());
        assert_eq!(
            config.rendition_configuration.rendition_selection,
            RenditionSelection::All
        );
        assert!(config.tags.is_empty());
    }

    #[test]
    fn full_body_round_trips_in_camel_case() {
        let config = configure(
            r#"{"destinationConfiguration":{"s3":{"bucketName":"b-1.x"}},"name":"cfg_1",
                "recordingReconnectWindowSeconds":300,
                "renditionConfiguration":{"renditionSelection":"CUSTOM","renditions":["HD","LOWEST_RESOLUTION"]},
                "tags":{"k":"v"},
                "thumbnailConfiguration":{"recordingMode":"INTERVAL","targetIntervalSeconds":1,
                  "resolution":"FULL_HD","storage":["SEQUENTIAL","LATEST"]}}"#,
        )
        .unwrap();
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(json["arn"], ARN);
        assert_eq!(json["recordingReconnectWindowSeconds"], 300);
        assert_eq!(
            json["renditionConfiguration"]["renditions"][1],
            "LOWEST_RESOLUTION"
        );
        assert_eq!(json["thumbnailConfiguration"]["resolution"], "FULL_HD");
        assert_eq!(json["thumbnailConfiguration"]["storage"][1], "LATEST");
        assert_eq!(
            json["destinationConfiguration"]["s3"]["bucketName"],
            "b-1.x"
        );
        assert_eq!(json["state"], "ACTIVE");
    }

    #[test]
    fn every_rule_names_its_field() {
        let cases = [
            (r#"{}"#, "destinationConfiguration is required"),
            (
                r#"{"destinationConfiguration":{}}"#,
                "destinationConfiguration.s3 is required",
            ),
            (
                r#"[{"s3":{"bucketName":"abc"}}]"#,
                "body must be a JSON object, got an array",
            ),
            (
                r#"{"destinationConfiguration":{"s3":["abc"]}}"#,
                "destinationConfiguration.s3 must be a JSON object, got an array",
            ),
            (
                r#"{"destinationConfiguration":{"s3":{"bucketName":"No"}}}"#,
                "destinationConfiguration.s3.bucketName must be 3 to 63 characters long, got 2",
            ),
            (
                r#"{"destinationConfiguration":{"s3":{"bucketName":"bucket"}},"thumbnailConfiguration":{"targetIntervalSeconds":0}}"#,
                "thumbnailConfiguration.targetIntervalSeconds must be between 1 and 60, got 0",
            ),
            (
                r#"{"destinationConfiguration":{"s3":{"bucketName":"bucket"}},"thumbnailConfiguration":{"targetIntervalSeconds":61}}"#,
                "thumbnailConfiguration.targetIntervalSeconds must be between 1 and 60, got 61",
            ),
            (
                r#"{"destinationConfiguration":{"s3":{"bucketName":"bucket"}},"recordingReconnectWindowSeconds":301}"#,
                "recordingReconnectWindowSeconds must be between 0 and 300, got 301",
            ),
            (
                r#"{"destinationConfiguration":{"s3":{"bucketName":"bucket"}},"recordingReconnectWindowSeconds":-1}"#,
                "recordingReconnectWindowSeconds must be between 0 and 300, got -1",
            ),
            (
                r#"{"destinationConfiguration":{"s3":{"bucketName":"bucket"}},"renditionConfiguration":{"renditionSelection":"CUSTOM"}}"#,
                "renditionConfiguration.renditions must list at least one",
            ),
            (
                r#"{"destinationConfiguration":{"s3":{"bucketName":"bucket"}},"renditionConfiguration":{"renditionSelection":"SOME"}}"#,
                "renditionConfiguration.renditionSelection is not valid: unknown variant `SOME`",
            ),
            (
                r#"{"destinationConfiguration":{"s3":{"bucketName":"bucket"}},"thumbnailConfiguration":{"storage":["LATEST","BOTH"]}}"#,
                "thumbnailConfiguration.storage[1] is not valid",
            ),
            (
                r#"{"destinationConfiguration":{"s3":{"bucketName":"bucket"}},"name":"a b"}"#,
                "name must match [a-zA-Z0-9-_]*",
            ),
            (
                r#"{"destinationConfiguration":{"s3":{"bucketName":"bucket"}},"colour":1}"#,
                "colour is not valid: unknown field `colour`",
            ),
            (r#"{"destinationConfiguration":"#, "is not valid: EOF"),
        ];
        for (json, expected) in cases {
            let err = configure(json).expect_err(json);
            assert!(
                err.to_string().starts_with(expected) || err.to_string().contains(expected),
                "{json}\n  got:      {err}\n  expected: {expected}"
            );
        }
    }

    #[test]
    fn resolution_classes_cover_the_spec_ranges() {
        use ResolutionClass::*;
        assert!(LowestResolution.contains(160) && LowestResolution.contains(360));
        assert!(Sd.contains(480) && !Sd.contains(360));
        assert!(Hd.contains(720) && !Hd.contains(480));
        assert!(FullHd.contains(1080) && !FullHd.contains(720) && !FullHd.contains(1081));
    }

    #[test]
    fn disabled_thumbnails_record_nothing() {
        let config = configure(
            r#"{"destinationConfiguration":{"s3":{"bucketName":"bucket"}},"thumbnailConfiguration":{"recordingMode":"DISABLED","storage":["SEQUENTIAL","LATEST"]}}"#,
        )
        .unwrap();
        assert!(!config.thumbnail_configuration.is_enabled());
        assert!(!config.thumbnail_configuration.keeps_sequence());
        assert!(!config.thumbnail_configuration.keeps_latest());
    }
}
