//! One run (`/experiments/{id}/runs/{run_id}`, the path MLflow's hash links use): info, description,
//! params, latest metrics, tags, parent and children, artifacts, a chart per metric, and the registered
//! versions made from it. `/runs/{run_id}/metric` draws one history large.

use super::artifacts::{tree, Entry};
use super::charts::{self, Series, XLabels};
use super::format::{duration, exact, time};
use super::runs::{tag, PARENT_TAG};
use super::{
    enc, render, render_status, run_url, see_other, version_url, Fields, Nav, Typed, UiError,
    UiResult,
};
use crate::error::ApiError;
use crate::search::{Clause, Comparator, Entity, FilterValue};
use crate::service::runs::NOTE_TAG;
use crate::state::AppState;
use crate::store::registry::RegistrySearch;
use crate::store::{HistoryAxis, RunSearch};
use crate::validation::{experiment_id, validate_run_id};
use askama::Template;
use axum::extract::{Path, RawQuery, State};
use protocol::{KeyValue, Run, ViewType};

/// Charts drawn on the run page; further metrics link to their own chart page.
const MAX_INLINE_CHARTS: usize = 24;
const SMALL: (u32, u32) = (380, 190);
const LARGE: (u32, u32) = (1100, 420);

pub(crate) struct MetricRow {
    pub key: String,
    pub value: String,
    pub step: i64,
    pub time: String,
    pub chart_url: String,
}

pub(crate) struct Chart {
    pub key: String,
    pub url: String,
    pub svg: String,
    pub note: String,
}

pub(crate) struct Link {
    pub label: String,
    pub url: String,
    pub extra: String,
}

#[derive(Template)]
#[template(path = "run.html")]
struct RunPage {
    title: String,
    nav: Nav,
    run: Run,
    experiment_name: String,
    status: &'static str,
    created: String,
    ended: String,
    duration: String,
    source: String,
    description: String,
    parent: Option<Link>,
    children: Vec<Link>,
    params: Vec<KeyValue>,
    metrics: Vec<MetricRow>,
    tags: Vec<KeyValue>,
    system_tags: Vec<KeyValue>,
    charts: Vec<Chart>,
    more_charts: usize,
    x: &'static str,
    x_other: &'static str,
    entries: Vec<Entry>,
    truncated: bool,
    selected: String,
    versions: Vec<Link>,
    datasets: Vec<String>,
    deleted: bool,
    /// A refused edit: the API's message, shown above the forms.
    error: Option<String>,
    /// What the refused form held, so it is not lost.
    typed: Typed,
}

pub(crate) fn axis(fields: &Fields) -> HistoryAxis {
    if fields.get("x") == Some("time") {
        HistoryAxis::Time
    } else {
        HistoryAxis::Step
    }
}

fn axis_name(a: HistoryAxis) -> &'static str {
    match a {
        HistoryAxis::Step => "step",
        HistoryAxis::Time => "time",
    }
}

pub(crate) fn x_labels(a: HistoryAxis) -> XLabels {
    match a {
        HistoryAxis::Step => XLabels::Number,
        HistoryAxis::Time => XLabels::Time,
    }
}

fn metric_url(run_id: &str, key: &str, a: HistoryAxis) -> String {
    format!("/runs/{run_id}/metric?key={}&x={}", enc(key), axis_name(a))
}

/// "100,000 points, drawn as 1,060 min/max columns" — says whether the chart is down-sampled.
pub(crate) fn sampling_note(total: u64, points: usize, exact_points: bool) -> String {
    if exact_points {
        format!("{total} points")
    } else {
        format!("{total} points, drawn as {points} min/max pixel columns")
    }
}

pub(super) async fn redirect(State(s): State<AppState>, Path(run_id): Path<String>) -> UiResult {
    validate_run_id(&run_id)?;
    let run = s.store.get_run(&run_id).await?;
    Ok(see_other(&run_url(&run.info.experiment_id, &run_id)))
}

pub(super) async fn page(
    State(s): State<AppState>,
    Path((exp, run_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> UiResult {
    experiment_id(&exp)?;
    validate_run_id(&run_id)?;
    let fields = Fields::query(query.as_deref());
    let run = s.store.get_run(&run_id).await?;
    if run.info.experiment_id != exp {
        return Ok(see_other(&run_url(&run.info.experiment_id, &run_id)));
    }
    run_page(&s, run, axis(&fields), None).await
}

/// A refused edit of a run: the API's error and what the form held.
pub(crate) struct Refusal {
    pub error: UiError,
    pub typed: Typed,
}

/// Renders the run page, with a refused edit's message and its status code when there is one.
pub(crate) async fn run_page(
    s: &AppState,
    run: Run,
    a: HistoryAxis,
    refusal: Option<Refusal>,
) -> UiResult {
    let run_id = run.info.run_id.clone();
    let exp_id = experiment_id(&run.info.experiment_id)?;
    let experiment = s.store.get_experiment(exp_id).await?;
    let children = s
        .store
        .search_runs(&RunSearch {
            experiment_ids: vec![exp_id],
            filter: vec![Clause {
                entity: Entity::Tag,
                key: PARENT_TAG.into(),
                comparator: Comparator::Eq,
                value: FilterValue::Str(run_id.clone()),
            }],
            order_by: Vec::new(),
            view: ViewType::All,
            max_results: 200,
            offset: 0,
        })
        .await?
        .items;
    let parent = match tag(&run, PARENT_TAG) {
        Some(p) => Some(match s.store.get_run(p).await {
            Ok(pr) => Link {
                label: pr.info.run_name.clone(),
                url: run_url(&pr.info.experiment_id, p),
                extra: p.to_string(),
            },
            Err(_) => Link {
                label: p.to_string(),
                url: format!("/runs/{p}"),
                extra: "not found".into(),
            },
        }),
        None => None,
    };
    let mut metrics = run.data.metrics.clone();
    metrics.sort_by(|x, y| x.key.cmp(&y.key));
    let chart_keys: Vec<String> = metrics
        .iter()
        .take(MAX_INLINE_CHARTS)
        .map(|m| m.key.clone())
        .collect();
    let envelopes = futures_util::future::join_all(
        chart_keys
            .iter()
            .map(|k| s.store.metric_envelope(&run_id, k, a, SMALL.0)),
    )
    .await;
    let mut charts = Vec::with_capacity(chart_keys.len());
    for (key, env) in chart_keys.iter().zip(envelopes) {
        let env = env?;
        let exact_points = env.points.len() as u64 == env.total;
        let note = sampling_note(env.total, env.points.len(), exact_points);
        let series = [Series {
            color: 0,
            points: env.points,
        }];
        charts.push(Chart {
            key: key.clone(),
            url: metric_url(&run_id, key, a),
            svg: charts::lines(&series, SMALL.0, SMALL.1, x_labels(a), key),
            note,
        });
    }
    let (entries, truncated) = tree(s, &run).await?;
    let versions = s
        .store
        .search_model_versions(&RegistrySearch {
            filter: vec![Clause {
                entity: Entity::Attribute,
                key: "run_id".into(),
                comparator: Comparator::Eq,
                value: FilterValue::Str(run_id.clone()),
            }],
            order_by: Vec::new(),
            max_results: 100,
            offset: 0,
        })
        .await?
        .items
        .into_iter()
        .map(|v| Link {
            label: format!("{} v{}", v.name, v.version),
            url: version_url(&v.name, &v.version),
            extra: v.current_stage,
        })
        .collect();
    let mut params = run.data.params.clone();
    params.sort_by(|x, y| x.key.cmp(&y.key));
    let (mut system_tags, mut tags): (Vec<KeyValue>, Vec<KeyValue>) = run
        .data
        .tags
        .iter()
        .cloned()
        .partition(|t| t.key.starts_with("mlflow."));
    tags.sort_by(|x, y| x.key.cmp(&y.key));
    system_tags.sort_by(|x, y| x.key.cmp(&y.key));
    let info = &run.info;
    let page = RunPage {
        title: format!("{} · run", info.run_name),
        nav: "experiments",
        experiment_name: experiment.name,
        status: info.status.as_str(),
        created: time(info.start_time),
        ended: info.end_time.map(time).unwrap_or_default(),
        duration: duration(info.start_time, info.end_time),
        source: tag(&run, "mlflow.source.name").unwrap_or("").to_string(),
        description: tag(&run, NOTE_TAG).unwrap_or("").to_string(),
        parent,
        children: children
            .iter()
            .map(|c| Link {
                label: c.info.run_name.clone(),
                url: run_url(&c.info.experiment_id, &c.info.run_id),
                extra: c.info.status.as_str().to_string(),
            })
            .collect(),
        params,
        metrics: metrics
            .iter()
            .map(|m| MetricRow {
                key: m.key.clone(),
                value: exact(m.value),
                step: m.step,
                time: time(m.timestamp),
                chart_url: metric_url(&run_id, &m.key, a),
            })
            .collect(),
        tags,
        system_tags,
        more_charts: metrics.len().saturating_sub(MAX_INLINE_CHARTS),
        charts,
        x: axis_name(a),
        x_other: axis_name(match a {
            HistoryAxis::Step => HistoryAxis::Time,
            HistoryAxis::Time => HistoryAxis::Step,
        }),
        entries,
        truncated,
        selected: String::new(),
        versions,
        datasets: run
            .inputs
            .dataset_inputs
            .iter()
            .map(|d| format!("{} ({})", d.dataset.name, d.dataset.digest))
            .collect(),
        deleted: run.info.lifecycle_stage == "deleted",
        run,
        typed: Typed::default(),
        error: None,
    };
    let mut page = page;
    let status = match refusal {
        Some(r) => {
            page.error = Some(r.error.message);
            page.typed = r.typed;
            r.error.status
        }
        None => axum::http::StatusCode::OK,
    };
    Ok(render_status(status, &page))
}

#[derive(Template)]
#[template(path = "metric.html")]
struct MetricPage {
    title: String,
    nav: Nav,
    key: String,
    run_name: String,
    run_url: String,
    experiment_id: String,
    svg: String,
    note: String,
    x: &'static str,
    step_url: String,
    time_url: String,
}

pub(super) async fn metric_page(
    State(s): State<AppState>,
    Path(run_id): Path<String>,
    RawQuery(query): RawQuery,
) -> UiResult {
    validate_run_id(&run_id)?;
    let fields = Fields::query(query.as_deref());
    let key = fields
        .get("key")
        .ok_or_else(|| ApiError::missing("key"))?
        .to_string();
    let a = axis(&fields);
    let run = s.store.get_run(&run_id).await?;
    if !run.data.metrics.iter().any(|m| m.key == key) {
        return Err(ApiError::not_found(format!("Run '{run_id}' has no metric '{key}'")).into());
    }
    let env = s.store.metric_envelope(&run_id, &key, a, LARGE.0).await?;
    let exact_points = env.points.len() as u64 == env.total;
    let note = sampling_note(env.total, env.points.len(), exact_points);
    let svg = charts::lines(
        &[Series {
            color: 0,
            points: env.points,
        }],
        LARGE.0,
        LARGE.1,
        x_labels(a),
        &key,
    );
    let page = MetricPage {
        title: format!("{key} · {}", run.info.run_name),
        nav: "experiments",
        run_url: run_url(&run.info.experiment_id, &run_id),
        experiment_id: run.info.experiment_id.clone(),
        run_name: run.info.run_name.clone(),
        step_url: metric_url(&run_id, &key, HistoryAxis::Step),
        time_url: metric_url(&run_id, &key, HistoryAxis::Time),
        x: axis_name(a),
        key,
        svg,
        note,
    };
    Ok(render(&page))
}
