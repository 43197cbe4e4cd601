//! Resource kinds and their ARNs: `arn:aws:ivs:<region>:<account>:<type>/<id>`. Pure.

use std::fmt;

use crate::ids::random_alphanumeric;

/// A kind of IVS resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    /// `channel/…`.
    Channel,
    /// `stream-key/…`.
    StreamKey,
    /// `recording-configuration/…`.
    RecordingConfiguration,
    /// `playback-key/…`.
    PlaybackKeyPair,
    /// `playback-restriction-policy/…`.
    PlaybackRestrictionPolicy,
    /// `ad-configuration/…`.
    AdConfiguration,
    /// `failover-slate-configuration/…`.
    FailoverSlateConfiguration,
}

impl ResourceKind {
    /// Every kind.
    pub const ALL: [Self; 7] = [
        Self::Channel,
        Self::StreamKey,
        Self::RecordingConfiguration,
        Self::PlaybackKeyPair,
        Self::PlaybackRestrictionPolicy,
        Self::AdConfiguration,
        Self::FailoverSlateConfiguration,
    ];

    /// The resource type in the ARN.
    pub fn arn_type(self) -> &'static str {
        match self {
            Self::Channel => "channel",
            Self::StreamKey => "stream-key",
            Self::RecordingConfiguration => "recording-configuration",
            Self::PlaybackKeyPair => "playback-key",
            Self::PlaybackRestrictionPolicy => "playback-restriction-policy",
            Self::AdConfiguration => "ad-configuration",
            Self::FailoverSlateConfiguration => "failover-slate-configuration",
        }
    }

    /// The kind an ARN names, when it is an IVS resource ARN.
    pub fn of_arn(arn: &str) -> Option<Self> {
        let resource = arn.strip_prefix("arn:aws:ivs:")?.splitn(3, ':').nth(2)?;
        let (arn_type, id) = resource.split_once('/')?;
        if id.is_empty() {
            return None;
        }
        Self::ALL
            .into_iter()
            .find(|kind| kind.arn_type() == arn_type)
    }

    /// The name people read in messages, e.g. `recording configuration`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Channel => "channel",
            Self::StreamKey => "stream key",
            Self::RecordingConfiguration => "recording configuration",
            Self::PlaybackKeyPair => "playback key pair",
            Self::PlaybackRestrictionPolicy => "playback restriction policy",
            Self::AdConfiguration => "ad configuration",
            Self::FailoverSlateConfiguration => "failover slate configuration",
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The account and region resources are created in (D16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// e.g. `us-west-2`.
    pub region: String,
    /// 12 digits.
    pub account_id: String,
}

impl Account {
    /// The ARN of a resource of `kind` with `id`.
    pub fn arn(&self, kind: ResourceKind, id: &str) -> String {
        format!(
            "arn:aws:ivs:{}:{}:{}/{id}",
            self.region,
            self.account_id,
            kind.arn_type()
        )
    }

    /// The ARN of a new resource of `kind`: a random 12-character id (D16).
    pub fn new_arn(&self, kind: ResourceKind) -> String {
        self.arn(kind, &random_alphanumeric(12))
    }
}

/// The id after the `/` of an ARN.
pub fn resource_id(arn: &str) -> &str {
    arn.rsplit_once('/').map_or("", |(_, id)| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_round_trip_through_their_kind() {
        let account = Account {
            region: "eu-west-1".into(),
            account_id: "123456789012".into(),
        };
        for kind in ResourceKind::ALL {
            let arn = account.new_arn(kind);
            assert_eq!(ResourceKind::of_arn(&arn), Some(kind), "{arn}");
            assert_eq!(resource_id(&arn).len(), 12);
        }
        assert_eq!(
            account.arn(ResourceKind::PlaybackKeyPair, "abc"),
            "arn:aws:ivs:eu-west-1:123456789012:playback-key/abc"
        );
        assert_eq!(ResourceKind::of_arn("arn:aws:ivs:r:1:thing/x"), None);
        assert_eq!(ResourceKind::of_arn("arn:aws:ivs:r:1:channel/"), None);
        assert_eq!(ResourceKind::of_arn("arn:aws:s3:::bucket"), None);
    }
}
