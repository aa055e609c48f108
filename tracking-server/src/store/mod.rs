//! Storage: one trait with the behaviour MLflow's SQL store has, and its SQL implementation for SQLite
//! (the embedded default) and PostgreSQL (for teams running several servers on one database).
//!
//! Handlers never see SQL; everything they need is a method here. Checks that depend on stored rows
//! (a run is active, a param keeps its value) happen inside the write transaction, so a rejected write
//! leaves the store exactly as it was.

pub mod auth;
mod error;
pub mod registry;
mod sql;
pub mod webhooks;

pub use error::{StoreError, StoreResult};
pub use registry::RegistryStore;
pub use sql::{DeletedExperiment, DeletedRun, SqlStore};

use crate::search::{Clause, OrderBy};
use async_trait::async_trait;
use protocol::{
    DatasetInputRecord, Experiment, KeyValue, Metric, Run, RunInfo, RunStatus, ViewType,
};

/// One page of a search, with the offset of the next page if there is one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_offset: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct NewRun {
    pub experiment_id: i64,
    pub user_id: String,
    pub run_name: String,
    pub start_time: i64,
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone)]
pub struct RunSearch {
    pub experiment_ids: Vec<i64>,
    pub filter: Vec<Clause>,
    pub order_by: Vec<OrderBy>,
    pub view: ViewType,
    pub max_results: u64,
    pub offset: u64,
}

#[derive(Debug, Clone)]
pub struct ExperimentSearch {
    pub filter: Vec<Clause>,
    pub order_by: Vec<OrderBy>,
    pub view: ViewType,
    pub max_results: u64,
    pub offset: u64,
}

#[derive(Debug, Clone)]
pub struct RunUpdate {
    pub status: Option<RunStatus>,
    pub end_time: Option<i64>,
    pub run_name: Option<String>,
}

/// The x axis of a metric chart: the logged step or the wall-clock timestamp (milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HistoryAxis {
    #[default]
    Step,
    Time,
}

/// One pixel column of a chart: the lowest and highest value logged at x positions that fall into it.
/// Raw points (short histories) have `min == max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnvelopePoint {
    pub x: i64,
    pub min: f64,
    pub max: f64,
}

/// A metric history reduced to what a chart of a given width can show.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricEnvelope {
    /// Finite points in the whole history (NaN and infinities are not drawn).
    pub total: u64,
    pub points: Vec<EnvelopePoint>,
}

/// The distinct param, metric and tag keys of the runs in some experiments.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunKeys {
    pub params: Vec<String>,
    pub metrics: Vec<String>,
    pub tags: Vec<String>,
}

/// Everything a `log-batch` carries, already validated.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub metrics: Vec<Metric>,
    pub params: Vec<KeyValue>,
    pub tags: Vec<KeyValue>,
}

#[async_trait]
pub trait TrackingStore: Send + Sync + 'static {
    /// Creates `Default` (id 0) if it is missing; safe to call from several servers at once.
    async fn ensure_default_experiment(&self, artifact_location: &str) -> StoreResult<()>;

    /// `artifact_root` is where experiments without an explicit location live: `<root>/<id>`.
    async fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        artifact_root: &str,
        tags: &[KeyValue],
    ) -> StoreResult<i64>;
    async fn get_experiment(&self, id: i64) -> StoreResult<Experiment>;
    async fn get_experiment_by_name(&self, name: &str) -> StoreResult<Option<Experiment>>;
    async fn search_experiments(&self, search: &ExperimentSearch) -> StoreResult<Page<Experiment>>;
    async fn rename_experiment(&self, id: i64, new_name: &str) -> StoreResult<()>;
    /// Soft delete or restore; the experiment's runs follow.
    async fn set_experiment_deleted(&self, id: i64, deleted: bool) -> StoreResult<()>;
    async fn set_experiment_tag(&self, id: i64, tag: &KeyValue) -> StoreResult<()>;
    async fn delete_experiment_tag(&self, id: i64, key: &str) -> StoreResult<()>;

    async fn create_run(&self, run: NewRun) -> StoreResult<Run>;
    async fn get_run(&self, run_id: &str) -> StoreResult<Run>;
    async fn update_run(&self, run_id: &str, update: RunUpdate) -> StoreResult<RunInfo>;
    async fn set_run_deleted(&self, run_id: &str, deleted: bool) -> StoreResult<()>;
    /// Params are immutable, tags last-write-wins, metrics append; all or nothing.
    async fn log_batch(&self, run_id: &str, batch: Batch) -> StoreResult<()>;
    async fn delete_tag(&self, run_id: &str, key: &str) -> StoreResult<()>;
    /// Dataset inputs, and the ids of logged models the run took as inputs.
    async fn log_inputs(
        &self,
        run_id: &str,
        inputs: Vec<DatasetInputRecord>,
        models: &[String],
    ) -> StoreResult<()>;
    async fn search_runs(&self, search: &RunSearch) -> StoreResult<Page<Run>>;
    /// The distinct datasets the runs of some experiments took as inputs, each with its
    /// `mlflow.data.context` tag (at most 1000, as MLflow).
    async fn search_datasets(
        &self,
        experiment_ids: &[i64],
    ) -> StoreResult<Vec<protocol::DatasetSummary>>;

    /// Full history of one metric, ordered by (timestamp, step, value).
    async fn metric_history(
        &self,
        run_id: &str,
        key: &str,
        offset: u64,
        limit: Option<u64>,
    ) -> StoreResult<Page<Metric>>;
    /// Down-sampled history per run for charts: at most `max_points` per run, first and last kept.
    async fn metric_history_sampled(
        &self,
        run_ids: &[String],
        key: &str,
        steps: Option<(i64, i64)>,
        max_points: u64,
    ) -> StoreResult<Vec<Metric>>;

    /// How many runs a search matches, for the web UI's "runs 1–100 of N" (ordering and paging
    /// ignored).
    async fn count_runs(&self, search: &RunSearch) -> StoreResult<u64>;
    /// The keys logged in some experiments' runs of a lifecycle view: the columns a CSV export has.
    async fn run_keys(&self, experiment_ids: &[i64], view: ViewType) -> StoreResult<RunKeys>;
    /// A metric history as at most `columns` min/max pairs along `axis`, computed by the database in
    /// one grouped pass, so a chart of a 100,000-point history reads a few hundred rows. Histories
    /// with at most `2 * columns` points come back whole. A missing run is `RESOURCE_DOES_NOT_EXIST`.
    async fn metric_envelope(
        &self,
        run_id: &str,
        key: &str,
        axis: HistoryAxis,
        columns: u32,
    ) -> StoreResult<MetricEnvelope>;
    /// Connection pools at this moment, for `/metrics`.
    fn pool_stats(&self) -> Vec<crate::ops::metrics::PoolStats> {
        Vec::new()
    }
}
