//! Encoder settings (issue 13, `--encoder-settings FILE`): how the transcoded rungs are encoded,
//! globally and per rung. The defaults are the settings the pipeline has always used (x264
//! `veryfast`, Main profile, level by size, ABR at the ladder's bitrate, IDRs exactly at the
//! source's keyframes, no scene cuts or open GOPs, one thread, bicubic scaling), so a file with
//! `{}` changes nothing. Pure: parsing, validation (errors name the field and the allowed values)
//! and the x264 options a rung gets; `pipeline::rung` applies them.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::validation::{ValidationError, abbreviated, expect_objects};

/// x264 presets, fastest first.
pub const PRESETS: [&str; 10] = [
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
];
/// x264 tunes.
pub const TUNES: [&str; 6] = ["film", "animation", "grain", "stillimage", "psnr", "ssim"];
/// H.264 profiles x264 encodes 8-bit 4:2:0 in.
pub const PROFILES: [&str; 3] = ["baseline", "main", "high"];
/// H.264 levels accepted (besides `auto`).
pub const LEVELS: [&str; 10] = ["3", "3.1", "3.2", "4", "4.1", "4.2", "5", "5.1", "5.2", "6"];
/// swscale algorithms offered.
pub const SCALERS: [&str; 6] = [
    "fast_bilinear",
    "bilinear",
    "bicubic",
    "area",
    "lanczos",
    "spline",
];

/// How a rung's bitrate is controlled.
#[derive(Debug, Clone, PartialEq)]
pub enum RateControl {
    /// Average bitrate at the rung's target (times `bitrateScale`), no VBV: deterministic output.
    Abr,
    /// Constant quality; the bitrate follows the content.
    Crf(f64),
    /// Constant bitrate: VBV with maxrate = the target and a buffer of `buffer_seconds` of it.
    Cbr {
        /// VBV buffer size, in seconds of the target bitrate.
        buffer_seconds: f64,
    },
}

/// Where IDR frames go.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Keyframes {
    /// Exactly at the source's keyframes, as IVS does (every rendition cuts at the same times).
    FollowSource,
    /// Every `seconds` of media, whatever the source does.
    EverySeconds(f64),
}

/// The settings of one rung, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct RungEncoding {
    /// x264 preset.
    pub preset: String,
    /// x264 tune, if any.
    pub tune: Option<String>,
    /// H.264 profile.
    pub profile: String,
    /// H.264 level; `None`: 4.1 above 720p30, else 3.1 (as IVS's renditions declare).
    pub level: Option<String>,
    /// Rate control.
    pub rate_control: RateControl,
    /// Multiplies the ladder's bitrate for the rung (ABR and CBR).
    pub bitrate_scale: f64,
    /// Where IDRs go.
    pub keyframes: Keyframes,
    /// B-frames; `None`: the preset's.
    pub b_frames: Option<u32>,
    /// x264 threads.
    pub threads: u32,
    /// The scaler from the larger picture.
    pub scaler: String,
}

impl Default for RungEncoding {
    fn default() -> Self {
        Self {
            preset: "veryfast".to_owned(),
            tune: None,
            profile: "main".to_owned(),
            level: None,
            rate_control: RateControl::Abr,
            bitrate_scale: 1.0,
            keyframes: Keyframes::FollowSource,
            b_frames: None,
            threads: 1,
            scaler: "bicubic".to_owned(),
        }
    }
}

impl RungEncoding {
    /// The level of a rung `height` pixels tall at `fps`.
    pub fn level_for(&self, height: u32, fps: u32) -> String {
        self.level.clone().unwrap_or_else(|| {
            if height > 720 || (height == 720 && fps > 30) {
                "4.1".to_owned()
            } else {
                "3.1".to_owned()
            }
        })
    }

    /// The libx264 private options (name, value) for a rung `height` tall at `fps` whose ladder
    /// bitrate is `bitrate` bits/s; `instruction_sets` (x264's `asm`, e.g. `AVX2`) limits the
    /// instruction sets x264 uses, `None` leaves them to its detection. With the defaults these
    /// are exactly the options the pipeline has always set.
    pub fn x264_options(
        &self,
        height: u32,
        fps: u32,
        bitrate: u32,
        instruction_sets: Option<&str>,
    ) -> Vec<(String, String)> {
        let mut options = vec![
            ("preset".to_owned(), self.preset.clone()),
            ("profile".to_owned(), self.profile.clone()),
            ("level".to_owned(), self.level_for(height, fps)),
        ];
        if let Some(tune) = &self.tune {
            options.push(("tune".to_owned(), tune.clone()));
        }
        // The pipeline forces every keyframe (at the source's, or on the fixed grid): as IDRs.
        options.push(("forced-idr".to_owned(), "1".to_owned()));
        options.push(("threads".to_owned(), self.threads.to_string()));
        let mut params = vec!["scenecut=0".to_owned(), "open-gop=0".to_owned()];
        if let Some(b_frames) = self.b_frames {
            params.push(format!("bframes={b_frames}"));
        }
        let target_kbps = (f64::from(bitrate) * self.bitrate_scale / 1000.0).round() as u64;
        match &self.rate_control {
            RateControl::Abr => {}
            RateControl::Crf(crf) => options.push(("crf".to_owned(), format!("{crf}"))),
            RateControl::Cbr { buffer_seconds } => {
                params.push(format!("vbv-maxrate={target_kbps}"));
                params.push(format!(
                    "vbv-bufsize={}",
                    (target_kbps as f64 * buffer_seconds).round() as u64
                ));
                params.push("nal-hrd=cbr".to_owned());
            }
        }
        if let Some(sets) = instruction_sets {
            params.push(format!("asm={sets}"));
        }
        options.push(("x264-params".to_owned(), params.join(":")));
        options
    }
}

/// The settings of every rung: the global ones, and those a rung (by name, e.g. `480p30`)
/// changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EncoderSettings {
    global: RungEncoding,
    rungs: BTreeMap<String, RungEncoding>,
}

impl EncoderSettings {
    /// The settings every rung has unless it is named under `rungs`.
    pub fn global(&self) -> &RungEncoding {
        &self.global
    }

    /// The settings of rung `name`.
    pub fn for_rung(&self, name: &str) -> &RungEncoding {
        self.rungs.get(name).unwrap_or(&self.global)
    }

    /// Reads and checks a settings file's JSON.
    pub fn from_json(json: &str) -> Result<Self, ValidationError> {
        let not_valid = |err: serde_json::Error| {
            ValidationError::new("encoderSettings", format!("is not valid: {err}"))
        };
        let document: serde_json::Value = serde_json::from_str(json).map_err(not_valid)?;
        expect_objects(&document, &["", "rateControl", "keyframes", "rungs"], "")?;
        let mut input: ValuesInput = serde_json::from_value(document).map_err(not_valid)?;
        let rung_inputs = input.rungs.take().unwrap_or_default();
        let global = input.apply(&RungEncoding::default(), "")?;
        let mut rungs = BTreeMap::new();
        for (name, values) in rung_inputs {
            if !is_rung_name(&name) {
                return Err(ValidationError::new(
                    "rungs",
                    format!(
                        "must be keyed by rendition names, <height>p<frame rate> such as 720p60, \
                         720p30, 480p30, 360p30 or 160p30; got {}",
                        abbreviated(&name)
                    ),
                ));
            }
            let prefix = format!("rungs.{name}.");
            if values.rungs.is_some() {
                return Err(ValidationError::new(
                    format!("{prefix}rungs"),
                    "is not allowed inside a rung",
                ));
            }
            let resolved = values.apply(&global, &prefix)?;
            rungs.insert(name, resolved);
        }
        Ok(Self { global, rungs })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ValuesInput {
    preset: Option<String>,
    tune: Option<String>,
    profile: Option<String>,
    level: Option<String>,
    rate_control: Option<RateControlInput>,
    bitrate_scale: Option<f64>,
    keyframes: Option<KeyframesInput>,
    b_frames: Option<u32>,
    threads: Option<u32>,
    scaler: Option<String>,
    rungs: Option<BTreeMap<String, ValuesInput>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RateControlInput {
    mode: String,
    crf: Option<f64>,
    buffer_seconds: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KeyframesInput {
    mode: String,
    seconds: Option<f64>,
}

/// Whether `name` reads `<height>p<frame rate>`, as every rendition's name does (D1).
fn is_rung_name(name: &str) -> bool {
    name.split_once('p').is_some_and(|(height, fps)| {
        [height, fps].iter().all(|part| {
            !part.is_empty() && part.len() <= 4 && part.bytes().all(|b| b.is_ascii_digit())
        })
    })
}

/// `value` if it is one of `allowed`, else an error naming `field` and the allowed values.
fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<String, ValidationError> {
    if allowed.contains(&value) {
        Ok(value.to_owned())
    } else {
        Err(ValidationError::new(
            field,
            format!(
                "must be one of {}, got {}",
                allowed.join(", "),
                abbreviated(value)
            ),
        ))
    }
}

fn in_range(field: &str, value: f64, low: f64, high: f64) -> Result<f64, ValidationError> {
    if value.is_finite() && (low..=high).contains(&value) {
        Ok(value)
    } else {
        Err(ValidationError::new(
            field,
            format!("must be between {low} and {high}, got {value}"),
        ))
    }
}

impl ValuesInput {
    /// `base` with these values applied; fields are named with `prefix`.
    fn apply(self, base: &RungEncoding, prefix: &str) -> Result<RungEncoding, ValidationError> {
        let field = |name: &str| format!("{prefix}{name}");
        let mut out = base.clone();
        if let Some(preset) = self.preset {
            out.preset = one_of(&field("preset"), &preset, &PRESETS)?;
        }
        if let Some(tune) = self.tune {
            out.tune = Some(one_of(&field("tune"), &tune, &TUNES)?);
        }
        if let Some(profile) = self.profile {
            out.profile = one_of(&field("profile"), &profile, &PROFILES)?;
        }
        if let Some(level) = self.level {
            out.level = match level.as_str() {
                "auto" => None,
                other => Some(one_of(&field("level"), other, &LEVELS)?),
            };
        }
        if let Some(rate) = self.rate_control {
            out.rate_control = match rate.mode.as_str() {
                "ABR" => RateControl::Abr,
                "CRF" => RateControl::Crf(in_range(
                    &field("rateControl.crf"),
                    rate.crf.unwrap_or(23.0),
                    0.0,
                    51.0,
                )?),
                "CBR" => RateControl::Cbr {
                    buffer_seconds: in_range(
                        &field("rateControl.bufferSeconds"),
                        rate.buffer_seconds.unwrap_or(1.0),
                        0.1,
                        10.0,
                    )?,
                },
                other => {
                    one_of(&field("rateControl.mode"), other, &["ABR", "CRF", "CBR"])?;
                    RateControl::Abr
                }
            };
        }
        if let Some(scale) = self.bitrate_scale {
            out.bitrate_scale = in_range(&field("bitrateScale"), scale, 0.05, 10.0)?;
        }
        if let Some(keyframes) = self.keyframes {
            out.keyframes = match keyframes.mode.as_str() {
                "FOLLOW_SOURCE" => Keyframes::FollowSource,
                "FIXED" => Keyframes::EverySeconds(in_range(
                    &field("keyframes.seconds"),
                    keyframes.seconds.unwrap_or(2.0),
                    0.1,
                    20.0,
                )?),
                other => {
                    one_of(&field("keyframes.mode"), other, &["FOLLOW_SOURCE", "FIXED"])?;
                    Keyframes::FollowSource
                }
            };
        }
        if let Some(b_frames) = self.b_frames {
            out.b_frames =
                Some(in_range(&field("bFrames"), f64::from(b_frames), 0.0, 16.0)? as u32);
        }
        if let Some(threads) = self.threads {
            out.threads = in_range(&field("threads"), f64::from(threads), 1.0, 64.0)? as u32;
        }
        if let Some(scaler) = self.scaler {
            out.scaler = one_of(&field("scaler"), &scaler, &SCALERS)?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(options: &[(String, String)]) -> Vec<(&str, &str)> {
        options
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn an_empty_file_gives_the_pipelines_options() {
        let settings = EncoderSettings::from_json("{}").unwrap();
        assert_eq!(settings, EncoderSettings::default());
        let rung = settings.for_rung("720p30");
        assert_eq!(
            pairs(&rung.x264_options(720, 30, 2_400_000, None)),
            [
                ("preset", "veryfast"),
                ("profile", "main"),
                ("level", "3.1"),
                ("forced-idr", "1"),
                ("threads", "1"),
                ("x264-params", "scenecut=0:open-gop=0"),
            ]
        );
        assert_eq!(rung.level_for(1080, 30), "4.1");
        assert_eq!(rung.level_for(720, 60), "4.1");
    }

    #[test]
    fn rungs_override_the_global_settings() {
        let settings = EncoderSettings::from_json(
            r#"{"preset":"faster","rateControl":{"mode":"CBR","bufferSeconds":2},
                "rungs":{"160p30":{"preset":"medium","bFrames":0,"keyframes":{"mode":"FIXED","seconds":2}}}}"#,
        )
        .unwrap();
        let top = settings.for_rung("720p30");
        assert_eq!(top.preset, "faster");
        assert_eq!(
            pairs(&top.x264_options(720, 30, 2_400_000, Some("AVX2")))
                .last()
                .unwrap()
                .1,
            "scenecut=0:open-gop=0:vbv-maxrate=2400:vbv-bufsize=4800:nal-hrd=cbr:asm=AVX2"
        );
        let small = settings.for_rung("160p30");
        assert_eq!(small.preset, "medium");
        assert_eq!(small.keyframes, Keyframes::EverySeconds(2.0));
        assert_eq!(
            small.rate_control,
            RateControl::Cbr {
                buffer_seconds: 2.0
            }
        );
        let options = small.x264_options(160, 30, 230_000, None);
        assert!(pairs(&options).contains(&("forced-idr", "1")));
        assert!(options.last().unwrap().1.contains("bframes=0"));
    }

    #[test]
    fn bad_values_name_the_field_and_what_is_allowed() {
        let cases = [
            (
                r#"{"preset":"ludicrous"}"#,
                "preset must be one of ultrafast, superfast, veryfast",
            ),
            (
                r#"{"rungs":{"480p30":{"profile":"high10"}}}"#,
                "rungs.480p30.profile must be one of baseline, main, high",
            ),
            (
                r#"{"rateControl":{"mode":"CRF","crf":60}}"#,
                "rateControl.crf must be between 0 and 51, got 60",
            ),
            (
                r#"{"rateControl":{"mode":"VBR"}}"#,
                "rateControl.mode must be one of ABR, CRF, CBR",
            ),
            (
                r#"{"keyframes":{"mode":"FIXED","seconds":0}}"#,
                "keyframes.seconds must be between 0.1 and 20",
            ),
            (r#"{"threads":0}"#, "threads must be between 1 and 64"),
            (
                r#"{"scaler":"nearest"}"#,
                "scaler must be one of fast_bilinear, bilinear, bicubic",
            ),
            (r#"{"level":"9"}"#, "level must be one of 3, 3.1"),
            (
                r#"{"bitrateScale":-1}"#,
                "bitrateScale must be between 0.05 and 10",
            ),
            (r#"[1]"#, "body must be a JSON object, got an array"),
            (
                r#"{"presets":"fast"}"#,
                "encoderSettings is not valid: unknown field `presets`",
            ),
            (
                r#"{"rungs":{"160p30":{"rungs":{}}}}"#,
                "rungs.160p30.rungs is not allowed",
            ),
            (
                r#"{"rungs":{"720p":{"preset":"fast"}}}"#,
                "rungs must be keyed by rendition names, <height>p<frame rate> such as 720p60",
            ),
        ];
        for (json, expected) in cases {
            let err = EncoderSettings::from_json(json).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{json}: {err}");
        }
    }
}
