//! Non-proto endpoints: health, version, server capabilities.

use crate::state::AppState;
use axum::routing::get;
use axum::{Json, Router};

/// The MLflow version we claim. Below 3.4 on purpose: from 3.4 the client exports spans over OTLP to
/// `/v1/traces`, which this server does not implement (it then uploads `traces.json` instead).
pub(super) const COMPATIBLE_MLFLOW_VERSION: &str = "3.3.2";

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(|| async { "OK" }))
        .route("/version", get(|| async { COMPATIBLE_MLFLOW_VERSION }))
        .route("/api/3.0/mlflow/server-info", get(server_info))
        .route("/ajax-api/3.0/mlflow/server-info", get(server_info))
}

async fn server_info() -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "store_type": "SqlStore",
        "server": "mltrack",
        "mltrack_version": env!("CARGO_PKG_VERSION"),
        "workspaces_enabled": false,
        "trace_archival_enabled": false,
        "multipart_uploads_enabled": false,
        "multipart_downloads_enabled": false,
    }))
}
