//! The bench's charts as SVG (plotters): quality against bitrate, a panel per rung with a curve
//! per preset; and the speed of the whole ladder per setting, as a multiple of real time.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::prelude::*;

use super::report::BenchReport;

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw {path}: {why}")]
pub struct ChartError {
    path: String,
    why: String,
}

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

fn failed(path: &Path) -> impl Fn(&dyn std::fmt::Display) -> ChartError + '_ {
    move |why| ChartError {
        path: path.display().to_string(),
        why: why.to_string(),
    }
}

/// The presets in the order first run, each with its colour.
fn preset_colours(report: &BenchReport) -> Vec<(String, RGBColor)> {
    let mut presets: Vec<String> = Vec::new();
    for setting in &report.settings {
        if !presets.contains(&setting.preset) {
            presets.push(setting.preset.clone());
        }
    }
    presets
        .into_iter()
        .enumerate()
        .map(|(index, preset)| (preset, PALETTE[index % PALETTE.len()]))
        .collect()
}

/// Per rung, per preset: (kbps, PSNR) points sorted by bitrate.
type Curves = BTreeMap<(u32, String), BTreeMap<String, Vec<(f64, f64)>>>;

fn curves(report: &BenchReport) -> Curves {
    let mut curves: Curves = BTreeMap::new();
    for setting in &report.settings {
        for rung in &setting.rungs {
            curves
                .entry((u32::MAX - rung.height, rung.rendition.clone()))
                .or_default()
                .entry(setting.preset.clone())
                .or_default()
                .push((rung.kbps, rung.quality.psnr_yuv));
        }
    }
    for by_preset in curves.values_mut() {
        for points in by_preset.values_mut() {
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
    }
    curves
}

/// `low..high` widened so that points at either end are drawn whole (and a single value gets a
/// range around it).
fn padded(low: f64, high: f64) -> std::ops::Range<f64> {
    let span = (high - low).abs().max(high.abs() * 0.02).max(1e-3);
    (low - span * 0.15)..(high + span * 0.15)
}

/// `quality.svg`: PSNR (YUV) against the bitrate made, a panel per rung, a curve per preset.
pub fn quality_chart(report: &BenchReport, path: &Path) -> Result<(), ChartError> {
    let fail = failed(path);
    let curves = curves(report);
    let colours = preset_colours(report);
    let panels = curves.len().max(1);
    let columns = panels.min(2);
    let rows = panels.div_ceil(columns);
    let root =
        SVGBackend::new(path, (520 * columns as u32, 380 * rows as u32 + 64)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let (title, body) = root.split_vertically(64);
    let legend = title
        .titled(
            &format!(
                "Quality against bitrate: {} ({}), a curve per x264 preset",
                report.input, report.channel_type
            ),
            ("sans-serif", 20),
        )
        .map_err(|e| fail(&e))?;
    draw_legend(&legend, &colours).map_err(|e| fail(&e))?;
    for (area, ((_, rendition), by_preset)) in
        body.split_evenly((rows, columns)).iter().zip(&curves)
    {
        let points = by_preset.values().flatten();
        let (mut kbps_low, mut kbps_high, mut db_low, mut db_high) =
            (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for (kbps, db) in points {
            kbps_low = kbps_low.min(*kbps);
            kbps_high = kbps_high.max(*kbps);
            db_low = db_low.min(*db);
            db_high = db_high.max(*db);
        }
        let mut chart = ChartBuilder::on(area)
            .caption(rendition, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(padded(kbps_low, kbps_high), padded(db_low, db_high))
            .map_err(|e| fail(&e))?;
        chart
            .configure_mesh()
            .x_desc("kbps")
            .y_desc("PSNR YUV, dB")
            .draw()
            .map_err(|e| fail(&e))?;
        for (preset, colour) in &colours {
            let Some(points) = by_preset.get(preset) else {
                continue;
            };
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    colour.stroke_width(2),
                ))
                .map_err(|e| fail(&e))?;
            chart
                .draw_series(
                    points
                        .iter()
                        .map(|point| Circle::new(*point, 4, colour.filled())),
                )
                .map_err(|e| fail(&e))?;
        }
    }
    root.present().map_err(|e| fail(&e))
}

/// One line under the title: a swatch and the name of each preset.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    colours: &[(String, RGBColor)],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let mut x = 20;
    for (preset, colour) in colours {
        area.draw(&Rectangle::new([(x, 6), (x + 18, 18)], colour.filled()))?;
        area.draw(&Text::new(
            preset.clone(),
            (x + 24, 4),
            ("sans-serif", 15).into_font(),
        ))?;
        x += 40 + 9 * preset.len() as i32;
    }
    Ok(())
}

/// `speed.svg`: the whole ladder's speed (media seconds per wall second) per setting, coloured
/// by preset; the `ffmpeg` CLI's as a hollow bar beside it when it was run.
pub fn speed_chart(report: &BenchReport, path: &Path) -> Result<(), ChartError> {
    let fail = failed(path);
    let colours = preset_colours(report);
    let count = report.settings.len().max(1);
    let highest = report
        .settings
        .iter()
        .flat_map(|s| {
            let cli = s
                .ffmpeg
                .as_ref()
                .map_or(0.0, |cli| report.media_seconds / cli.wall_seconds.max(1e-9));
            [s.times_real_time, cli]
        })
        .fold(1.0_f64, f64::max);
    let root = SVGBackend::new(path, (440.max(160 + 90 * count as u32), 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "Ladder speed, x real time ({} cores){}",
                report.cores,
                if report.settings.iter().any(|s| s.ffmpeg.is_some()) {
                    "; outlined: the ffmpeg CLI"
                } else {
                    ""
                }
            ),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(60)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..count as f64, 0.0..highest * 1.1)
        .map_err(|e| fail(&e))?;
    let names: Vec<String> = report.settings.iter().map(|s| s.name.clone()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(count * 2 + 1)
        .x_label_formatter(&|x| {
            let index = (*x - 0.5).round();
            if (x - 0.5 - index).abs() < 0.01 && index >= 0.0 {
                names.get(index as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_desc("media s per wall s")
        .draw()
        .map_err(|e| fail(&e))?;
    for (index, setting) in report.settings.iter().enumerate() {
        let colour = colours
            .iter()
            .find(|(preset, _)| *preset == setting.preset)
            .map_or(BLACK, |(_, c)| *c);
        let left = index as f64 + 0.1;
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(left, 0.0), (left + 0.4, setting.times_real_time)],
                colour.filled(),
            )))
            .map_err(|e| fail(&e))?;
        if let Some(cli) = &setting.ffmpeg {
            let theirs = report.media_seconds / cli.wall_seconds.max(1e-9);
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(left + 0.4, 0.0), (left + 0.8, theirs)],
                    colour.stroke_width(2),
                )))
                .map_err(|e| fail(&e))?;
        }
    }
    root.present().map_err(|e| fail(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_svg_with_a_panel_per_rung_and_a_bar_per_setting() {
        let dir = tempfile::tempdir().unwrap();
        let report = crate::bench::report::tests::example();
        let quality = dir.path().join("quality.svg");
        quality_chart(&report, &quality).unwrap();
        let svg = std::fs::read_to_string(&quality).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        for text in ["720p30", "160p30", "veryfast", "medium", "PSNR YUV, dB"] {
            assert!(svg.contains(text), "{text} in quality.svg");
        }
        let speed = dir.path().join("speed.svg");
        speed_chart(&report, &speed).unwrap();
        let svg = std::fs::read_to_string(&speed).unwrap();
        assert!(svg.contains("veryfast x0.5") && svg.contains("medium, x1"));
    }
}
