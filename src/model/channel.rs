//! `Channel`: the part of an IVS channel that shapes a recording (its type and preset).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::validation::{ValidationError, check_resource_name};

/// An IVS channel, as `GetChannel` returns it (the members recording depends on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Channel {
    /// `arn:aws:ivs:<region>:<account>:channel/<id>`.
    pub arn: String,
    /// Free-form name (may be empty).
    pub name: String,
    /// Decides the rendition ladder (spec 3.3).
    #[serde(rename = "type")]
    pub channel_type: ChannelType,
    /// Only for ADVANCED types; serialised as `""` otherwise, as the API does.
    #[serde(with = "preset_or_empty")]
    pub preset: Option<Preset>,
    /// `LOW` by default.
    pub latency_mode: LatencyMode,
    /// `""` when the channel does not record.
    pub recording_configuration_arn: String,
    /// Resource tags.
    pub tags: BTreeMap<String, String>,
    /// The API's other members (`ingestEndpoint`, `playbackUrl`, `authorized`, …), which do not
    /// change how a channel records; kept so a channel read from the API goes back out whole.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl Channel {
    /// A channel of `channel_type` and `preset`, checking that the preset fits the type.
    ///
    /// An ADVANCED channel without a preset gets the API default, `HIGHER_BANDWIDTH_DELIVERY`.
    pub fn new(
        arn: String,
        name: String,
        channel_type: ChannelType,
        preset: Option<Preset>,
    ) -> Result<Self, ValidationError> {
        check_resource_name("name", &name)?;
        let preset = match (channel_type.is_advanced(), preset) {
            (true, preset) => Some(preset.unwrap_or(Preset::HigherBandwidthDelivery)),
            (false, None) => None,
            (false, Some(preset)) => {
                return Err(ValidationError::new(
                    "preset",
                    format!(
                        "is only allowed for ADVANCED_SD and ADVANCED_HD channels, got {preset} on a {channel_type} channel"
                    ),
                ));
            }
        };
        Ok(Self {
            arn,
            name,
            channel_type,
            preset,
            latency_mode: LatencyMode::Low,
            recording_configuration_arn: String::new(),
            tags: BTreeMap::new(),
            other: serde_json::Map::new(),
        })
    }
}

/// `type` of a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[clap(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChannelType {
    /// Transmuxed: one rendition, the source.
    Basic,
    /// Transcoded ladder up to the source, with source passthrough above 720p.
    Standard,
    /// Transcoded ladder capped at 480p.
    AdvancedSd,
    /// Transcoded ladder capped at 720p.
    AdvancedHd,
}

impl ChannelType {
    /// Whether the type takes a preset.
    pub fn is_advanced(self) -> bool {
        matches!(self, Self::AdvancedSd | Self::AdvancedHd)
    }
}

impl fmt::Display for ChannelType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Basic => "BASIC",
            Self::Standard => "STANDARD",
            Self::AdvancedSd => "ADVANCED_SD",
            Self::AdvancedHd => "ADVANCED_HD",
        })
    }
}

/// `preset` of an ADVANCED channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[clap(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Preset {
    /// The default: higher bitrates.
    HigherBandwidthDelivery,
    /// Lower bitrates for constrained viewers.
    ConstrainedBandwidthDelivery,
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::HigherBandwidthDelivery => "HIGHER_BANDWIDTH_DELIVERY",
            Self::ConstrainedBandwidthDelivery => "CONSTRAINED_BANDWIDTH_DELIVERY",
        })
    }
}

/// `latencyMode` of a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LatencyMode {
    /// Normal latency.
    Normal,
    /// Low latency (the default).
    Low,
}

/// The API writes an absent preset as `""`.
mod preset_or_empty {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Preset;

    pub(super) fn serialize<S: Serializer>(
        preset: &Option<Preset>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match preset {
            Some(preset) => serde::Serialize::serialize(preset, s),
            None => s.serialize_str(""),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Preset>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Preset(Preset),
            Empty(String),
        }
        match Wire::deserialize(d)? {
            Wire::Preset(preset) => Ok(Some(preset)),
            Wire::Empty(text) if text.is_empty() => Ok(None),
            Wire::Empty(text) => Err(serde::de::Error::custom(format!("unknown preset {text:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:ivs:us-west-2:123456789012:channel/AbCdEfGh1234";

    #[test]
    fn preset_only_on_advanced_types() {
        let err = Channel::new(
            ARN.into(),
            String::new(),
            ChannelType::Standard,
            Some(Preset::HigherBandwidthDelivery),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("preset is only allowed for ADVANCED_SD and ADVANCED_HD")
        );
        let advanced =
            Channel::new(ARN.into(), String::new(), ChannelType::AdvancedHd, None).unwrap();
        assert_eq!(advanced.preset, Some(Preset::HigherBandwidthDelivery));
    }

    #[test]
    fn serialises_like_the_api() {
        let channel = Channel::new(ARN.into(), "ch".into(), ChannelType::Basic, None).unwrap();
        let json = serde_json::to_value(&channel).unwrap();
        assert_eq!(json["type"], "BASIC");
        assert_eq!(json["preset"], "");
        assert_eq!(json["latencyMode"], "LOW");
        assert_eq!(json["recordingConfigurationArn"], "");
        let back: Channel = serde_json::from_value(json).unwrap();
        assert_eq!(back, channel);

        let advanced = Channel::new(
            ARN.into(),
            "ch".into(),
            ChannelType::AdvancedSd,
            Some(Preset::ConstrainedBandwidthDelivery),
        )
        .unwrap();
        let json = serde_json::to_value(&advanced).unwrap();
        assert_eq!(json["type"], "ADVANCED_SD");
        assert_eq!(json["preset"], "CONSTRAINED_BANDWIDTH_DELIVERY");
    }
}
