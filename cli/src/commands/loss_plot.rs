//! The search's loss per trial as an SVG: every trial's validation RMSE and the best so far.
//!
//! plotters draws the marks; the few text labels are written into the SVG directly, because plotters'
//! text needs a font backend (system fonts or a bundled font file) that this build leaves out.

use plotters::prelude::*;

const W: u32 = 720;
const H: u32 = 400;
const MARGIN: i32 = 60;

pub(super) fn svg(losses: &[(usize, f64)]) -> String {
    let mut out = String::new();
    let finite: Vec<(usize, f64)> = losses
        .iter()
        .copied()
        .filter(|(_, l)| l.is_finite())
        .collect();
    let x_max = finite.iter().map(|(n, _)| *n).max().unwrap_or(1).max(1) as f64;
    let y_min = finite.iter().map(|(_, l)| *l).fold(f64::INFINITY, f64::min);
    let y_max = finite
        .iter()
        .map(|(_, l)| *l)
        .fold(f64::NEG_INFINITY, f64::max);
    let (y_min, y_max) = if finite.is_empty() {
        (0.0, 1.0)
    } else if (y_max - y_min).abs() < 1e-9 {
        (y_min - 1.0, y_max + 1.0)
    } else {
        let pad = (y_max - y_min) * 0.05;
        (y_min - pad, y_max + pad)
    };
    {
        let root = SVGBackend::with_string(&mut out, (W, H)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let area = root.margin(MARGIN / 2, MARGIN, MARGIN, MARGIN / 2);
        if let Ok(mut chart) = ChartBuilder::on(&area).build_cartesian_2d(0f64..x_max, y_min..y_max)
        {
            let axis = BLACK.stroke_width(1);
            let _ = chart.draw_series(std::iter::once(PathElement::new(
                vec![(0.0, y_min), (x_max, y_min)],
                axis,
            )));
            let _ = chart.draw_series(std::iter::once(PathElement::new(
                vec![(0.0, y_min), (0.0, y_max)],
                axis,
            )));
            let _ = chart.draw_series(
                finite
                    .iter()
                    .map(|(n, l)| Circle::new((*n as f64, *l), 3, BLUE.mix(0.6).filled())),
            );
            let mut best = f64::INFINITY;
            let best_so_far: Vec<(f64, f64)> = finite
                .iter()
                .map(|(n, l)| {
                    best = best.min(*l);
                    (*n as f64, best)
                })
                .collect();
            let _ = chart.draw_series(std::iter::once(PathElement::new(
                best_so_far,
                RED.stroke_width(2),
            )));
        }
        let _ = root.present();
    }
    let labels = format!(
        concat!(
            r#"<text x="{cx}" y="22" text-anchor="middle" font-family="sans-serif" font-size="15">Validation RMSE per trial (blue) and best so far (red): best {best:.2}</text>"#,
            r#"<text x="{cx}" y="{xb}" text-anchor="middle" font-family="sans-serif" font-size="12">trial (0 … {xmax})</text>"#,
            r#"<text x="8" y="{ytop}" font-family="sans-serif" font-size="12">{ymax:.1}</text>"#,
            r#"<text x="8" y="{ybot}" font-family="sans-serif" font-size="12">{ymin:.1}</text>"#,
        ),
        cx = W / 2,
        xb = H - 12,
        xmax = x_max,
        ytop = MARGIN / 2 + 4,
        ybot = i32::try_from(H).unwrap_or(i32::MAX) - MARGIN,
        ymax = y_max,
        ymin = y_min,
        best = finite.iter().map(|(_, l)| *l).fold(f64::INFINITY, f64::min),
    );
    match out.rfind("</svg>") {
        Some(i) => {
            out.insert_str(i, &labels);
            out
        }
        None => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plot_has_a_mark_per_trial_and_its_labels() {
        let svg = svg(&[(0, 250.0), (1, 230.5), (2, f64::NAN), (3, 240.0)]);
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("<polyline") || svg.contains("<path"));
        assert!(svg.contains("best 230.50") && svg.contains("trial (0 … 3)"));
    }

    #[test]
    fn an_empty_search_still_draws() {
        assert!(svg(&[]).contains("</svg>"));
    }
}
