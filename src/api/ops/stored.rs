//! The resources nothing plays yet, kept and returned with the model's checks: playback key
//! pairs (Import checks the PEM public key), playback restriction policies, ad configurations,
//! failover-slate configurations; viewer-session revocations and ad breaks are checked against
//! their channel and acknowledged.

use rustls_pki_types::SubjectPublicKeyInfoDer;
use rustls_pki_types::pem::PemObject;
use serde_json::{Map, Value, json};

use super::{Context, get_doc, get_resource, list_kind, overlay, required, text};
use crate::api::error::{ApiError, ErrorKind};
use crate::control::arn::ResourceKind;
use crate::ids::random_alphanumeric;
use crate::time::rfc3339_seconds;

/// One kind of stored resource: where it goes in responses and what a new one holds.
#[derive(Debug, Clone, Copy)]
pub struct StoredKind {
    /// Its kind.
    pub kind: ResourceKind,
    /// The response member of Create/Get/Update, e.g. `adConfiguration`.
    pub member: &'static str,
    /// The response member of List, e.g. `adConfigurations`.
    pub list_member: &'static str,
    /// The model's summary shape.
    pub summary: &'static str,
    /// The channel member that refers to it, when channels can.
    pub channel_member: Option<&'static str>,
    /// A new resource's members before the request's.
    defaults: fn() -> Value,
}

/// Playback key pairs.
pub const KEY_PAIRS: StoredKind = StoredKind {
    kind: ResourceKind::PlaybackKeyPair,
    member: "keyPair",
    list_member: "keyPairs",
    summary: "PlaybackKeyPairSummary",
    channel_member: None,
    defaults: || json!({"name": "", "tags": {}}),
};
/// Playback restriction policies.
pub const RESTRICTION_POLICIES: StoredKind = StoredKind {
    kind: ResourceKind::PlaybackRestrictionPolicy,
    member: "playbackRestrictionPolicy",
    list_member: "playbackRestrictionPolicies",
    summary: "PlaybackRestrictionPolicySummary",
    channel_member: Some("playbackRestrictionPolicyArn"),
    defaults: || {
        json!({"name": "", "allowedCountries": [], "allowedOrigins": [],
               "enableStrictOriginEnforcement": false, "tags": {}})
    },
};
/// Ad configurations.
pub const AD_CONFIGURATIONS: StoredKind = StoredKind {
    kind: ResourceKind::AdConfiguration,
    member: "adConfiguration",
    list_member: "adConfigurations",
    summary: "AdConfigurationSummary",
    channel_member: Some("adConfigurationArn"),
    defaults: || json!({"name": "", "mediaTailorPlaybackConfigurations": [], "tags": {}}),
};
/// Failover slate configurations.
pub const FAILOVER_SLATES: StoredKind = StoredKind {
    kind: ResourceKind::FailoverSlateConfiguration,
    member: "failoverSlateConfiguration",
    list_member: "failoverSlateConfigurations",
    summary: "FailoverSlateConfigurationSummary",
    channel_member: Some("failoverSlateConfigurationArn"),
    defaults: || json!({"name": "", "state": "CREATED", "tags": {}}),
};

/// Create*: the defaults, then the request's members.
pub fn create(
    context: &Context,
    stored: StoredKind,
    input: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let mut doc = (stored.defaults)();
    overlay(&mut doc, input);
    doc["arn"] = json!(context.catalog().account().new_arn(stored.kind));
    context.catalog().write(|txn| {
        txn.put(doc.clone());
        Ok::<_, ApiError>(())
    })?;
    Ok(json!({ stored.member: doc }))
}

/// ImportPlaybackKeyPair: the key must be a PEM public key; its fingerprint is the SHA-256 of
/// its DER form.
pub fn import_key_pair(context: &Context, input: &Map<String, Value>) -> Result<Value, ApiError> {
    let pem = required(input, "publicKeyMaterial")?;
    let der = SubjectPublicKeyInfoDer::from_pem_slice(pem.as_bytes()).map_err(|err| {
        ApiError::new(
            ErrorKind::Validation,
            format!(
                "publicKeyMaterial: is not a PEM public key (-----BEGIN PUBLIC KEY-----): {err}"
            ),
        )
    })?;
    let digest = ring::digest::digest(&ring::digest::SHA256, der.as_ref());
    let fingerprint: Vec<String> = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    let mut request = input.clone();
    request.remove("publicKeyMaterial");
    request.insert("fingerprint".into(), json!(fingerprint.join(":")));
    create(context, KEY_PAIRS, &request)
}

/// Get*.
pub fn get(
    context: &Context,
    stored: StoredKind,
    input: &Map<String, Value>,
) -> Result<Value, ApiError> {
    get_resource(context, stored.kind, stored.member, input)
}

/// List*.
pub fn list(
    context: &Context,
    stored: StoredKind,
    input: &Map<String, Value>,
) -> Result<Value, ApiError> {
    list_kind(
        context,
        stored.kind,
        stored.summary,
        stored.list_member,
        input,
        |_| true,
    )
}

/// Update*: the request's members over the stored ones.
pub fn update(
    context: &Context,
    stored: StoredKind,
    input: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let arn = required(input, "arn")?;
    context.catalog().write(|txn| {
        let mut doc = get_doc(txn, stored.kind, arn)?;
        overlay(&mut doc, input);
        txn.put(doc.clone());
        Ok(json!({ stored.member: doc }))
    })
}

/// Delete*: refused while a channel refers to the resource. `DeletePlaybackKeyPair` answers `{}`
/// (200), the others no body (204).
pub fn delete(
    context: &Context,
    stored: StoredKind,
    input: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let arn = required(input, "arn")?;
    context.catalog().write(|txn| {
        get_doc(txn, stored.kind, arn)?;
        if let Some(member) = stored.channel_member
            && let Some(channel) = txn.list(ResourceKind::Channel).find(|c| c[member] == arn)
        {
            return Err(ApiError::new(
                ErrorKind::Conflict,
                format!(
                    "the {} is used by channel {}",
                    stored.kind,
                    channel["arn"].as_str().unwrap_or_default()
                ),
            ));
        }
        txn.remove(arn);
        Ok(json!({}))
    })
}

fn channel_exists(context: &Context, channel_arn: &str) -> Result<(), ApiError> {
    context
        .catalog()
        .read(|txn| get_doc(txn, ResourceKind::Channel, channel_arn))
        .map(drop)
}

/// StartViewerSessionRevocation: the channel must exist.
pub fn revoke_viewer(context: &Context, input: &Map<String, Value>) -> Result<Value, ApiError> {
    channel_exists(context, required(input, "channelArn")?)?;
    Ok(json!({}))
}

/// BatchStartViewerSessionRevocation: an error for each viewer session of an unknown channel.
pub fn revoke_viewers(context: &Context, input: &Map<String, Value>) -> Result<Value, ApiError> {
    let sessions = input
        .get("viewerSessions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let errors: Vec<Value> = sessions
        .iter()
        .filter_map(|session| {
            let channel_arn = session["channelArn"].as_str().unwrap_or_default();
            channel_exists(context, channel_arn).err().map(|err| {
                json!({"channelArn": channel_arn, "viewerId": session["viewerId"],
                       "code": err.kind.name(), "message": err.message})
            })
        })
        .collect();
    Ok(json!({ "errors": errors }))
}

/// InsertAdBreak: the channel must be live; answers the ad break's id and start.
pub fn insert_ad_break(context: &Context, input: &Map<String, Value>) -> Result<Value, ApiError> {
    let channel_arn = required(input, "channelArn")?;
    channel_exists(context, channel_arn)?;
    if context.registry.live_stream(channel_arn).is_none() {
        return Err(ApiError::new(
            ErrorKind::ChannelNotBroadcasting,
            format!("the channel {channel_arn} is offline"),
        ));
    }
    let id = text(input, "adBreakId").map_or_else(|| random_alphanumeric(12), str::to_owned);
    let start = input
        .get("targetStartAt")
        .cloned()
        .unwrap_or_else(|| json!(rfc3339_seconds(context.registry.now())));
    Ok(json!({"adBreakId": id, "targetStartAt": start}))
}
