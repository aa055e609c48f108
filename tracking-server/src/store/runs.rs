//! Runs and what they log: params (immutable), tags (last write wins), metrics (appended, with a
//! latest-value table so searches never read history), dataset inputs.

use super::{Page, StoreResult, WrittenPage};
use crate::search::{Clause, OrderBy};
use async_trait::async_trait;
use protocol::{DatasetInputRecord, KeyValue, Metric, Run, RunInfo, RunStatus, ViewType};

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
pub struct RunUpdate {
    pub status: Option<RunStatus>,
    pub end_time: Option<i64>,
    pub run_name: Option<String>,
}
/// Everything a `log-batch` carries, already validated.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub metrics: Vec<Metric>,
    pub params: Vec<KeyValue>,
    pub tags: Vec<KeyValue>,
}

#[async_trait]
pub trait RunStore: Send + Sync + 'static {
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

    /// [`Self::search_runs`] for `runs/search`: appends the page's runs to `out` as a JSON array,
    /// byte for byte what serialising its [`Run`]s writes, without building them (a 1000-run page
    /// is a megabyte of JSON, and its typed runs cost more than reading it).
    async fn search_runs_json(
        &self,
        search: &RunSearch,
        out: &mut Vec<u8>,
    ) -> StoreResult<WrittenPage>;
}
