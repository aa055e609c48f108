//! Charts as inline SVG. plotters draws the plot area (grid, lines, points) with no text at all, so
//! no font library is needed at build or run time; the axis labels are SVG `<text>` written here
//! around that area, where the browser's own fonts render them.

use super::format::{number, time};
use crate::store::EnvelopePoint;
use plotters::prelude::*;
use std::fmt::Write as _;

/// Plot margins inside the SVG: room for y labels on the left and x labels below.
const LEFT: u32 = 58;
const RIGHT: u32 = 12;
const TOP: u32 = 8;
const BOTTOM: u32 = 24;

/// Tableau's ten colours; the HTML legends use the same values.
pub(crate) const PALETTE: [(u8, u8, u8); 10] = [
    (0x1f, 0x77, 0xb4),
    (0xff, 0x7f, 0x0e),
    (0x2c, 0xa0, 0x2c),
    (0xd6, 0x27, 0x28),
    (0x94, 0x67, 0xbd),
    (0x8c, 0x56, 0x4b),
    (0xe3, 0x77, 0xc2),
    (0x7f, 0x7f, 0x7f),
    (0xbc, 0xbd, 0x22),
    (0x17, 0xbe, 0xcf),
];

pub(crate) fn color_hex(i: usize) -> String {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// One run's line: exact points, or min/max pairs per pixel column for long histories.
pub(crate) struct Series {
    pub color: usize,
    pub points: Vec<EnvelopePoint>,
}

/// How x values are labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum XLabels {
    Number,
    /// Milliseconds since the epoch, shown as UTC clock times.
    Time,
    /// Days since 1970-01-01, shown as dates.
    Day,
}

/// 1, 2 or 5 times a power of ten, about `n` steps over `[lo, hi]`.
fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !lo.is_finite() || !hi.is_finite() || hi <= lo {
        return vec![lo];
    }
    #[allow(clippy::cast_precision_loss)]
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let mut out = Vec::new();
    let mut t = (lo / step).ceil() * step;
    while t <= hi + step * 1e-9 && out.len() < 50 {
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    out
}

/// The value range of the data with a little headroom, never empty.
fn padded(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    if hi > lo {
        let pad = (hi - lo) * 0.04;
        (lo - pad, hi + pad)
    } else {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.05 };
        (lo - pad, hi + pad)
    }
}

fn x_label(v: f64, labels: XLabels) -> String {
    match labels {
        #[allow(clippy::cast_possible_truncation)]
        XLabels::Time => time(v as i64).get(11..19).unwrap_or("").to_string(),
        XLabels::Number => number(v),
        #[allow(clippy::cast_possible_truncation)]
        XLabels::Day => crate::calendar::date_of_days(v.round() as i64),
    }
}

/// Escapes text for an SVG text node (labels can be user-provided category names).
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

struct Frame {
    width: u32,
    height: u32,
    x: (f64, f64),
    y: (f64, f64),
}

impl Frame {
    fn plot_size(&self) -> (u32, u32) {
        (
            self.width.saturating_sub(LEFT + RIGHT).max(10),
            self.height.saturating_sub(TOP + BOTTOM).max(10),
        )
    }

    fn px(&self, x: f64) -> f64 {
        let (w, _) = self.plot_size();
        f64::from(LEFT) + (x - self.x.0) / (self.x.1 - self.x.0) * f64::from(w)
    }

    fn py(&self, y: f64) -> f64 {
        let (_, h) = self.plot_size();
        f64::from(TOP) + (1.0 - (y - self.y.0) / (self.y.1 - self.y.0)) * f64::from(h)
    }

    /// Wraps the plotters drawing with tick labels; `x_names` replaces numeric x labels.
    fn wrap(
        &self,
        inner: &str,
        labels: XLabels,
        x_names: Option<&[String]>,
        title: &str,
    ) -> String {
        let mut svg = String::with_capacity(inner.len() + 2048);
        let _ = write!(
            svg,
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{t}" font-size="10" fill="#5f6b7a"><g transform="translate({LEFT},{TOP})">{inner}</g>"##,
            w = self.width,
            h = self.height,
            t = esc(title),
        );
        for t in ticks(self.y.0, self.y.1, 4) {
            let _ = write!(
                svg,
                r#"<text x="{}" y="{:.1}" text-anchor="end" dominant-baseline="middle">{}</text>"#,
                LEFT - 4,
                self.py(t),
                esc(&number(t))
            );
        }
        let base = self.height - BOTTOM + 14;
        if let Some(names) = x_names {
            for (i, name) in names.iter().enumerate() {
                #[allow(clippy::cast_precision_loss)]
                let x = self.px(i as f64);
                let short: String = name.chars().take(14).collect();
                let _ = write!(
                    svg,
                    r#"<text class="x" x="{x:.1}" y="{base}" text-anchor="middle">{}</text>"#,
                    esc(&short)
                );
            }
        } else {
            let (w, _) = self.plot_size();
            let n = (w / 90).max(2) as usize;
            for t in ticks(self.x.0, self.x.1, n) {
                let _ = write!(
                    svg,
                    r#"<text class="x" x="{:.1}" y="{base}" text-anchor="middle">{}</text>"#,
                    self.px(t),
                    esc(&x_label(t, labels))
                );
            }
        }
        svg.push_str("</svg>");
        svg
    }

    /// Light grid lines at the tick positions, drawn by plotters under the data.
    fn grid<DB: DrawingBackend>(
        &self,
        chart: &mut ChartContext<
            '_,
            DB,
            Cartesian2d<
                plotters::coord::types::RangedCoordf64,
                plotters::coord::types::RangedCoordf64,
            >,
        >,
        x_ticks: &[f64],
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let grid = RGBColor(0xe6, 0xe9, 0xee);
        let (x0, x1) = self.x;
        let (y0, y1) = self.y;
        chart.draw_series(
            ticks(y0, y1, 4)
                .into_iter()
                .map(|t| PathElement::new(vec![(x0, t), (x1, t)], grid)),
        )?;
        chart.draw_series(
            x_ticks
                .iter()
                .map(|t| PathElement::new(vec![(*t, y0), (*t, y1)], grid)),
        )?;
        Ok(())
    }
}

/// A line chart of one or more histories. Envelope points become a zig-zag through each column's
/// minimum and maximum, which at one column per pixel draws the band the values span.
pub(crate) fn lines(
    series: &[Series],
    width: u32,
    height: u32,
    labels: XLabels,
    title: &str,
) -> String {
    let all = series.iter().flat_map(|s| &s.points);
    let (mut xl, mut xh, mut yl, mut yh) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for p in all {
        #[allow(clippy::cast_precision_loss)]
        let x = p.x as f64;
        xl = xl.min(x);
        xh = xh.max(x);
        yl = yl.min(p.min);
        yh = yh.max(p.max);
    }
    if xl > xh {
        return empty(width, height, title);
    }
    let frame = Frame {
        width,
        height,
        x: if xh > xl { (xl, xh) } else { padded(xl, xh) },
        y: padded(yl, yh),
    };
    let mut inner = String::new();
    let drawn = draw_lines(&frame, series, &mut inner);
    if drawn.is_err() {
        return empty(width, height, title);
    }
    frame.wrap(&inner, labels, None, title)
}

fn draw_lines(
    frame: &Frame,
    series: &[Series],
    out: &mut String,
) -> Result<(), Box<dyn std::error::Error>> {
    let (w, h) = frame.plot_size();
    let root = SVGBackend::with_string(out, (w, h)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart =
        ChartBuilder::on(&root).build_cartesian_2d(frame.x.0..frame.x.1, frame.y.0..frame.y.1)?;
    let n = (w / 90).max(2) as usize;
    frame.grid(&mut chart, &ticks(frame.x.0, frame.x.1, n))?;
    for s in series {
        let (r, g, b) = PALETTE[s.color % PALETTE.len()];
        let style = RGBColor(r, g, b).stroke_width(if s.points.len() > 400 { 1 } else { 2 });
        #[allow(clippy::cast_precision_loss)]
        let path: Vec<(f64, f64)> = s
            .points
            .iter()
            .flat_map(|p| {
                let x = p.x as f64;
                if p.min == p.max {
                    vec![(x, p.min)]
                } else {
                    vec![(x, p.min), (x, p.max)]
                }
            })
            .collect();
        if path.len() == 1 {
            chart.draw_series(std::iter::once(Circle::new(
                path[0],
                3,
                RGBColor(r, g, b).filled(),
            )))?;
        } else {
            chart.draw_series(std::iter::once(PathElement::new(path, style)))?;
        }
    }
    root.present()?;
    Ok(())
}

/// A scatter plot; with `x_names`, x positions are category indexes.
pub(crate) fn scatter(
    points: &[(f64, f64, usize)],
    x_names: Option<&[String]>,
    width: u32,
    height: u32,
    title: &str,
) -> String {
    if points.is_empty() {
        return empty(width, height, title);
    }
    let fold = |f: fn(&(f64, f64, usize)) -> f64| {
        points
            .iter()
            .map(f)
            .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)))
    };
    let (xl, xh) = fold(|p| p.0);
    let (yl, yh) = fold(|p| p.1);
    let x = match x_names {
        #[allow(clippy::cast_precision_loss)]
        Some(names) => (-0.5, names.len().max(1) as f64 - 0.5),
        None => padded(xl, xh),
    };
    let frame = Frame {
        width,
        height,
        x,
        y: padded(yl, yh),
    };
    let mut inner = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error>> {
        let (w, h) = frame.plot_size();
        let root = SVGBackend::with_string(&mut inner, (w, h)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .build_cartesian_2d(frame.x.0..frame.x.1, frame.y.0..frame.y.1)?;
        let x_ticks = match x_names {
            #[allow(clippy::cast_precision_loss)]
            Some(names) => (0..names.len()).map(|i| i as f64).collect(),
            None => ticks(frame.x.0, frame.x.1, (w / 90).max(2) as usize),
        };
        frame.grid(&mut chart, &x_ticks)?;
        chart.draw_series(points.iter().map(|&(x, y, c)| {
            let (r, g, b) = PALETTE[c % PALETTE.len()];
            Circle::new((x, y), 5, RGBColor(r, g, b).filled())
        }))?;
        root.present()?;
        Ok(())
    })();
    if drawn.is_err() {
        return empty(width, height, title);
    }
    frame.wrap(&inner, XLabels::Number, x_names, title)
}

fn empty(width: u32, height: u32, title: &str) -> String {
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{}"><rect width="100%" height="100%" fill="#fafbfc"/><text x="50%" y="50%" text-anchor="middle" fill="#5f6b7a" font-size="12">No finite values to plot</text></svg>"##,
        esc(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(n: i64) -> Vec<EnvelopePoint> {
        (0..n)
            .map(|i| EnvelopePoint {
                x: i,
                #[allow(clippy::cast_precision_loss)]
                min: (i as f64).sin(),
                #[allow(clippy::cast_precision_loss)]
                max: (i as f64).sin() + 0.5,
            })
            .collect()
    }

    #[test]
    fn ticks_are_round_numbers_inside_the_range() {
        assert_eq!(ticks(0.0, 10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let t = ticks(0.13, 0.87, 4);
        assert!(t.iter().all(|v| (0.13..=0.87).contains(v)), "{t:?}");
    }

    #[test]
    fn a_line_chart_is_one_svg_with_labels_and_one_path_per_series() {
        let svg = lines(
            &[
                Series {
                    color: 0,
                    points: pts(300),
                },
                Series {
                    color: 1,
                    points: pts(10),
                },
            ],
            400,
            200,
            XLabels::Number,
            "loss",
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<text"), "tick labels are drawn");
        let upper = svg.to_uppercase();
        let lines_of = |hex: &str| {
            upper
                .split("<POLYLINE")
                .skip(1)
                .filter(|p| p.split("/>").next().unwrap_or("").contains(hex))
                .count()
        };
        assert_eq!(lines_of("#1F77B4"), 1, "{svg}");
        assert_eq!(lines_of("#FF7F0E"), 1, "{svg}");
    }

    #[test]
    fn no_data_is_a_message_not_an_error() {
        assert!(lines(&[], 300, 100, XLabels::Time, "x").contains("No finite values"));
        assert!(scatter(&[], None, 300, 100, "x").contains("No finite values"));
    }

    #[test]
    fn category_labels_are_escaped() {
        let svg = scatter(&[(0.0, 1.0, 0)], Some(&["<b>".to_string()]), 300, 150, "s");
        assert!(svg.contains("&lt;b&gt;"));
        assert!(!svg.contains("<b>"));
    }
}
