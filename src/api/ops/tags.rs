//! TagResource, UntagResource and ListTagsForResource on every kind of resource; a resource
//! holds at most 50 tags.

use serde_json::{Map, Value, json};

use super::{Context, not_found, required};
use crate::api::error::{ApiError, ErrorKind};
use crate::control::arn::ResourceKind;
use crate::control::catalog::Txn;

/// Tags a resource may hold.
pub const MAX_TAGS: usize = 50;

fn resource(txn: &Txn<'_>, arn: &str) -> Result<Value, ApiError> {
    let kind = ResourceKind::of_arn(arn).ok_or_else(|| {
        ApiError::new(
            ErrorKind::ResourceNotFound,
            format!("{arn} is not the ARN of an IVS resource"),
        )
    })?;
    txn.get(arn).cloned().ok_or_else(|| not_found(kind, arn))
}

fn tags_of(doc: &Value) -> Map<String, Value> {
    doc.get("tags")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// ListTagsForResource.
pub fn list(context: &Context, input: &Map<String, Value>) -> Result<Value, ApiError> {
    let arn = required(input, "resourceArn")?;
    let doc = context.catalog().read(|txn| resource(txn, arn))?;
    Ok(json!({ "tags": tags_of(&doc) }))
}

/// TagResource: adds or replaces tags.
pub fn tag(context: &Context, input: &Map<String, Value>) -> Result<Value, ApiError> {
    let arn = required(input, "resourceArn")?;
    let given = input
        .get("tags")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    context.catalog().write(|txn| {
        let mut doc = resource(txn, arn)?;
        let mut tags = tags_of(&doc);
        tags.extend(given);
        if tags.len() > MAX_TAGS {
            return Err(ApiError::new(
                ErrorKind::Validation,
                format!(
                    "tags: a resource has at most {MAX_TAGS} tags, this would make {}",
                    tags.len()
                ),
            ));
        }
        doc["tags"] = Value::Object(tags);
        txn.put(doc);
        Ok(json!({}))
    })
}

/// UntagResource: removes the tags of `tagKeys`.
pub fn untag(context: &Context, input: &Map<String, Value>) -> Result<Value, ApiError> {
    let arn = required(input, "resourceArn")?;
    let keys: Vec<String> = input
        .get("tagKeys")
        .and_then(Value::as_array)
        .map(|keys| {
            keys.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    context.catalog().write(|txn| {
        let mut doc = resource(txn, arn)?;
        let mut tags = tags_of(&doc);
        for key in &keys {
            tags.remove(key);
        }
        doc["tags"] = Value::Object(tags);
        txn.put(doc);
        Ok(json!({}))
    })
}
