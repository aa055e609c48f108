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
mod reply;
mod runs;
mod webhook_trigger;
mod webhooks;

use crate::state::AppState;
use axum::Router;

/// The MLflow REST API, to be mounted under both prefixes ([`protocol::paths::API`] and
/// [`protocol::paths::AJAX_API`]). Registry writes that are webhook events queue their deliveries
/// on the way out.
pub fn api(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(experiments::router())
        .merge(runs::router())
        .merge(metrics::router())
        .merge(logged_models::router())
        .merge(registry::router())
        .merge(webhooks::router())
        .merge(artifacts::tracking_router())
        .merge(artifact_files::api_router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            webhook_trigger::watch,
        ))
}

/// The `mlflow-artifacts` proxy, to be mounted under both artifact prefixes.
pub fn artifact_proxy() -> Router<AppState> {
    artifacts::proxy_router()
}

/// Routes outside the prefixes: `/health`, `/version`, `/metrics`, `/get-artifact`, and the like.
pub fn root() -> Router<AppState> {
    Router::new()
        .merge(meta::router())
        .merge(artifact_files::root_router())
        .merge(ops::router())
}
