//! The scale bench's curves as an SVG: the median time of each answer against the store's size, one
//! panel per backend, both axes logarithmic, the 50 ms goal dashed.
//!
//! `cargo run --release -p mltrack --example scale_chart -- bench-results bench-results/scale.svg`
//!
//! Reads the `scale-<backend>-<runs>.json` files `bench/scale.sh` writes. plotters draws the marks;
//! the labels are written into the SVG directly (this build's plotters has no font backend, as in
//! `mltrack train`'s loss plot).

// Pixel coordinates and the six cases' indices are small: the casts between them cannot truncate.
#![allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]

use plotters::prelude::*;
use serde_json::Value;
use std::fmt::Write as _;

const CASES: [(&str, &str); 6] = [
    ("search_default", "search, first 1000"),
    ("search_by_metric", "search by a metric"),
    ("search_filtered", "search, filter 1 %"),
    ("ui_runs_page", "UI runs page"),
    ("run_count", "UI run count"),
    ("metric_history", "metric history"),
];
const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];
const PANEL_W: i32 = 420;
const H: i32 = 380;
const LEFT: i32 = 60;
const TOP: i32 = 40;
const PLOT_W: i32 = 330;
const PLOT_H: i32 = 260;
/// log10 of the axes' ends: 1,000 to 10,000,000 runs; 0.1 ms to 10 s.
const X_RANGE: (f64, f64) = (3.0, 7.0);
const Y_RANGE: (f64, f64) = (-1.0, 4.0);

fn px(panel: i32, runs: f64, ms: f64) -> (i32, i32) {
    let fx = (runs.log10() - X_RANGE.0) / (X_RANGE.1 - X_RANGE.0);
    let fy = (ms.max(0.1).log10() - Y_RANGE.0) / (Y_RANGE.1 - Y_RANGE.0);
    (
        panel * PANEL_W + LEFT + (fx * f64::from(PLOT_W)) as i32,
        TOP + PLOT_H - (fy * f64::from(PLOT_H)) as i32,
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, out] = args.as_slice() else {
        return Err("usage: scale_chart RESULTS_DIR OUT.svg".into());
    };
    let mut results: Vec<Value> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let parts: Vec<&str> = name.trim_end_matches(".json").split('-').collect();
        if parts.len() == 3 && parts[0] == "scale" && parts[2].parse::<u64>().is_ok() {
            let text = std::fs::read_to_string(&path)?;
            results
                .push(serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?);
        }
    }
    if results.is_empty() {
        return Err(format!("no scale-<backend>-<runs>.json in {dir}").into());
    }
    let backends = ["sqlite", "postgres"];
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (2 * PANEL_W as u32, H as u32)).into_drawing_area();
        root.fill(&WHITE)?;
        for (p, backend) in backends.iter().enumerate() {
            let p = p as i32;
            let (x0, y1) = px(p, 1e3, 0.1);
            let (x1, y0) = px(p, 1e7, 1e4);
            root.draw(&Rectangle::new([(x0, y0), (x1, y1)], BLACK.stroke_width(1)))?;
            for decade in 0..=4 {
                let (_, y) = px(p, 1e3, 10f64.powi(decade - 1));
                root.draw(&PathElement::new(
                    vec![(x0, y), (x1, y)],
                    RGBColor(220, 220, 220),
                ))?;
            }
            // the goal: 50 ms at a million runs, dashed
            let (gx0, gy) = px(p, 1e3, 50.0);
            let mut x = gx0;
            while x < x1 {
                root.draw(&PathElement::new(
                    vec![(x, gy), ((x + 6).min(x1), gy)],
                    BLACK,
                ))?;
                x += 12;
            }
            for (c, (case, _)) in CASES.iter().enumerate() {
                let mut points: Vec<(f64, f64)> = results
                    .iter()
                    .filter(|r| r["backend"] == *backend)
                    .filter_map(|r| {
                        Some((
                            r["runs"].as_f64()?,
                            r["answers"][case]["median_ms"].as_f64()?,
                        ))
                    })
                    .collect();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                let pixels: Vec<(i32, i32)> = points.iter().map(|(n, ms)| px(p, *n, *ms)).collect();
                let color = COLORS[c];
                root.draw(&PathElement::new(pixels.clone(), color.stroke_width(2)))?;
                for pt in pixels {
                    root.draw(&Circle::new(pt, 3, color.filled()))?;
                }
            }
        }
        root.present()?;
    }
    let mut labels = String::new();
    let text = |labels: &mut String, x: i32, y: i32, anchor: &str, s: &str, extra: &str| {
        let _ = write!(
            labels,
            r#"<text x="{x}" y="{y}" font-family="sans-serif" font-size="11" text-anchor="{anchor}"{extra}>{s}</text>"#
        );
    };
    for (p, title) in ["SQLite", "PostgreSQL"].iter().enumerate() {
        let p = p as i32;
        text(
            &mut labels,
            p * PANEL_W + LEFT + PLOT_W / 2,
            24,
            "middle",
            &format!("{title}: median answer, one client"),
            r#" font-weight="bold""#,
        );
        for (runs, label) in [
            (1e3, "1k"),
            (1e4, "10k"),
            (1e5, "100k"),
            (1e6, "1M"),
            (1e7, "10M"),
        ] {
            let (x, y) = px(p, runs, 0.1);
            text(&mut labels, x, y + 14, "middle", label, "");
        }
        for (ms, label) in [
            (0.1, "0.1 ms"),
            (1.0, "1 ms"),
            (10.0, "10 ms"),
            (100.0, "100 ms"),
            (1000.0, "1 s"),
            (1e4, "10 s"),
        ] {
            let (x, y) = px(p, 1e3, ms);
            text(&mut labels, x - 4, y + 4, "end", label, "");
        }
        let (x, y) = px(p, 1e7, 50.0);
        text(&mut labels, x - 2, y - 4, "end", "goal 50 ms", "");
        let (x, y) = px(p, 1e5, 0.1);
        text(
            &mut labels,
            x,
            y + 28,
            "middle",
            "runs in the experiment",
            "",
        );
    }
    for (c, (_, label)) in CASES.iter().enumerate() {
        let x = 20 + (c as i32 % 3) * 260;
        let y = H - 26 + (c as i32 / 3) * 16;
        let RGBColor(r, g, b) = COLORS[c];
        let _ = write!(
            labels,
            r#"<rect x="{x}" y="{}" width="14" height="4" fill="rgb({r},{g},{b})"/>"#,
            y - 4
        );
        text(&mut labels, x + 20, y, "start", label, "");
    }
    let svg = svg.replacen("</svg>", &format!("{labels}</svg>"), 1);
    std::fs::write(out, svg).map_err(|e| format!("{out}: {e}"))?;
    Ok(())
}
