//! Field checks shared by the API shapes, and the error that names the field and the broken rule.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

/// A value that breaks a constraint of the IVS API model, the analogue of a `ValidationException`.
///
/// The message names the field (in the API's dotted camelCase) and the rule, for example
/// `thumbnailConfiguration.targetIntervalSeconds must be between 1 and 60, got 0`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {rule}")]
pub struct ValidationError {
    /// The offending field, e.g. `destinationConfiguration.s3.bucketName`.
    pub field: String,
    /// What the value must be, and what it was.
    pub rule: String,
}

impl ValidationError {
    pub(crate) fn new(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            rule: rule.into(),
        }
    }
}

/// Checks `value` against an inclusive range, naming `field` when it is outside.
pub(crate) fn check_range(
    field: &str,
    value: i64,
    min: i64,
    max: i64,
) -> Result<(), ValidationError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            format!("must be between {min} and {max}, got {value}"),
        ))
    }
}

/// Resource names: 0..128 characters of `[a-zA-Z0-9-_]` (the model's pattern, anchored).
pub(crate) fn check_resource_name(field: &str, name: &str) -> Result<(), ValidationError> {
    let length = name.chars().count();
    if length > 128 {
        return Err(ValidationError::new(
            field,
            format!("must be at most 128 characters, got {length}"),
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(ValidationError::new(
            field,
            format!("must match [a-zA-Z0-9-_]*, got {name:?} (character {bad:?} is not allowed)"),
        ));
    }
    Ok(())
}

/// Checks that the JSON at each of `paths` (dot-separated; `""` is the document itself) is an
/// object when present: serde would otherwise read a struct from an array, by position.
pub(crate) fn expect_objects(
    document: &serde_json::Value,
    paths: &[&str],
    field_prefix: &str,
) -> Result<(), ValidationError> {
    for path in paths {
        let mut value = Some(document);
        for part in path.split('.').filter(|p| !p.is_empty()) {
            value = value.and_then(|v| v.get(part));
        }
        match value {
            None | Some(serde_json::Value::Object(_) | serde_json::Value::Null) => {}
            Some(other) => {
                let kind = match other {
                    serde_json::Value::Array(_) => "an array",
                    serde_json::Value::String(_) => "a string",
                    serde_json::Value::Number(_) => "a number",
                    _ => "a boolean",
                };
                let field = match (field_prefix, *path) {
                    ("", "") => "body".to_owned(),
                    (prefix, "") => prefix.to_owned(),
                    ("", path) => path.to_owned(),
                    (prefix, path) => format!("{prefix}.{path}"),
                };
                return Err(ValidationError::new(
                    field,
                    format!("must be a JSON object, got {kind}"),
                ));
            }
        }
    }
    Ok(())
}

/// `text` for a message: quoted, and cut after 64 characters with its length said (a name sent
/// to be hostile is not echoed whole).
pub(crate) fn abbreviated(text: &str) -> String {
    const SHOWN: usize = 64;
    let length = text.chars().count();
    if length <= SHOWN {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(SHOWN).collect();
        format!("{head:?}… ({length} characters)")
    }
}

/// S3 bucket names as the IVS model accepts them: 3..63 characters of `[a-z0-9-.]`.
pub(crate) fn check_bucket_name(field: &str, bucket: &str) -> Result<(), ValidationError> {
    let length = bucket.chars().count();
    if !(3..=63).contains(&length) {
        return Err(ValidationError::new(
            field,
            format!(
                "must be 3 to 63 characters long, got {length} ({})",
                abbreviated(bucket)
            ),
        ));
    }
    if let Some(bad) = bucket
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '.'))
    {
        return Err(ValidationError::new(
            field,
            format!(
                "must match [a-z0-9-.]+, got {} (character {bad:?} is not allowed)",
                abbreviated(bucket)
            ),
        ));
    }
    Ok(())
}

static TAG_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$").expect("valid tag key pattern"));
static TAG_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$").expect("valid tag value pattern")
});

/// Tags: at most 50; keys 1..128 and values 0..256 characters of letters, separators, digits and
/// `_.:/=+-@`.
pub(crate) fn check_tags(
    field: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(), ValidationError> {
    if tags.len() > 50 {
        return Err(ValidationError::new(
            field,
            format!("must have at most 50 entries, got {}", tags.len()),
        ));
    }
    for (key, value) in tags {
        let key_length = key.chars().count();
        if !(1..=128).contains(&key_length) {
            return Err(ValidationError::new(
                format!("{field} key {key:?}"),
                format!("must be 1 to 128 characters long, got {key_length}"),
            ));
        }
        if !TAG_KEY.is_match(key) {
            return Err(ValidationError::new(
                format!("{field} key {key:?}"),
                "must match [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+",
            ));
        }
        let value_length = value.chars().count();
        if value_length > 256 {
            return Err(ValidationError::new(
                format!("{field}.{key}"),
                format!("must be at most 256 characters long, got {value_length}"),
            ));
        }
        if !TAG_VALUE.is_match(value) {
            return Err(ValidationError::new(
                format!("{field}.{key}"),
                format!("must match [\\p{{L}}\\p{{Z}}\\p{{N}}_.:/=+\\-@]*, got {value:?}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_message_names_field_and_bounds() {
        let err =
            check_range("thumbnailConfiguration.targetIntervalSeconds", 0, 1, 60).unwrap_err();
        assert_eq!(
            err.to_string(),
            "thumbnailConfiguration.targetIntervalSeconds must be between 1 and 60, got 0"
        );
        assert!(check_range("x", 60, 1, 60).is_ok());
        assert!(check_range("x", 61, 1, 60).is_err());
    }

    #[test]
    fn resource_names() {
        assert!(check_resource_name("name", "").is_ok());
        assert!(check_resource_name("name", "my-config_1").is_ok());
        assert!(check_resource_name("name", &"a".repeat(128)).is_ok());
        assert!(check_resource_name("name", &"a".repeat(129)).is_err());
        let err = check_resource_name("name", "has space").unwrap_err();
        assert!(err.to_string().contains("' '"), "{err}");
    }

    #[test]
    fn bucket_names() {
        for ok in ["abc", "ivs-recordings", "my.bucket-1", &"a".repeat(63)] {
            assert!(check_bucket_name("b", ok).is_ok(), "{ok}");
        }
        for bad in ["ab", "Upper", "under_score", &"a".repeat(64), ""] {
            assert!(check_bucket_name("b", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags() {
        let mut tags = BTreeMap::new();
        tags.insert("team".to_owned(), "vidéo live".to_owned());
        tags.insert("a:b/c=d+e-f@g".to_owned(), String::new());
        assert!(check_tags("tags", &tags).is_ok());

        let mut bad_key = BTreeMap::new();
        bad_key.insert("bad*key".to_owned(), "v".to_owned());
        assert!(check_tags("tags", &bad_key).is_err());

        let mut empty_key = BTreeMap::new();
        empty_key.insert(String::new(), "v".to_owned());
        assert!(check_tags("tags", &empty_key).is_err());

        let mut long_value = BTreeMap::new();
        long_value.insert("k".to_owned(), "v".repeat(257));
        assert!(check_tags("tags", &long_value).is_err());

        let many: BTreeMap<_, _> = (0..51).map(|i| (format!("k{i}"), String::new())).collect();
        let err = check_tags("tags", &many).unwrap_err();
        assert_eq!(err.to_string(), "tags must have at most 50 entries, got 51");
    }
}
