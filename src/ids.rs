//! Identifiers: random resource and recording ids, and the parts of a channel ARN.

use rand::Rng;
use rand::distr::Alphanumeric;

use crate::model::ValidationError;

/// Account id used when none is configured (decision D16).
pub const DEFAULT_ACCOUNT_ID: &str = "123456789012";
/// Region used when `AWS_REGION` is not set (decision D16).
pub const DEFAULT_REGION: &str = "us-west-2";
/// Channel id of the default channel `record` writes under.
pub const DEFAULT_CHANNEL_ID: &str = "LocalChannel";

/// `count` random characters from `[A-Za-z0-9]`.
pub fn random_alphanumeric(count: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(count)
        .map(char::from)
        .collect()
}

/// A new `recording_id` for an S3 prefix: 12 alphanumerics (decision D16).
pub fn new_recording_id() -> String {
    random_alphanumeric(12)
}

/// The region in force: `AWS_REGION` when set, else [`DEFAULT_REGION`].
pub fn region_from_env() -> String {
    std::env::var("AWS_REGION")
        .ok()
        .filter(|region| !region.is_empty())
        .unwrap_or_else(|| DEFAULT_REGION.to_owned())
}

/// The ARN of the default channel in `region`.
pub fn default_channel_arn(region: &str) -> String {
    format!("arn:aws:ivs:{region}:{DEFAULT_ACCOUNT_ID}:channel/{DEFAULT_CHANNEL_ID}")
}

/// A channel ARN split into the parts the S3 prefix is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelArn {
    /// The ARN as given.
    pub arn: String,
    /// e.g. `us-west-2`.
    pub region: String,
    /// The 12-digit account id.
    pub account_id: String,
    /// The resource id after `channel/`.
    pub channel_id: String,
}

impl ChannelArn {
    /// Parses `arn:aws:ivs:<region>:<account>:channel/<id>` (the model's channel ARN pattern).
    pub fn parse(arn: &str) -> Result<Self, ValidationError> {
        let invalid = |why: &str| {
            ValidationError::new(
                "channelArn",
                format!(
                    "must look like arn:aws:ivs:<region>:<account>:channel/<id> ({why}), got {arn:?}"
                ),
            )
        };
        if arn.is_empty() || arn.len() > 128 {
            return Err(invalid("1 to 128 characters"));
        }
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [aws_arn, partition, service, region, account_id, resource] = parts[..] else {
            return Err(invalid("six ':'-separated parts"));
        };
        if aws_arn != "arn" || partition != "aws" || service != "ivs" {
            return Err(invalid("it must start with arn:aws:ivs:"));
        }
        if region.is_empty()
            || !region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(invalid("the region is [a-z0-9-]+"));
        }
        if account_id.is_empty() || !account_id.chars().all(|c| c.is_ascii_digit()) {
            return Err(invalid("the account is [0-9]+"));
        }
        let channel_id = resource
            .strip_prefix("channel/")
            .ok_or_else(|| invalid("the resource is channel/<id>"))?;
        if channel_id.is_empty()
            || !channel_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(invalid("the id is [a-zA-Z0-9-]+"));
        }
        Ok(Self {
            arn: arn.to_owned(),
            region: region.to_owned(),
            account_id: account_id.to_owned(),
            channel_id: channel_id.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_alphanumeric_of_the_right_length() {
        let id = new_recording_id();
        assert_eq!(id.len(), 12);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(new_recording_id(), new_recording_id());
    }

    #[test]
    fn channel_arn_parts() {
        let arn =
            ChannelArn::parse("arn:aws:ivs:us-east-1:098435415742:channel/2rrcA103rn67").unwrap();
        assert_eq!(arn.region, "us-east-1");
        assert_eq!(arn.account_id, "098435415742");
        assert_eq!(arn.channel_id, "2rrcA103rn67");
        assert!(ChannelArn::parse(&default_channel_arn("us-west-2")).is_ok());
    }

    #[test]
    fn bad_channel_arns_are_refused_with_the_field_name() {
        for bad in [
            "",
            "arn:aws:ivs:us-west-2:123456789012:stream-key/abc",
            "arn:aws:s3:us-west-2:123456789012:channel/abc",
            "arn:aws:ivs:us-west-2:12ab:channel/abc",
            "arn:aws:ivs:us-west-2:123456789012:channel/",
            "arn:aws:ivs:us-west-2:123456789012:channel/a_b",
            "channel/abc",
        ] {
            let err = ChannelArn::parse(bad).expect_err(bad);
            assert!(
                err.to_string().starts_with("channelArn must look like"),
                "{err}"
            );
        }
    }
}
