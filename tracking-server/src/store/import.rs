//! Bulk writes for `mltrack import`: MLflow's entities with the ids, times and states they had
//! in the MLflow store they come from, so that `runs:/` and `models:/` URIs keep working.
//!
//! Why a concern of its own: the API's writes assign ids and times, check lifecycle states and
//! write one request at a time; an import must keep what it is given and write thousands of runs
//! per transaction. Every write here is an upsert (or an insert that ignores a row already there),
//! so importing the same store twice changes nothing, and an interrupted import continues where
//! the last committed chunk ended.

use super::StoreResult;
use protocol::{Dataset, KeyValue, Metric};

#[derive(Debug, Clone, Default)]
pub struct ImportExperiment {
    pub experiment_id: i64,
    pub name: String,
    pub artifact_location: String,
    pub lifecycle_stage: String,
    pub creation_time: i64,
    pub last_update_time: i64,
    pub tags: Vec<KeyValue>,
}

/// A run's dataset input. The dataset is stored under `dataset_uuid` unless the run's experiment
/// already holds one of that name and digest, which the run is then linked to.
#[derive(Debug, Clone)]
pub struct ImportInput {
    pub dataset: Dataset,
    pub dataset_uuid: String,
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone, Default)]
pub struct ImportRun {
    pub run_uuid: String,
    pub experiment_id: i64,
    pub name: String,
    pub user_id: String,
    pub status: String,
    pub start_time: i64,
    pub end_time: Option<i64>,
    pub artifact_uri: String,
    pub lifecycle_stage: String,
    pub deleted_time: Option<i64>,
    pub params: Vec<KeyValue>,
    pub tags: Vec<KeyValue>,
    /// The whole history, every point.
    pub metrics: Vec<Metric>,
    pub inputs: Vec<ImportInput>,
    /// Logged models the run took as inputs.
    pub model_inputs: Vec<String>,
    /// Logged models the run produced, with the step.
    pub model_outputs: Vec<(String, i64)>,
}

#[derive(Debug, Clone, Default)]
pub struct ImportLoggedModel {
    pub model_id: String,
    pub experiment_id: i64,
    pub name: String,
    pub artifact_location: String,
    pub creation_time: i64,
    pub last_updated_time: i64,
    pub status: String,
    pub model_type: Option<String>,
    pub source_run_id: Option<String>,
    pub status_message: Option<String>,
    pub lifecycle_stage: String,
    pub tags: Vec<KeyValue>,
    pub params: Vec<KeyValue>,
    /// With `run_id` and the dataset fields set as MLflow recorded them.
    pub metrics: Vec<Metric>,
}

#[derive(Debug, Clone, Default)]
pub struct ImportModelVersion {
    pub version: i64,
    pub creation_time: i64,
    pub last_updated_time: i64,
    pub description: Option<String>,
    pub user_id: Option<String>,
    pub current_stage: String,
    pub source: String,
    pub run_id: Option<String>,
    pub run_link: Option<String>,
    pub status: String,
    pub status_message: Option<String>,
    pub model_id: Option<String>,
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone, Default)]
pub struct ImportRegisteredModel {
    pub name: String,
    pub creation_time: i64,
    pub last_updated_time: i64,
    pub description: Option<String>,
    pub tags: Vec<KeyValue>,
    /// Live versions; deleted ones only count towards `next_version`.
    pub versions: Vec<ImportModelVersion>,
    /// The highest version number MLflow ever gave, deleted ones included.
    pub max_version: i64,
    pub aliases: Vec<(String, i64)>,
}

#[async_trait::async_trait]
pub trait ImportStore: Send + Sync {
    /// Inserts each experiment under its own id, or updates the one imported before, all or none:
    /// refused when an id or a name is taken by a different experiment (the ids could not be kept).
    async fn import_experiments(&self, experiments: &[ImportExperiment]) -> StoreResult<()>;
    /// Writes the runs, their data and inputs in one transaction.
    async fn import_runs(&self, runs: &[ImportRun]) -> StoreResult<()>;
    async fn import_logged_models(&self, models: &[ImportLoggedModel]) -> StoreResult<()>;
    async fn import_registered_model(&self, m: &ImportRegisteredModel) -> StoreResult<()>;
    /// After explicit ids were inserted: PostgreSQL's identity sequence moves past them.
    async fn finish_import(&self) -> StoreResult<()>;
}
