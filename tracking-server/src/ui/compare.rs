//! Compare runs (`/compare?runs=a,b`): params and metrics side by side with differences marked,
//! one metric's histories overlaid, and a scatter of a param against a metric.

use super::charts::{self, color_hex, Series};
use super::format::{duration, exact, time};
use super::run::{axis, sampling_note, x_labels};
use super::{enc, render, run_url, Fields, Nav, UiResult};
use crate::error::ApiError;
use crate::state::AppState;
use crate::validation::validate_run_id;
use askama::Template;
use axum::extract::{RawQuery, State};
use protocol::Run;
use std::collections::BTreeSet;

const MAX_RUNS: usize = 50;
const OVERLAY: (u32, u32) = (900, 320);
const SCATTER: (u32, u32) = (900, 320);

pub(crate) struct Head {
    pub name: String,
    pub url: String,
    pub color: String,
}

pub(crate) struct Line {
    pub key: String,
    pub values: Vec<String>,
    pub differs: bool,
}

#[derive(Template)]
#[template(path = "compare.html")]
struct ComparePage {
    title: String,
    nav: Nav,
    runs_param: String,
    heads: Vec<Head>,
    info: Vec<Line>,
    params: Vec<Line>,
    metrics: Vec<Line>,
    diff_only: bool,
    toggle_diff: String,
    metric_keys: Vec<String>,
    param_keys: Vec<String>,
    metric: String,
    scatter_x: String,
    scatter_y: String,
    x: &'static str,
    overlay: String,
    overlay_note: String,
    scatter: String,
}

fn line(key: &str, values: Vec<String>) -> Line {
    let differs = values.windows(2).any(|w| w[0] != w[1]);
    Line {
        key: key.to_string(),
        values,
        differs,
    }
}

fn keys<'a>(runs: &'a [Run], of: impl Fn(&'a Run) -> Vec<&'a str>) -> Vec<String> {
    let set: BTreeSet<&str> = runs.iter().flat_map(of).collect();
    set.into_iter().map(String::from).collect()
}

fn param<'a>(run: &'a Run, key: &str) -> Option<&'a str> {
    run.data
        .params
        .iter()
        .find(|p| p.key == key)
        .map(|p| p.value.as_str())
}

fn metric(run: &Run, key: &str) -> Option<f64> {
    run.data
        .metrics
        .iter()
        .find(|m| m.key == key)
        .map(|m| m.value)
}

/// `(x, y, run index)` points and, for non-numeric params, the category names on the x axis.
type Scatter = (Vec<(f64, f64, usize)>, Option<Vec<String>>);

fn scatter_points(runs: &[Run], x: &str, y: &str) -> Scatter {
    let pairs: Vec<(usize, &str, f64)> = runs
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((i, param(r, x)?, metric(r, y).filter(|v| v.is_finite())?)))
        .collect();
    let numeric = pairs
        .iter()
        .all(|(_, p, _)| p.parse::<f64>().is_ok_and(f64::is_finite));
    if numeric {
        let pts = pairs
            .iter()
            .map(|(i, p, v)| (p.parse::<f64>().unwrap_or(0.0), *v, *i))
            .collect();
        return (pts, None);
    }
    let names: Vec<String> = pairs
        .iter()
        .map(|(_, p, _)| (*p).to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    #[allow(clippy::cast_precision_loss)]
    let pts = pairs
        .iter()
        .map(|(i, p, v)| {
            let at = names.iter().position(|n| n == p).unwrap_or(0);
            (at as f64, *v, *i)
        })
        .collect();
    (pts, Some(names))
}

pub(super) async fn page(State(s): State<AppState>, RawQuery(query): RawQuery) -> UiResult {
    let fields = Fields::query(query.as_deref());
    let mut ids = fields.list("runs");
    ids.dedup();
    if ids.is_empty() {
        return Err(
            ApiError::invalid("Select at least one run to compare (runs=<id>,<id>)").into(),
        );
    }
    if ids.len() > MAX_RUNS {
        return Err(ApiError::invalid(format!(
            "At most {MAX_RUNS} runs can be compared at once, got {}",
            ids.len()
        ))
        .into());
    }
    for id in &ids {
        validate_run_id(id)?;
    }
    let runs: Vec<Run> = futures_util::future::join_all(ids.iter().map(|id| s.store.get_run(id)))
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let a = axis(&fields);
    let diff_only = fields.flag("diff");
    let per_run = |f: &dyn Fn(&Run) -> String| runs.iter().map(f).collect::<Vec<_>>();
    let info = vec![
        line("Run ID", per_run(&|r| r.info.run_id.clone())),
        line("Experiment", per_run(&|r| r.info.experiment_id.clone())),
        line("Status", per_run(&|r| r.info.status.as_str().to_string())),
        line("Created (UTC)", per_run(&|r| time(r.info.start_time))),
        line(
            "Duration",
            per_run(&|r| duration(r.info.start_time, r.info.end_time)),
        ),
        line("User", per_run(&|r| r.info.user_id.clone())),
    ];
    let param_keys = keys(&runs, |r| {
        r.data.params.iter().map(|p| p.key.as_str()).collect()
    });
    let metric_keys = keys(&runs, |r| {
        r.data.metrics.iter().map(|m| m.key.as_str()).collect()
    });
    let keep = |l: &Line| !diff_only || l.differs;
    let params: Vec<Line> = param_keys
        .iter()
        .map(|k| line(k, per_run(&|r| param(r, k).unwrap_or("").to_string())))
        .filter(keep)
        .collect();
    let metrics: Vec<Line> = metric_keys
        .iter()
        .map(|k| line(k, per_run(&|r| metric(r, k).map(exact).unwrap_or_default())))
        .filter(keep)
        .collect();
    let metric_key = fields
        .get("metric")
        .filter(|m| metric_keys.iter().any(|k| k == m))
        .map(String::from)
        .or_else(|| metric_keys.first().cloned())
        .unwrap_or_default();
    let mut series = Vec::new();
    let mut total = 0;
    let mut drawn = 0;
    if !metric_key.is_empty() {
        let envs = futures_util::future::join_all(runs.iter().map(|r| {
            s.store
                .metric_envelope(&r.info.run_id, &metric_key, a, OVERLAY.0)
        }))
        .await;
        for (i, env) in envs.into_iter().enumerate() {
            let env = env?;
            total += env.total;
            drawn += env.points.len();
            series.push(Series {
                color: i,
                points: env.points,
            });
        }
    }
    let overlay = charts::lines(&series, OVERLAY.0, OVERLAY.1, x_labels(a), &metric_key);
    let scatter_x = fields
        .get("sx")
        .filter(|k| param_keys.iter().any(|p| p == k))
        .map(String::from)
        .or_else(|| param_keys.first().cloned())
        .unwrap_or_default();
    let scatter_y = fields
        .get("sy")
        .filter(|k| metric_keys.iter().any(|p| p == k))
        .map_or_else(|| metric_key.clone(), String::from);
    let (points, names) = scatter_points(&runs, &scatter_x, &scatter_y);
    let scatter = charts::scatter(
        &points,
        names.as_deref(),
        SCATTER.0,
        SCATTER.1,
        &format!("{scatter_y} against {scatter_x}"),
    );
    let runs_param = ids.join(",");
    let toggle_diff = format!(
        "/compare?runs={}&metric={}&sx={}&sy={}&diff={}",
        enc(&runs_param),
        enc(&metric_key),
        enc(&scatter_x),
        enc(&scatter_y),
        if diff_only { "0" } else { "1" }
    );
    let page = ComparePage {
        title: format!("Compare {} runs", runs.len()),
        nav: "experiments",
        heads: runs
            .iter()
            .enumerate()
            .map(|(i, r)| Head {
                name: r.info.run_name.clone(),
                url: run_url(&r.info.experiment_id, &r.info.run_id),
                color: color_hex(i),
            })
            .collect(),
        overlay_note: sampling_note(total, drawn, total == drawn as u64),
        x: if matches!(a, crate::store::HistoryAxis::Time) {
            "time"
        } else {
            "step"
        },
        runs_param,
        info,
        params,
        metrics,
        diff_only,
        toggle_diff,
        metric_keys,
        param_keys,
        metric: metric_key,
        scatter_x,
        scatter_y,
        overlay,
        scatter,
    };
    Ok(render(&page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_differs_when_any_two_values_differ() {
        assert!(!line("a", vec!["1".into(), "1".into()]).differs);
        assert!(line("a", vec!["1".into(), "1".into(), String::new()]).differs);
    }
}
