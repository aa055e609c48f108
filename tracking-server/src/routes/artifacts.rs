//! The artifact proxy (`/api/2.0/mlflow-artifacts/artifacts/<path>`) and the tracking-side run
//! listing (`/artifacts/list`). Bodies stream both ways; nothing is buffered whole in memory.

use crate::artifact_source::ArtifactSource;
use crate::artifacts::ArtifactStore;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{MlflowJson, MlflowPath, MlflowQuery};
use crate::state::AppState;
use crate::validation::{run_id, validate_artifact_path};
use protocol::{FileInfo, ListArtifacts, ListArtifactsResponse};

use axum::extract::{Request, State};
use axum::http::header;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use futures_util::StreamExt;
use serde::Deserialize;
use std::sync::Arc;

pub(super) fn proxy_router() -> Router<AppState> {
    Router::new()
        .route("/artifacts", get(list))
        .route("/artifacts/", get(list))
        .route(
            "/artifacts/{*path}",
            get(download).put(upload).delete(delete),
        )
        .route("/mpu/{*path}", axum::routing::post(multipart_unsupported))
}

pub(super) fn tracking_router() -> Router<AppState> {
    Router::new().route("/artifacts/list", get(list_run_artifacts))
}

fn proxy(s: &AppState) -> ApiResult<&Arc<ArtifactStore>> {
    s.artifacts.as_ref().ok_or_else(|| {
        ApiError::new(
            ErrorCode::TemporarilyUnavailable,
            "Serving artifacts is disabled: the server runs with --no-serve-artifacts",
        )
    })
}

#[derive(Deserialize, Default)]
struct ListQuery {
    path: Option<String>,
}

async fn list(
    State(s): State<AppState>,
    MlflowQuery(q): MlflowQuery<ListQuery>,
) -> ApiResult<Json<ListArtifactsResponse>> {
    let files = proxy(&s)?.list(q.path.as_deref().unwrap_or("")).await?;
    Ok(Json(ListArtifactsResponse {
        files,
        ..Default::default()
    }))
}

async fn upload(
    State(s): State<AppState>,
    MlflowPath(path): MlflowPath<String>,
    req: Request,
) -> ApiResult<Json<serde_json::Value>> {
    let store = proxy(&s)?;
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut stream = req.into_body().into_data_stream();
    // Refuse at once when the client announces a body over the limit; the stream is counted too.
    let result = match store.max_upload_bytes() {
        Some(limit) if announced.is_some_and(|n| n > limit) => {
            Err(crate::error::ApiError::upload_too_large(limit))
        }
        _ => store.put(&path, &mut stream).await,
    };
    if result
        .as_ref()
        .is_err_and(|e| e.code == ErrorCode::MaxBlockSizeExceeded)
    {
        drain(&mut stream).await;
    }
    let bytes = result?;
    tracing::debug!(%path, bytes, "artifact stored");
    Ok(super::reply::empty())
}

/// Reads and discards what is left of a refused upload (up to a cap), so that a client that does
/// not wait for `100 Continue` (the `mlflow` client does not) can finish sending and read the 413,
/// instead of seeing the connection break mid-body and retrying.
async fn drain(stream: &mut axum::body::BodyDataStream) {
    const CAP: u64 = 64 * 1024 * 1024;
    let mut seen = 0u64;
    let read = async {
        while let Some(Ok(chunk)) = stream.next().await {
            seen += chunk.len() as u64;
            if seen > CAP {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), read).await;
}

async fn download(
    State(s): State<AppState>,
    MlflowPath(path): MlflowPath<String>,
) -> ApiResult<Response> {
    let download = proxy(&s)?.download(&path).await?;
    Ok(super::artifact_files::attachment(&path, download))
}

async fn delete(
    State(s): State<AppState>,
    MlflowPath(path): MlflowPath<String>,
) -> ApiResult<Json<serde_json::Value>> {
    proxy(&s)?.delete(&path).await?;
    Ok(super::reply::empty())
}

/// The client falls back to a single PUT when the message starts this way.
async fn multipart_unsupported() -> ApiError {
    ApiError::new(
        ErrorCode::NotImplemented,
        "Multipart upload is not supported for the current artifact repository",
    )
}

/// Lists a run's artifacts with paths relative to the run's artifact root (unlike the proxy).
async fn list_run_artifacts(
    State(s): State<AppState>,
    MlflowJson(req): MlflowJson<ListArtifacts>,
) -> ApiResult<Json<ListArtifactsResponse>> {
    let id = run_id(req.run_id, req.run_uuid)?;
    let rel = req.path.unwrap_or_default();
    validate_artifact_path(&rel)?;
    let run = s.store.get_run(&id).await?;
    let root_uri = run.info.artifact_uri;
    let rel = rel.trim_matches('/').to_string();
    let name_of = |name: &str| {
        if rel.is_empty() {
            name.to_string()
        } else {
            format!("{rel}/{name}")
        }
    };
    // A root this server cannot read (an object store the client writes to directly) lists empty.
    let files: Vec<FileInfo> = match ArtifactSource::of_uri(&s, &root_uri) {
        Some(source) => source.list_named(&s, &rel, name_of).await?,
        None => Vec::new(),
    };
    Ok(Json(ListArtifactsResponse {
        root_uri: Some(root_uri),
        files,
        next_page_token: None,
    }))
}
