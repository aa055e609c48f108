//! MLflow 3 logged models (`/logged-models…`) and `runs/outputs`. Any `mlflow.<flavor>.log_model()`
//! of a 3.x client goes through these, and `register_model("runs:/…")` searches them.

use super::reply::empty;
use crate::error::{ApiError, ApiResult};
use crate::extract::{MlflowJson, MlflowPath};
use crate::search::{decode_page_token, encode_page_token, parse_logged_model_filter};
use crate::state::AppState;
use crate::store::{LoggedModelSearch, NewLoggedModel};
use crate::validation::{experiment_id, required, run_id};
use axum::extract::State;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use protocol::{LogOutputs, LoggedModelRequest, LoggedModelResponse, SearchLoggedModelsResponse};
use serde_json::Value;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/logged-models", post(create))
        .route("/logged-models/search", post(search))
        .route(
            "/logged-models/{model_id}",
            get(get_model).patch(finalize).delete(delete_model),
        )
        .route(
            "/logged-models/{model_id}/tags",
            axum::routing::patch(set_tags),
        )
        .route("/logged-models/{model_id}/tags/{key}", delete(delete_tag))
        .route("/logged-models/{model_id}/params", post(log_params))
        .route("/runs/outputs", post(log_outputs))
}

fn pairs(items: Vec<protocol::KeyValueIn>, what: &str) -> ApiResult<Vec<protocol::KeyValue>> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, kv)| {
            Ok(protocol::KeyValue {
                key: required(kv.key, &format!("{what}[{i}].key"))?,
                value: kv.value.unwrap_or_default(),
            })
        })
        .collect()
}

async fn create(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<LoggedModelRequest>,
) -> ApiResult<Json<LoggedModelResponse>> {
    let experiment_id = experiment_id(&required(req.experiment_id, "experiment_id")?)?;
    let name = req
        .name
        .filter(|n| !n.is_empty())
        .unwrap_or_else(super::runs::generate_run_name);
    if name.contains(['/', ':', '.', '%', '"', '\'']) {
        return Err(ApiError::invalid(format!(
            "Invalid model name '{name}': names may not contain '/', ':', '.', '%', '\"' or \"'\""
        )));
    }
    let model = s
        .store
        .create_logged_model(
            NewLoggedModel {
                experiment_id,
                name,
                model_type: req.model_type,
                source_run_id: req.source_run_id.filter(|r| !r.is_empty()),
                params: pairs(req.params, "params")?,
                tags: pairs(req.tags, "tags")?,
            },
            &s.config.artifact_root(),
        )
        .await?;
    Ok(Json(LoggedModelResponse { model }))
}

async fn get_model(
    State(s): State<AppState>,
    MlflowPath(model_id): MlflowPath<String>,
    MlflowJson(req): MlflowJson<LoggedModelRequest>,
) -> ApiResult<Json<LoggedModelResponse>> {
    let model = s
        .store
        .get_logged_model(&model_id, req.allow_deleted.unwrap_or(false))
        .await?;
    Ok(Json(LoggedModelResponse { model }))
}

/// `LoggedModelStatus` by name or number; finalizing only moves to READY or `UPLOAD_FAILED`.
fn final_status(v: Option<&Value>) -> ApiResult<&'static str> {
    match v {
        Some(Value::String(s)) if s == "LOGGED_MODEL_READY" || s == "2" => Ok("LOGGED_MODEL_READY"),
        Some(Value::String(s)) if s == "LOGGED_MODEL_UPLOAD_FAILED" || s == "3" => {
            Ok("LOGGED_MODEL_UPLOAD_FAILED")
        }
        Some(Value::Number(n)) if n.as_i64() == Some(2) => Ok("LOGGED_MODEL_READY"),
        Some(Value::Number(n)) if n.as_i64() == Some(3) => Ok("LOGGED_MODEL_UPLOAD_FAILED"),
        None => Err(ApiError::missing("status")),
        Some(other) => Err(ApiError::invalid(format!(
            "Invalid logged model status {other}"
        ))),
    }
}

async fn finalize(
    State(s): State<AppState>,
    MlflowPath(model_id): MlflowPath<String>,
    MlflowJson(req): MlflowJson<LoggedModelRequest>,
) -> ApiResult<Json<LoggedModelResponse>> {
    let status = final_status(req.status.as_ref())?;
    let model = s.store.finalize_logged_model(&model_id, status).await?;
    Ok(Json(LoggedModelResponse { model }))
}

async fn delete_model(
    State(s): State<AppState>,
    MlflowPath(model_id): MlflowPath<String>,
) -> ApiResult<Json<Value>> {
    s.store.delete_logged_model(&model_id).await?;
    Ok(empty())
}

async fn search(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<LoggedModelRequest>,
) -> ApiResult<Json<SearchLoggedModelsResponse>> {
    let experiment_ids = req
        .experiment_ids
        .iter()
        .map(|e| experiment_id(e))
        .collect::<ApiResult<Vec<_>>>()?;
    let max_results = req.max_results.unwrap_or(50);
    if !(1..=10_000).contains(&max_results) {
        return Err(ApiError::invalid(format!(
            "Invalid value {max_results} for parameter 'max_results' supplied."
        )));
    }
    let page = s
        .store
        .search_logged_models(&LoggedModelSearch {
            experiment_ids,
            filter: parse_logged_model_filter(req.filter.as_deref().unwrap_or(""))
                .map_err(ApiError::invalid)?,
            datasets: req
                .datasets
                .into_iter()
                .map(|d| {
                    let name = required(d.dataset_name, "datasets.dataset_name")?;
                    Ok((name, d.dataset_digest.filter(|g| !g.is_empty())))
                })
                .collect::<ApiResult<Vec<_>>>()?,
            max_results: max_results.unsigned_abs(),
            offset: decode_page_token(req.page_token.as_deref())?,
        })
        .await?;
    Ok(Json(SearchLoggedModelsResponse {
        models: page.items,
        next_page_token: page.next_offset.map(encode_page_token),
    }))
}

async fn set_tags(
    State(s): State<AppState>,
    MlflowPath(model_id): MlflowPath<String>,
    MlflowJson(req): MlflowJson<LoggedModelRequest>,
) -> ApiResult<Json<Value>> {
    s.store
        .set_logged_model_tags(&model_id, &pairs(req.tags, "tags")?)
        .await?;
    Ok(empty())
}

async fn delete_tag(
    State(s): State<AppState>,
    MlflowPath((model_id, key)): MlflowPath<(String, String)>,
) -> ApiResult<Json<Value>> {
    s.store.delete_logged_model_tag(&model_id, &key).await?;
    Ok(empty())
}

async fn log_params(
    State(s): State<AppState>,
    MlflowPath(model_id): MlflowPath<String>,
    MlflowJson(req): MlflowJson<LoggedModelRequest>,
) -> ApiResult<Json<Value>> {
    s.store
        .log_logged_model_params(&model_id, &pairs(req.params, "params")?)
        .await?;
    Ok(empty())
}

async fn log_outputs(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<LogOutputs>,
) -> ApiResult<Json<Value>> {
    let run = run_id(req.run_id, None)?;
    let models = req
        .models
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            Ok((
                required(m.model_id, &format!("models[{i}].model_id"))?,
                m.step.unwrap_or(0),
            ))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    s.store.log_outputs(&run, &models).await?;
    Ok(empty())
}
