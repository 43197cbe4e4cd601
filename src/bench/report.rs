//! What a bench measured, and its forms: `report.json`, `report.csv` and the table printed as it
//! goes. Pure.

use serde::Serialize;

use crate::quality::QualityTotals;

/// The quality of one encoded rung against the source scaled to its size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Quality {
    /// Frames compared.
    pub frames: u64,
    /// PSNR of the luma plane, dB (of the mean error over frames, as FFmpeg's `psnr`).
    pub psnr_y: f64,
    /// PSNR of Y, U and V weighted by pixel count, dB.
    pub psnr_yuv: f64,
    /// PSNR of the worst frame, dB.
    pub psnr_worst: f64,
    /// Mean SSIM of the luma plane.
    pub ssim_y: f64,
    /// Mean SSIM, planes weighted by pixel count.
    pub ssim_all: f64,
    /// SSIM of the worst frame.
    pub ssim_worst: f64,
}

impl From<&QualityTotals> for Quality {
    fn from(totals: &QualityTotals) -> Self {
        Self {
            frames: totals.frames(),
            psnr_y: totals.psnr_y(),
            psnr_yuv: totals.psnr_yuv(),
            psnr_worst: totals.psnr_worst(),
            ssim_y: totals.ssim_y(),
            ssim_all: totals.ssim_all(),
            ssim_worst: totals.ssim_worst(),
        }
    }
}

/// One rung under one setting.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RungResult {
    /// The rendition, e.g. `480p30`.
    pub rendition: String,
    /// Picture width.
    pub width: u32,
    /// Picture height.
    pub height: u32,
    /// Frames encoded.
    pub frames: u64,
    /// Seconds spent scaling and encoding this rung (its own thread).
    pub wall_seconds: f64,
    /// CPU seconds of this rung's thread and of x264's threads started from it.
    pub cpu_seconds: f64,
    /// Frames encoded per second of `wall_seconds`.
    pub frames_per_second: f64,
    /// Media seconds per second of `wall_seconds`.
    pub times_real_time: f64,
    /// The bitrate aimed at, kbps (the ladder's times the scale; `None` under CRF).
    pub target_kbps: Option<f64>,
    /// The H.264 bitrate made, kbps.
    pub kbps: f64,
    /// `kbps / target_kbps`.
    pub bitrate_ratio: Option<f64>,
    /// Against the source.
    pub quality: Quality,
    /// What the `ffmpeg` CLI made of the same rung (`--compare-ffmpeg`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ffmpeg: Option<CliRung>,
}

/// The `ffmpeg` CLI's output of one rung.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CliRung {
    /// The H.264 bitrate it made, kbps.
    pub kbps: f64,
    /// Against the source.
    pub quality: Quality,
}

/// The `ffmpeg` CLI doing one setting's ladder.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CliRun {
    /// The command, argument by argument.
    pub command: Vec<String>,
    /// Its wall time, seconds.
    pub wall_seconds: f64,
    /// Its wall time over ours: above 1, ivs-recorder was faster.
    pub ratio: f64,
}

/// One setting: the whole ladder and each rung.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingResult {
    /// Its name.
    pub name: String,
    /// The global x264 preset.
    pub preset: String,
    /// The global bitrate scale.
    pub bitrate_scale: f64,
    /// The encoder settings, as a file would give them.
    pub settings: serde_json::Value,
    /// Seconds `record` took for the whole recording (all renditions, audio, thumbnails).
    pub wall_seconds: f64,
    /// CPU seconds of the process meanwhile.
    pub cpu_seconds: f64,
    /// Media seconds recorded per second of wall time.
    pub times_real_time: f64,
    /// Each transcoded rung, largest first.
    pub rungs: Vec<RungResult>,
    /// The `ffmpeg` CLI on the same work (`--compare-ffmpeg`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ffmpeg: Option<CliRun>,
}

/// The whole bench.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BenchReport {
    /// The input file.
    pub input: String,
    /// The channel type whose ladder was run.
    pub channel_type: String,
    /// Media seconds of the input.
    pub media_seconds: f64,
    /// CPU cores of the machine.
    pub cores: usize,
    /// Each setting, in the order run.
    pub settings: Vec<SettingResult>,
}

/// The CSV header: one row per setting and rung.
pub const CSV_HEADER: &str = "setting,preset,bitrate_scale,rendition,width,height,frames,\
wall_s,cpu_s,fps,x_realtime,target_kbps,kbps,bitrate_ratio,psnr_y,psnr_yuv,psnr_worst,\
ssim_y,ssim_all,ssim_worst,ladder_wall_s,ladder_x_realtime,ffmpeg_wall_s,ffmpeg_ratio,\
ffmpeg_kbps,ffmpeg_psnr_yuv,ffmpeg_ssim_all";

fn optional(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(String::new, |v| format!("{v:.decimals$}"))
}

/// A CSV field: quoted when it holds a comma or a quote.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

impl BenchReport {
    /// `report.csv`.
    pub fn to_csv(&self) -> String {
        let mut out = format!("{CSV_HEADER}\n");
        for setting in &self.settings {
            for rung in &setting.rungs {
                let q = &rung.quality;
                let cli = setting.ffmpeg.as_ref();
                let cli_rung = rung.ffmpeg.as_ref();
                let fields = [
                    csv_field(&setting.name),
                    csv_field(&setting.preset),
                    format!("{}", setting.bitrate_scale),
                    csv_field(&rung.rendition),
                    rung.width.to_string(),
                    rung.height.to_string(),
                    rung.frames.to_string(),
                    format!("{:.3}", rung.wall_seconds),
                    format!("{:.3}", rung.cpu_seconds),
                    format!("{:.1}", rung.frames_per_second),
                    format!("{:.2}", rung.times_real_time),
                    optional(rung.target_kbps, 0),
                    format!("{:.1}", rung.kbps),
                    optional(rung.bitrate_ratio, 3),
                    format!("{:.3}", q.psnr_y),
                    format!("{:.3}", q.psnr_yuv),
                    format!("{:.3}", q.psnr_worst),
                    format!("{:.5}", q.ssim_y),
                    format!("{:.5}", q.ssim_all),
                    format!("{:.5}", q.ssim_worst),
                    format!("{:.3}", setting.wall_seconds),
                    format!("{:.2}", setting.times_real_time),
                    optional(cli.map(|c| c.wall_seconds), 3),
                    optional(cli.map(|c| c.ratio), 3),
                    optional(cli_rung.map(|c| c.kbps), 1),
                    optional(cli_rung.map(|c| c.quality.psnr_yuv), 3),
                    optional(cli_rung.map(|c| c.quality.ssim_all), 5),
                ];
                out.push_str(&fields.join(","));
                out.push('\n');
            }
        }
        out
    }
}

/// The table's header line.
pub fn table_header() -> String {
    format!(
        "{:<16} {:<8} {:>7} {:>6} {:>7} {:>8} {:>8} {:>6} {:>8} {:>8} {:>7}",
        "setting",
        "rung",
        "wall s",
        "cpu s",
        "fps",
        "x real",
        "kbps",
        "/tgt",
        "PSNR dB",
        "worst",
        "SSIM"
    )
}

/// The table's lines for one setting.
pub fn table_rows(setting: &SettingResult) -> Vec<String> {
    let mut rows: Vec<String> = setting
        .rungs
        .iter()
        .map(|rung| {
            format!(
                "{:<16} {:<8} {:>7.2} {:>6.2} {:>7.1} {:>8.2} {:>8.0} {:>6} {:>8.2} {:>8.2} {:>7.4}",
                setting.name,
                rung.rendition,
                rung.wall_seconds,
                rung.cpu_seconds,
                rung.frames_per_second,
                rung.times_real_time,
                rung.kbps,
                rung.bitrate_ratio
                    .map_or_else(|| "crf".to_owned(), |r| format!("{r:.2}")),
                rung.quality.psnr_yuv,
                rung.quality.psnr_worst,
                rung.quality.ssim_all,
            )
        })
        .collect();
    rows.push(format!(
        "{:<16} {:<8} {:>7.2} {:>6.2} {:>7} {:>8.2}{}",
        setting.name,
        "ladder",
        setting.wall_seconds,
        setting.cpu_seconds,
        "",
        setting.times_real_time,
        setting
            .ffmpeg
            .as_ref()
            .map_or_else(String::new, |cli| format!(
                "   ffmpeg CLI {:.2} s: ivs-recorder {:.2}x as fast",
                cli.wall_seconds, cli.ratio
            )),
    ));
    for rung in &setting.rungs {
        if let Some(cli) = &rung.ffmpeg {
            rows.push(format!(
                "{:<16} {:<8} ffmpeg CLI: {:.0} kbps, PSNR {:.2} dB, SSIM {:.4} (ours {:.0} kbps, {:.2} dB, {:.4})",
                setting.name,
                rung.rendition,
                cli.kbps,
                cli.quality.psnr_yuv,
                cli.quality.ssim_all,
                rung.kbps,
                rung.quality.psnr_yuv,
                rung.quality.ssim_all
            ));
        }
    }
    rows
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn example() -> BenchReport {
        let quality = |psnr: f64| Quality {
            frames: 360,
            psnr_y: psnr - 1.0,
            psnr_yuv: psnr,
            psnr_worst: psnr - 3.0,
            ssim_y: 0.95,
            ssim_all: 0.96,
            ssim_worst: 0.9,
        };
        let rung = |rendition: &str, height: u32, kbps: f64, psnr: f64| RungResult {
            rendition: rendition.into(),
            width: height * 16 / 9,
            height,
            frames: 360,
            wall_seconds: 4.0,
            cpu_seconds: 3.9,
            frames_per_second: 90.0,
            times_real_time: 3.0,
            target_kbps: Some(kbps),
            kbps: kbps * 1.02,
            bitrate_ratio: Some(1.02),
            quality: quality(psnr),
            ffmpeg: None,
        };
        let setting = |name: &str, preset: &str, scale: f64| SettingResult {
            name: name.into(),
            preset: preset.into(),
            bitrate_scale: scale,
            settings: serde_json::json!({"preset": preset, "bitrateScale": scale}),
            wall_seconds: 6.0,
            cpu_seconds: 11.0,
            times_real_time: 2.0,
            rungs: vec![
                rung("720p30", 720, 2400.0 * scale, 38.0 + scale),
                rung("160p30", 160, 230.0 * scale, 33.0 + scale),
            ],
            ffmpeg: None,
        };
        BenchReport {
            input: "in.mp4".into(),
            channel_type: "STANDARD".into(),
            media_seconds: 12.0,
            cores: 2,
            settings: vec![
                setting("veryfast x0.5", "veryfast", 0.5),
                setting("veryfast x1", "veryfast", 1.0),
                setting("medium, x1", "medium", 1.0),
            ],
        }
    }

    #[test]
    fn csv_has_a_row_per_setting_and_rung_with_every_column() {
        let csv = example().to_csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 1 + 3 * 2);
        let columns = CSV_HEADER.split(',').count();
        assert_eq!(columns, 27);
        assert!(lines[1].starts_with("veryfast x0.5,veryfast,0.5,720p30,1280,720,360,4.000,"));
        // A name with a comma is quoted, and the ffmpeg columns are empty.
        assert!(
            lines[5].starts_with("\"medium, x1\",medium,1,720p30"),
            "{}",
            lines[5]
        );
        assert!(lines[5].ends_with(",,,,,"), "{}", lines[5]);
    }

    #[test]
    fn json_names_fields_in_camel_case_and_leaves_out_what_was_not_run() {
        let json = serde_json::to_value(example()).unwrap();
        let rung = &json["settings"][0]["rungs"][0];
        assert_eq!(rung["rendition"], "720p30");
        assert_eq!(rung["quality"]["psnrYuv"], 38.5);
        assert!(rung.get("ffmpeg").is_none());
        assert_eq!(json["settings"][0]["timesRealTime"], 2.0);
    }
}
