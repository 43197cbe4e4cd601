//! Create, Get, BatchGet, List, Update and DeleteChannel (spec 6.3). A channel is created with
//! its one stream key and can be published to at once; a live channel can be neither updated
//! nor deleted (`ConflictException`).

use serde_json::{Map, Value, json};

use super::{Context, get_doc, get_resource, list_kind, not_found, overlay, required, text};
use crate::api::error::{ApiError, ErrorKind};
use crate::control::arn::ResourceKind;
use crate::control::catalog::{Txn, arn_of};
use crate::control::documents;
use crate::live::channels::new_stream_key;

const KIND: ResourceKind = ResourceKind::Channel;

/// The ARN members of a channel and the kind each must name.
const REFERENCES: [(&str, ResourceKind); 4] = [
    (
        "recordingConfigurationArn",
        ResourceKind::RecordingConfiguration,
    ),
    (
        "playbackRestrictionPolicyArn",
        ResourceKind::PlaybackRestrictionPolicy,
    ),
    ("adConfigurationArn", ResourceKind::AdConfiguration),
    (
        "failoverSlateConfigurationArn",
        ResourceKind::FailoverSlateConfiguration,
    ),
];

/// The rules between a channel's members that the model cannot say, and its references.
fn check_channel(txn: &Txn<'_>, channel: &Value) -> Result<(), ApiError> {
    let invalid = |message: String| Err(ApiError::new(ErrorKind::Validation, message));
    let channel_type = channel["type"].as_str().unwrap_or_default();
    let preset = channel["preset"].as_str().unwrap_or_default();
    if !channel_type.starts_with("ADVANCED") && !preset.is_empty() {
        return invalid(format!(
            "preset: is only allowed for ADVANCED_SD and ADVANCED_HD channels, got {preset} on a {channel_type} channel"
        ));
    }
    let multitrack = &channel["multitrackInputConfiguration"];
    if multitrack["enabled"] == true {
        if channel_type != "STANDARD" {
            return invalid(format!(
                "multitrackInputConfiguration.enabled: multitrack input is only allowed on STANDARD channels, not {channel_type}"
            ));
        }
        if channel["containerFormat"] != "FRAGMENTED_MP4" {
            return invalid(
                "containerFormat: must be FRAGMENTED_MP4 when multitrack input is enabled"
                    .to_owned(),
            );
        }
    }
    for (member, kind) in REFERENCES {
        let arn = channel[member].as_str().unwrap_or_default();
        if !arn.is_empty() && txn.get(arn).is_none() {
            return Err(not_found(kind, arn));
        }
    }
    Ok(())
}

/// CreateChannel: the channel and its stream key.
pub fn create(context: &Context, input: &Map<String, Value>) -> Result<Value, ApiError> {
    let account = context.catalog().account().clone();
    let arn = account.new_arn(KIND);
    let channel = documents::channel(&account, &arn, input);
    let key_arn = account.new_arn(ResourceKind::StreamKey);
    let key = documents::stream_key(
        &key_arn,
        &arn,
        &new_stream_key(&account.region),
        input.get("tags"),
    );
    context.catalog().write(|txn| {
        check_channel(txn, &channel)?;
        txn.put(channel.clone());
        txn.put(key.clone());
        Ok::<_, ApiError>(())
    })?;
    Ok(json!({ "channel": channel, "streamKey": key }))
}

/// GetChannel.
pub fn get(context: &Context, input: &Map<String, Value>) -> Result<Value, ApiError> {
    get_resource(context, KIND, "channel", input)
}

/// BatchGet of `kind` for the request's `arns`: the documents found under `found`, a BatchError
/// for each other ARN.
pub fn batch_get(
    context: &Context,
    kind: ResourceKind,
    input: &Map<String, Value>,
    found: &str,
) -> Value {
    let arns: Vec<&str> = input
        .get("arns")
        .and_then(Value::as_array)
        .map(|arns| arns.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let (docs, errors): (Vec<_>, Vec<_>) = context.catalog().read(|txn| {
        arns.iter()
            .map(|arn| get_doc(txn, kind, arn).map_err(|err| ((*arn).to_owned(), err)))
            .partition(Result::is_ok)
    });
    let docs: Vec<Value> = docs.into_iter().filter_map(Result::ok).collect();
    let errors: Vec<Value> = errors
        .into_iter()
        .filter_map(Result::err)
        .map(|(arn, err)| json!({"arn": arn, "code": err.kind.name(), "message": err.message}))
        .collect();
    json!({ found: docs, "errors": errors })
}

/// BatchGetChannel.
pub fn batch(context: &Context, input: &Map<String, Value>) -> Result<Value, ApiError> {
    Ok(batch_get(context, KIND, input, "channels"))
}

/// ListChannels: at most one filter (`ConflictException` for two, as documented).
pub fn list(context: &Context, input: &Map<String, Value>) -> Result<Value, ApiError> {
    let filters: Vec<(&str, &str)> = [
        ("filterByName", "name"),
        (
            "filterByRecordingConfigurationArn",
            "recordingConfigurationArn",
        ),
        (
            "filterByPlaybackRestrictionPolicyArn",
            "playbackRestrictionPolicyArn",
        ),
        ("filterByAdConfigurationArn", "adConfigurationArn"),
        (
            "filterByFailoverSlateConfigurationArn",
            "failoverSlateConfigurationArn",
        ),
    ]
    .into_iter()
    .filter(|(filter, _)| input.contains_key(*filter))
    .collect();
    if filters.len() > 1 {
        let names: Vec<&str> = filters.iter().map(|(filter, _)| *filter).collect();
        return Err(ApiError::new(
            ErrorKind::Conflict,
            format!(
                "the filters are mutually exclusive; got {}",
                names.join(" and ")
            ),
        ));
    }
    let filter = filters
        .first()
        .map(|(filter, member)| (*member, text(input, filter).unwrap_or_default().to_owned()));
    list_kind(context, KIND, "ChannelSummary", "channels", input, |doc| {
        filter
            .as_ref()
            .is_none_or(|(member, wanted)| doc[*member].as_str() == Some(wanted.as_str()))
    })
}

fn live_conflict(action: &str, stream_id: &str) -> ApiError {
    ApiError::new(
        ErrorKind::Conflict,
        format!("the channel is live (stream {stream_id}): stop the stream before you {action} it"),
    )
}

/// UpdateChannel: refused while live; `recordingConfigurationArn: ""` stops recording.
pub fn update(context: &Context, input: &Map<String, Value>) -> Result<Value, ApiError> {
    let arn = required(input, "arn")?;
    let updated = context.registry.while_offline(arn, || {
        context.catalog().write(|txn| {
            let mut channel = get_doc(txn, KIND, arn)?;
            overlay(&mut channel, input);
            if input.contains_key("type") && !input.contains_key("preset") {
                let advanced = channel["type"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("ADVANCED"));
                let keep = channel["preset"].as_str().is_some_and(|p| !p.is_empty());
                channel["preset"] = match (advanced, keep) {
                    (true, true) => channel["preset"].clone(),
                    (true, false) => json!("HIGHER_BANDWIDTH_DELIVERY"),
                    (false, _) => json!(""),
                };
            }
            check_channel(txn, &channel)?;
            txn.put(channel.clone());
            Ok::<_, ApiError>(channel)
        })
    });
    match updated {
        Ok(channel) => Ok(json!({ "channel": channel? })),
        Err(stream_id) => Err(live_conflict("update", &stream_id)),
    }
}

/// DeleteChannel: refused while live; its stream keys go with it, and a recording waiting in
/// its reconnect window is finalised.
pub fn delete(context: &Context, input: &Map<String, Value>) -> Result<Value, ApiError> {
    let arn = required(input, "arn")?;
    let deleted = context.registry.while_offline(arn, || {
        context.catalog().write(|txn| {
            get_doc(txn, KIND, arn)?;
            let keys: Vec<String> = txn
                .list(ResourceKind::StreamKey)
                .filter(|key| key["channelArn"] == arn)
                .map(|key| arn_of(key).to_owned())
                .collect();
            for key in keys {
                txn.remove(&key);
            }
            txn.remove(arn);
            Ok::<_, ApiError>(())
        })
    });
    match deleted {
        Ok(result) => {
            result?;
            context.registry.forget_channel(arn);
            Ok(Value::Null)
        }
        Err(stream_id) => Err(live_conflict("delete", &stream_id)),
    }
}
