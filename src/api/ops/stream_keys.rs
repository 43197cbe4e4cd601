//! Create, Get, BatchGet, List and DeleteStreamKey. A channel has at most one key (a second is
//! `ServiceQuotaExceededException`, as IVS's quota of 1); a deleted key is refused at the next
//! publish.

use serde_json::{Map, Value, json};

use super::channels::batch_get;
use super::{Context, get_doc, get_resource, list_kind, required};
use crate::api::error::{ApiError, ErrorKind};
use crate::control::arn::ResourceKind;
use crate::control::documents;
use crate::live::channels::new_stream_key;

const KIND: ResourceKind = ResourceKind::StreamKey;

/// CreateStreamKey.
pub fn create(context: &Context, input: &Map<String, Value>) -> Result<Value, ApiError> {
    let channel_arn = required(input, "channelArn")?;
    let account = context.catalog().account().clone();
    let arn = account.new_arn(KIND);
    let key = documents::stream_key(
        &arn,
        channel_arn,
        &new_stream_key(&account.region),
        input.get("tags"),
    );
    context.catalog().write(|txn| {
        get_doc(txn, ResourceKind::Channel, channel_arn)?;
        if txn.list(KIND).any(|key| key["channelArn"] == channel_arn) {
            return Err(ApiError::new(
                ErrorKind::ServiceQuotaExceeded,
                "the channel already has a stream key: the limit is 1 stream key per channel",
            ));
        }
        txn.put(key.clone());
        Ok(())
    })?;
    Ok(json!({ "streamKey": key }))
}

/// GetStreamKey.
pub fn get(context: &Context, input: &Map<String, Value>) -> Result<Value, ApiError> {
    get_resource(context, KIND, "streamKey", input)
}

/// BatchGetStreamKey.
pub fn batch(context: &Context, input: &Map<String, Value>) -> Result<Value, ApiError> {
    Ok(batch_get(context, KIND, input, "streamKeys"))
}

/// ListStreamKeys of a channel.
pub fn list(context: &Context, input: &Map<String, Value>) -> Result<Value, ApiError> {
    let channel_arn = required(input, "channelArn")?;
    context
        .catalog()
        .read(|txn| get_doc(txn, ResourceKind::Channel, channel_arn))?;
    list_kind(
        context,
        KIND,
        "StreamKeySummary",
        "streamKeys",
        input,
        |key| key["channelArn"] == channel_arn,
    )
}

/// DeleteStreamKey.
pub fn delete(context: &Context, input: &Map<String, Value>) -> Result<Value, ApiError> {
    let arn = required(input, "arn")?;
    context.catalog().write(|txn| {
        get_doc(txn, KIND, arn)?;
        txn.remove(arn);
        Ok(Value::Null)
    })
}
