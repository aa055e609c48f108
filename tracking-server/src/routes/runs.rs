//! `/runs/*`: lifecycle, logging, search.

use super::reply::empty;
use crate::error::{ApiError, ApiResult};
use crate::extract::MlflowJson;
use crate::search::{decode_page_token, encode_page_token, parse_run_filter, parse_run_order_by};
use crate::state::AppState;
use crate::store::{Batch, NewRun, RunSearch, RunUpdate};
use crate::validation::{self as v, required, run_id};
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use protocol::names::KeyKind;
use protocol::{
    CreateRun, Dataset, DatasetInputRecord, KeyValue, KeyValueIn, LogBatch, LogInputs, LogMetric,
    Metric, MetricIn, RunIdRequest, RunKeyValueRequest, RunResponse, SearchRuns, UpdateRun,
    UpdateRunResponse,
};
use serde_json::Value;
use std::collections::HashSet;

use protocol::tags::{now_ms, RUN_NAME as RUN_NAME_TAG};
const MAX_RUNS_PAGE: i64 = 50_000;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/runs/create", post(create))
        .route("/runs/get", get(get_run))
        .route("/runs/update", post(update))
        .route("/runs/delete", post(delete))
        .route("/runs/restore", post(restore))
        .route("/runs/search", post(search).get(search))
        .route("/runs/log-metric", post(log_metric))
        .route("/runs/log-parameter", post(log_param))
        .route("/runs/set-tag", post(set_tag))
        .route("/runs/delete-tag", post(delete_tag))
        .route("/runs/log-batch", post(log_batch))
        .route("/runs/log-inputs", post(log_inputs))
}

fn run_tag(t: KeyValueIn, field: &str) -> ApiResult<KeyValue> {
    crate::service::runs::tag(t.key, t.value, field)
}

fn param(p: KeyValueIn, field: &str) -> ApiResult<KeyValue> {
    let key = required(p.key, &format!("{field}key"))?;
    v::validate_key(KeyKind::Param, &key)?;
    let value = p
        .value
        .ok_or_else(|| ApiError::missing(&format!("{field}value")))?;
    Ok(KeyValue {
        key,
        value: v::truncate_value(value, v::MAX_PARAM_VALUE_LENGTH),
    })
}

fn metric(m: MetricIn, field: &str) -> ApiResult<Metric> {
    let key = required(m.key, &format!("{field}key"))?;
    v::validate_key(KeyKind::Metric, &key)?;
    let value = m
        .value
        .ok_or_else(|| ApiError::missing(&format!("{field}value")))?;
    let timestamp = m
        .timestamp
        .ok_or_else(|| ApiError::missing(&format!("{field}timestamp")))?;
    v::validate_timestamp(&format!("{field}timestamp"), timestamp)?;
    Ok(Metric {
        key,
        value,
        timestamp,
        step: m.step.unwrap_or(0),
        run_id: None,
        model_id: m.model_id.filter(|id| !id.is_empty()),
        dataset_name: m.dataset_name.filter(|n| !n.is_empty()),
        dataset_digest: m.dataset_digest.filter(|d| !d.is_empty()),
    })
}

/// A fresh run name in MLflow's style (`adjective-noun-NNN`), short enough for its 20-char budget.
pub(super) fn generate_run_name() -> String {
    use rand::Rng;
    const ADJECTIVES: &[&str] = &[
        "bold", "brave", "calm", "clever", "crisp", "eager", "fair", "gentle", "glad", "keen",
        "lucky", "merry", "noble", "polite", "quick", "quiet", "sharp", "silent", "smart", "swift",
    ];
    const NOUNS: &[&str] = &[
        "ant", "bat", "bee", "cod", "crab", "deer", "dove", "eel", "fox", "gnu", "hare", "hawk",
        "lynx", "mole", "owl", "ram", "seal", "swan", "toad", "wolf",
    ];
    let mut rng = rand::thread_rng();
    format!(
        "{}-{}-{}",
        ADJECTIVES[rng.gen_range(0..ADJECTIVES.len())],
        NOUNS[rng.gen_range(0..NOUNS.len())],
        rng.gen_range(0..1000)
    )
}

async fn create(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<CreateRun>,
) -> ApiResult<Json<RunResponse>> {
    let experiment_id = v::experiment_id(
        req.experiment_id
            .as_deref()
            .filter(|e| !e.is_empty())
            .unwrap_or("0"),
    )?;
    let tags = req
        .tags
        .into_iter()
        .map(|t| run_tag(t, "tags."))
        .collect::<ApiResult<Vec<_>>>()?;
    let tag_name = tags
        .iter()
        .find(|t| t.key == RUN_NAME_TAG)
        .map(|t| t.value.clone());
    let run_name = match (req.run_name.filter(|n| !n.is_empty()), tag_name) {
        (Some(a), Some(b)) if a != b => {
            return Err(ApiError::invalid(format!(
                "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with \
                 different values (run_name='{a}', mlflow.runName='{b}')."
            )))
        }
        (Some(a), _) => a,
        (None, Some(b)) if !b.is_empty() => b,
        _ => generate_run_name(),
    };
    let start_time = req.start_time.unwrap_or_else(now_ms);
    v::validate_timestamp("start_time", start_time)?;
    let run = s
        .store
        .create_run(NewRun {
            experiment_id,
            user_id: req.user_id.unwrap_or_default(),
            run_name,
            start_time,
            tags,
        })
        .await?;
    Ok(Json(RunResponse { run }))
}

async fn get_run(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<RunIdRequest>,
) -> ApiResult<Json<RunResponse>> {
    let id = run_id(req.run_id, req.run_uuid)?;
    Ok(Json(RunResponse {
        run: s.store.get_run(&id).await?,
    }))
}

async fn update(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<UpdateRun>,
) -> ApiResult<Json<UpdateRunResponse>> {
    let id = run_id(req.run_id, req.run_uuid)?;
    if let Some(end) = req.end_time {
        v::validate_timestamp("end_time", end)?;
    }
    let run_info = s
        .store
        .update_run(
            &id,
            RunUpdate {
                status: req.status,
                end_time: req.end_time,
                run_name: req.run_name,
            },
        )
        .await?;
    Ok(Json(UpdateRunResponse { run_info }))
}

async fn delete(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<RunIdRequest>,
) -> ApiResult<Json<Value>> {
    s.store
        .set_run_deleted(&run_id(req.run_id, req.run_uuid)?, true)
        .await?;
    Ok(empty())
}

async fn restore(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<RunIdRequest>,
) -> ApiResult<Json<Value>> {
    s.store
        .set_run_deleted(&run_id(req.run_id, req.run_uuid)?, false)
        .await?;
    Ok(empty())
}

async fn log_metric(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<LogMetric>,
) -> ApiResult<Json<Value>> {
    let id = run_id(req.run_id, req.run_uuid)?;
    let m = metric(
        MetricIn {
            key: req.key,
            value: req.value,
            timestamp: req.timestamp,
            step: req.step,
            model_id: req.model_id,
            dataset_name: req.dataset_name,
            dataset_digest: req.dataset_digest,
            run_id: None,
        },
        "",
    )?;
    s.store
        .log_batch(
            &id,
            Batch {
                metrics: vec![m],
                ..Batch::default()
            },
        )
        .await?;
    Ok(empty())
}

async fn log_param(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<RunKeyValueRequest>,
) -> ApiResult<Json<Value>> {
    let id = run_id(req.run_id, req.run_uuid)?;
    let p = param(
        KeyValueIn {
            key: req.key,
            value: req.value,
        },
        "",
    )?;
    s.store
        .log_batch(
            &id,
            Batch {
                params: vec![p],
                ..Batch::default()
            },
        )
        .await?;
    Ok(empty())
}

async fn set_tag(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<RunKeyValueRequest>,
) -> ApiResult<Json<Value>> {
    let id = run_id(req.run_id, req.run_uuid)?;
    let t = run_tag(
        KeyValueIn {
            key: req.key,
            value: req.value,
        },
        "",
    )?;
    s.store
        .log_batch(
            &id,
            Batch {
                tags: vec![t],
                ..Batch::default()
            },
        )
        .await?;
    Ok(empty())
}

async fn delete_tag(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<RunKeyValueRequest>,
) -> ApiResult<Json<Value>> {
    let id = run_id(req.run_id, req.run_uuid)?;
    let key = required(req.key, "key")?;
    s.store.delete_tag(&id, &key).await?;
    Ok(empty())
}

async fn log_batch(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<LogBatch>,
) -> ApiResult<Json<Value>> {
    let id = run_id(req.run_id, None)?;
    v::validate_batch_limits(req.metrics.len(), req.params.len(), req.tags.len())?;
    let metrics = req
        .metrics
        .into_iter()
        .enumerate()
        .map(|(i, m)| metric(m, &format!("metrics[{i}].")))
        .collect::<ApiResult<Vec<_>>>()?;
    let params = req
        .params
        .into_iter()
        .enumerate()
        .map(|(i, p)| param(p, &format!("params[{i}].")))
        .collect::<ApiResult<Vec<_>>>()?;
    let tags = req
        .tags
        .into_iter()
        .enumerate()
        .map(|(i, t)| run_tag(t, &format!("tags[{i}].")))
        .collect::<ApiResult<Vec<_>>>()?;
    let mut seen = HashSet::new();
    let mut dupes: Vec<&str> = params
        .iter()
        .filter(|p| !seen.insert(p.key.as_str()))
        .map(|p| p.key.as_str())
        .collect();
    if !dupes.is_empty() {
        dupes.sort_unstable();
        dupes.dedup();
        return Err(ApiError::invalid(format!(
            "Duplicate parameter keys have been submitted: {dupes:?}. Please ensure the request \
             contains only one param value per param key."
        )));
    }
    s.store
        .log_batch(
            &id,
            Batch {
                metrics,
                params,
                tags,
            },
        )
        .await?;
    Ok(empty())
}

fn dataset_input(input: protocol::DatasetInputIn, i: usize) -> ApiResult<DatasetInputRecord> {
    let field = |f: &str| format!("datasets[{i}].dataset.{f}");
    let d = input
        .dataset
        .ok_or_else(|| ApiError::missing(&format!("datasets[{i}].dataset")))?;
    let dataset = Dataset {
        name: required(d.name, &field("name"))?,
        digest: required(d.digest, &field("digest"))?,
        source_type: required(d.source_type, &field("source_type"))?,
        source: required(d.source, &field("source"))?,
        schema: d.schema,
        profile: d.profile,
    };
    v::validate_length("Dataset name", &dataset.name, v::MAX_DATASET_NAME_LENGTH)?;
    v::validate_length(
        "Dataset digest",
        &dataset.digest,
        v::MAX_DATASET_DIGEST_LENGTH,
    )?;
    v::validate_length(
        "Dataset source",
        &dataset.source,
        v::MAX_DATASET_SOURCE_LENGTH,
    )?;
    v::validate_length(
        "Dataset schema",
        dataset.schema.as_deref().unwrap_or(""),
        v::MAX_DATASET_SCHEMA_LENGTH,
    )?;
    v::validate_length(
        "Dataset profile",
        dataset.profile.as_deref().unwrap_or(""),
        v::MAX_DATASET_PROFILE_LENGTH,
    )?;
    let mut tags = Vec::new();
    for (j, t) in input.tags.into_iter().enumerate() {
        let key = required(t.key, &format!("datasets[{i}].tags[{j}].key"))?;
        let value = required(t.value, &format!("datasets[{i}].tags[{j}].value"))?;
        v::validate_length("Input tag key", &key, v::MAX_INPUT_TAG_KEY_LENGTH)?;
        v::validate_length("Input tag value", &value, v::MAX_INPUT_TAG_VALUE_LENGTH)?;
        tags.push(KeyValue { key, value });
    }
    Ok(DatasetInputRecord { tags, dataset })
}

async fn log_inputs(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<LogInputs>,
) -> ApiResult<Json<Value>> {
    let id = run_id(req.run_id, None)?;
    let inputs = req
        .datasets
        .into_iter()
        .enumerate()
        .map(|(i, d)| dataset_input(d, i))
        .collect::<ApiResult<Vec<_>>>()?;
    let models = req
        .models
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            m.get("model_id")
                .or_else(|| m.get("modelId"))
                .and_then(Value::as_str)
                .filter(|id| !id.is_empty())
                .map(str::to_string)
                .ok_or_else(|| ApiError::missing(&format!("models[{i}].model_id")))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    s.store.log_inputs(&id, inputs, &models).await?;
    Ok(empty())
}

async fn search(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<SearchRuns>,
) -> ApiResult<axum::response::Response> {
    let max_results = req.max_results.unwrap_or(1000);
    if !(1..=MAX_RUNS_PAGE).contains(&max_results) {
        return Err(ApiError::invalid(format!(
            "Invalid value {max_results} for parameter 'max_results' supplied. It must be at most \
             {MAX_RUNS_PAGE} and greater than 0."
        )));
    }
    let experiment_ids = req
        .experiment_ids
        .iter()
        .map(|e| v::experiment_id(e))
        .collect::<ApiResult<Vec<_>>>()?;
    let search = RunSearch {
        experiment_ids,
        filter: parse_run_filter(req.filter.as_deref().unwrap_or(""))?,
        order_by: parse_run_order_by(&req.order_by)?,
        view: req.run_view_type.unwrap_or_default(),
        max_results: max_results.unsigned_abs(),
        offset: decode_page_token(req.page_token.as_deref())?,
    };
    // `SearchRunsResponse` as serde writes it: `runs` left out when empty, then the token if any.
    let mut body = b"{\"runs\":".to_vec();
    let page = s.store.search_runs_json(&search, &mut body).await?;
    if page.items == 0 {
        body.truncate(1);
    }
    if let Some(offset) = page.next_offset {
        if page.items > 0 {
            body.push(b',');
        }
        body.extend_from_slice(b"\"next_page_token\":");
        serde_json::to_writer(&mut body, &encode_page_token(offset))
            .map_err(|e| ApiError::internal(format!("could not encode the answer: {e}")))?;
    }
    body.push(b'}');
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}
