//! What every source hands out, and the MLflow spellings both sources translate.

use anyhow::Result;
use tracking_server::store::import::{
    ImportExperiment, ImportLoggedModel, ImportRegisteredModel, ImportRun,
};

#[async_trait::async_trait]
pub trait Source: Send {
    /// What is read, for messages (credentials left out).
    fn describe(&self) -> String;
    /// Every experiment, deleted ones included.
    async fn experiments(&mut self) -> Result<Vec<ImportExperiment>>;
    /// Every run id, deleted runs included, in a stable order.
    async fn run_ids(&mut self) -> Result<Vec<String>>;
    /// These runs whole: info, params, tags, full metric histories, inputs and outputs.
    async fn runs(&mut self, ids: &[String]) -> Result<Vec<ImportRun>>;
    async fn logged_models(&mut self) -> Result<Vec<ImportLoggedModel>>;
    async fn registered_models(&mut self) -> Result<Vec<ImportRegisteredModel>>;
    /// What the store holds that mltrack does not import (traces, webhooks), as counted phrases.
    async fn left_out(&mut self) -> Result<Vec<String>>;
}

/// MLflow's run status numbers (file store `meta.yaml`) as the names the API uses.
pub(crate) fn run_status_name(n: i64) -> &'static str {
    match n {
        2 => "SCHEDULED",
        3 => "FINISHED",
        4 => "FAILED",
        5 => "KILLED",
        _ => "RUNNING",
    }
}

/// MLflow's logged-model status numbers (SQL column and file store) as the API's names.
pub(crate) fn logged_model_status_name(n: i64) -> &'static str {
    match n {
        1 => "LOGGED_MODEL_PENDING",
        2 => "LOGGED_MODEL_READY",
        3 => "LOGGED_MODEL_UPLOAD_FAILED",
        _ => "LOGGED_MODEL_STATUS_UNSPECIFIED",
    }
}

/// MLflow marks a deleted model version with this stage instead of removing its row.
pub(crate) const STAGE_DELETED_INTERNAL: &str = "Deleted_Internal";
