//! Checks a request against the model's input shape: required members, types, string lengths,
//! patterns, enums, numeric ranges, list and map sizes, recursively. The error names the member
//! (as a path: `destinationConfiguration.s3.bucketName`, `tags[key]`) and the rule it breaks, as
//! IVS's `ValidationException` messages do. Pure.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use regex::Regex;
use serde_json::Value;

use super::model::{ServiceModel, Shape};

/// A member that breaks a rule of the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{member}: {rule}")]
pub struct InputError {
    /// The member, as a path from the request's top.
    pub member: String,
    /// The rule it breaks, for people.
    pub rule: String,
}

/// Checks `request` (the body and the URI members, merged) against the input of `operation`.
pub fn validate_input(
    model: &ServiceModel,
    operation: &str,
    request: &Value,
) -> Result<(), InputError> {
    let Some(operation) = model.operations.get(operation) else {
        return Err(InputError {
            member: String::new(),
            rule: format!("unknown operation {operation}"),
        });
    };
    match &operation.input {
        None => Ok(()),
        Some(input) => check(model, &input.shape, request, ""),
    }
}

fn check(
    model: &ServiceModel,
    shape_name: &str,
    value: &Value,
    path: &str,
) -> Result<(), InputError> {
    let Some(shape) = model.shape(shape_name) else {
        return Err(broken(path, format!("the model has no shape {shape_name}")));
    };
    match shape.kind.as_str() {
        "structure" => check_structure(model, shape, value, path),
        "list" => {
            let Value::Array(items) = value else {
                return Err(broken(path, "must be a list".to_owned()));
            };
            check_size(shape, items.len(), path, "items")?;
            let member = shape
                .member
                .as_ref()
                .map(|m| m.shape.as_str())
                .unwrap_or("");
            for (index, item) in items.iter().enumerate() {
                check(model, member, item, &format!("{path}[{index}]"))?;
            }
            Ok(())
        }
        "map" => {
            let Value::Object(entries) = value else {
                return Err(broken(path, "must be an object".to_owned()));
            };
            check_size(shape, entries.len(), path, "entries")?;
            let key = shape.key.as_ref().map(|k| k.shape.as_str()).unwrap_or("");
            let value_shape = shape.value.as_ref().map(|v| v.shape.as_str()).unwrap_or("");
            for (name, entry) in entries {
                let entry_path = format!("{path}[{name}]");
                check(
                    model,
                    key,
                    &Value::String(name.clone()),
                    &format!("{entry_path} key"),
                )?;
                check(model, value_shape, entry, &entry_path)?;
            }
            Ok(())
        }
        "string" => {
            let Value::String(text) = value else {
                return Err(broken(path, "must be a string".to_owned()));
            };
            check_string(shape, text, path)
        }
        "integer" | "long" => {
            let Some(number) = value.as_i64() else {
                return Err(broken(path, "must be a whole number".to_owned()));
            };
            check_range(shape, number as f64, path)
        }
        "boolean" => value
            .is_boolean()
            .then_some(())
            .ok_or_else(|| broken(path, "must be true or false".to_owned())),
        "timestamp" => (value.is_string() || value.is_number())
            .then_some(())
            .ok_or_else(|| broken(path, "must be a timestamp".to_owned())),
        other => Err(broken(path, format!("has a shape of unknown type {other}"))),
    }
}

fn check_structure(
    model: &ServiceModel,
    shape: &Shape,
    value: &Value,
    path: &str,
) -> Result<(), InputError> {
    let Value::Object(fields) = value else {
        return Err(broken(path, "must be a JSON object".to_owned()));
    };
    for required in &shape.required {
        if fields.get(required).is_none_or(Value::is_null) {
            return Err(broken(&join(path, required), "is required".to_owned()));
        }
    }
    for (name, field) in fields {
        let Some(member) = shape.members.get(name) else {
            return Err(broken(
                &join(path, name),
                "is not a member of this request".to_owned(),
            ));
        };
        if !field.is_null() {
            check(model, &member.shape, field, &join(path, name))?;
        }
    }
    Ok(())
}

fn check_string(shape: &Shape, text: &str, path: &str) -> Result<(), InputError> {
    let length = text.chars().count();
    check_size(shape, length, path, "characters")?;
    if let Some(values) = &shape.values
        && !values.iter().any(|v| v == text)
    {
        return Err(broken(
            path,
            format!("must be one of {}, got {text:?}", values.join(", ")),
        ));
    }
    if let Some(pattern) = &shape.pattern {
        let matches = compiled(pattern).is_some_and(|re| re.is_match(text));
        if !matches {
            return Err(broken(
                path,
                format!("must match the pattern {pattern}, got {text:?}"),
            ));
        }
    }
    Ok(())
}

fn check_size(shape: &Shape, size: usize, path: &str, unit: &str) -> Result<(), InputError> {
    let size = size as f64;
    match (shape.min, shape.max) {
        (Some(min), _) if size < min => Err(broken(
            path,
            format!("must have at least {min} {unit}, has {size}"),
        )),
        (_, Some(max)) if size > max => Err(broken(
            path,
            format!("must have at most {max} {unit}, has {size}"),
        )),
        _ => Ok(()),
    }
}

fn check_range(shape: &Shape, number: f64, path: &str) -> Result<(), InputError> {
    match (shape.min, shape.max) {
        (Some(min), _) if number < min => Err(broken(
            path,
            format!("must be at least {min}, got {number}"),
        )),
        (_, Some(max)) if number > max => {
            Err(broken(path, format!("must be at most {max}, got {number}")))
        }
        _ => Ok(()),
    }
}

/// Patterns of the published model that reject what the service accepts, and what is checked
/// instead: `ResourceArn` allows one letter before the `/`, so no real ARN
/// (`…:channel/AbCd…`) would pass it, yet TagResource on a channel ARN works on IVS.
const PATTERN_FIXES: &[(&str, &str)] = &[(
    "arn:aws:ivs:[a-z0-9-]+:[0-9]+:[a-z-]/[a-zA-Z0-9-]+",
    "arn:aws:ivs:[a-z0-9-]+:[0-9]+:[a-z-]+/[a-zA-Z0-9-]+",
)];

/// The model's pattern, compiled once, matching the whole value (as the service checks it: the
/// model's `ChannelName` pattern `[a-zA-Z0-9-_]*` would otherwise accept any name).
fn compiled(pattern: &str) -> Option<Regex> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    cache
        .entry(pattern.to_owned())
        .or_insert_with(|| {
            let checked = PATTERN_FIXES
                .iter()
                .find(|(published, _)| *published == pattern)
                .map_or(pattern, |(_, fixed)| fixed);
            Regex::new(&format!("^(?:{checked})$")).ok()
        })
        .clone()
}

fn join(path: &str, member: &str) -> String {
    if path.is_empty() {
        member.to_owned()
    } else {
        format!("{path}.{member}")
    }
}

fn broken(path: &str, rule: String) -> InputError {
    InputError {
        member: path.to_owned(),
        rule,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn validate(operation: &str, request: Value) -> Result<(), InputError> {
        validate_input(ServiceModel::ivs(), operation, &request)
    }

    #[test]
    fn every_pattern_of_the_model_compiles() {
        for (name, shape) in &ServiceModel::ivs().shapes {
            if let Some(pattern) = &shape.pattern {
                assert!(compiled(pattern).is_some(), "{name}: {pattern}");
            }
        }
    }

    #[test]
    fn valid_requests_pass() {
        assert_eq!(validate("ListChannels", json!({})), Ok(()));
        assert_eq!(
            validate(
                "CreateChannel",
                json!({"name": "my-channel", "type": "STANDARD", "latencyMode": "LOW",
                       "tags": {"team": "video"}})
            ),
            Ok(())
        );
        assert_eq!(
            validate(
                "CreateRecordingConfiguration",
                json!({"destinationConfiguration": {"s3": {"bucketName": "ivs-recordings"}},
                       "thumbnailConfiguration": {"recordingMode": "INTERVAL",
                                                  "targetIntervalSeconds": 30}})
            ),
            Ok(())
        );
        assert_eq!(
            validate(
                "TagResource",
                json!({"resourceArn": "arn:aws:ivs:us-west-2:123456789012:channel/AbCdef1G2hij",
                       "tags": {"a": "b"}})
            ),
            Ok(())
        );
    }

    #[test]
    fn errors_name_the_member_and_the_rule() {
        let error = |operation: &str, request: Value| validate(operation, request).unwrap_err();
        let missing = error("CreateRecordingConfiguration", json!({}));
        assert_eq!(missing.member, "destinationConfiguration");
        assert_eq!(missing.rule, "is required");
        let bucket = error(
            "CreateRecordingConfiguration",
            json!({"destinationConfiguration": {"s3": {"bucketName": "x"}}}),
        );
        assert_eq!(bucket.member, "destinationConfiguration.s3.bucketName");
        assert!(bucket.rule.contains("at least 3"), "{bucket}");
        let kind = error("CreateChannel", json!({"type": "PREMIUM"}));
        assert_eq!(kind.member, "type");
        assert!(kind.rule.starts_with("must be one of BASIC"), "{kind}");
        let results = error("ListChannels", json!({"maxResults": 101}));
        assert_eq!(
            results.to_string(),
            "maxResults: must be at most 100, got 101"
        );
        let name = error("CreateChannel", json!({"name": "has spaces"}));
        assert!(name.rule.contains("pattern"), "{name}");
        let arn = error(
            "TagResource",
            json!({"resourceArn": "arn:aws:s3:::bucket", "tags": {}}),
        );
        assert_eq!(arn.member, "resourceArn");
        let tags: serde_json::Map<String, Value> =
            (0..51).map(|n| (format!("k{n}"), json!("v"))).collect();
        let too_many = error("CreateChannel", json!({ "tags": tags }));
        assert_eq!(too_many.member, "tags");
        let unknown = error("CreateChannel", json!({"colour": "red"}));
        assert_eq!(unknown.rule, "is not a member of this request");
        let not_an_object = error("CreateChannel", json!([1, 2]));
        assert_eq!(not_an_object.rule, "must be a JSON object");
        assert!(validate("NoSuchOperation", json!({})).is_err());
    }

    #[test]
    fn every_operation_names_what_an_empty_request_lacks() {
        let model = ServiceModel::ivs();
        for (name, operation) in &model.operations {
            let required = operation
                .input
                .as_ref()
                .and_then(|input| model.shape(&input.shape))
                .map(|shape| shape.required.clone())
                .unwrap_or_default();
            match validate(name, json!({})) {
                Ok(()) => assert!(required.is_empty(), "{name} requires {required:?}"),
                Err(err) => assert_eq!(err.member, required[0], "{name}"),
            }
        }
    }
}
