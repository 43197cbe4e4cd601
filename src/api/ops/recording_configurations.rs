//! Create, Get, List and DeleteRecordingConfiguration (spec 6.3–6.5). A new configuration is
//! `CREATING`; a task then probes its bucket in the store and makes it `ACTIVE`, or
//! `CREATE_FAILED` when the bucket cannot be used (D15).

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::{Context, get_doc, get_resource, list_kind, required};
use crate::api::error::{ApiError, ErrorKind};
use crate::control::arn::ResourceKind;
use crate::model::{CreateRecordingConfigurationRequest, RecordingConfigurationState};

const KIND: ResourceKind = ResourceKind::RecordingConfiguration;

/// CreateRecordingConfiguration.
pub fn create(context: &Arc<Context>, input: &Map<String, Value>) -> Result<Value, ApiError> {
    let request: CreateRecordingConfigurationRequest =
        serde_json::from_value(Value::Object(input.clone()))
            .map_err(|err| ApiError::new(ErrorKind::Validation, err.to_string()))?;
    let arn = context.catalog().account().new_arn(KIND);
    let mut configuration = request
        .into_configuration(arn.clone())
        .map_err(|err| ApiError::new(ErrorKind::Validation, err.to_string()))?;
    configuration.state = RecordingConfigurationState::Creating;
    let doc = serde_json::to_value(&configuration)
        .map_err(|err| ApiError::new(ErrorKind::InternalServer, err.to_string()))?;
    context.catalog().write(|txn| {
        txn.put(doc.clone());
        Ok::<_, ApiError>(())
    })?;
    let bucket = configuration
        .destination_configuration
        .s3
        .map(|s3| s3.bucket_name)
        .unwrap_or_default();
    tokio::spawn(activate(Arc::clone(context), arn, bucket));
    Ok(json!({ "recordingConfiguration": doc }))
}

/// Probes `bucket` and settles the state of configuration `arn`.
async fn activate(context: Arc<Context>, arn: String, bucket: String) {
    let checked = match context.registry.store().bucket(&bucket) {
        Ok(handle) => handle.check().await,
        Err(err) => Err(err),
    };
    let state = match checked {
        Ok(()) => "ACTIVE",
        Err(err) => {
            tracing::warn!(
                configuration = %arn,
                "CREATE_FAILED: {}",
                crate::error::error_chain(&err)
            );
            "CREATE_FAILED"
        }
    };
    let stored = context.catalog().write(|txn| {
        if let Some(mut doc) = txn.get(&arn).cloned() {
            doc["state"] = json!(state);
            txn.put(doc);
        }
        Ok::<_, ApiError>(())
    });
    if let Err(err) = stored {
        tracing::error!(configuration = %arn, "cannot store the configuration's state: {err}");
    }
}

/// GetRecordingConfiguration.
pub fn get(context: &Context, input: &Map<String, Value>) -> Result<Value, ApiError> {
    get_resource(context, KIND, "recordingConfiguration", input)
}

/// ListRecordingConfigurations.
pub fn list(context: &Context, input: &Map<String, Value>) -> Result<Value, ApiError> {
    list_kind(
        context,
        KIND,
        "RecordingConfigurationSummary",
        "recordingConfigurations",
        input,
        |_| true,
    )
}

/// DeleteRecordingConfiguration: refused while a channel uses the configuration.
pub fn delete(context: &Context, input: &Map<String, Value>) -> Result<Value, ApiError> {
    let arn = required(input, "arn")?;
    context.catalog().write(|txn| {
        get_doc(txn, KIND, arn)?;
        let user = txn
            .list(ResourceKind::Channel)
            .find(|channel| channel["recordingConfigurationArn"] == arn)
            .map(|channel| channel["arn"].as_str().unwrap_or_default().to_owned());
        if let Some(channel) = user {
            return Err(ApiError::new(
                ErrorKind::Conflict,
                format!(
                    "the recording configuration is used by channel {channel}: set its recordingConfigurationArn to \"\" with UpdateChannel first"
                ),
            ));
        }
        txn.remove(arn);
        Ok(Value::Null)
    })
}
