//! The model registry's storage contract: registered models, versions with stages and aliases, and
//! their history.

use super::{Page, StoreResult};
use crate::search::{Clause, OrderBy};
use async_trait::async_trait;
use protocol::{KeyValue, ModelVersion, RegisteredModel};

/// A registry search (registered models or model versions).
#[derive(Debug, Clone)]
pub struct RegistrySearch {
    pub filter: Vec<Clause>,
    pub order_by: Vec<OrderBy>,
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
}
