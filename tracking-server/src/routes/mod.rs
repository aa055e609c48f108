//! HTTP routes. Each module owns one resource's paths and thin handlers (extract, validate, call the
//! store, wrap the answer); this module mounts them under both MLflow prefixes exactly once.

mod artifact_files;
mod artifacts;
mod experiments;
mod logged_models;
mod meta;
mod metrics;
mod ops;
mod registry;
pub(crate) mod registry_rules;
mod runs;
mod webhooks;

use crate::artifacts::ArtifactStore;
use crate::config::ServerConfig;
use crate::error::{ApiError, ErrorCode};
use crate::store::{RegistryStore, TrackingStore};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use std::sync::Arc;

pub const API_PREFIX: &str = "/api/2.0/mlflow";
pub const AJAX_PREFIX: &str = "/ajax-api/2.0/mlflow";
pub const ARTIFACTS_PREFIX: &str = "/api/2.0/mlflow-artifacts";
pub const AJAX_ARTIFACTS_PREFIX: &str = "/ajax-api/2.0/mlflow-artifacts";

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn TrackingStore>,
    pub registry: Arc<dyn RegistryStore>,
    /// `None` when the server runs with `--no-serve-artifacts`.
    pub artifacts: Option<Arc<ArtifactStore>>,
    pub config: Arc<ServerConfig>,
    /// `Some` when the server runs with `--auth`.
    pub auth: Option<Arc<crate::auth::Authenticator>>,
    pub metrics: Arc<crate::ops::metrics::Metrics>,
    pub webhooks: Arc<crate::webhooks::Webhooks>,
}

/// The whole HTTP surface, with the middleware of `ops::layers` (authentication included); public
/// so tests can drive it without a socket.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(experiments::router())
        .merge(runs::router())
        .merge(metrics::router())
        .merge(logged_models::router())
        .merge(registry::router())
        .merge(webhooks::router())
        .merge(artifacts::tracking_router())
        .merge(artifact_files::api_router());
    // Registry writes that are webhook events queue their deliveries (a no-op for other routes).
    let api = api.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        crate::webhooks::trigger::watch,
    ));
    let proxy = artifacts::proxy_router();
    let app = Router::new()
        .nest(API_PREFIX, api.clone())
        .nest(AJAX_PREFIX, api)
        .nest(ARTIFACTS_PREFIX, proxy.clone())
        .nest(AJAX_ARTIFACTS_PREFIX, proxy)
        .merge(meta::router())
        .merge(artifact_files::root_router())
        .merge(crate::ui::router())
        .merge(ops::router())
        .fallback(endpoint_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone());
    crate::ops::layers(app, state)
}

/// An empty success body, as MLflow sends it.
pub(crate) fn empty() -> Json<serde_json::Value> {
    Json(serde_json::json!({}))
}

/// A large JSON answer serialised into one buffer sized up front (a 1000-run search is ~1 MB;
/// growing from axum's default 128 bytes would copy it some twenty times).
pub(crate) fn sized_json<T: serde::Serialize>(value: &T, capacity: usize) -> Response {
    let mut body = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        Err(e) => ApiError::internal(format!("could not encode the answer: {e}")).into_response(),
    }
}

async fn endpoint_not_found(uri: Uri, headers: axum::http::HeaderMap) -> Response {
    // A browser asking for a page that does not exist gets the UI's 404 page; the API keeps JSON.
    let api = uri.path().starts_with("/api/") || uri.path().starts_with("/ajax-api/");
    let wants_html = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if !api && wants_html {
        return crate::ui::not_found(uri.path());
    }
    ApiError::new(
        ErrorCode::EndpointNotFound,
        format!("No API endpoint matches {}", uri.path()),
    )
    .into_response()
}

async fn method_not_allowed(method: axum::http::Method, uri: Uri) -> Response {
    let mut r = ApiError::bad_request(format!("Method {method} is not allowed for {}", uri.path()))
        .into_response();
    *r.status_mut() = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    r
}
