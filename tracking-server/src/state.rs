//! What every request handler shares. Built once by `startup`; handlers, the UI and the webhook
//! trigger read it, while middleware gets only the part it needs (the authenticator, the metrics),
//! so nothing below the front ends depends on this type.

use crate::artifacts::ArtifactStore;
use crate::auth::Authenticator;
use crate::config::ServerConfig;
use crate::ops::metrics::Metrics;
use crate::store::Store;
use crate::webhooks::Webhooks;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    /// Every store concern (experiments, runs, registry, logged models, UI reads, users,
    /// webhooks) behind one connection pool.
    pub store: Arc<dyn Store>,
    /// `None` when the server runs with `--no-serve-artifacts`.
    pub artifacts: Option<Arc<ArtifactStore>>,
    pub config: Arc<ServerConfig>,
    /// `Some` when the server runs with `--auth`.
    pub auth: Option<Arc<Authenticator>>,
    pub metrics: Arc<Metrics>,
    pub webhooks: Arc<Webhooks>,
}
