//! Request and response messages of `MlflowService` (tracking), named after the proto messages.
//!
//! Every request field is optional at this layer: "required" is checked by the handler so that a missing
//! field gets MLflow's own message ("Missing value for required parameter 'x'") rather than serde's.
//! Each field also accepts its proto3 camelCase JSON name, as the reference server does.

use super::entities::{
    Dataset, Experiment, FileInfo, KeyValue, Metric, Run, RunInfo, RunStatus, ViewType,
};
use super::json::{list, one_or_many, opt_f64, opt_i64, string_list};
use serde::{Deserialize, Serialize};

/// A `{key, value}` pair on its way in; `value` may be absent (MLflow stores "").
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeyValueIn {
    pub key: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CreateExperiment {
    pub name: Option<String>,
    #[serde(alias = "artifactLocation")]
    pub artifact_location: Option<String>,
    #[serde(default, deserialize_with = "list")]
    pub tags: Vec<KeyValueIn>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CreateExperimentResponse {
    pub experiment_id: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExperimentIdRequest {
    #[serde(alias = "experimentId")]
    pub experiment_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GetExperimentByName {
    #[serde(alias = "experimentName")]
    pub experiment_name: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ExperimentResponse {
    pub experiment: Experiment,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SearchExperiments {
    #[serde(default, alias = "maxResults", deserialize_with = "opt_i64")]
    pub max_results: Option<i64>,
    #[serde(alias = "pageToken")]
    pub page_token: Option<String>,
    pub filter: Option<String>,
    #[serde(default, alias = "orderBy", deserialize_with = "string_list")]
    pub order_by: Vec<String>,
    #[serde(alias = "viewType")]
    pub view_type: Option<ViewType>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SearchExperimentsResponse {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub experiments: Vec<Experiment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpdateExperiment {
    #[serde(alias = "experimentId")]
    pub experiment_id: Option<String>,
    #[serde(alias = "newName")]
    pub new_name: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExperimentTagRequest {
    #[serde(alias = "experimentId")]
    pub experiment_id: Option<String>,
    pub key: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CreateRun {
    #[serde(alias = "experimentId")]
    pub experiment_id: Option<String>,
    #[serde(alias = "userId")]
    pub user_id: Option<String>,
    #[serde(alias = "runName")]
    pub run_name: Option<String>,
    #[serde(default, alias = "startTime", deserialize_with = "opt_i64")]
    pub start_time: Option<i64>,
    #[serde(default, deserialize_with = "list")]
    pub tags: Vec<KeyValueIn>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct RunResponse {
    pub run: Run,
}

/// Any request that names a run: the client sends both `run_id` and the legacy `run_uuid`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunIdRequest {
    #[serde(alias = "runId")]
    pub run_id: Option<String>,
    #[serde(alias = "runUuid")]
    pub run_uuid: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpdateRun {
    #[serde(alias = "runId")]
    pub run_id: Option<String>,
    #[serde(alias = "runUuid")]
    pub run_uuid: Option<String>,
    /// An unknown status is ignored, as the reference server's proto parse does.
    #[serde(default, deserialize_with = "lenient_status")]
    pub status: Option<RunStatus>,
    #[serde(default, alias = "endTime", deserialize_with = "opt_i64")]
    pub end_time: Option<i64>,
    #[serde(alias = "runName")]
    pub run_name: Option<String>,
}

fn lenient_status<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<RunStatus>, D::Error> {
    Ok(Option::<serde_json::Value>::deserialize(d)?
        .and_then(|v| serde_json::from_value::<RunStatus>(v).ok()))
}

#[derive(Debug, Serialize, Deserialize)]
pub struct UpdateRunResponse {
    pub run_info: RunInfo,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SearchRuns {
    #[serde(default, alias = "experimentIds", deserialize_with = "string_list")]
    pub experiment_ids: Vec<String>,
    pub filter: Option<String>,
    #[serde(alias = "runViewType")]
    pub run_view_type: Option<ViewType>,
    #[serde(default, alias = "maxResults", deserialize_with = "opt_i64")]
    pub max_results: Option<i64>,
    #[serde(default, alias = "orderBy", deserialize_with = "string_list")]
    pub order_by: Vec<String>,
    #[serde(alias = "pageToken")]
    pub page_token: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SearchRunsResponse {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<Run>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LogMetric {
    #[serde(alias = "runId")]
    pub run_id: Option<String>,
    #[serde(alias = "runUuid")]
    pub run_uuid: Option<String>,
    pub key: Option<String>,
    #[serde(default, deserialize_with = "opt_f64")]
    pub value: Option<f64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub timestamp: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub step: Option<i64>,
    #[serde(alias = "modelId")]
    pub model_id: Option<String>,
    #[serde(alias = "datasetName")]
    pub dataset_name: Option<String>,
    #[serde(alias = "datasetDigest")]
    pub dataset_digest: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunKeyValueRequest {
    #[serde(alias = "runId")]
    pub run_id: Option<String>,
    #[serde(alias = "runUuid")]
    pub run_uuid: Option<String>,
    pub key: Option<String>,
    pub value: Option<String>,
}

/// A metric inside `log-batch`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MetricIn {
    pub key: Option<String>,
    #[serde(default, deserialize_with = "opt_f64")]
    pub value: Option<f64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub timestamp: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub step: Option<i64>,
    #[serde(alias = "modelId")]
    pub model_id: Option<String>,
    #[serde(alias = "datasetName")]
    pub dataset_name: Option<String>,
    #[serde(alias = "datasetDigest")]
    pub dataset_digest: Option<String>,
    #[serde(alias = "runId")]
    pub run_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LogBatch {
    #[serde(alias = "runId")]
    pub run_id: Option<String>,
    #[serde(default, deserialize_with = "list")]
    pub metrics: Vec<MetricIn>,
    #[serde(default, deserialize_with = "list")]
    pub params: Vec<KeyValueIn>,
    #[serde(default, deserialize_with = "list")]
    pub tags: Vec<KeyValueIn>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DatasetIn {
    pub name: Option<String>,
    pub digest: Option<String>,
    #[serde(alias = "sourceType")]
    pub source_type: Option<String>,
    pub source: Option<String>,
    pub schema: Option<String>,
    pub profile: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DatasetInputIn {
    #[serde(default, deserialize_with = "list")]
    pub tags: Vec<KeyValueIn>,
    pub dataset: Option<DatasetIn>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LogInputs {
    #[serde(alias = "runId")]
    pub run_id: Option<String>,
    #[serde(default, deserialize_with = "list")]
    pub datasets: Vec<DatasetInputIn>,
    #[serde(default, deserialize_with = "list")]
    pub models: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GetMetricHistory {
    #[serde(alias = "runId")]
    pub run_id: Option<String>,
    #[serde(alias = "runUuid")]
    pub run_uuid: Option<String>,
    #[serde(alias = "metricKey")]
    pub metric_key: Option<String>,
    #[serde(default, alias = "maxResults", deserialize_with = "opt_i64")]
    pub max_results: Option<i64>,
    #[serde(alias = "pageToken")]
    pub page_token: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct MetricsResponse {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GetMetricHistoryBulkInterval {
    #[serde(default, alias = "runIds", deserialize_with = "string_list")]
    pub run_ids: Vec<String>,
    /// The UI's `get-history-bulk` spells the list `run_id` (a repeated query key, maybe once).
    #[serde(default, deserialize_with = "one_or_many")]
    pub run_id: Vec<String>,
    #[serde(alias = "metricKey")]
    pub metric_key: Option<String>,
    #[serde(default, alias = "startStep", deserialize_with = "opt_i64")]
    pub start_step: Option<i64>,
    #[serde(default, alias = "endStep", deserialize_with = "opt_i64")]
    pub end_step: Option<i64>,
    #[serde(default, alias = "maxResults", deserialize_with = "opt_i64")]
    pub max_results: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ListArtifacts {
    #[serde(alias = "runId")]
    pub run_id: Option<String>,
    #[serde(alias = "runUuid")]
    pub run_uuid: Option<String>,
    pub path: Option<String>,
    #[serde(alias = "pageToken")]
    pub page_token: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ListArtifactsResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// A validated dataset input, as the store takes it.
#[derive(Debug, Clone)]
pub struct DatasetInputRecord {
    pub tags: Vec<KeyValue>,
    pub dataset: Dataset,
}

/// `experiments/search-datasets` (the UI's dataset dropdown).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SearchDatasets {
    #[serde(default, alias = "experimentIds", deserialize_with = "string_list")]
    pub experiment_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetSummary {
    pub experiment_id: String,
    pub name: String,
    pub digest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SearchDatasetsResponse {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dataset_summaries: Vec<DatasetSummary>,
}
