//! The documents of new resources in the API's wire shape, with IVS's defaults filled in
//! (spec 6.4, 8): what CreateChannel, CreateStreamKey and the `--channels` file make. Pure.

use serde_json::{Map, Value, json};

use super::arn::{Account, resource_id};
use crate::ids::random_alphanumeric;

/// 12 lowercase hexadecimal characters, as IVS's endpoint hosts begin.
fn endpoint_id() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..12)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}

/// A new channel `arn` from a CreateChannel request (already validated against the model):
/// every member of the model's `Channel`, IVS's defaults where the request is silent.
/// `ingestEndpoint` and `playbackUrl` have IVS's shapes (spec 8).
pub fn channel(account: &Account, arn: &str, request: &Map<String, Value>) -> Value {
    let text = |member: &str, default: &str| {
        request
            .get(member)
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_owned()
    };
    let flag = |member: &str| {
        request
            .get(member)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let channel_type = text("type", "STANDARD");
    let advanced = channel_type.starts_with("ADVANCED");
    let preset = match (advanced, text("preset", "")) {
        (true, preset) if preset.is_empty() => "HIGHER_BANDWIDTH_DELIVERY".to_owned(),
        (_, preset) => preset,
    };
    let host = endpoint_id();
    let region = &account.region;
    let id = resource_id(arn);
    let multitrack = request.get("multitrackInputConfiguration").map_or_else(
        || json!({"enabled": false, "policy": "ALLOW", "maximumResolution": "FULL_HD"}),
        |given| {
            let mut filled =
                json!({"enabled": false, "policy": "ALLOW", "maximumResolution": "FULL_HD"});
            if let (Some(filled), Some(given)) = (filled.as_object_mut(), given.as_object()) {
                filled.extend(given.clone());
            }
            filled
        },
    );
    json!({
        "arn": arn,
        "name": text("name", ""),
        "type": channel_type,
        "latencyMode": text("latencyMode", "LOW"),
        "preset": preset,
        "recordingConfigurationArn": text("recordingConfigurationArn", ""),
        "authorized": flag("authorized"),
        "insecureIngest": flag("insecureIngest"),
        "ingestEndpoint": format!("{host}.global-contribute.live-video.net"),
        "playbackUrl": format!(
            "https://{host}.{region}.playback.live-video.net/api/video/v1/{region}.{}.channel.{id}.m3u8",
            account.account_id
        ),
        "srt": {
            "endpoint": format!("{host}.srt.live-video.net"),
            "passphrase": random_alphanumeric(32),
        },
        "playbackRestrictionPolicyArn": text("playbackRestrictionPolicyArn", ""),
        "adConfigurationArn": text("adConfigurationArn", ""),
        "failoverSlateConfigurationArn": text("failoverSlateConfigurationArn", ""),
        "containerFormat": text("containerFormat", "TS"),
        "multitrackInputConfiguration": multitrack,
        "tags": request.get("tags").cloned().unwrap_or_else(|| json!({})),
    })
}

/// A stream key document.
pub fn stream_key(arn: &str, channel_arn: &str, value: &str, tags: Option<&Value>) -> Value {
    json!({
        "arn": arn,
        "value": value,
        "channelArn": channel_arn,
        "tags": tags.cloned().unwrap_or_else(|| json!({})),
    })
}

/// A channel document's `playbackUrl`.
pub fn playback_url(channel: &Value) -> String {
    channel
        .get("playbackUrl")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The path of a channel's `playbackUrl` (`/api/video/v1/….m3u8`): where `serve` will answer
/// live playback.
pub fn playback_path(playback_url: &str) -> &str {
    playback_url
        .strip_prefix("https://")
        .and_then(|rest| rest.find('/').map(|at| &rest[at..]))
        .unwrap_or(playback_url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> Account {
        Account {
            region: "us-west-2".into(),
            account_id: "123456789012".into(),
        }
    }

    #[test]
    fn a_channel_has_ivs_defaults_and_endpoint_shapes() {
        let arn = "arn:aws:ivs:us-west-2:123456789012:channel/abcdABCDefgh";
        let doc = channel(&account(), arn, &Map::new());
        assert_eq!(doc["type"], "STANDARD");
        assert_eq!(doc["latencyMode"], "LOW");
        assert_eq!(doc["preset"], "");
        assert_eq!(doc["recordingConfigurationArn"], "");
        assert_eq!(doc["containerFormat"], "TS");
        assert_eq!(doc["authorized"], false);
        let endpoint = doc["ingestEndpoint"].as_str().unwrap();
        let (host, domain) = endpoint.split_once('.').unwrap();
        assert_eq!(domain, "global-contribute.live-video.net");
        assert_eq!(host.len(), 12);
        assert!(
            host.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        let playback = doc["playbackUrl"].as_str().unwrap();
        assert_eq!(
            playback,
            format!(
                "https://{host}.us-west-2.playback.live-video.net/api/video/v1/us-west-2.123456789012.channel.abcdABCDefgh.m3u8"
            )
        );
        assert_eq!(
            playback_path(playback),
            "/api/video/v1/us-west-2.123456789012.channel.abcdABCDefgh.m3u8"
        );
    }

    #[test]
    fn advanced_channels_get_the_default_preset() {
        let request = json!({"type": "ADVANCED_HD", "name": "x"});
        let doc = channel(&account(), "arn", request.as_object().unwrap());
        assert_eq!(doc["preset"], "HIGHER_BANDWIDTH_DELIVERY");
        assert_eq!(doc["name"], "x");
    }
}
