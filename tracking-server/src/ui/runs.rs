//! The runs table of an experiment (`/experiments/{id}`): server-side filter, sort and paging through
//! the store's search, nested runs grouped under their parent, a column picker, and CSV export.
//!
//! Without a filter the table pages over top-level runs and fetches their children in one more
//! search, so a parent and its children always share a page. With a filter every matching run is a
//! row, and children are grouped under a parent that happens to be on the same page.

pub(crate) use super::columns::{tag, Column, Kind, Options};
use super::format::{basename, duration, time};
use super::{render_status, run_url, Fields, Nav, Typed, UiError, UiResult};
use crate::search::{
    parse_run_filter, parse_run_order_by, Clause, Comparator, Entity, FilterValue, OrderBy,
};
use crate::state::AppState;
use crate::store::RunSearch;
use crate::validation::experiment_id;
use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use protocol::Run;
use std::collections::{BTreeSet, HashMap, HashSet};

pub(crate) use protocol::tags::PARENT_RUN_ID as PARENT_TAG;
const SOURCE_TAG: &str = "mlflow.source.name";
const USER_TAG: &str = "mlflow.user";
/// Columns shown when none are picked: enough to compare runs, few enough that a page of 100 runs
/// with hundreds of keys stays small.
const DEFAULT_METRIC_COLUMNS: usize = 4;
/// The run count reads this many runs past the page and no more: "runs 1–100 of more than 10,100"
/// costs milliseconds where an exact count of a million-run experiment costs a read of every run.
const COUNT_AHEAD: u64 = 10_000;
const DEFAULT_PARAM_COLUMNS: usize = 4;
/// Children fetched for one page of parents; more are reachable through the parent's own filter.
const MAX_CHILDREN: u64 = 1000;

/// The search grammar's `order_by` item for a column: keys are backquoted so that any key parses.
fn order_item(entity_prefix: &str, key: &str, ascending: bool) -> String {
    let dir = if ascending { "ASC" } else { "DESC" };
    if entity_prefix == "attributes" {
        format!("attributes.{key} {dir}")
    } else {
        format!("{entity_prefix}.`{key}` {dir}")
    }
}

pub(crate) struct Header {
    pub label: String,
    pub kind: &'static str,
    /// Server-side sort link; `None` for columns the search grammar cannot order by.
    pub href: Option<String>,
    pub sorted: bool,
    pub ascending: bool,
    pub numeric: bool,
}

pub(crate) struct Row {
    pub id: String,
    pub url: String,
    pub name: String,
    pub created: String,
    pub created_ms: i64,
    pub duration: String,
    pub duration_ms: String,
    pub status: &'static str,
    pub user: String,
    pub source: String,
    pub cells: Vec<String>,
    /// 0 for top-level rows, 1 and more for nested runs.
    pub depth: usize,
    /// The top-level run this row is nested under (for collapsing), if any.
    pub root: Option<String>,
    pub children: usize,
    /// A nested run shown at the top level (its parent is not on this page, e.g. under a filter).
    pub parent: Option<String>,
}

#[derive(Template)]
#[template(path = "runs.html")]
struct RunsPage {
    title: String,
    nav: Nav,
    experiment_id: String,
    experiment_name: String,
    description: String,
    deleted: bool,
    opts: Options,
    error: Option<String>,
    /// A refused description or tag edit: the API's message, and what its form held.
    edit_error: Option<String>,
    typed: Typed,
    /// The experiment's own tags (not `mlflow.*`), which the page edits.
    tags: Vec<(String, String)>,
    headers: Vec<Header>,
    base_columns: usize,
    rows: Vec<Row>,
    total: u64,
    /// "more than N" once the count stops at its bound, else the count.
    total_text: String,
    first: u64,
    last: u64,
    complete: bool,
    prev: Option<String>,
    next: Option<String>,
    csv: String,
    picker: Vec<(String, String, bool)>,
    nested: bool,
}

/// Orders the page's runs for display: each run followed by its children (depth-first), children
/// found on the page or in `extra`.
pub(crate) fn group(runs: Vec<Run>, extra: Vec<Run>) -> Vec<(Run, usize, Option<String>)> {
    let on_page: HashSet<String> = runs
        .iter()
        .chain(&extra)
        .map(|r| r.info.run_id.clone())
        .collect();
    let mut children: HashMap<String, Vec<Run>> = HashMap::new();
    let mut top = Vec::new();
    for run in runs.into_iter().chain(extra) {
        match tag(&run, PARENT_TAG).filter(|p| on_page.contains(*p) && *p != run.info.run_id) {
            Some(parent) => children.entry(parent.to_string()).or_default().push(run),
            None => top.push(run),
        }
    }
    let mut out = Vec::new();
    for run in top {
        walk(run, 0, None, &mut children, &mut out);
    }
    // A cycle of parent tags leaves runs unreached; show them flat rather than lose them.
    for (_, rest) in children.drain() {
        out.extend(rest.into_iter().map(|r| (r, 0, None)));
    }
    out
}

/// Depth-first: each run, then its children, indented one level deeper.
fn walk(
    run: Run,
    depth: usize,
    root: Option<String>,
    children: &mut HashMap<String, Vec<Run>>,
    out: &mut Vec<(Run, usize, Option<String>)>,
) {
    let kids = children.remove(&run.info.run_id).unwrap_or_default();
    let root_for_kids = root.clone().or_else(|| Some(run.info.run_id.clone()));
    out.push((run, depth, root));
    for kid in kids {
        walk(kid, depth + 1, root_for_kids.clone(), children, out);
    }
}

fn row(run: &Run, depth: usize, root: Option<String>, columns: &[Column], kids: usize) -> Row {
    let info = &run.info;
    let user = if info.user_id.is_empty() {
        tag(run, USER_TAG).unwrap_or("").to_string()
    } else {
        info.user_id.clone()
    };
    Row {
        url: run_url(&info.experiment_id, &info.run_id),
        id: info.run_id.clone(),
        name: info.run_name.clone(),
        created: time(info.start_time),
        created_ms: info.start_time,
        duration: duration(info.start_time, info.end_time),
        duration_ms: info
            .end_time
            .filter(|e| *e >= info.start_time)
            .map(|e| (e - info.start_time).to_string())
            .unwrap_or_default(),
        status: info.status.as_str(),
        user,
        source: tag(run, SOURCE_TAG).map_or("", basename).to_string(),
        cells: columns.iter().map(|c| c.value(run)).collect(),
        depth,
        root,
        children: kids,
        parent: tag(run, PARENT_TAG)
            .filter(|_| depth == 0)
            .map(|p| format!("/runs/{p}")),
    }
}

/// Default columns: the first few metric and param keys seen on the page.
fn default_columns(runs: &[&Run]) -> Vec<Column> {
    let metrics: BTreeSet<&str> = runs
        .iter()
        .flat_map(|r| r.data.metrics.iter().map(|m| m.key.as_str()))
        .collect();
    let params: BTreeSet<&str> = runs
        .iter()
        .flat_map(|r| r.data.params.iter().map(|p| p.key.as_str()))
        .collect();
    let col = |kind| {
        move |key: &&str| Column {
            kind,
            key: (*key).to_string(),
        }
    };
    metrics
        .iter()
        .take(DEFAULT_METRIC_COLUMNS)
        .map(col(Kind::Metric))
        .chain(
            params
                .iter()
                .take(DEFAULT_PARAM_COLUMNS)
                .map(col(Kind::Param)),
        )
        .collect()
}

/// Every key on the page (plus the picked ones), for the column picker.
fn picker(runs: &[&Run], columns: &[Column]) -> Vec<(String, String, bool)> {
    let mut all: BTreeSet<Column> = columns.iter().cloned().collect();
    for r in runs {
        let d = &r.data;
        all.extend(d.metrics.iter().map(|m| Column {
            kind: Kind::Metric,
            key: m.key.clone(),
        }));
        all.extend(d.params.iter().map(|p| Column {
            kind: Kind::Param,
            key: p.key.clone(),
        }));
        all.extend(
            d.tags
                .iter()
                .filter(|t| !t.key.starts_with("mlflow."))
                .map(|t| Column {
                    kind: Kind::Tag,
                    key: t.key.clone(),
                }),
        );
    }
    all.into_iter()
        .map(|c| {
            let on = columns.contains(&c);
            (c.id(), c.key, on)
        })
        .collect()
}

fn headers(opts: &Options, order: Option<&OrderBy>, columns: &[Column]) -> Vec<Header> {
    let is = |entity: Entity, key: &str| order.is_some_and(|o| o.entity == entity && o.key == key);
    let mut out = Vec::new();
    let mut push = |label: String, kind: &'static str, entity: Entity, key: &str, numeric| {
        let sorted = if entity == Entity::Attribute && key == "start_time" {
            order.is_none() || is(entity, key)
        } else {
            is(entity, key)
        };
        let ascending = sorted && order.is_some_and(|o| o.ascending);
        let prefix = match entity {
            Entity::Metric => "metrics",
            Entity::Param => "params",
            Entity::Tag => "tags",
            _ => "attributes",
        };
        // A click on the sorted column flips it; a new column starts descending.
        let next = order_item(prefix, key, sorted && !ascending);
        let href =
            (!key.is_empty()).then(|| format!("?{}", opts.query(Some(&next), Some(0), columns)));
        out.push(Header {
            label,
            kind,
            href,
            sorted,
            ascending,
            numeric,
        });
    };
    push("Run Name".into(), "", Entity::Attribute, "run_name", false);
    push("Created".into(), "", Entity::Attribute, "start_time", true);
    push("Duration".into(), "", Entity::Attribute, "", true);
    push("Status".into(), "", Entity::Attribute, "status", false);
    push("User".into(), "", Entity::Attribute, "user_id", false);
    push("Source".into(), "", Entity::Tag, SOURCE_TAG, false);
    for c in columns {
        push(
            c.key.clone(),
            c.kind.prefix(),
            c.kind.entity(),
            &c.key,
            c.kind == Kind::Metric,
        );
    }
    out
}

pub(super) async fn page(
    State(s): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> UiResult {
    runs_page(&s, &id, &Fields::query(query.as_deref()), None).await
}

/// Renders an experiment's runs; `refused` is a refused edit (error, what its form held).
pub(super) async fn runs_page(
    s: &AppState,
    id: &str,
    fields: &Fields,
    refused: Option<(UiError, Typed)>,
) -> UiResult {
    let opts = Options::from(fields);
    let exp_id = experiment_id(id)?;
    let experiment = s.store.get_experiment(exp_id).await?;
    let parsed = parse_run_filter(&opts.filter).and_then(|filter| {
        let order = if opts.order.is_empty() {
            Vec::new()
        } else {
            parse_run_order_by(std::slice::from_ref(&opts.order))?
        };
        Ok((filter, order))
    });
    let (mut filter, order_by, error) = match parsed {
        Ok((f, o)) => (f, o, None),
        Err(e) => (Vec::new(), Vec::new(), Some(e.0)),
    };
    let nested = opts.filter.is_empty();
    if nested {
        filter.push(Clause {
            entity: Entity::Tag,
            key: PARENT_TAG.into(),
            comparator: Comparator::IsNull,
            value: FilterValue::Null,
        });
    }
    let search = RunSearch {
        experiment_ids: vec![exp_id],
        filter,
        order_by: order_by.clone(),
        view: opts.view_type(),
        max_results: opts.size,
        offset: opts.offset,
    };
    let (runs, extra, total) = if error.is_some() {
        (Vec::new(), Vec::new(), 0)
    } else {
        let at_most = opts.offset + opts.size + COUNT_AHEAD + 1;
        let (page, total) = tokio::join!(
            s.store.search_runs(&search),
            s.store.count_runs(&search, at_most)
        );
        let (page, total) = (page?, total?);
        let extra = if nested && !page.items.is_empty() {
            let ids = page.items.iter().map(|r| r.info.run_id.clone()).collect();
            s.store
                .search_runs(&RunSearch {
                    filter: vec![Clause {
                        entity: Entity::Tag,
                        key: PARENT_TAG.into(),
                        comparator: Comparator::In,
                        value: FilterValue::List(ids),
                    }],
                    max_results: MAX_CHILDREN,
                    offset: 0,
                    ..search.clone()
                })
                .await?
                .items
        } else {
            Vec::new()
        };
        (page.items, extra, total)
    };
    let shown = runs.len() as u64;
    let all_runs: Vec<&Run> = runs.iter().chain(&extra).collect();
    let columns = opts
        .columns
        .clone()
        .unwrap_or_else(|| default_columns(&all_runs));
    let picker = picker(&all_runs, &columns);
    drop(all_runs);
    let grouped = group(runs, extra);
    let mut kids: HashMap<String, usize> = HashMap::new();
    for (_, _, root) in &grouped {
        if let Some(root) = root {
            *kids.entry(root.clone()).or_default() += 1;
        }
    }
    let rows: Vec<Row> = grouped
        .iter()
        .map(|(run, depth, root)| {
            let n = kids.get(&run.info.run_id).copied().unwrap_or(0);
            row(run, *depth, root.clone(), &columns, n)
        })
        .collect();
    let next_offset = opts.offset + shown;
    let link = |offset: u64| format!("?{}", opts.query(None, Some(offset), &columns));
    let page = RunsPage {
        title: format!("{} · runs", experiment.name),
        nav: "experiments",
        experiment_id: experiment.experiment_id.clone(),
        experiment_name: experiment.name.clone(),
        description: experiment
            .tags
            .iter()
            .find(|t| t.key == "mlflow.note.content")
            .map(|t| t.value.clone())
            .unwrap_or_default(),
        deleted: experiment.lifecycle_stage == "deleted",
        headers: headers(&opts, order_by.first(), &columns),
        base_columns: 6,
        total,
        total_text: if total > opts.offset + opts.size + COUNT_AHEAD {
            format!("more than {}", total - 1)
        } else {
            total.to_string()
        },
        first: if shown == 0 { 0 } else { opts.offset + 1 },
        last: next_offset,
        complete: opts.offset == 0 && next_offset >= total,
        prev: (opts.offset > 0).then(|| link(opts.offset.saturating_sub(opts.size))),
        next: (next_offset < total).then(|| link(next_offset)),
        csv: format!(
            "/experiments/{}/runs.csv?{}",
            experiment.experiment_id,
            opts.query(None, Some(0), opts.columns.as_deref().unwrap_or(&[]))
        ),
        picker,
        nested,
        rows,
        error,
        opts,
        tags: experiment
            .tags
            .iter()
            .filter(|t| !t.key.starts_with("mlflow."))
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect(),
        edit_error: refused.as_ref().map(|(e, _)| e.message.clone()),
        typed: Typed::default(),
    };
    let mut page = page;
    let status = if let Some((e, typed)) = refused {
        page.typed = typed;
        e.status
    } else if page.error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(render_status(status, &page))
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{KeyValue, RunData, RunInfo, RunInputs, RunOutputs, RunStatus};

    fn run(id: &str, parent: Option<&str>) -> Run {
        Run {
            info: RunInfo {
                run_id: id.into(),
                run_uuid: id.into(),
                run_name: id.into(),
                experiment_id: "1".into(),
                user_id: String::new(),
                status: RunStatus::Finished,
                start_time: 1,
                end_time: None,
                artifact_uri: String::new(),
                lifecycle_stage: "active".into(),
            },
            data: RunData {
                tags: parent
                    .map(|p| vec![KeyValue::new(PARENT_TAG, p)])
                    .unwrap_or_default(),
                ..RunData::default()
            },
            inputs: RunInputs::default(),
            outputs: RunOutputs::default(),
        }
    }

    #[test]
    fn children_follow_their_parent_in_page_order() {
        let page = vec![run("c1", Some("p")), run("p", None), run("q", None)];
        let extra = vec![run("c2", Some("p")), run("g", Some("c1"))];
        let order: Vec<(String, usize)> = group(page, extra)
            .into_iter()
            .map(|(r, d, _)| (r.info.run_id, d))
            .collect();
        let expect = [("p", 0), ("c1", 1), ("g", 2), ("c2", 1), ("q", 0)];
        let expect: Vec<(String, usize)> =
            expect.iter().map(|(a, b)| ((*a).to_string(), *b)).collect();
        assert_eq!(order, expect);
    }

    #[test]
    fn a_child_whose_parent_is_elsewhere_stays_top_level() {
        let grouped = group(vec![run("c", Some("gone"))], Vec::new());
        assert_eq!(grouped[0].1, 0);
    }

    #[test]
    fn columns_parse_with_any_prefix_spelling() {
        let c = Column::parse("metric.`val loss`").unwrap();
        assert_eq!((c.kind, c.key.as_str()), (Kind::Metric, "val loss"));
        assert!(Column::parse("attributes.x").is_none());
        assert!(Column::parse("params.").is_none());
    }
}
