//! The column × date grid of drift flags on the monitoring page, as inline SVG.
//!
//! A year of daily batches over two dozen columns is ~9,000 cells; one `<rect>` each would make the
//! page several hundred kilobytes. Each row is drawn instead as runs of equal cells (a column that
//! drifts from day 60 to day 90 is one rectangle), so the size follows how often flags change, not
//! how many days there are. Each run carries a `<title>`, which browsers show on hover without
//! JavaScript.

use super::charts::esc;
use crate::calendar::date_of_days;
use std::fmt::Write as _;

/// What one cell says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cell {
    /// No batch that day, or the batch stopped before drift was computed.
    Missing,
    Stable,
    Drifted,
}

impl Cell {
    fn class(self) -> &'static str {
        match self {
            Cell::Missing => "hm-none",
            Cell::Stable => "hm-ok",
            Cell::Drifted => "hm-drift",
        }
    }

    fn fill(self) -> &'static str {
        match self {
            Cell::Missing => "#f2f4f7",
            Cell::Stable => "#d1fadf",
            Cell::Drifted => "#d92d20",
        }
    }

    fn word(self) -> &'static str {
        match self {
            Cell::Missing => "no data",
            Cell::Stable => "no drift",
            Cell::Drifted => "drift",
        }
    }
}

/// One row: a column's name and its cells, one per day from `first_day`.
pub(crate) struct Row {
    pub name: String,
    pub cells: Vec<Cell>,
}

const LABEL: u32 = 180;
const ROW: u32 = 14;
const AXIS: u32 = 18;
const PLOT: f64 = 880.0;

/// The grid for `rows`, whose cells start at `first_day` (days since 1970-01-01).
pub(crate) fn svg(rows: &[Row], first_day: i64) -> String {
    let days = rows.iter().map(|r| r.cells.len()).max().unwrap_or(0);
    if rows.is_empty() || days == 0 {
        return String::new();
    }
    #[allow(clippy::cast_precision_loss)]
    let cell = (PLOT / days as f64).clamp(1.0, 16.0);
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let width = LABEL + (cell * days as f64).ceil() as u32 + 8;
    let rows_u32 = u32::try_from(rows.len()).unwrap_or(u32::MAX / ROW);
    let height = rows_u32 * ROW + AXIS;
    let mut out = String::with_capacity(rows.len() * 200);
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" id="heatmap" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="drift flags per column and date" font-size="10" fill="#5f6b7a">"##
    );
    for (i, row) in rows.iter().enumerate() {
        #[allow(clippy::cast_possible_truncation)]
        let y = i as u32 * ROW;
        let short: String = row.name.chars().take(30).collect();
        let _ = write!(
            out,
            r#"<g data-column="{name}"><text x="{x}" y="{ty}" text-anchor="end" dominant-baseline="middle">{short}</text>"#,
            name = esc(&row.name),
            x = LABEL - 6,
            ty = y + ROW / 2,
            short = esc(&short),
        );
        for (start, len, state) in runs(&row.cells) {
            #[allow(clippy::cast_precision_loss)]
            let (x, w) = (f64::from(LABEL) + start as f64 * cell, len as f64 * cell);
            let from = date_of_days(first_day + i64::try_from(start).unwrap_or(0));
            let to = date_of_days(first_day + i64::try_from(start + len - 1).unwrap_or(0));
            let span = if len == 1 {
                from.clone()
            } else {
                format!("{from} – {to}")
            };
            let _ = write!(
                out,
                r#"<rect class="{class}" data-from="{from}" data-to="{to}" x="{x:.1}" y="{y}" width="{w:.1}" height="{h}" fill="{fill}"><title>{name}: {word}, {span}</title></rect>"#,
                class = state.class(),
                fill = state.fill(),
                y = y + 1,
                h = ROW - 2,
                name = esc(&row.name),
                word = state.word(),
            );
        }
        out.push_str("</g>");
    }
    let base = rows_u32 * ROW + 13;
    let labels = (days / 6).max(1);
    for d in (0..days).step_by(labels) {
        #[allow(clippy::cast_precision_loss)]
        let x = f64::from(LABEL) + (d as f64 + 0.5) * cell;
        let date = date_of_days(first_day + i64::try_from(d).unwrap_or(0));
        let _ = write!(
            out,
            r#"<text x="{x:.1}" y="{base}" text-anchor="middle">{date}</text>"#
        );
    }
    out.push_str("</svg>");
    out
}

/// `(start, length, state)` of each run of equal cells.
fn runs(cells: &[Cell]) -> Vec<(usize, usize, Cell)> {
    let mut out: Vec<(usize, usize, Cell)> = Vec::new();
    for (i, &c) in cells.iter().enumerate() {
        match out.last_mut() {
            Some((_, len, state)) if *state == c => *len += 1,
            _ => out.push((i, 1, c)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_neighbours_become_one_rectangle() {
        use Cell::{Drifted as D, Missing as M, Stable as S};
        assert_eq!(
            runs(&[S, S, D, D, D, M, S]),
            vec![(0, 2, S), (2, 3, D), (5, 1, M), (6, 1, S)]
        );
        let year = Row {
            name: "bedrooms".into(),
            cells: (0..365).map(|d| if d < 300 { S } else { D }).collect(),
        };
        let svg = svg(&[year], 20_000);
        assert_eq!(svg.matches("<rect").count(), 2, "{svg}");
        assert!(
            svg.contains(r#"class="hm-drift" data-from="2025-07-31" data-to="2025-10-03""#),
            "{svg}"
        );
    }

    #[test]
    fn names_are_escaped() {
        let row = Row {
            name: "<b>&".into(),
            cells: vec![Cell::Stable],
        };
        let svg = svg(&[row], 0);
        assert!(
            svg.contains("&lt;b&gt;&amp;") && !svg.contains("<b>"),
            "{svg}"
        );
    }
}
