//! The store traits are thin veneers over `SqlStore`'s inherent methods, which live in files split
//! by concern (experiments, runs, metrics, registry, logged models).

use super::SqlStore;
use crate::store::registry::{
    LoggedModelSearch, NewLoggedModel, NewModelVersion, RegistrySearch, RegistryStore,
};
use crate::store::{Page, StoreResult};
use protocol::{KeyValue, LoggedModel, ModelVersion, ModelVersionEvent, RegisteredModel};

#[async_trait::async_trait]
impl crate::store::TrackingStore for SqlStore {
    async fn ensure_default_experiment(&self, artifact_location: &str) -> StoreResult<()> {
        self.ensure_default_experiment_impl(artifact_location).await
    }
    async fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        artifact_root: &str,
        tags: &[protocol::KeyValue],
    ) -> StoreResult<i64> {
        self.create_experiment_impl(name, artifact_location, artifact_root, tags)
            .await
    }
    async fn get_experiment(&self, id: i64) -> StoreResult<protocol::Experiment> {
        self.get_experiment_impl(id).await
    }
    async fn get_experiment_by_name(
        &self,
        name: &str,
    ) -> StoreResult<Option<protocol::Experiment>> {
        self.get_experiment_by_name_impl(name).await
    }
    async fn search_experiments(
        &self,
        search: &crate::store::ExperimentSearch,
    ) -> StoreResult<crate::store::Page<protocol::Experiment>> {
        self.search_experiments_impl(search).await
    }
    async fn rename_experiment(&self, id: i64, new_name: &str) -> StoreResult<()> {
        self.rename_experiment_impl(id, new_name).await
    }
    async fn set_experiment_deleted(&self, id: i64, deleted: bool) -> StoreResult<()> {
        self.set_experiment_deleted_impl(id, deleted).await
    }
    async fn set_experiment_tag(&self, id: i64, tag: &protocol::KeyValue) -> StoreResult<()> {
        self.set_experiment_tag_impl(id, tag).await
    }
    async fn delete_experiment_tag(&self, id: i64, key: &str) -> StoreResult<()> {
        self.delete_experiment_tag_impl(id, key).await
    }
    async fn create_run(&self, run: crate::store::NewRun) -> StoreResult<protocol::Run> {
        self.create_run_impl(run).await
    }
    async fn get_run(&self, run_id: &str) -> StoreResult<protocol::Run> {
        self.get_run_impl(run_id).await
    }
    async fn update_run(
        &self,
        run_id: &str,
        update: crate::store::RunUpdate,
    ) -> StoreResult<protocol::RunInfo> {
        self.update_run_impl(run_id, update).await
    }
    async fn set_run_deleted(&self, run_id: &str, deleted: bool) -> StoreResult<()> {
        self.set_run_deleted_impl(run_id, deleted).await
    }
    async fn log_batch(&self, run_id: &str, batch: crate::store::Batch) -> StoreResult<()> {
        self.log_batch_impl(run_id, batch).await
    }
    async fn delete_tag(&self, run_id: &str, key: &str) -> StoreResult<()> {
        self.delete_tag_impl(run_id, key).await
    }
    async fn log_inputs(
        &self,
        run_id: &str,
        inputs: Vec<protocol::DatasetInputRecord>,
        models: &[String],
    ) -> StoreResult<()> {
        self.log_inputs_impl(run_id, inputs, models).await
    }
    async fn search_runs(
        &self,
        search: &crate::store::RunSearch,
    ) -> StoreResult<crate::store::Page<protocol::Run>> {
        self.search_runs_impl(search).await
    }
    async fn metric_history(
        &self,
        run_id: &str,
        key: &str,
        offset: u64,
        limit: Option<u64>,
    ) -> StoreResult<crate::store::Page<protocol::Metric>> {
        self.metric_history_impl(run_id, key, offset, limit).await
    }
    async fn metric_history_sampled(
        &self,
        run_ids: &[String],
        key: &str,
        steps: Option<(i64, i64)>,
        max_points: u64,
    ) -> StoreResult<Vec<protocol::Metric>> {
        self.metric_history_sampled_impl(run_ids, key, steps, max_points)
            .await
    }
    async fn count_runs(&self, search: &crate::store::RunSearch) -> StoreResult<u64> {
        self.count_runs_impl(search).await
    }
    async fn search_datasets(
        &self,
        experiment_ids: &[i64],
    ) -> StoreResult<Vec<protocol::DatasetSummary>> {
        self.search_datasets_impl(experiment_ids).await
    }
    async fn run_keys(
        &self,
        experiment_ids: &[i64],
        view: protocol::ViewType,
    ) -> StoreResult<crate::store::RunKeys> {
        self.run_keys_impl(experiment_ids, view).await
    }
    async fn metric_envelope(
        &self,
        run_id: &str,
        key: &str,
        axis: crate::store::HistoryAxis,
        columns: u32,
    ) -> StoreResult<crate::store::MetricEnvelope> {
        self.metric_envelope_impl(run_id, key, axis, columns).await
    }
    fn pool_stats(&self) -> Vec<crate::ops::metrics::PoolStats> {
        SqlStore::pool_stats(self)
    }
}

#[async_trait::async_trait]
impl RegistryStore for SqlStore {
    async fn create_registered_model(
        &self,
        name: &str,
        description: Option<&str>,
        tags: &[KeyValue],
    ) -> StoreResult<RegisteredModel> {
        self.create_registered_model_impl(name, description, tags)
            .await
    }
    async fn get_registered_model(&self, name: &str) -> StoreResult<RegisteredModel> {
        self.get_registered_model_impl(name).await
    }
    async fn rename_registered_model(
        &self,
        name: &str,
        new_name: &str,
    ) -> StoreResult<RegisteredModel> {
        self.rename_registered_model_impl(name, new_name).await
    }
    async fn update_registered_model(
        &self,
        name: &str,
        description: Option<&str>,
    ) -> StoreResult<RegisteredModel> {
        self.update_registered_model_impl(name, description).await
    }
    async fn delete_registered_model(&self, name: &str) -> StoreResult<()> {
        self.delete_registered_model_impl(name).await
    }
    async fn search_registered_models(
        &self,
        search: &RegistrySearch,
    ) -> StoreResult<Page<RegisteredModel>> {
        self.search_registered_models_impl(search).await
    }
    async fn get_latest_versions(
        &self,
        name: &str,
        stages: &[String],
    ) -> StoreResult<Vec<ModelVersion>> {
        self.get_latest_versions_impl(name, stages).await
    }
    async fn set_registered_model_tag(&self, name: &str, tag: &KeyValue) -> StoreResult<()> {
        self.set_registered_model_tag_impl(name, tag).await
    }
    async fn delete_registered_model_tag(&self, name: &str, key: &str) -> StoreResult<()> {
        self.delete_registered_model_tag_impl(name, key).await
    }
    async fn create_model_version(&self, version: NewModelVersion) -> StoreResult<ModelVersion> {
        self.create_model_version_impl(version).await
    }
    async fn get_model_version(&self, name: &str, version: i64) -> StoreResult<ModelVersion> {
        self.get_model_version_impl(name, version).await
    }
    async fn update_model_version(
        &self,
        name: &str,
        version: i64,
        description: Option<&str>,
    ) -> StoreResult<ModelVersion> {
        self.update_model_version_impl(name, version, description)
            .await
    }
    async fn transition_stage(
        &self,
        name: &str,
        version: i64,
        stage: &str,
        archive_existing: bool,
        actor: &str,
    ) -> StoreResult<ModelVersion> {
        self.transition_stage_impl(name, version, stage, archive_existing, actor)
            .await
    }
    async fn delete_model_version(&self, name: &str, version: i64) -> StoreResult<()> {
        self.delete_model_version_impl(name, version).await
    }
    async fn search_model_versions(
        &self,
        search: &RegistrySearch,
    ) -> StoreResult<Page<ModelVersion>> {
        self.search_model_versions_impl(search).await
    }
    async fn set_model_version_tag(
        &self,
        name: &str,
        version: i64,
        tag: &KeyValue,
    ) -> StoreResult<()> {
        self.set_model_version_tag_impl(name, version, tag).await
    }
    async fn delete_model_version_tag(
        &self,
        name: &str,
        version: i64,
        key: &str,
    ) -> StoreResult<()> {
        self.delete_model_version_tag_impl(name, version, key).await
    }
    async fn set_alias(
        &self,
        name: &str,
        alias: &str,
        version: i64,
        actor: &str,
    ) -> StoreResult<()> {
        self.set_alias_impl(name, alias, version, actor).await
    }
    async fn delete_alias(&self, name: &str, alias: &str, actor: &str) -> StoreResult<()> {
        self.delete_alias_impl(name, alias, actor).await
    }
    async fn get_version_by_alias(&self, name: &str, alias: &str) -> StoreResult<ModelVersion> {
        self.get_version_by_alias_impl(name, alias).await
    }
    async fn model_version_history(
        &self,
        name: &str,
        version: i64,
    ) -> StoreResult<Vec<ModelVersionEvent>> {
        self.model_version_history_impl(name, version).await
    }
    async fn create_logged_model(
        &self,
        model: NewLoggedModel,
        artifact_root: &str,
    ) -> StoreResult<LoggedModel> {
        self.create_logged_model_impl(model, artifact_root).await
    }
    async fn get_logged_model(
        &self,
        model_id: &str,
        allow_deleted: bool,
    ) -> StoreResult<LoggedModel> {
        self.get_logged_model_impl(model_id, allow_deleted).await
    }
    async fn finalize_logged_model(
        &self,
        model_id: &str,
        status: &str,
    ) -> StoreResult<LoggedModel> {
        self.finalize_logged_model_impl(model_id, status).await
    }
    async fn delete_logged_model(&self, model_id: &str) -> StoreResult<()> {
        self.delete_logged_model_impl(model_id).await
    }
    async fn search_logged_models(
        &self,
        search: &LoggedModelSearch,
    ) -> StoreResult<Page<LoggedModel>> {
        self.search_logged_models_impl(search).await
    }
    async fn set_logged_model_tags(&self, model_id: &str, tags: &[KeyValue]) -> StoreResult<()> {
        self.set_logged_model_tags_impl(model_id, tags).await
    }
    async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> StoreResult<()> {
        self.delete_logged_model_tag_impl(model_id, key).await
    }
    async fn log_logged_model_params(
        &self,
        model_id: &str,
        params: &[KeyValue],
    ) -> StoreResult<()> {
        self.log_logged_model_params_impl(model_id, params).await
    }
    async fn log_outputs(&self, run_id: &str, models: &[(String, i64)]) -> StoreResult<()> {
        self.log_outputs_impl(run_id, models).await
    }
}
