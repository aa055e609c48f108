//! The run page's writes: delete and restore, rename, description and tags. Each is a plain form
//! POST (the page works with JavaScript off) through the same rules and store calls as the REST
//! endpoints (`runs/delete`, `runs/restore`, `runs/update`, `runs/set-tag`, `runs/delete-tag`); a
//! refused write re-renders the run page with the API's message and status code, the typed text
//! kept. Read-only users never get here: the auth layer refuses every UI POST for them.

use super::run::{run_page, Refusal};
use super::{run_url, same_origin, see_other, Fields, Typed, UiResult};
use crate::error::{ApiError, ApiResult};
use crate::service::runs::{tag, NOTE_TAG};
use crate::state::AppState;
use crate::store::{Batch, HistoryAxis, RunUpdate};
use crate::validation::{required, validate_run_id};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;

/// Checks the origin, runs `write` and answers with a 303 back to the run page; a client error
/// re-renders the page with the message instead.
async fn edit(
    s: &AppState,
    headers: &HeaderMap,
    run_id: &str,
    typed: Typed,
    write: impl std::future::Future<Output = ApiResult<()>>,
) -> UiResult {
    same_origin(headers)?;
    validate_run_id(run_id)?;
    match write.await {
        Ok(()) => {
            let run = s.store.get_run(run_id).await?;
            Ok(see_other(&run_url(&run.info.experiment_id, run_id)))
        }
        Err(e) if e.code.status().is_client_error() => {
            let run = s.store.get_run(run_id).await?;
            let refusal = Refusal {
                error: e.into(),
                typed,
            };
            run_page(s, run, HistoryAxis::Step, Some(refusal)).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn set_deleted(s: &AppState, headers: &HeaderMap, run_id: &str, deleted: bool) -> UiResult {
    let write = async { Ok(s.store.set_run_deleted(run_id, deleted).await?) };
    edit(s, headers, run_id, Typed::default(), write).await
}

pub(super) async fn delete(
    State(s): State<AppState>,
    Path(run_id): Path<String>,
    headers: HeaderMap,
) -> UiResult {
    set_deleted(&s, &headers, &run_id, true).await
}

pub(super) async fn restore(
    State(s): State<AppState>,
    Path(run_id): Path<String>,
    headers: HeaderMap,
) -> UiResult {
    set_deleted(&s, &headers, &run_id, false).await
}

/// `runs/update` with only `run_name`; MLflow's UI refuses an empty name, so the form does too.
pub(super) async fn rename(
    State(s): State<AppState>,
    Path(run_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> UiResult {
    let form = Fields::parse(&body);
    let typed = form.raw("new_name").unwrap_or_default();
    let write = async {
        let name = required(form.get("new_name").map(String::from), "new_name")?;
        let update = RunUpdate {
            status: None,
            end_time: None,
            run_name: Some(name),
        };
        s.store.update_run(&run_id, update).await?;
        Ok(())
    };
    let typed = Typed::new("rename", String::new(), typed);
    edit(&s, &headers, &run_id, typed, write).await
}

async fn set_tags(s: &AppState, run_id: &str, tag: protocol::KeyValue) -> ApiResult<()> {
    let batch = Batch {
        tags: vec![tag],
        ..Batch::default()
    };
    Ok(s.store.log_batch(run_id, batch).await?)
}

/// The description is the `mlflow.note.content` tag, as in MLflow; an empty one clears it.
pub(super) async fn description(
    State(s): State<AppState>,
    Path(run_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> UiResult {
    let form = Fields::parse(&body);
    let text = form.raw("description").unwrap_or_default();
    let typed = Typed::new("description", String::new(), text.clone());
    let write = async {
        let note = tag(Some(NOTE_TAG.into()), Some(text), "")?;
        set_tags(&s, &run_id, note).await
    };
    edit(&s, &headers, &run_id, typed, write).await
}

/// Adds or changes one tag, through the API's key rules (the refusal names the bad key).
pub(super) async fn set_tag(
    State(s): State<AppState>,
    Path(run_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> UiResult {
    let form = Fields::parse(&body);
    let typed = Typed::new(
        "tag",
        form.raw("key").unwrap_or_default(),
        form.raw("value").unwrap_or_default(),
    );
    let write = async {
        let t = tag(form.raw("key"), form.raw("value"), "")?;
        set_tags(&s, &run_id, t).await
    };
    edit(&s, &headers, &run_id, typed, write).await
}

/// Removes one tag; a key the run does not have is MLflow's 404.
pub(super) async fn delete_tag(
    State(s): State<AppState>,
    Path(run_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> UiResult {
    let form = Fields::parse(&body);
    let typed = Typed::default();
    let write = async {
        let key = required(form.raw("key"), "key")?;
        Ok::<_, ApiError>(s.store.delete_tag(&run_id, &key).await?)
    };
    edit(&s, &headers, &run_id, typed, write).await
}
