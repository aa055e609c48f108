//! The store a server runs on: every concern behind one object.

use super::auth::AuthStore;
use super::webhooks::WebhookStore;
use super::{
    ExperimentStore, LoggedModelStore, MetricStore, ModelVersionStore, RegistryStore, RunStore,
    RunViews,
};

/// Everything the server asks of its store. One object, so one connection pool serves every
/// concern; one trait per concern, so a reader sees what each part needs.
pub trait Store:
    ExperimentStore
    + RunStore
    + MetricStore
    + RegistryStore
    + ModelVersionStore
    + LoggedModelStore
    + RunViews
    + AuthStore
    + WebhookStore
{
    /// Connection pools at this moment, for `/metrics`.
    fn pool_stats(&self) -> Vec<PoolStats>;
}

/// A database pool's state at scrape time.
#[derive(Debug, Clone)]
pub struct PoolStats {
    /// `read` or `write` (one pool serves both on PostgreSQL: `shared`).
    pub pool: &'static str,
    pub open: u32,
    pub idle: usize,
    pub max: u32,
}
