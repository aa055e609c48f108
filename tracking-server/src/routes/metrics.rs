//! `/metrics/*`: full history for the client, down-sampled history for charts.

use crate::error::{ApiError, ApiResult};
use crate::extract::MlflowJson;
use crate::search::{decode_page_token, encode_page_token};
use crate::state::AppState;
use crate::validation::{required, run_id, validate_run_id};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use protocol::{GetMetricHistory, GetMetricHistoryBulkInterval, MetricsResponse};

const MAX_BULK_RUNS: usize = 100;
const MAX_BULK_INTERVAL_POINTS: i64 = 2500;
const MAX_BULK_POINTS: i64 = 25_000;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/metrics/get-history", get(history))
        .route("/metrics/get-history-bulk-interval", get(bulk_interval))
        .route("/metrics/get-history-bulk", get(bulk))
}

async fn history(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<GetMetricHistory>,
) -> ApiResult<axum::response::Response> {
    let id = run_id(req.run_id, req.run_uuid)?;
    let key = required(req.metric_key, "metric_key")?;
    let limit = match req.max_results {
        None => None,
        Some(n) if n > 0 => Some(n.unsigned_abs()),
        Some(n) => {
            return Err(ApiError::invalid(format!(
                "Invalid value {n} for parameter 'max_results' supplied: it must be positive"
            )))
        }
    };
    let offset = decode_page_token(req.page_token.as_deref())?;
    let page = s.store.metric_history(&id, &key, offset, limit).await?;
    let capacity = page.items.len() * 64 + 64;
    let answer = MetricsResponse {
        metrics: page.items,
        next_page_token: page.next_offset.map(encode_page_token),
    };
    Ok(super::reply::sized_json(&answer, capacity))
}

fn checked_run_ids(ids: Vec<String>) -> ApiResult<Vec<String>> {
    if ids.is_empty() {
        return Err(ApiError::missing("run_ids"));
    }
    if ids.len() > MAX_BULK_RUNS {
        return Err(ApiError::invalid(format!(
            "GetMetricHistoryBulkInterval request must specify at most {MAX_BULK_RUNS} run_ids. \
             Received {} run_ids.",
            ids.len()
        )));
    }
    for id in &ids {
        validate_run_id(id)?;
    }
    Ok(ids)
}

async fn bulk_interval(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<GetMetricHistoryBulkInterval>,
) -> ApiResult<Json<MetricsResponse>> {
    let run_ids = checked_run_ids(req.run_ids)?;
    let key = required(req.metric_key, "metric_key")?;
    let steps = match (req.start_step, req.end_step) {
        (Some(a), Some(b)) if a <= b => Some((a, b)),
        (Some(a), Some(b)) => {
            return Err(ApiError::invalid(format!(
                "end_step must be greater than start_step. Found start_step={a} and end_step={b}."
            )))
        }
        (None, None) => None,
        _ => {
            return Err(ApiError::invalid(
                "If either start step or end step are specified, both must be specified.",
            ))
        }
    };
    let max = req.max_results.unwrap_or(MAX_BULK_INTERVAL_POINTS);
    if !(1..=MAX_BULK_INTERVAL_POINTS).contains(&max) {
        return Err(ApiError::invalid(format!(
            "max_results must be between 1 and {MAX_BULK_INTERVAL_POINTS}, got {max}"
        )));
    }
    let metrics = s
        .store
        .metric_history_sampled(&run_ids, &key, steps, max.unsigned_abs())
        .await?;
    Ok(Json(MetricsResponse {
        metrics,
        next_page_token: None,
    }))
}

/// The UI's older bulk endpoint: whole histories, capped, run by run in run id order (each history
/// by timestamp, step, value), with MLflow's own messages for this endpoint.
async fn bulk(
    State(s): State<AppState>,
    MlflowJson(mut req): MlflowJson<GetMetricHistoryBulkInterval>,
) -> ApiResult<Json<MetricsResponse>> {
    req.run_ids.append(&mut req.run_id);
    let mut run_ids = req.run_ids;
    if run_ids.is_empty() {
        return Err(ApiError::invalid(
            "GetMetricHistoryBulk request must specify at least one run_id.",
        ));
    }
    if run_ids.len() > MAX_BULK_RUNS {
        return Err(ApiError::invalid(format!(
            "GetMetricHistoryBulk request cannot specify more than {MAX_BULK_RUNS} run_ids. \
             Received {} run_ids.",
            run_ids.len()
        )));
    }
    let key = req.metric_key.ok_or_else(|| {
        ApiError::invalid("GetMetricHistoryBulk request must specify a metric_key.")
    })?;
    for id in &run_ids {
        validate_run_id(id)?;
    }
    run_ids.sort();
    let max = req
        .max_results
        .unwrap_or(MAX_BULK_POINTS)
        .clamp(1, MAX_BULK_POINTS)
        .unsigned_abs();
    let mut metrics = Vec::new();
    for id in &run_ids {
        let page = s.store.metric_history(id, &key, 0, Some(max)).await?;
        metrics.extend(page.items.into_iter().map(|mut m| {
            m.run_id = Some(id.clone());
            m
        }));
    }
    Ok(Json(MetricsResponse {
        metrics,
        next_page_token: None,
    }))
}
