//! A registered model's monitoring page (`/models/NAME/monitoring`): every batch `mltrack monitor`
//! processed, over time. It reads the runs of the model's monitoring experiment and nothing else, so
//! it shows what the job recorded (the names are in `protocol::monitor`), and a batch processed
//! by any version of the job appears as soon as its run is written.

use super::charts::{self, Series, XLabels};
use super::format::number;
use super::heatmap::{self, Cell};
use super::{enc, model_url, render, run_url, version_url, Fields, Nav, UiResult};
use crate::calendar::{date_of_days, days_from_date};
use crate::search::{Clause, Comparator, Entity, FilterValue};
use crate::state::AppState;
use crate::store::{EnvelopePoint, ExperimentSearch, RunSearch};
use askama::Template;
use axum::extract::{Path, RawQuery, State};
use protocol::monitor as m;
use protocol::{Experiment, Run, RunStatus, ViewType};
use std::collections::{BTreeMap, HashMap};

/// Timeline rows per page; the charts and the grid always cover every batch.
const PAGE_SIZE: usize = 100;
/// The most runs read for one page (about 55 years of daily batches).
const MAX_RUNS: u64 = 20_000;
/// Unseen values listed (newest first); the rest are counted.
const MAX_UNSEEN: usize = 200;
/// Evidently's default for the share of drifted columns, for runs that predate the param.
const DEFAULT_SHARE: f64 = 0.5;

/// One batch as its run recorded it.
struct Batch {
    date: String,
    day: Option<i64>,
    run: Run,
    metrics: HashMap<String, f64>,
    params: HashMap<String, String>,
    tags: HashMap<String, String>,
}

impl Batch {
    fn new(run: Run) -> Self {
        let metrics = run
            .data
            .metrics
            .iter()
            .map(|x| (x.key.clone(), x.value))
            .collect();
        let params = run
            .data
            .params
            .iter()
            .map(|p| (p.key.clone(), p.value.clone()))
            .collect();
        let tags: HashMap<String, String> = run
            .data
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect();
        let date = tags.get(m::DATE).cloned().unwrap_or_default();
        Batch {
            day: days_from_date(&date),
            date,
            run,
            metrics,
            params,
            tags,
        }
    }

    fn metric(&self, key: &str) -> Option<f64> {
        self.metrics.get(key).copied()
    }

    fn param(&self, key: &str) -> Option<f64> {
        self.params.get(key).and_then(|v| v.parse().ok())
    }

    fn failed(&self) -> bool {
        matches!(self.run.info.status, RunStatus::Failed | RunStatus::Killed)
    }

    fn drifted(&self) -> bool {
        [m::DATASET_DRIFT, m::PREDICTION_DRIFT, m::MULTIVARIATE_DRIFT]
            .iter()
            .any(|k| self.metric(k) == Some(1.0))
    }

    fn has_drift_numbers(&self) -> bool {
        self.metric(m::DRIFT_SHARE).is_some()
    }

    fn drifted_columns(&self) -> Vec<String> {
        self.tags
            .get(m::DRIFTED)
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default()
    }

    fn unseen(&self) -> Vec<(String, String, u64)> {
        self.tags
            .get(m::UNSEEN)
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default()
    }

    fn artifact(&self, path: &str) -> String {
        format!(
            "/runs/{}/artifacts?path={}",
            self.run.info.run_id,
            enc(path)
        )
    }
}

/// A timeline row, formatted.
struct Line {
    date: String,
    status: &'static str,
    error: String,
    run_url: String,
    version: Option<(String, String)>,
    rows_in: String,
    scored: String,
    skipped: String,
    quarantined: String,
    drift_share: String,
    prediction: String,
    auc: String,
    report_url: Option<String>,
    skipped_url: Option<String>,
    quarantined_url: Option<String>,
}

struct Chart {
    title: &'static str,
    id: &'static str,
    svg: String,
    legend: Vec<(String, String)>,
}

struct Unseen {
    column: String,
    value: String,
    first_seen: String,
    last_seen: String,
    batches: usize,
    rows: u64,
}

struct ColumnDrift {
    column: String,
    first: String,
    last: String,
    batches: usize,
}

#[derive(Template)]
#[template(path = "monitoring.html")]
struct MonitoringPage {
    title: String,
    nav: Nav,
    name: String,
    model_url: String,
    experiment: Option<(String, String)>,
    batches: usize,
    span: String,
    drifted: usize,
    failed: usize,
    charts: Vec<Chart>,
    heatmap: String,
    columns: Vec<ColumnDrift>,
    unseen: Vec<Unseen>,
    unseen_more: usize,
    lines: Vec<Line>,
    prev: Option<String>,
    next: Option<String>,
}

pub(super) async fn page(
    State(s): State<AppState>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> UiResult {
    // A 404 page for a model that does not exist, like the model page.
    s.store.get_registered_model(&name).await?;
    let offset: usize = Fields::query(query.as_deref())
        .get("offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    let experiment = find_experiment(&s, &name).await?;
    let mut batches = match &experiment {
        Some(e) => read_batches(&s, e).await?,
        None => Vec::new(),
    };
    // Newest first; a date processed twice shows its latest run first.
    batches.sort_by(|a, b| {
        b.date
            .cmp(&a.date)
            .then(b.run.info.start_time.cmp(&a.run.info.start_time))
    });
    let mut latest: Vec<&Batch> = Vec::new();
    for b in &batches {
        if b.day.is_some() && latest.last().is_none_or(|l| l.date != b.date) {
            latest.push(b);
        }
    }
    latest.reverse(); // oldest first, for time series
    let (heatmap, columns) = drift_grid(&latest);
    let (unseen, unseen_more) = unseen_values(&latest);
    let link = |o: usize| format!("{}/monitoring?offset={o}", model_url(&name));
    let page = MonitoringPage {
        title: format!("{name} · monitoring"),
        nav: "models",
        model_url: model_url(&name),
        experiment: experiment.map(|e| {
            let url = format!("/experiments/{}", e.experiment_id);
            (e.name, url)
        }),
        batches: batches.len(),
        span: match (latest.first(), latest.last()) {
            (Some(a), Some(b)) if a.date != b.date => format!("{} – {}", a.date, b.date),
            (Some(a), _) => a.date.clone(),
            _ => String::new(),
        },
        drifted: latest.iter().filter(|b| b.drifted()).count(),
        failed: latest.iter().filter(|b| b.failed()).count(),
        charts: charts(&latest),
        heatmap,
        columns,
        unseen,
        unseen_more,
        lines: batches
            .iter()
            .skip(offset)
            .take(PAGE_SIZE)
            .map(|b| line(&name, b))
            .collect(),
        prev: (offset > 0).then(|| link(offset.saturating_sub(PAGE_SIZE))),
        next: (offset + PAGE_SIZE < batches.len()).then(|| link(offset + PAGE_SIZE)),
        name,
    };
    Ok(render(&page))
}

/// The model's monitoring experiment: the default name, else one tagged with the model.
async fn find_experiment(s: &AppState, name: &str) -> UiResult<Option<Experiment>> {
    if let Some(e) = s
        .store
        .get_experiment_by_name(&m::experiment_name(name))
        .await?
    {
        return Ok(Some(e));
    }
    let tagged = s
        .store
        .search_experiments(&ExperimentSearch {
            filter: vec![Clause {
                entity: Entity::Tag,
                key: m::EXPERIMENT_MODEL.into(),
                comparator: Comparator::Eq,
                value: FilterValue::Str(name.to_string()),
            }],
            order_by: Vec::new(),
            view: ViewType::ActiveOnly,
            max_results: 1,
            offset: 0,
        })
        .await?;
    Ok(tagged.items.into_iter().next())
}

async fn read_batches(s: &AppState, e: &Experiment) -> UiResult<Vec<Batch>> {
    let id: i64 = e.experiment_id.parse().unwrap_or(-1);
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let page = s
            .store
            .search_runs(&RunSearch {
                experiment_ids: vec![id],
                filter: Vec::new(),
                order_by: Vec::new(),
                view: ViewType::ActiveOnly,
                max_results: 1000,
                offset,
            })
            .await?;
        out.extend(
            page.items
                .into_iter()
                .map(Batch::new)
                .filter(|b| !b.date.is_empty()),
        );
        match page.next_offset {
            Some(next) if next < MAX_RUNS => offset = next,
            _ => return Ok(out),
        }
    }
}

fn count(v: Option<f64>) -> String {
    v.map(number).unwrap_or_default()
}

fn line(model: &str, b: &Batch) -> Line {
    let positive = |key: &str| b.metric(key).is_some_and(|v| v > 0.0);
    let version = b.tags.get(m::MODEL_VERSION).cloned();
    Line {
        date: b.date.clone(),
        status: if b.failed() {
            "failed"
        } else if b.run.info.status == RunStatus::Running {
            "running"
        } else if b.drifted() {
            "drift"
        } else {
            "ok"
        },
        error: b
            .tags
            .get(protocol::tags::ERROR)
            .cloned()
            .unwrap_or_default(),
        run_url: run_url(&b.run.info.experiment_id, &b.run.info.run_id),
        version: version.map(|v| (version_url(model, &v), v)),
        rows_in: count(b.metric(m::ROWS_IN)),
        scored: count(b.metric(m::ROWS_SCORED)),
        skipped: count(b.metric(m::ROWS_SKIPPED)),
        quarantined: count(b.metric(m::ROWS_QUARANTINED)),
        drift_share: count(b.metric(m::DRIFT_SHARE)),
        prediction: count(b.metric(m::PREDICTION_DRIFT_SCORE)),
        auc: count(b.metric(m::MULTIVARIATE_AUC)),
        report_url: b
            .has_drift_numbers()
            .then(|| b.artifact("drift/drift_report.html")),
        skipped_url: positive(m::ROWS_SKIPPED).then(|| b.artifact("monitor/skipped_sample.csv")),
        quarantined_url: positive(m::ROWS_QUARANTINED)
            .then(|| b.artifact("monitor/quarantined_sample.csv")),
    }
}

/// `(day, value)` points of one metric over the batches that have it.
fn points(batches: &[&Batch], key: &str) -> Vec<EnvelopePoint> {
    batches
        .iter()
        .filter_map(|b| {
            let v = b.metric(key)?;
            Some(EnvelopePoint {
                x: b.day?,
                min: v,
                max: v,
            })
        })
        .collect()
}

/// A flat line at the threshold the newest batch used, across the chart's days.
fn threshold(days: &[EnvelopePoint], value: f64) -> Series {
    let (lo, hi) = (
        days.first().map_or(0, |p| p.x),
        days.last().map_or(0, |p| p.x),
    );
    Series {
        color: 7,
        points: [lo, hi.max(lo + 1)]
            .iter()
            .map(|&x| EnvelopePoint {
                x,
                min: value,
                max: value,
            })
            .collect(),
    }
}

fn legend(items: &[(&str, usize)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(label, color)| (charts::color_hex(*color), (*label).to_string()))
        .collect()
}

fn charts(batches: &[&Batch]) -> Vec<Chart> {
    let mut out = Vec::new();
    let rows: Vec<(&str, &str, usize)> = vec![
        ("scored", m::ROWS_SCORED, 0),
        ("skipped", m::ROWS_SKIPPED, 1),
        ("quarantined", m::ROWS_QUARANTINED, 3),
    ];
    let series: Vec<Series> = rows
        .iter()
        .map(|(_, key, color)| Series {
            color: *color,
            points: points(batches, key),
        })
        .collect();
    out.push(Chart {
        title: "Rows per batch",
        id: "chart-rows",
        svg: charts::lines(&series, 560, 200, XLabels::Day, "rows per batch"),
        legend: legend(&rows.iter().map(|(l, _, c)| (*l, *c)).collect::<Vec<_>>()),
    });
    let newest = |key: &str| batches.iter().rev().find_map(|b| b.param(key));
    let with_threshold = |title, id, key: &str, limit: f64, label: String| {
        let values = points(batches, key);
        let svg = charts::lines(
            &[
                Series {
                    color: 0,
                    points: values.clone(),
                },
                threshold(&values, limit),
            ],
            560,
            200,
            XLabels::Day,
            title,
        );
        Chart {
            title,
            id,
            svg,
            legend: vec![
                (charts::color_hex(0), title.to_string()),
                (charts::color_hex(7), label),
            ],
        }
    };
    let share = newest(m::DRIFT_SHARE_THRESHOLD).unwrap_or(DEFAULT_SHARE);
    out.push(with_threshold(
        "Dataset drift share",
        "chart-share",
        m::DRIFT_SHARE,
        share,
        format!("threshold {}", number(share)),
    ));
    if let Some(limit) = newest(m::PREDICTION_DRIFT_THRESHOLD) {
        let test = batches
            .iter()
            .rev()
            .find_map(|b| b.params.get(m::PREDICTION_DRIFT_TEST).cloned())
            .unwrap_or_default();
        out.push(with_threshold(
            "Prediction drift score",
            "chart-prediction",
            m::PREDICTION_DRIFT_SCORE,
            limit,
            format!("threshold {} ({test})", number(limit)),
        ));
    }
    if batches
        .iter()
        .any(|b| b.metric(m::MULTIVARIATE_AUC).is_some())
    {
        let limit = newest(m::MULTIVARIATE_THRESHOLD).unwrap_or(0.55);
        out.push(with_threshold(
            "Domain classifier ROC AUC",
            "chart-multivariate",
            m::MULTIVARIATE_AUC,
            limit,
            format!("threshold {}", number(limit)),
        ));
    }
    out
}

/// The heatmap over every day from the first batch to the last, and each column's drift span.
fn drift_grid(batches: &[&Batch]) -> (String, Vec<ColumnDrift>) {
    let tested: Vec<&&Batch> = batches.iter().filter(|b| b.has_drift_numbers()).collect();
    let (Some(first), Some(last)) = (
        tested.first().and_then(|b| b.day),
        tested.last().and_then(|b| b.day),
    ) else {
        return (String::new(), Vec::new());
    };
    let days = usize::try_from(last - first + 1).unwrap_or(0);
    let mut rows: BTreeMap<String, Vec<Cell>> = BTreeMap::new();
    for b in &tested {
        for key in b.metrics.keys() {
            if let Some(column) = key.strip_prefix(m::COLUMN_SCORE_PREFIX) {
                rows.entry(column.to_string())
                    .or_insert_with(|| vec![Cell::Missing; days]);
            }
        }
    }
    for b in &tested {
        let Some(day) = b.day.and_then(|d| usize::try_from(d - first).ok()) else {
            continue;
        };
        let drifted = b.drifted_columns();
        for (column, cells) in &mut rows {
            if b.metrics
                .contains_key(&format!("{}{column}", m::COLUMN_SCORE_PREFIX))
            {
                cells[day] = if drifted.contains(column) {
                    Cell::Drifted
                } else {
                    Cell::Stable
                };
            }
        }
    }
    let mut spans: Vec<ColumnDrift> = rows
        .iter()
        .filter_map(|(column, cells)| {
            let flagged: Vec<usize> = (0..cells.len())
                .filter(|&i| cells[i] == Cell::Drifted)
                .collect();
            let day = |i: usize| date_of_days(first + i64::try_from(i).unwrap_or(0));
            Some(ColumnDrift {
                column: column.clone(),
                first: day(*flagged.first()?),
                last: day(*flagged.last()?),
                batches: flagged.len(),
            })
        })
        .collect();
    spans.sort_by(|a, b| b.batches.cmp(&a.batches).then(a.column.cmp(&b.column)));
    let mut grid: Vec<heatmap::Row> = rows
        .into_iter()
        .map(|(name, cells)| heatmap::Row { name, cells })
        .collect();
    let flagged = |r: &heatmap::Row| r.cells.iter().filter(|c| **c == Cell::Drifted).count();
    grid.sort_by(|a, b| flagged(b).cmp(&flagged(a)).then(a.name.cmp(&b.name)));
    (heatmap::svg(&grid, first), spans)
}

/// Each unseen value with the first and last day it was seen, newest first.
fn unseen_values(batches: &[&Batch]) -> (Vec<Unseen>, usize) {
    let mut seen: BTreeMap<(String, String), Unseen> = BTreeMap::new();
    for b in batches {
        for (column, value, rows) in b.unseen() {
            let entry = seen
                .entry((column.clone(), value.clone()))
                .or_insert_with(|| Unseen {
                    column,
                    value,
                    first_seen: b.date.clone(),
                    last_seen: String::new(),
                    batches: 0,
                    rows: 0,
                });
            entry.last_seen.clone_from(&b.date);
            entry.batches += 1;
            entry.rows += rows;
        }
    }
    let mut all: Vec<Unseen> = seen.into_values().collect();
    all.sort_by(|a, b| {
        b.first_seen
            .cmp(&a.first_seen)
            .then(b.rows.cmp(&a.rows))
            .then(a.value.cmp(&b.value))
    });
    let more = all.len().saturating_sub(MAX_UNSEEN);
    all.truncate(MAX_UNSEEN);
    (all, more)
}
