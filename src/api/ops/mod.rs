//! The operations of the API: each takes the request (checked against the model already) and
//! answers the response body or an IVS error. One module per resource family.
//!
//! - [`recording_configurations`], [`channels`], [`stream_keys`]: what recording depends on.
//! - [`streams`]: live streams and stream sessions, StopStream and PutMetadata.
//! - [`tags`]: tags on every resource.
//! - [`stored`]: the resources nothing plays yet (key pairs, restriction policies, ad and
//!   failover-slate configurations, viewer-session revocations, ad breaks), kept and returned.

pub mod channels;
pub mod recording_configurations;
pub mod stored;
pub mod stream_keys;
pub mod streams;
pub mod tags;

use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

use super::error::{ApiError, ErrorKind};
use super::model::ServiceModel;
use super::throttle::Throttle;
use crate::control::arn::ResourceKind;
use crate::control::catalog::{Catalog, Txn};
use crate::control::state_db::StateError;
use crate::live::registry::IngestRegistry;

/// What every operation works on.
#[derive(Debug)]
pub struct Context {
    /// Channels, live streams, sessions; and the catalog behind them.
    pub registry: Arc<IngestRegistry>,
    /// PutMetadata's per-channel limit.
    pub throttle: Mutex<Throttle>,
}

impl Context {
    /// The catalog of resources.
    pub fn catalog(&self) -> &Catalog {
        self.registry.catalog()
    }
}

impl From<StateError> for ApiError {
    fn from(err: StateError) -> Self {
        tracing::error!("{}", crate::error::error_chain(&err));
        ApiError::new(
            ErrorKind::InternalServer,
            "the change could not be stored in the state file",
        )
    }
}

/// The request's `member` as text, when present.
pub fn text<'a>(input: &'a Map<String, Value>, member: &str) -> Option<&'a str> {
    input.get(member).and_then(Value::as_str)
}

/// The request's required `member` as text (the model check guarantees it).
pub fn required<'a>(input: &'a Map<String, Value>, member: &str) -> Result<&'a str, ApiError> {
    text(input, member)
        .ok_or_else(|| ApiError::new(ErrorKind::Validation, format!("{member}: is required")))
}

/// `ResourceNotFoundException` for `arn`.
pub fn not_found(kind: ResourceKind, arn: &str) -> ApiError {
    ApiError::new(
        ErrorKind::ResourceNotFound,
        format!("no {kind} has the ARN {arn}"),
    )
}

/// The document of `arn`, which must be of `kind`.
pub fn get_doc(txn: &Txn<'_>, kind: ResourceKind, arn: &str) -> Result<Value, ApiError> {
    if ResourceKind::of_arn(arn) != Some(kind) {
        return Err(not_found(kind, arn));
    }
    txn.get(arn).cloned().ok_or_else(|| not_found(kind, arn))
}

/// A Get* answer: `{<member>: the document of the request's `arn`}`, which must be of `kind`.
pub fn get_resource(
    context: &Context,
    kind: ResourceKind,
    member: &str,
    input: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let arn = required(input, "arn")?;
    let doc = context.catalog().read(|txn| get_doc(txn, kind, arn))?;
    Ok(json!({ member: doc }))
}

/// Writes every member of `members` over `doc`'s.
pub fn overlay(doc: &mut Value, members: &Map<String, Value>) {
    for (member, value) in members {
        doc[member.as_str()] = value.clone();
    }
}

/// `doc` with only the members of the model's `shape` (e.g. a `*Summary`).
pub fn project(shape: &str, doc: &Value) -> Value {
    let Some(shape) = ServiceModel::ivs().shape(shape) else {
        return doc.clone();
    };
    let members: Map<String, Value> = doc
        .as_object()
        .map(|object| {
            object
                .iter()
                .filter(|(name, _)| shape.members.contains_key(name.as_str()))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect()
        })
        .unwrap_or_default();
    Value::Object(members)
}

/// A list response: `{<member>: items, nextToken?}`.
pub fn list_response(member: &str, items: Vec<Value>, next: Option<String>) -> Value {
    let mut body = json!({ member: items });
    if let Some(next) = next {
        body["nextToken"] = json!(next);
    }
    body
}

/// One page of the documents of `kind` that pass `keep`, each projected to `summary`; only the
/// page is copied out of the catalog.
pub fn list_kind(
    context: &Context,
    kind: ResourceKind,
    summary: &str,
    member: &str,
    input: &Map<String, Value>,
    keep: impl Fn(&Value) -> bool,
) -> Result<Value, ApiError> {
    let (items, next) = context.catalog().read(|txn| {
        let docs: Vec<&Value> = txn.list(kind).filter(|doc| keep(doc)).collect();
        let (page, next) = super::pagination::page(
            docs,
            |doc| crate::control::catalog::arn_of(doc).to_owned(),
            input,
        )?;
        let items: Vec<Value> = page.into_iter().map(|doc| project(summary, doc)).collect();
        Ok::<_, ApiError>((items, next))
    })?;
    Ok(list_response(member, items, next))
}
