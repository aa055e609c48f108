//! The model registry: models with their latest version per stage and aliases, a model's versions,
//! and a version page whose stage transition form runs the API's rules (`service::registry`).

use super::format::time;
use super::{
    model_url, render, render_status, run_url, same_origin, see_other, version_url, Fields, Nav,
    Typed, UiError, UiResult,
};
use crate::error::ApiError;
use crate::extract::Actor;
use crate::search::{Clause, Comparator, Entity, FilterValue, OrderBy};
use crate::service::registry as rules;
use crate::state::AppState;
use crate::store::registry::RegistrySearch;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use protocol::{ModelVersion, ModelVersionEvent, RegisteredModel};

const PAGE_SIZE: u64 = 100;

pub(crate) struct Latest {
    pub stage: String,
    pub version: String,
    pub url: String,
}

pub(crate) struct ModelRow {
    pub name: String,
    pub url: String,
    pub latest: Vec<Latest>,
    pub aliases: Vec<(String, String)>,
    pub updated: String,
    pub description: String,
}

#[derive(Template)]
#[template(path = "models.html")]
struct ModelsPage {
    title: String,
    nav: Nav,
    q: String,
    rows: Vec<ModelRow>,
    prev: Option<String>,
    next: Option<String>,
}

fn name_clause(comparator: Comparator, value: String) -> Clause {
    Clause {
        entity: Entity::Attribute,
        key: "name".into(),
        comparator,
        value: FilterValue::Str(value),
    }
}

fn model_row(m: RegisteredModel) -> ModelRow {
    let mut latest: Vec<Latest> = m
        .latest_versions
        .iter()
        .map(|v| Latest {
            stage: v.current_stage.clone(),
            version: v.version.clone(),
            url: version_url(&m.name, &v.version),
        })
        .collect();
    let order = |s: &str| rules::STAGES.iter().position(|x| *x == s).unwrap_or(9);
    latest.sort_by_key(|l| order(&l.stage));
    ModelRow {
        url: model_url(&m.name),
        aliases: m
            .aliases
            .iter()
            .map(|a| (a.alias.clone(), version_url(&m.name, &a.version)))
            .collect(),
        updated: time(m.last_updated_timestamp),
        description: m.description.unwrap_or_default(),
        name: m.name,
        latest,
    }
}

pub(super) async fn models(State(s): State<AppState>, RawQuery(query): RawQuery) -> UiResult {
    let fields = Fields::query(query.as_deref());
    let q = fields.get("q").unwrap_or("").to_string();
    let offset: u64 = fields
        .get("offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    let filter = if q.is_empty() {
        Vec::new()
    } else {
        vec![name_clause(Comparator::ILike, format!("%{q}%"))]
    };
    let page = s
        .store
        .search_registered_models(&RegistrySearch {
            filter,
            order_by: Vec::new(),
            max_results: PAGE_SIZE,
            offset,
        })
        .await?;
    let link = |o: u64| format!("/models?q={}&offset={o}", super::enc(&q));
    let page = ModelsPage {
        title: "Models".into(),
        nav: "models",
        rows: page.items.into_iter().map(model_row).collect(),
        prev: (offset > 0).then(|| link(offset.saturating_sub(PAGE_SIZE))),
        next: page.next_offset.map(link),
        q,
    };
    Ok(render(&page))
}

pub(crate) struct VersionRow {
    pub version: String,
    pub url: String,
    pub created: String,
    pub stage: String,
    pub aliases: Vec<String>,
    pub run: Option<(String, String)>,
    pub source: String,
    pub description: String,
}

#[derive(Template)]
#[template(path = "model.html")]
struct ModelPage {
    title: String,
    nav: Nav,
    model: ModelRow,
    monitoring_url: String,
    tags: Vec<(String, String)>,
    versions: Vec<VersionRow>,
    error: Option<String>,
    typed: Typed,
}

/// A refused edit on a model or version page: the API's error, and what its form held.
pub(crate) struct Edit {
    pub error: UiError,
    pub typed: Typed,
}

/// The source run of a version, as a link, when this store knows the run.
async fn run_link(s: &AppState, run_id: Option<&str>) -> Option<(String, String)> {
    let id = run_id.filter(|r| !r.is_empty())?;
    match s.store.get_run(id).await {
        Ok(run) => Some((
            run.info.run_name.clone(),
            run_url(&run.info.experiment_id, id),
        )),
        Err(_) => Some((id.to_string(), format!("/runs/{id}"))),
    }
}

fn version_row(v: &ModelVersion, run: Option<(String, String)>) -> VersionRow {
    VersionRow {
        version: v.version.clone(),
        url: version_url(&v.name, &v.version),
        created: time(v.creation_timestamp),
        stage: v.current_stage.clone(),
        aliases: v.aliases.clone(),
        run,
        source: v.source.clone(),
        description: v.description.clone().unwrap_or_default(),
    }
}

pub(super) async fn model(State(s): State<AppState>, Path(name): Path<String>) -> UiResult {
    model_page(&s, &name, None).await
}

/// Renders a model's page, with a refused edit's message and status code when there is one.
pub(crate) async fn model_page(s: &AppState, name: &str, edit: Option<Edit>) -> UiResult {
    let name = name.to_string();
    let model = s.store.get_registered_model(&name).await?;
    let versions = s
        .store
        .search_model_versions(&RegistrySearch {
            filter: vec![name_clause(Comparator::Eq, name.clone())],
            order_by: vec![OrderBy {
                entity: Entity::Attribute,
                key: "version_number".into(),
                ascending: false,
            }],
            max_results: 1000,
            offset: 0,
        })
        .await?
        .items;
    let mut rows = Vec::with_capacity(versions.len());
    for v in &versions {
        rows.push(version_row(v, run_link(s, v.run_id.as_deref()).await));
    }
    let page = ModelPage {
        title: format!("{name} · model"),
        nav: "models",
        tags: model
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect(),
        monitoring_url: format!("{}/monitoring", model_url(&name)),
        model: model_row(model),
        versions: rows,
        error: edit.as_ref().map(|e| e.error.message.clone()),
        typed: edit.as_ref().map_or_else(Typed::default, |e| Typed {
            form: e.typed.form,
            key: e.typed.key.clone(),
            value: e.typed.value.clone(),
        }),
    };
    let status = edit.map_or(StatusCode::OK, |e| e.error.status);
    Ok(render_status(status, &page))
}

#[derive(Template)]
#[template(path = "version.html")]
struct VersionPage {
    title: String,
    nav: Nav,
    name: String,
    model_url: String,
    v: VersionRow,
    updated: String,
    tags: Vec<(String, String)>,
    history: Vec<ModelVersionEvent>,
    history_times: Vec<String>,
    stages: [&'static str; 4],
    error: Option<String>,
    action: String,
    /// The form as submitted, kept when a transition is refused.
    chosen: String,
    archive_checked: bool,
    /// A refused edit (description, alias, tag, delete): its message, and what its form held.
    edit_error: Option<String>,
    typed: Typed,
}

/// A refused transition: the API's error and what the form asked for.
pub(crate) struct Refusal {
    error: UiError,
    stage: String,
    archive: bool,
}

pub(crate) async fn version_page(
    s: &AppState,
    name: &str,
    version: &str,
    refusal: Option<Refusal>,
    edit: Option<Edit>,
) -> UiResult {
    let number = rules::version(Some(version))?;
    let mv = s.store.get_model_version(name, number).await?;
    let history = s.store.model_version_history(name, number).await?;
    let run = run_link(s, mv.run_id.as_deref()).await;
    let status = refusal
        .as_ref()
        .map(|r| r.error.status)
        .or(edit.as_ref().map(|e| e.error.status))
        .unwrap_or(StatusCode::OK);
    let (edit_error, typed) = edit.map_or_else(
        || (None, Typed::default()),
        |e| (Some(e.error.message), e.typed),
    );
    let page = VersionPage {
        edit_error,
        typed,
        chosen: refusal
            .as_ref()
            .map_or_else(|| mv.current_stage.clone(), |r| r.stage.clone()),
        archive_checked: refusal.as_ref().is_some_and(|r| r.archive),
        title: format!("{name} v{version}"),
        nav: "models",
        name: name.to_string(),
        model_url: model_url(name),
        action: format!("{}/stage", version_url(name, &mv.version)),
        updated: time(mv.last_updated_timestamp),
        tags: mv
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect(),
        v: version_row(&mv, run),
        history_times: history.iter().map(|e| time(e.timestamp)).collect(),
        history,
        stages: rules::STAGES,
        error: refusal.map(|r| r.error.message),
    };
    Ok(render_status(status, &page))
}

pub(super) async fn version(
    State(s): State<AppState>,
    Path((name, version)): Path<(String, String)>,
) -> UiResult {
    version_page(&s, &name, &version, None, None).await
}

/// The form's stage transition, through the API's checks; a refusal re-renders the version page
/// with the message and the API's status code.
pub(super) async fn transition(
    State(s): State<AppState>,
    Path((name, version)): Path<(String, String)>,
    actor: Actor,
    headers: HeaderMap,
    body: Bytes,
) -> UiResult {
    same_origin(&headers)?;
    let form = Fields::parse(&body);
    let result: Result<(), ApiError> = async {
        let number = rules::version(Some(&version))?;
        let stage = rules::stage(
            form.get("stage")
                .ok_or_else(|| ApiError::missing("stage"))?,
        )?;
        let archive = form.flag("archive_existing_versions");
        rules::check_archive_existing(&stage, archive)?;
        s.store
            .transition_stage(&name, number, &stage, archive, &actor.0)
            .await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Ok(see_other(&version_url(&name, &version))),
        Err(e) if e.code.status().is_client_error() => {
            let refusal = Refusal {
                error: e.into(),
                stage: form.get("stage").unwrap_or("").to_string(),
                archive: form.flag("archive_existing_versions"),
            };
            version_page(&s, &name, &version, Some(refusal), None).await
        }
        Err(e) => Err(e.into()),
    }
}
