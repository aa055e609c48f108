//! MLflow 3 logged models: models with their own id, params, tags and metrics, linked to the runs
//! that produced or used them.

use super::{Page, StoreResult};
use crate::search::Clause;
use async_trait::async_trait;
use protocol::{KeyValue, LoggedModel};

#[derive(Debug, Clone, Default)]
pub struct NewLoggedModel {
    pub experiment_id: i64,
    pub name: String,
    pub model_type: Option<String>,
    pub source_run_id: Option<String>,
    pub params: Vec<KeyValue>,
    pub tags: Vec<KeyValue>,
}
#[derive(Debug, Clone)]
pub struct LoggedModelSearch {
    pub experiment_ids: Vec<i64>,
    /// Attribute clauses on `name`, `model_id`, `source_run_id`, `status`, `model_type`, and tags.
    pub filter: Vec<Clause>,
    /// Only models with a metric computed on one of these datasets: (name, digest if given).
    pub datasets: Vec<(String, Option<String>)>,
    pub max_results: u64,
    pub offset: u64,
}

#[async_trait]
pub trait LoggedModelStore: Send + Sync + 'static {
    async fn create_logged_model(
        &self,
        model: NewLoggedModel,
        artifact_root: &str,
    ) -> StoreResult<LoggedModel>;

    async fn get_logged_model(
        &self,
        model_id: &str,
        allow_deleted: bool,
    ) -> StoreResult<LoggedModel>;

    async fn finalize_logged_model(&self, model_id: &str, status: &str)
        -> StoreResult<LoggedModel>;

    async fn delete_logged_model(&self, model_id: &str) -> StoreResult<()>;

    async fn search_logged_models(
        &self,
        search: &LoggedModelSearch,
    ) -> StoreResult<Page<LoggedModel>>;

    async fn set_logged_model_tags(&self, model_id: &str, tags: &[KeyValue]) -> StoreResult<()>;

    async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> StoreResult<()>;

    async fn log_logged_model_params(&self, model_id: &str, params: &[KeyValue])
        -> StoreResult<()>;

    /// `runs/outputs`: links logged models to the run that produced them.
    async fn log_outputs(&self, run_id: &str, models: &[(String, i64)]) -> StoreResult<()>;
}
