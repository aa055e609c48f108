//! Reference-vs-current distribution charts. The numbers come from the column summaries; the drawing is
//! plotters' SVG backend with **no text at all**, so no font library (fontconfig, freetype) is needed at
//! build or run time. Axis labels and legends are written in the HTML around the SVG instead.

use plotters::prelude::*;

use crate::stats::binning::{histogram, linspace, sturges_edges};
use crate::summary::{align, Summary};

/// Numerical charts use Sturges bins over both sides, capped so a million rows still draw 40 bars.
const MAX_BINS: usize = 40;
/// Categorical charts show the most frequent categories and fold the rest into one bar.
const MAX_CATEGORIES: usize = 15;

/// Reference color (the legend in the HTML uses the same hex values).
pub(crate) const REFERENCE_RGB: (u8, u8, u8) = (0x4c, 0x78, 0xa8);
/// Current color.
pub(crate) const CURRENT_RGB: (u8, u8, u8) = (0xe4, 0x57, 0x56);

/// What one column's chart shows: shares (not counts), so sides of different sizes compare.
#[derive(Debug, Clone, PartialEq)]
pub enum Chart {
    /// Bins `[edges[i], edges[i+1])` with the share of each side's rows in them.
    Numeric {
        /// Bin edges, one more than bins.
        edges: Vec<f64>,
        /// Reference share per bin.
        reference: Vec<f64>,
        /// Current share per bin.
        current: Vec<f64>,
    },
    /// Categories by combined frequency; a last `other (k)` bar holds the rest.
    Categorical {
        /// Bar labels.
        labels: Vec<String>,
        /// Reference share per bar.
        reference: Vec<f64>,
        /// Current share per bar.
        current: Vec<f64>,
    },
}

/// Builds the chart data for one column from its two summaries.
pub(crate) fn chart_for(reference: &Summary, current: &Summary) -> Chart {
    let (rn, cn) = (reference.len() as f64, current.len() as f64);
    match (reference, current) {
        (Summary::Num(r), Summary::Num(c)) => {
            let (lo, hi) = (r.min().min(c.min()), r.max().max(c.max()));
            let mut edges = sturges_edges(lo, hi, r.n + c.n, r.integer && c.integer);
            if edges.len() > MAX_BINS + 1 {
                edges = linspace(lo, hi, MAX_BINS + 1);
            }
            let share =
                |counts: Vec<u64>, n: f64| counts.into_iter().map(|x| x as f64 / n).collect();
            Chart::Numeric {
                reference: share(histogram(r, &edges), rn),
                current: share(histogram(c, &edges), cn),
                edges,
            }
        }
        (Summary::Cat(r), Summary::Cat(c)) => {
            let mut labels: Vec<&String> = r.categories.iter().chain(&c.categories).collect();
            labels.sort_unstable();
            labels.dedup();
            let a = align(reference, current);
            let mut bars: Vec<(&String, f64, f64)> = labels
                .into_iter()
                .zip(a.reference.iter().zip(&a.current))
                .map(|(l, (&x, &y))| (l, x as f64 / rn, y as f64 / cn))
                .collect();
            bars.sort_by(|x, y| {
                (y.1 + y.2)
                    .total_cmp(&(x.1 + x.2))
                    .then_with(|| x.0.cmp(y.0))
            });
            let rest = bars.split_off(bars.len().min(MAX_CATEGORIES));
            let mut chart = (Vec::new(), Vec::new(), Vec::new());
            for (l, x, y) in bars {
                chart.0.push(l.clone());
                chart.1.push(x);
                chart.2.push(y);
            }
            if !rest.is_empty() {
                chart.0.push(format!("other ({})", rest.len()));
                chart.1.push(rest.iter().map(|b| b.1).sum());
                chart.2.push(rest.iter().map(|b| b.2).sum());
            }
            Chart::Categorical {
                labels: chart.0,
                reference: chart.1,
                current: chart.2,
            }
        }
        _ => Chart::Categorical {
            labels: Vec::new(),
            reference: Vec::new(),
            current: Vec::new(),
        },
    }
}

impl Chart {
    /// The two share series.
    pub fn series(&self) -> (&[f64], &[f64]) {
        match self {
            Chart::Numeric {
                reference, current, ..
            }
            | Chart::Categorical {
                reference, current, ..
            } => (reference, current),
        }
    }
}

/// Draws paired bars (reference left, current right in each slot) as an SVG fragment. A drawing error
/// yields an empty string: a report without one picture beats no report.
pub(crate) fn svg(chart: &Chart, width: u32, height: u32) -> String {
    let mut out = String::new();
    if draw(chart, &mut out, width, height).is_err() {
        return String::new();
    }
    out
}

fn draw(
    chart: &Chart,
    out: &mut String,
    width: u32,
    height: u32,
) -> Result<(), Box<dyn std::error::Error>> {
    let (reference, current) = chart.series();
    let slots = reference.len().max(1);
    let top = reference
        .iter()
        .chain(current)
        .copied()
        .fold(0.0f64, f64::max)
        .max(1e-12)
        * 1.05;
    {
        let root = SVGBackend::with_string(out, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut plot = ChartBuilder::on(&root)
            .margin(2)
            .build_cartesian_2d(0f64..slots as f64, 0f64..top)?;
        let (r, g, b) = REFERENCE_RGB;
        let ref_style = RGBColor(r, g, b).filled();
        let (r, g, b) = CURRENT_RGB;
        let cur_style = RGBColor(r, g, b).filled();
        plot.draw_series(reference.iter().enumerate().map(|(i, &v)| {
            let x = i as f64;
            Rectangle::new([(x + 0.08, 0.0), (x + 0.5, v)], ref_style)
        }))?;
        plot.draw_series(current.iter().enumerate().map(|(i, &v)| {
            let x = i as f64;
            Rectangle::new([(x + 0.5, 0.0), (x + 0.92, v)], cur_style)
        }))?;
        plot.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, 0.0), (slots as f64, 0.0)],
            BLACK,
        )))?;
        root.present()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::NumSummary;

    #[test]
    fn numeric_chart_shares_sum_to_one_per_side() {
        let r = Summary::Num(NumSummary::from_values(
            &(0..500).map(f64::from).collect::<Vec<_>>(),
        ));
        let c = Summary::Num(NumSummary::from_values(
            &(100..700).map(f64::from).collect::<Vec<_>>(),
        ));
        let chart = chart_for(&r, &c);
        let (a, b) = chart.series();
        assert!((a.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((b.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(a.len() <= MAX_BINS);
    }

    #[test]
    fn the_svg_has_one_bar_per_side_and_slot_and_no_text() {
        let chart = Chart::Categorical {
            labels: vec!["a".into(), "b".into()],
            reference: vec![0.5, 0.5],
            current: vec![1.0, 0.0],
        };
        let s = svg(&chart, 300, 120);
        assert!(s.starts_with("<svg"), "{s}");
        assert_eq!(
            s.matches("<rect").count(),
            1 + 4,
            "background plus four bars"
        );
        assert!(!s.contains("<text"));
    }
}
