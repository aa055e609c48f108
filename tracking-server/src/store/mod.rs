//! Storage, by concern: one trait per part of MLflow's model ([`ExperimentStore`], [`RunStore`],
//! [`MetricStore`], [`RegistryStore`], [`ModelVersionStore`], [`LoggedModelStore`]), the web UI's read models ([`RunViews`]), users
//! ([`auth::AuthStore`]) and webhooks ([`webhooks::WebhookStore`]). [`SqlStore`] implements each
//! in its own file under `sql/`, for SQLite (the embedded default) and PostgreSQL (for teams running
//! several servers on one database); [`Store`] is all of them, which is what the server holds.
//!
//! Handlers never see SQL, and the store never sees HTTP: it fails with a typed [`StoreError`].
//! Checks that depend on stored rows (a run is active, a param keeps its value) happen inside the
//! write transaction, so a rejected write leaves the store exactly as it was.

pub mod auth;
mod backend;
mod error;
mod experiments;
pub mod import;
mod logged_models;
mod metrics;
mod model_versions;
mod page;
pub mod registry;
mod runs;
mod sql;
mod views;
pub mod webhooks;

pub use backend::{PoolStats, Store};
pub use error::{StoreError, StoreResult};
pub use experiments::{ExperimentSearch, ExperimentStore};
pub use logged_models::{LoggedModelSearch, LoggedModelStore, NewLoggedModel};
pub use metrics::MetricStore;
pub use model_versions::{ModelVersionStore, NewModelVersion};
pub use page::{Page, WrittenPage};
pub use registry::{RegistrySearch, RegistryStore};
pub use runs::{Batch, NewRun, RunSearch, RunStore, RunUpdate};
pub use sql::gc::{DeletedExperiment, DeletedRun};
pub use sql::SqlStore;
pub use views::{EnvelopePoint, HistoryAxis, MetricEnvelope, RunKeys, RunViews};
