//! `/experiments/*`.

use super::reply::empty;
use crate::error::{ApiError, ApiResult};
use crate::extract::MlflowJson;
use crate::search::{
    decode_page_token, encode_page_token, parse_experiment_filter, parse_experiment_order_by,
};
use crate::service::experiments as service;
use crate::state::AppState;
use crate::store::ExperimentSearch;
use crate::validation::{experiment_id, required};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use protocol::names::{ExperimentId, ExperimentName};
use protocol::{
    CreateExperiment, CreateExperimentResponse, ExperimentIdRequest, ExperimentResponse,
    ExperimentTagRequest, GetExperimentByName, SearchDatasets, SearchDatasetsResponse,
    SearchExperiments, SearchExperimentsResponse, UpdateExperiment,
};
use serde_json::Value;

/// The reference server's cap for experiments search.
const MAX_EXPERIMENTS_PAGE: i64 = 50_000;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/experiments/create", post(create))
        .route("/experiments/get", get(get_experiment))
        .route("/experiments/get-by-name", get(get_by_name))
        .route("/experiments/search", post(search).get(search))
        .route("/experiments/update", post(update))
        .route("/experiments/delete", post(delete))
        .route("/experiments/restore", post(restore))
        .route("/experiments/set-experiment-tag", post(set_tag))
        .route("/experiments/delete-experiment-tag", post(delete_tag))
        .route("/experiments/search-datasets", post(search_datasets))
}

/// MLflow asks for at most this many experiments per `search-datasets`.
const MAX_DATASET_SEARCH_EXPERIMENTS: usize = 20;

async fn search_datasets(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<SearchDatasets>,
) -> ApiResult<Json<SearchDatasetsResponse>> {
    if req.experiment_ids.is_empty() {
        return Err(ApiError::invalid(
            "SearchDatasets request must specify at least one experiment_id.",
        ));
    }
    if req.experiment_ids.len() > MAX_DATASET_SEARCH_EXPERIMENTS {
        return Err(ApiError::invalid(format!(
            "SearchDatasets request cannot specify more than {MAX_DATASET_SEARCH_EXPERIMENTS} \
             experiment_ids. Received {} experiment_ids.",
            req.experiment_ids.len()
        )));
    }
    let ids = req
        .experiment_ids
        .iter()
        .map(|e| experiment_id(e))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(SearchDatasetsResponse {
        dataset_summaries: s.store.search_datasets(&ids).await?,
    }))
}

async fn create(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<CreateExperiment>,
) -> ApiResult<Json<CreateExperimentResponse>> {
    let name = ExperimentName::parse(required(req.name, "name")?)?;
    let location = service::artifact_location(req.artifact_location)?;
    let tags = req
        .tags
        .into_iter()
        .map(|t| service::tag(t.key, t.value))
        .collect::<ApiResult<Vec<_>>>()?;
    let id = service::create(&s, &name, location.as_deref(), &tags).await?;
    Ok(Json(CreateExperimentResponse {
        experiment_id: id.to_string(),
    }))
}

async fn get_experiment(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<ExperimentIdRequest>,
) -> ApiResult<Json<ExperimentResponse>> {
    let id = experiment_id(&required(req.experiment_id, "experiment_id")?)?;
    Ok(Json(ExperimentResponse {
        experiment: s.store.get_experiment(id).await?,
    }))
}

async fn get_by_name(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<GetExperimentByName>,
) -> ApiResult<Json<ExperimentResponse>> {
    let name = required(req.experiment_name, "experiment_name")?;
    let experiment = s
        .store
        .get_experiment_by_name(&name)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!("Could not find experiment with name '{name}'"))
        })?;
    Ok(Json(ExperimentResponse { experiment }))
}

async fn search(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<SearchExperiments>,
) -> ApiResult<Json<SearchExperimentsResponse>> {
    let max_results = req.max_results.unwrap_or(1000);
    if !(1..=MAX_EXPERIMENTS_PAGE).contains(&max_results) {
        return Err(ApiError::invalid(format!(
            "Invalid value {max_results} for parameter 'max_results' supplied. It must be at least 1 \
             and at most {MAX_EXPERIMENTS_PAGE}."
        )));
    }
    let search = ExperimentSearch {
        filter: parse_experiment_filter(req.filter.as_deref().unwrap_or(""))?,
        order_by: parse_experiment_order_by(&req.order_by)?,
        view: req.view_type.unwrap_or_default(),
        max_results: max_results.unsigned_abs(),
        offset: decode_page_token(req.page_token.as_deref())?,
    };
    let page = s.store.search_experiments(&search).await?;
    Ok(Json(SearchExperimentsResponse {
        experiments: page.items,
        next_page_token: page.next_offset.map(encode_page_token),
    }))
}

async fn update(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<UpdateExperiment>,
) -> ApiResult<Json<Value>> {
    let id = ExperimentId::parse(&required(req.experiment_id, "experiment_id")?)?;
    let new_name = ExperimentName::parse(required(req.new_name, "new_name")?)?;
    service::rename(&s, id, &new_name).await?;
    Ok(empty())
}

async fn delete(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<ExperimentIdRequest>,
) -> ApiResult<Json<Value>> {
    let id = ExperimentId::parse(&required(req.experiment_id, "experiment_id")?)?;
    service::set_deleted(&s, id, true).await?;
    Ok(empty())
}

async fn restore(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<ExperimentIdRequest>,
) -> ApiResult<Json<Value>> {
    let id = ExperimentId::parse(&required(req.experiment_id, "experiment_id")?)?;
    service::set_deleted(&s, id, false).await?;
    Ok(empty())
}

async fn set_tag(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<ExperimentTagRequest>,
) -> ApiResult<Json<Value>> {
    let id = experiment_id(&required(req.experiment_id, "experiment_id")?)?;
    let tag = service::tag(req.key, req.value)?;
    s.store.set_experiment_tag(id, &tag).await?;
    Ok(empty())
}

async fn delete_tag(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<ExperimentTagRequest>,
) -> ApiResult<Json<Value>> {
    let id = experiment_id(&required(req.experiment_id, "experiment_id")?)?;
    let key = required(req.key, "key")?;
    s.store.delete_experiment_tag(id, &key).await?;
    Ok(empty())
}
