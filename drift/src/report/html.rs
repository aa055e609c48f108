//! The HTML report: one file, no scripts, no external resources, so it opens offline and from an artifact
//! store. Charts are inline SVG (a few KB each); 24 columns come to well under 500 KB, where Evidently's
//! report is ~5 MB of inlined JavaScript.

use std::fmt::Write;

use super::charts::{svg, Chart, CURRENT_RGB, REFERENCE_RGB};
use super::DriftReport;
use crate::multivariate::Multivariate;
use crate::options::Correction;

const CHART_WIDTH: u32 = 640;
const CHART_HEIGHT: u32 = 160;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn num(x: f64) -> String {
    if x.is_nan() {
        "n/a".to_owned()
    } else if x != 0.0 && (x.abs() < 1e-3 || x.abs() >= 1e6) {
        format!("{x:.3e}")
    } else {
        format!("{x:.4}")
    }
}

fn hex((r, g, b): (u8, u8, u8)) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:960px}\
table{border-collapse:collapse;width:100%}th,td{padding:4px 8px;border-bottom:1px solid #ddd;text-align:left}\
td.n{text-align:right;font-variant-numeric:tabular-nums}.yes{color:#b00020;font-weight:600}.no{color:#2e7d32}\
.box{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}.axis{display:flex;justify-content:space-between;\
font-size:12px;color:#555;width:640px}.cats{font-size:12px;color:#555;width:640px}section{margin:1.5em 0}";

/// The domain classifier's verdict, its AUC and the columns it split on, or why it did not run.
fn multivariate(h: &mut String, m: Option<&Multivariate>) {
    match m {
        None => {}
        Some(Multivariate::Skipped { skipped }) => {
            let _ = write!(
                h,
                "<p>Multivariate drift: not tested ({}).</p>",
                esc(skipped)
            );
        }
        Some(Multivariate::Tested(m)) => {
            let v = if m.drift_detected {
                "<span class=\"yes\">detected</span>"
            } else {
                "<span class=\"no\">not detected</span>"
            };
            let features: Vec<String> = m
                .features
                .iter()
                .map(|f| format!("<code>{}</code> {}", esc(&f.column), num(f.importance)))
                .collect();
            let _ = write!(
                h,
                "<p>Multivariate drift: {v}. A domain classifier told reference from current rows with \
                 ROC AUC {} on held-out rows (drift when &gt; {}; {} rows a side).{}</p>",
                num(m.roc_auc),
                num(m.threshold),
                m.rows_per_side,
                if features.is_empty() {
                    String::new()
                } else {
                    format!(" It relied most on {}.", features.join(", "))
                }
            );
        }
    }
}

/// Renders the whole page.
pub(crate) fn render(report: &DriftReport) -> String {
    let d = &report.dataset;
    let mut h = String::with_capacity(64 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Drift report</title>\
         <style>{STYLE}</style></head><body><h1>Drift report</h1>"
    );
    let verdict = if d.dataset_drift {
        "<span class=\"yes\">detected</span>"
    } else {
        "<span class=\"no\">not detected</span>"
    };
    let _ = write!(
        h,
        "<p>Dataset drift: {verdict}. {} of {} columns drifted (share {}, drift when ≥ {}).</p>",
        d.number_of_drifted_columns,
        d.number_of_columns,
        num(d.share_of_drifted_columns),
        num(d.drift_share)
    );
    if let Some(p) = &report.prediction {
        let v = if p.drift_detected {
            "<span class=\"yes\">drifted</span>"
        } else {
            "<span class=\"no\">stable</span>"
        };
        let _ = write!(
            h,
            "<p>Prediction <code>{}</code>: {v} ({} = {}).</p>",
            esc(&p.column),
            p.stattest.display_name(),
            num(p.drift_score)
        );
    }
    multivariate(&mut h, report.multivariate.as_ref());
    if report.correction != Correction::None {
        let name = if report.correction == Correction::Bonferroni {
            "Bonferroni"
        } else {
            "Benjamini–Hochberg (FDR)"
        };
        let _ = write!(h, "<p>p-values corrected with {name}.</p>");
    }

    // Drifted columns first, each group in report order.
    let mut order: Vec<usize> = (0..report.columns.len()).collect();
    order.sort_by_key(|&i| !report.columns[i].drift_detected);

    h.push_str(
        "<table><thead><tr><th>column</th><th>type</th><th>test</th><th>threshold</th><th>score</th>\
         <th>drift</th></tr></thead><tbody>",
    );
    for &i in &order {
        let c = &report.columns[i];
        let score = match c.adjusted_p_value {
            Some(q) => format!("{} (adj. {})", num(c.drift_score), num(q)),
            None => num(c.drift_score),
        };
        let drift = if c.drift_detected {
            "<td class=\"yes\">yes</td>"
        } else {
            "<td class=\"no\">no</td>"
        };
        let _ = write!(
            h,
            "<tr><td><a href=\"#c{i}\">{}</a></td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{score}</td>{drift}</tr>",
            esc(&c.name),
            c.column_type.as_str(),
            c.stattest.display_name(),
            num(c.threshold),
        );
    }
    h.push_str("</tbody></table>");
    let _ = write!(
        h,
        "<p><span class=\"box\" style=\"background:{}\"></span>reference<span class=\"box\" style=\"background:{}\"></span>current \
         (bars are shares of each side's non-missing rows)</p>",
        hex(REFERENCE_RGB),
        hex(CURRENT_RGB)
    );

    for &i in &order {
        let c = &report.columns[i];
        let _ = write!(
            h,
            "<section id=\"c{i}\"><h3>{}</h3><p>{} = {} · {} reference rows, {} current rows</p>{}",
            esc(&c.name),
            c.stattest.display_name(),
            num(c.drift_score),
            c.reference_rows,
            c.current_rows,
            svg(&c.chart, CHART_WIDTH, CHART_HEIGHT)
        );
        match &c.chart {
            Chart::Numeric { edges, .. } => {
                let lo = edges.first().copied().unwrap_or(f64::NAN);
                let hi = edges.last().copied().unwrap_or(f64::NAN);
                let mid = f64::midpoint(lo, hi);
                let _ = write!(
                    h,
                    "<div class=\"axis\"><span>{}</span><span>{}</span><span>{}</span></div>",
                    num(lo),
                    num(mid),
                    num(hi)
                );
            }
            Chart::Categorical { labels, .. } => {
                let list: Vec<String> = labels
                    .iter()
                    .enumerate()
                    .map(|(k, l)| format!("{}. {}", k + 1, esc(l)))
                    .collect();
                let _ = write!(
                    h,
                    "<div class=\"cats\">bars left to right: {}</div>",
                    list.join(", ")
                );
            }
        }
        h.push_str("</section>");
    }
    h.push_str("</body></html>\n");
    h
}
