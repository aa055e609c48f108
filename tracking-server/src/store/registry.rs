//! The model registry's storage contract: registered models, versions with stages and aliases, their
//! history, and MLflow 3 logged models.

use super::{Page, StoreResult};
use crate::search::{Clause, OrderBy};
use async_trait::async_trait;
use protocol::{KeyValue, LoggedModel, ModelVersion, ModelVersionEvent, RegisteredModel};

/// A registry search (registered models or model versions).
#[derive(Debug, Clone)]
pub struct RegistrySearch {
    pub filter: Vec<Clause>,
    pub order_by: Vec<OrderBy>,
    pub max_results: u64,
    pub offset: u64,
}

#[derive(Debug, Clone, Default)]
pub struct NewModelVersion {
    pub name: String,
    pub source: String,
    pub run_id: Option<String>,
    pub run_link: Option<String>,
    pub description: Option<String>,
    pub model_id: Option<String>,
    pub tags: Vec<KeyValue>,
    /// Who asked (recorded in the version's history).
    pub actor: String,
}

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
pub trait RegistryStore: Send + Sync + 'static {
    async fn create_registered_model(
        &self,
        name: &str,
        description: Option<&str>,
        tags: &[KeyValue],
    ) -> StoreResult<RegisteredModel>;
    async fn get_registered_model(&self, name: &str) -> StoreResult<RegisteredModel>;
    /// Versions, tags and aliases follow the new name.
    async fn rename_registered_model(
        &self,
        name: &str,
        new_name: &str,
    ) -> StoreResult<RegisteredModel>;
    async fn update_registered_model(
        &self,
        name: &str,
        description: Option<&str>,
    ) -> StoreResult<RegisteredModel>;
    /// Hard delete with every version; the name becomes free again.
    async fn delete_registered_model(&self, name: &str) -> StoreResult<()>;
    async fn search_registered_models(
        &self,
        search: &RegistrySearch,
    ) -> StoreResult<Page<RegisteredModel>>;
    /// The newest version per requested stage (all stages when `stages` is empty).
    async fn get_latest_versions(
        &self,
        name: &str,
        stages: &[String],
    ) -> StoreResult<Vec<ModelVersion>>;
    async fn set_registered_model_tag(&self, name: &str, tag: &KeyValue) -> StoreResult<()>;
    async fn delete_registered_model_tag(&self, name: &str, key: &str) -> StoreResult<()>;

    async fn create_model_version(&self, version: NewModelVersion) -> StoreResult<ModelVersion>;
    async fn get_model_version(&self, name: &str, version: i64) -> StoreResult<ModelVersion>;
    async fn update_model_version(
        &self,
        name: &str,
        version: i64,
        description: Option<&str>,
    ) -> StoreResult<ModelVersion>;
    /// `stage` is canonical already; with `archive_existing`, other versions in it move to Archived.
    async fn transition_stage(
        &self,
        name: &str,
        version: i64,
        stage: &str,
        archive_existing: bool,
        actor: &str,
    ) -> StoreResult<ModelVersion>;
    async fn delete_model_version(&self, name: &str, version: i64) -> StoreResult<()>;
    async fn search_model_versions(
        &self,
        search: &RegistrySearch,
    ) -> StoreResult<Page<ModelVersion>>;
    async fn set_model_version_tag(
        &self,
        name: &str,
        version: i64,
        tag: &KeyValue,
    ) -> StoreResult<()>;
    async fn delete_model_version_tag(
        &self,
        name: &str,
        version: i64,
        key: &str,
    ) -> StoreResult<()>;
    async fn set_alias(
        &self,
        name: &str,
        alias: &str,
        version: i64,
        actor: &str,
    ) -> StoreResult<()>;
    async fn delete_alias(&self, name: &str, alias: &str, actor: &str) -> StoreResult<()>;
    async fn get_version_by_alias(&self, name: &str, alias: &str) -> StoreResult<ModelVersion>;
    /// Stage transitions and alias moves of one version, oldest first.
    async fn model_version_history(
        &self,
        name: &str,
        version: i64,
    ) -> StoreResult<Vec<ModelVersionEvent>>;

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
