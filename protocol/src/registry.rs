//! `ModelRegistryService` messages and MLflow 3 logged models, in proto3 JSON.

use super::entities::{KeyValue, Metric};
use super::json::{de_i64, list, opt_bool, opt_i64, string_list};
use serde::{Deserialize, Deserializer, Serialize};

/// A version number on the wire is a string, but clients also send integers.
pub fn opt_version<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(other) => {
            return Err(serde::de::Error::custom(format!(
                "expected a version number, got {other}"
            )))
        }
    })
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
fn is_zero(v: &i64) -> bool {
    *v == 0
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredModelAlias {
    pub alias: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisteredModel {
    pub name: String,
    #[serde(default, deserialize_with = "de_i64", skip_serializing_if = "is_zero")]
    pub creation_timestamp: i64,
    #[serde(default, deserialize_with = "de_i64", skip_serializing_if = "is_zero")]
    pub last_updated_timestamp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The newest version in each stage that has versions.
    #[serde(
        default,
        deserialize_with = "list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub latest_versions: Vec<ModelVersion>,
    #[serde(
        default,
        deserialize_with = "list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tags: Vec<KeyValue>,
    #[serde(
        default,
        deserialize_with = "list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub aliases: Vec<RegisteredModelAlias>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVersion {
    pub name: String,
    pub version: String,
    #[serde(default, deserialize_with = "de_i64", skip_serializing_if = "is_zero")]
    pub creation_timestamp: i64,
    #[serde(default, deserialize_with = "de_i64", skip_serializing_if = "is_zero")]
    pub last_updated_timestamp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub current_stage: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Always `READY`: without it the client polls for 300 s, then fails.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    #[serde(
        default,
        deserialize_with = "list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tags: Vec<KeyValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_link: Option<String>,
    #[serde(
        default,
        deserialize_with = "list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
}

/// One recorded stage transition or alias move.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVersionEvent {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_value: Option<String>,
    pub actor: String,
    pub timestamp: i64,
}

/// Every registry request in one shape: the fields that any of them uses, all optional. Handlers
/// check which ones their endpoint requires.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RegistryRequest {
    pub name: Option<String>,
    #[serde(alias = "newName")]
    pub new_name: Option<String>,
    #[serde(default, deserialize_with = "opt_version")]
    pub version: Option<String>,
    pub description: Option<String>,
    pub source: Option<String>,
    #[serde(alias = "runId")]
    pub run_id: Option<String>,
    #[serde(alias = "runLink")]
    pub run_link: Option<String>,
    #[serde(alias = "modelId")]
    pub model_id: Option<String>,
    pub stage: Option<String>,
    #[serde(
        default,
        alias = "archiveExistingVersions",
        deserialize_with = "opt_bool"
    )]
    pub archive_existing_versions: Option<bool>,
    pub key: Option<String>,
    pub value: Option<String>,
    pub alias: Option<String>,
    #[serde(default, deserialize_with = "list")]
    pub tags: Vec<super::tracking::KeyValueIn>,
    #[serde(default, deserialize_with = "string_list")]
    pub stages: Vec<String>,
    pub filter: Option<String>,
    #[serde(default, alias = "maxResults", deserialize_with = "opt_i64")]
    pub max_results: Option<i64>,
    #[serde(default, alias = "orderBy", deserialize_with = "string_list")]
    pub order_by: Vec<String>,
    #[serde(alias = "pageToken")]
    pub page_token: Option<String>,
    #[serde(alias = "deploymentJobId")]
    pub deployment_job_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct RegisteredModelResponse {
    pub registered_model: RegisteredModel,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ModelVersionResponse {
    pub model_version: ModelVersion,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SearchRegisteredModelsResponse {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registered_models: Vec<RegisteredModel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ModelVersionsResponse {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub model_versions: Vec<ModelVersion>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DownloadUriResponse {
    pub artifact_uri: String,
}

// ---- MLflow 3 logged models ---------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedModel {
    pub info: LoggedModelInfo,
    #[serde(default)]
    pub data: LoggedModelData,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedModelInfo {
    pub model_id: String,
    pub experiment_id: String,
    pub name: String,
    #[serde(default, deserialize_with = "de_i64")]
    pub creation_timestamp_ms: i64,
    #[serde(default, deserialize_with = "de_i64")]
    pub last_updated_timestamp_ms: i64,
    pub artifact_uri: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_run_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    #[serde(
        default,
        deserialize_with = "list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoggedModelData {
    #[serde(
        default,
        deserialize_with = "list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub params: Vec<KeyValue>,
    #[serde(
        default,
        deserialize_with = "list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub metrics: Vec<Metric>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LoggedModelRequest {
    #[serde(alias = "experimentId")]
    pub experiment_id: Option<String>,
    #[serde(default, alias = "experimentIds", deserialize_with = "string_list")]
    pub experiment_ids: Vec<String>,
    #[serde(alias = "modelId")]
    pub model_id: Option<String>,
    pub name: Option<String>,
    #[serde(alias = "modelType")]
    pub model_type: Option<String>,
    #[serde(alias = "sourceRunId")]
    pub source_run_id: Option<String>,
    pub status: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "list")]
    pub params: Vec<super::tracking::KeyValueIn>,
    #[serde(default, deserialize_with = "list")]
    pub tags: Vec<super::tracking::KeyValueIn>,
    pub filter: Option<String>,
    #[serde(default, alias = "maxResults", deserialize_with = "opt_i64")]
    pub max_results: Option<i64>,
    #[serde(alias = "pageToken")]
    pub page_token: Option<String>,
    #[serde(default, alias = "allowDeleted", deserialize_with = "opt_bool")]
    pub allow_deleted: Option<bool>,
    /// `search-logged-models`: only models with metrics computed on one of these datasets.
    #[serde(default, deserialize_with = "list")]
    pub datasets: Vec<DatasetFilterIn>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DatasetFilterIn {
    #[serde(alias = "datasetName")]
    pub dataset_name: Option<String>,
    #[serde(alias = "datasetDigest")]
    pub dataset_digest: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct LoggedModelResponse {
    pub model: LoggedModel,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SearchLoggedModelsResponse {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<LoggedModel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// `POST /runs/outputs`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LogOutputs {
    #[serde(alias = "runId")]
    pub run_id: Option<String>,
    #[serde(default, deserialize_with = "list")]
    pub models: Vec<ModelOutputIn>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ModelOutputIn {
    #[serde(alias = "modelId")]
    pub model_id: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub step: Option<i64>,
}
