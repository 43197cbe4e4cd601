//! The settings a bench compares: from a matrix file, or the product of shorthand lists
//! (`--preset veryfast,faster --bitrate-scale 0.5,1`) applied over a base settings file. Pure.

use serde_json::{Map, Value};

use crate::model::{EncoderSettings, ValidationError};

/// One setting of the matrix: a name for tables and charts, and the settings themselves.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchSetting {
    /// Short and unique, e.g. `faster x1.5`.
    pub name: String,
    /// The x264 preset most rungs use (the chart's curves).
    pub preset: String,
    /// The global bitrate scale (the chart's points along a curve).
    pub bitrate_scale: f64,
    /// The settings file's JSON, as `--encoder-settings` would take it.
    pub json: Value,
    /// The settings, checked.
    pub settings: EncoderSettings,
}

/// The matrix of shorthand lists: every preset with every bitrate scale, over `base` (a settings
/// document; its other fields and rungs apply to every setting).
pub fn from_lists(
    base: &Value,
    presets: &[String],
    bitrate_scales: &[f64],
) -> Result<Vec<BenchSetting>, ValidationError> {
    let base_preset = base
        .get("preset")
        .and_then(Value::as_str)
        .unwrap_or("veryfast")
        .to_owned();
    let base_scale = base
        .get("bitrateScale")
        .and_then(Value::as_f64)
        .unwrap_or(1.0);
    let presets = if presets.is_empty() {
        vec![base_preset]
    } else {
        presets.to_vec()
    };
    let scales = if bitrate_scales.is_empty() {
        vec![base_scale]
    } else {
        bitrate_scales.to_vec()
    };
    let mut settings = Vec::new();
    for preset in &presets {
        for scale in &scales {
            let mut json = base.clone();
            if let Some(object) = json.as_object_mut() {
                object.insert("preset".into(), Value::from(preset.clone()));
                object.insert("bitrateScale".into(), Value::from(*scale));
            }
            settings.push(setting(format!("{preset} x{scale}"), json, "")?);
        }
    }
    Ok(settings)
}

/// The matrix of a file: `{"settings": [{"name": …, <encoder settings>…}, …]}`.
pub fn from_file_json(text: &str) -> Result<Vec<BenchSetting>, ValidationError> {
    let document: Value = serde_json::from_str(text)
        .map_err(|err| ValidationError::new("matrix", format!("is not valid JSON: {err}")))?;
    let Some(list) = document.get("settings").and_then(Value::as_array) else {
        return Err(ValidationError::new(
            "settings",
            "must be an array of encoder settings, each with a name",
        ));
    };
    if list.is_empty() {
        return Err(ValidationError::new("settings", "must not be empty"));
    }
    let mut settings: Vec<BenchSetting> = Vec::new();
    for (index, entry) in list.iter().enumerate() {
        let field = format!("settings[{index}]");
        let mut object: Map<String, Value> = entry
            .as_object()
            .cloned()
            .ok_or_else(|| ValidationError::new(&field, "must be an object"))?;
        let name = match object.remove("name") {
            Some(Value::String(name)) if !name.trim().is_empty() && name.len() <= 40 => name,
            _ => {
                return Err(ValidationError::new(
                    format!("{field}.name"),
                    "must be a string of 1 to 40 characters",
                ));
            }
        };
        if settings.iter().any(|known| known.name == name) {
            return Err(ValidationError::new(
                format!("{field}.name"),
                format!("{name} is used twice"),
            ));
        }
        settings.push(setting(name, Value::Object(object), &format!("{field}."))?);
    }
    Ok(settings)
}

fn setting(name: String, json: Value, prefix: &str) -> Result<BenchSetting, ValidationError> {
    let settings = EncoderSettings::from_json(&json.to_string())
        .map_err(|err| ValidationError::new(format!("{prefix}{}", err.field), err.rule))?;
    let global = settings.global();
    Ok(BenchSetting {
        name,
        preset: global.preset.clone(),
        bitrate_scale: global.bitrate_scale,
        json,
        settings,
    })
}

/// A file name for `name` (letters, digits, `-`, `_`, `.`, the rest `_`; never starting with a
/// dot).
pub fn slug(name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if slug.starts_with('.') {
        format!("_{slug}")
    } else {
        slug
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_make_every_pair_over_the_base() {
        let base = serde_json::json!({"profile": "high", "rungs": {"160p30": {"bFrames": 0}}});
        let settings = from_lists(
            &base,
            &["veryfast".into(), "medium".into()],
            &[0.5, 1.0, 1.5],
        )
        .unwrap();
        let names: Vec<&str> = settings.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "veryfast x0.5",
                "veryfast x1",
                "veryfast x1.5",
                "medium x0.5",
                "medium x1",
                "medium x1.5"
            ]
        );
        let last = &settings[5];
        assert_eq!(last.settings.for_rung("720p30").preset, "medium");
        assert_eq!(last.settings.for_rung("720p30").profile, "high");
        assert_eq!(last.settings.for_rung("160p30").b_frames, Some(0));
        assert_eq!(last.bitrate_scale, 1.5);
        // No lists: the base alone.
        let one = from_lists(&serde_json::json!({}), &[], &[]).unwrap();
        assert_eq!(one[0].name, "veryfast x1");
        assert_eq!(one[0].settings, EncoderSettings::default());
    }

    #[test]
    fn a_bad_preset_in_a_list_names_the_field() {
        let err = from_lists(&serde_json::json!({}), &["turbo".into()], &[]).unwrap_err();
        assert!(
            err.to_string().starts_with("preset must be one of"),
            "{err}"
        );
    }

    #[test]
    fn files_name_each_setting_and_errors_say_which() {
        let settings = from_file_json(
            r#"{"settings":[{"name":"ivs","preset":"veryfast"},
                {"name":"crf","preset":"medium","rateControl":{"mode":"CRF","crf":26}}]}"#,
        )
        .unwrap();
        assert_eq!(settings[1].name, "crf");
        assert_eq!(settings[1].preset, "medium");
        let err =
            from_file_json(r#"{"settings":[{"name":"a"},{"name":"b","threads":0}]}"#).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("settings[1].threads must be between 1 and 64"),
            "{err}"
        );
        let twice = from_file_json(r#"{"settings":[{"name":"a"},{"name":"a"}]}"#).unwrap_err();
        assert!(twice.to_string().contains("a is used twice"), "{twice}");
        assert!(from_file_json(r#"{"settings":[]}"#).is_err());
        assert!(from_file_json(r#"[1]"#).is_err());
    }

    #[test]
    fn slugs_are_file_names() {
        assert_eq!(slug("faster x1.5"), "faster_x1.5");
        assert_eq!(slug("../etc"), "_.._etc");
        assert_eq!(slug(".."), "_..");
    }
}
