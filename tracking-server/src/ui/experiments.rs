//! The experiment list (`/`) and its writes: create, rename, delete, restore. Each write runs the
//! same validation and store call as the REST endpoint; a refused write re-renders the list with the
//! API's message and status.

use super::format::time;
use super::{render_status, same_origin, see_other, Fields, Nav, Typed, UiError, UiResult};
use crate::search::{Clause, Comparator, Entity, FilterValue};
use crate::service::experiments as service;
use crate::service::runs::NOTE_TAG;
use crate::state::AppState;
use crate::store::ExperimentSearch;
use crate::validation::required;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use protocol::names::{ExperimentId, ExperimentName};
use protocol::{Experiment, ViewType};

const PAGE_SIZE: u64 = 200;

pub(crate) struct ExperimentRow {
    pub id: String,
    pub name: String,
    pub created: String,
    pub updated: String,
    pub deleted: bool,
}

#[derive(Template)]
#[template(path = "experiments.html")]
struct ListPage {
    title: String,
    nav: Nav,
    q: String,
    view: &'static str,
    rows: Vec<ExperimentRow>,
    error: Option<String>,
    new_name: String,
    prev: Option<String>,
    next: Option<String>,
}

fn view_of(fields: &Fields) -> ViewType {
    match fields.get("view") {
        Some("deleted") => ViewType::DeletedOnly,
        Some("all") => ViewType::All,
        _ => ViewType::ActiveOnly,
    }
}

fn view_name(view: ViewType) -> &'static str {
    match view {
        ViewType::ActiveOnly => "active",
        ViewType::DeletedOnly => "deleted",
        ViewType::All => "all",
    }
}

fn row(e: Experiment) -> ExperimentRow {
    ExperimentRow {
        created: time(e.creation_time),
        updated: time(e.last_update_time),
        deleted: e.lifecycle_stage == "deleted",
        id: e.experiment_id,
        name: e.name,
    }
}

/// Renders the list for `fields`, with an optional error from a refused write.
async fn list_page(
    s: &AppState,
    fields: &Fields,
    error: Option<UiError>,
    new_name: String,
) -> UiResult {
    let q = fields.get("q").unwrap_or("").to_string();
    let view = view_of(fields);
    let offset: u64 = fields
        .get("offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    let filter = if q.is_empty() {
        Vec::new()
    } else {
        vec![Clause {
            entity: Entity::Attribute,
            key: "name".into(),
            comparator: Comparator::ILike,
            value: FilterValue::Str(format!("%{q}%")),
        }]
    };
    let page = s
        .store
        .search_experiments(&ExperimentSearch {
            filter,
            order_by: Vec::new(),
            view,
            max_results: PAGE_SIZE,
            offset,
        })
        .await?;
    let link = |offset: u64| {
        format!(
            "/?q={}&view={}&offset={offset}",
            super::enc(&q),
            view_name(view)
        )
    };
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    let page = ListPage {
        title: "Experiments".into(),
        nav: "experiments",
        view: view_name(view),
        rows: page.items.into_iter().map(row).collect(),
        error: error.map(|e| e.message),
        new_name,
        prev: (offset > 0).then(|| link(offset.saturating_sub(PAGE_SIZE))),
        next: page.next_offset.map(link),
        q,
    };
    Ok(render_status(status, &page))
}

pub(super) async fn list(State(s): State<AppState>, RawQuery(query): RawQuery) -> UiResult {
    list_page(&s, &Fields::query(query.as_deref()), None, String::new()).await
}

/// Runs a write; on a refusal the list is shown again with the message (and the typed name kept).
async fn write_or_reshow(
    s: &AppState,
    headers: &HeaderMap,
    typed: String,
    write: impl std::future::Future<Output = UiResult<String>>,
) -> UiResult {
    same_origin(headers)?;
    match write.await {
        Ok(location) => Ok(see_other(&location)),
        Err(e) if e.status.is_client_error() => {
            list_page(s, &Fields::default(), Some(e), typed).await
        }
        Err(e) => Err(e),
    }
}

pub(super) async fn create(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> UiResult {
    let form = Fields::parse(&body);
    let typed = form.get("name").unwrap_or("").to_string();
    let write = async {
        let name = ExperimentName::parse(required(form.raw("name"), "name")?)?;
        let id = service::create(&s, &name, None, &[]).await?;
        Ok(format!("/experiments/{id}"))
    };
    write_or_reshow(&s, &headers, typed, write).await
}

pub(super) async fn rename(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> UiResult {
    let form = Fields::parse(&body);
    let write = async {
        let id = ExperimentId::parse(&id)?;
        let new_name = ExperimentName::parse(required(form.raw("new_name"), "new_name")?)?;
        service::rename(&s, id, &new_name).await?;
        Ok(format!("/experiments/{id}"))
    };
    write_or_reshow(&s, &headers, String::new(), write).await
}

async fn set_deleted(s: &AppState, headers: &HeaderMap, id: &str, deleted: bool) -> UiResult {
    let write = async {
        let id = ExperimentId::parse(id)?;
        service::set_deleted(s, id, deleted).await?;
        Ok(if deleted {
            "/?view=deleted".to_string()
        } else {
            format!("/experiments/{id}")
        })
    };
    write_or_reshow(s, headers, String::new(), write).await
}

pub(super) async fn delete(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> UiResult {
    set_deleted(&s, &headers, &id, true).await
}

pub(super) async fn restore(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> UiResult {
    set_deleted(&s, &headers, &id, false).await
}

/// Sets an experiment tag through the API's experiment-tag rules; a refusal re-renders the runs
/// page with the message and `typed` put back in its form.
async fn set_tag(
    s: &AppState,
    headers: &HeaderMap,
    id: &str,
    key: Option<String>,
    value: Option<String>,
    typed: Typed,
) -> UiResult {
    same_origin(headers)?;
    let write = async {
        let exp = ExperimentId::parse(id)?;
        let tag = service::tag(key, value)?;
        s.store.set_experiment_tag(exp.get(), &tag).await?;
        Ok::<_, UiError>(format!("/experiments/{exp}"))
    };
    reshow_runs(s, id, typed, write.await).await
}

/// A write's answer: a 303 to `location`, or the runs page with a client error and the typed form.
async fn reshow_runs(s: &AppState, id: &str, typed: Typed, done: UiResult<String>) -> UiResult {
    match done {
        Ok(location) => Ok(see_other(&location)),
        Err(e) if e.status.is_client_error() => {
            super::runs::runs_page(s, id, &Fields::default(), Some((e, typed))).await
        }
        Err(e) => Err(e),
    }
}

/// The experiment's description, the `mlflow.note.content` tag as in MLflow (a value over 20,000
/// characters is refused, not cut).
pub(super) async fn description(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> UiResult {
    let form = Fields::parse(&body);
    let text = form.raw("description").unwrap_or_default();
    let typed = Typed::new("description", String::new(), text.clone());
    set_tag(&s, &headers, &id, Some(NOTE_TAG.into()), Some(text), typed).await
}

pub(super) async fn tag(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> UiResult {
    let form = Fields::parse(&body);
    let typed = Typed::new(
        "tag",
        form.raw("key").unwrap_or_default(),
        form.raw("value").unwrap_or_default(),
    );
    set_tag(&s, &headers, &id, form.raw("key"), form.raw("value"), typed).await
}

/// Removes an experiment tag; a key the experiment lacks is the API's error.
pub(super) async fn delete_tag(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> UiResult {
    same_origin(&headers)?;
    let form = Fields::parse(&body);
    let write = async {
        let exp = ExperimentId::parse(&id)?;
        let key = required(form.raw("key"), "key")?;
        s.store.delete_experiment_tag(exp.get(), &key).await?;
        Ok::<_, UiError>(format!("/experiments/{exp}"))
    };
    reshow_runs(&s, &id, Typed::default(), write.await).await
}
