//! Experiments: the containers of runs, with MLflow's lifecycle (active, deleted) and tags.

use super::{Page, StoreResult};
use crate::search::{Clause, OrderBy};
use async_trait::async_trait;
use protocol::{Experiment, KeyValue, ViewType};

#[derive(Debug, Clone)]
pub struct ExperimentSearch {
    pub filter: Vec<Clause>,
    pub order_by: Vec<OrderBy>,
    pub view: ViewType,
    pub max_results: u64,
    pub offset: u64,
}

#[async_trait]
pub trait ExperimentStore: Send + Sync + 'static {
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

    /// The distinct datasets the runs of some experiments took as inputs, each with its
    /// `mlflow.data.context` tag (at most 1000, as MLflow).
    async fn search_datasets(
        &self,
        experiment_ids: &[i64],
    ) -> StoreResult<Vec<protocol::DatasetSummary>>;
}
