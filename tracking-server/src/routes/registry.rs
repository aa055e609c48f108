//! `/registered-models/*` and `/model-versions/*`: the model registry.

use super::reply::empty;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Actor, MlflowJson};
use crate::search::{
    decode_page_token, encode_page_token, parse_model_version_filter, parse_model_version_order_by,
    parse_registered_model_filter, parse_registered_model_order_by,
};
use crate::service::registry as rules;
use crate::state::AppState;
use crate::store::{NewModelVersion, RegistrySearch};
use crate::validation::required;
use axum::extract::State;
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use protocol::{
    DownloadUriResponse, KeyValue, ModelVersionResponse, ModelVersionsResponse,
    RegisteredModelResponse, RegistryRequest, SearchRegisteredModelsResponse,
};
use serde_json::Value;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/registered-models/create", post(create_model))
        .route("/registered-models/rename", post(rename_model))
        .route("/registered-models/update", patch(update_model))
        .route("/registered-models/delete", delete(delete_model))
        .route("/registered-models/get", get(get_model))
        .route(
            "/registered-models/search",
            get(search_models).post(search_models),
        )
        .route(
            "/registered-models/get-latest-versions",
            post(latest_versions).get(latest_versions),
        )
        .route("/registered-models/set-tag", post(set_model_tag))
        .route("/registered-models/delete-tag", delete(delete_model_tag))
        .route(
            "/registered-models/alias",
            post(set_alias).delete(delete_alias).get(get_by_alias),
        )
        .route("/model-versions/create", post(create_version))
        .route("/model-versions/update", patch(update_version))
        .route("/model-versions/transition-stage", post(transition_stage))
        .route("/model-versions/delete", delete(delete_version))
        .route("/model-versions/get", get(get_version))
        .route(
            "/model-versions/search",
            get(search_versions).post(search_versions),
        )
        .route("/model-versions/get-download-uri", get(download_uri))
        .route("/model-versions/set-tag", post(set_version_tag))
        .route("/model-versions/delete-tag", delete(delete_version_tag))
        .route("/model-versions/history", get(version_history))
}

type Req = MlflowJson<RegistryRequest>;

fn name_and_version(req: &RegistryRequest) -> ApiResult<(String, i64)> {
    let name = required(req.name.clone(), "name")?;
    let version = rules::version(req.version.as_deref())?;
    Ok((name, version))
}

async fn create_model(
    State(s): State<AppState>,
    MlflowJson(req): Req,
) -> ApiResult<Json<RegisteredModelResponse>> {
    let name = rules::model_name(req.name)?;
    let tags = rules::tags(req.tags)?;
    let registered_model = s
        .store
        .create_registered_model(&name, req.description.as_deref(), &tags)
        .await?;
    Ok(Json(RegisteredModelResponse { registered_model }))
}

async fn rename_model(
    State(s): State<AppState>,
    MlflowJson(req): Req,
) -> ApiResult<Json<RegisteredModelResponse>> {
    let name = required(req.name, "name")?;
    let new_name = rules::model_name(req.new_name).map_err(|e| {
        if e.message.starts_with("Missing") {
            ApiError::missing("new_name")
        } else {
            e
        }
    })?;
    let registered_model = s.store.rename_registered_model(&name, &new_name).await?;
    Ok(Json(RegisteredModelResponse { registered_model }))
}

async fn update_model(
    State(s): State<AppState>,
    MlflowJson(req): Req,
) -> ApiResult<Json<RegisteredModelResponse>> {
    let name = required(req.name, "name")?;
    let registered_model = s
        .store
        .update_registered_model(&name, req.description.as_deref())
        .await?;
    Ok(Json(RegisteredModelResponse { registered_model }))
}

async fn delete_model(State(s): State<AppState>, MlflowJson(req): Req) -> ApiResult<Json<Value>> {
    s.store
        .delete_registered_model(&required(req.name, "name")?)
        .await?;
    Ok(empty())
}

async fn get_model(
    State(s): State<AppState>,
    MlflowJson(req): Req,
) -> ApiResult<Json<RegisteredModelResponse>> {
    let registered_model = s
        .store
        .get_registered_model(&required(req.name, "name")?)
        .await?;
    Ok(Json(RegisteredModelResponse { registered_model }))
}

fn registry_search(
    req: &RegistryRequest,
    default: i64,
    max: i64,
    models: bool,
) -> ApiResult<RegistrySearch> {
    let max_results = req.max_results.unwrap_or(default);
    if !(1..=max).contains(&max_results) {
        return Err(ApiError::invalid(format!(
            "Invalid value {max_results} for parameter 'max_results' supplied. It must be at least 1 and at most {max}."
        )));
    }
    let filter = req.filter.as_deref().unwrap_or("");
    let (filter, order_by) = if models {
        (
            parse_registered_model_filter(filter)?,
            parse_registered_model_order_by(&req.order_by)?,
        )
    } else {
        (
            parse_model_version_filter(filter)?,
            parse_model_version_order_by(&req.order_by)?,
        )
    };
    Ok(RegistrySearch {
        filter,
        order_by,
        max_results: max_results.unsigned_abs(),
        offset: decode_page_token(req.page_token.as_deref())?,
    })
}

async fn search_models(
    State(s): State<AppState>,
    MlflowJson(req): Req,
) -> ApiResult<Json<SearchRegisteredModelsResponse>> {
    let page = s
        .store
        .search_registered_models(&registry_search(&req, 100, 1000, true)?)
        .await?;
    Ok(Json(SearchRegisteredModelsResponse {
        registered_models: page.items,
        next_page_token: page.next_offset.map(encode_page_token),
    }))
}

async fn latest_versions(
    State(s): State<AppState>,
    MlflowJson(req): Req,
) -> ApiResult<Json<ModelVersionsResponse>> {
    let name = required(req.name, "name")?;
    let stages = req
        .stages
        .iter()
        .map(|st| rules::stage(st))
        .collect::<ApiResult<Vec<_>>>()?;
    let model_versions = s.store.get_latest_versions(&name, &stages).await?;
    Ok(Json(ModelVersionsResponse {
        model_versions,
        next_page_token: None,
    }))
}

async fn set_model_tag(State(s): State<AppState>, MlflowJson(req): Req) -> ApiResult<Json<Value>> {
    let name = required(req.name, "name")?;
    let tag = rules::tag(req.key, req.value)?;
    s.store.set_registered_model_tag(&name, &tag).await?;
    Ok(empty())
}

async fn delete_model_tag(
    State(s): State<AppState>,
    MlflowJson(req): Req,
) -> ApiResult<Json<Value>> {
    let name = required(req.name, "name")?;
    s.store
        .delete_registered_model_tag(&name, &required(req.key, "key")?)
        .await?;
    Ok(empty())
}

async fn set_alias(
    State(s): State<AppState>,
    actor: Actor,
    MlflowJson(req): Req,
) -> ApiResult<Json<Value>> {
    let (name, version) = name_and_version(&req)?;
    let alias = rules::alias(req.alias)?;
    s.store.set_alias(&name, &alias, version, &actor.0).await?;
    Ok(empty())
}

async fn delete_alias(
    State(s): State<AppState>,
    actor: Actor,
    MlflowJson(req): Req,
) -> ApiResult<Json<Value>> {
    let name = required(req.name, "name")?;
    let alias = required(req.alias, "alias")?;
    s.store.delete_alias(&name, &alias, &actor.0).await?;
    Ok(empty())
}

async fn get_by_alias(
    State(s): State<AppState>,
    MlflowJson(req): Req,
) -> ApiResult<Json<ModelVersionResponse>> {
    let name = required(req.name, "name")?;
    let model_version = s
        .store
        .get_version_by_alias(&name, &required(req.alias, "alias")?)
        .await?;
    Ok(Json(ModelVersionResponse { model_version }))
}

async fn create_version(
    State(s): State<AppState>,
    actor: Actor,
    MlflowJson(req): Req,
) -> ApiResult<Json<ModelVersionResponse>> {
    let name = required(req.name, "name")?;
    let source = required(req.source, "source")?;
    let run_id = req.run_id.filter(|r| !r.is_empty());
    let model_id = req.model_id.filter(|m| !m.is_empty());
    let tags = rules::tags(req.tags)?;
    // A prompt version (MLflow's prompt registry) has a placeholder source, not a model's files.
    let is_prompt = tags.iter().any(|t| t.key == rules::IS_PROMPT_TAG);
    rules::validate_source(
        &s,
        &source,
        run_id.as_deref(),
        model_id.as_deref(),
        is_prompt,
    )
    .await?;
    let model_version = s
        .store
        .create_model_version(NewModelVersion {
            name: name.clone(),
            source,
            run_id,
            run_link: req.run_link,
            description: req.description,
            model_id: model_id.clone(),
            tags,
            actor: actor.0,
        })
        .await?;
    if let Some(model_id) = model_id {
        rules::record_registration(&s, &model_id, &name, &model_version.version).await?;
    }
    Ok(Json(ModelVersionResponse { model_version }))
}

async fn update_version(
    State(s): State<AppState>,
    MlflowJson(req): Req,
) -> ApiResult<Json<ModelVersionResponse>> {
    let (name, version) = name_and_version(&req)?;
    let model_version = s
        .store
        .update_model_version(&name, version, req.description.as_deref())
        .await?;
    Ok(Json(ModelVersionResponse { model_version }))
}

async fn transition_stage(
    State(s): State<AppState>,
    actor: Actor,
    MlflowJson(req): Req,
) -> ApiResult<Json<ModelVersionResponse>> {
    let (name, version) = name_and_version(&req)?;
    let stage = rules::stage(&required(req.stage, "stage")?)?;
    let archive = req.archive_existing_versions.unwrap_or(false);
    rules::check_archive_existing(&stage, archive)?;
    let model_version = s
        .store
        .transition_stage(&name, version, &stage, archive, &actor.0)
        .await?;
    Ok(Json(ModelVersionResponse { model_version }))
}

async fn delete_version(State(s): State<AppState>, MlflowJson(req): Req) -> ApiResult<Json<Value>> {
    let (name, version) = name_and_version(&req)?;
    s.store.delete_model_version(&name, version).await?;
    Ok(empty())
}

async fn get_version(
    State(s): State<AppState>,
    MlflowJson(req): Req,
) -> ApiResult<Json<ModelVersionResponse>> {
    let (name, version) = name_and_version(&req)?;
    Ok(Json(ModelVersionResponse {
        model_version: s.store.get_model_version(&name, version).await?,
    }))
}

async fn search_versions(
    State(s): State<AppState>,
    MlflowJson(req): Req,
) -> ApiResult<Json<ModelVersionsResponse>> {
    let page = s
        .store
        .search_model_versions(&registry_search(&req, 10_000, 200_000, false)?)
        .await?;
    Ok(Json(ModelVersionsResponse {
        model_versions: page.items,
        next_page_token: page.next_offset.map(encode_page_token),
    }))
}

async fn download_uri(
    State(s): State<AppState>,
    MlflowJson(req): Req,
) -> ApiResult<Json<DownloadUriResponse>> {
    let (name, version) = name_and_version(&req)?;
    let mv = s.store.get_model_version(&name, version).await?;
    let artifact_uri = rules::download_uri(&s, &mv.source).await?;
    Ok(Json(DownloadUriResponse { artifact_uri }))
}

async fn set_version_tag(
    State(s): State<AppState>,
    MlflowJson(req): Req,
) -> ApiResult<Json<Value>> {
    let (name, version) = name_and_version(&req)?;
    let tag: KeyValue = rules::tag(req.key, req.value)?;
    s.store.set_model_version_tag(&name, version, &tag).await?;
    Ok(empty())
}

async fn delete_version_tag(
    State(s): State<AppState>,
    MlflowJson(req): Req,
) -> ApiResult<Json<Value>> {
    let (name, version) = name_and_version(&req)?;
    s.store
        .delete_model_version_tag(&name, version, &required(req.key, "key")?)
        .await?;
    Ok(empty())
}

/// mltrack's own addition: who moved a version between stages and aliases, and when.
async fn version_history(
    State(s): State<AppState>,
    MlflowJson(req): Req,
) -> ApiResult<Json<Value>> {
    let (name, version) = name_and_version(&req)?;
    s.store.get_model_version(&name, version).await?;
    let events = s.store.model_version_history(&name, version).await?;
    Ok(Json(serde_json::json!({ "events": events })))
}
