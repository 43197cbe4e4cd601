//! The IVS control-plane shapes this tool records with: recording configurations and channels.
//!
//! Types serialise in the API's camelCase and carry the API defaults, so a
//! `CreateRecordingConfiguration` body read from a file (or, later, from an HTTP request) becomes a
//! complete, validated configuration. Nothing here does I/O.

mod channel;
mod encoder_settings;
mod recording_configuration;
mod validation;

pub use channel::{Channel, ChannelType, LatencyMode, Preset};
pub use encoder_settings::{EncoderSettings, Keyframes, RateControl, RungEncoding};
pub(crate) use recording_configuration::OBJECT_FIELDS as RECORDING_CONFIGURATION_OBJECT_FIELDS;
pub use recording_configuration::{
    CreateRecordingConfigurationRequest, DEFAULT_BUCKET, DEFAULT_THUMBNAIL_INTERVAL_SECONDS,
    DestinationConfiguration, RecordingConfiguration, RecordingConfigurationState,
    RenditionConfiguration, RenditionSelection, ResolutionClass, S3DestinationConfiguration,
    ThumbnailConfiguration, ThumbnailRecordingMode, ThumbnailStorage,
};
pub use validation::ValidationError;
pub(crate) use validation::{abbreviated, check_bucket_name, expect_objects};
