//! Model versions: their stages (with MLflow's archive-on-transition), aliases, tags and the history
//! of who moved them.

use super::{Page, RegistrySearch, StoreResult};
use async_trait::async_trait;
use protocol::{KeyValue, ModelVersion, ModelVersionEvent};

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

#[async_trait]
pub trait ModelVersionStore: Send + Sync + 'static {
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
}
