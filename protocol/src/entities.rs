//! Tracking entities exactly as they travel on the wire (`service.proto` messages in proto3 JSON).
//!
//! The store returns these, the handlers serialise them, and the Rust client deserialises them, so the
//! JSON contract lives in one place. Unset fields are omitted, as MLflow's own server does.

use super::json::{de_f64, de_i64, list, ser_f64};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

impl KeyValue {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
fn is_zero(v: &i64) -> bool {
    *v == 0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    pub experiment_id: String,
    pub name: String,
    #[serde(default)]
    pub artifact_location: String,
    #[serde(default)]
    pub lifecycle_stage: String,
    #[serde(default, deserialize_with = "de_i64", skip_serializing_if = "is_zero")]
    pub last_update_time: i64,
    #[serde(default, deserialize_with = "de_i64", skip_serializing_if = "is_zero")]
    pub creation_time: i64,
    #[serde(
        default,
        deserialize_with = "list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tags: Vec<KeyValue>,
}

/// `RunStatus`: names on the wire, integers accepted on the way in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    Scheduled,
    Finished,
    Failed,
    Killed,
}

impl RunStatus {
    pub const ALL: [RunStatus; 5] = [
        Self::Running,
        Self::Scheduled,
        Self::Finished,
        Self::Failed,
        Self::Killed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Scheduled => "SCHEDULED",
            Self::Finished => "FINISHED",
            Self::Failed => "FAILED",
            Self::Killed => "KILLED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    fn from_number(n: i64) -> Option<Self> {
        Some(match n {
            1 => Self::Running,
            2 => Self::Scheduled,
            3 => Self::Finished,
            4 => Self::Failed,
            5 => Self::Killed,
            _ => return None,
        })
    }

    pub fn is_terminated(self) -> bool {
        matches!(self, Self::Finished | Self::Failed | Self::Killed)
    }
}

impl Serialize for RunStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RunStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        let parsed = match &v {
            serde_json::Value::String(s) => {
                Self::parse(s).or_else(|| s.parse::<i64>().ok().and_then(Self::from_number))
            }
            serde_json::Value::Number(n) => n.as_i64().and_then(Self::from_number),
            _ => None,
        };
        parsed.ok_or_else(|| serde::de::Error::custom(format!("invalid RunStatus {v}")))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub info: RunInfo,
    #[serde(default)]
    pub data: RunData,
    #[serde(default)]
    pub inputs: RunInputs,
    #[serde(default)]
    pub outputs: RunOutputs,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub run_id: String,
    /// Deprecated duplicate of `run_id` that old clients still read.
    #[serde(default)]
    pub run_uuid: String,
    #[serde(default)]
    pub run_name: String,
    pub experiment_id: String,
    #[serde(default)]
    pub user_id: String,
    pub status: RunStatus,
    #[serde(default, deserialize_with = "de_i64")]
    pub start_time: i64,
    /// Omitted while running: the client maps an absent end time to `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    #[serde(default)]
    pub artifact_uri: String,
    #[serde(default)]
    pub lifecycle_stage: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunData {
    #[serde(
        default,
        deserialize_with = "list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub metrics: Vec<Metric>,
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
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub key: String,
    #[serde(serialize_with = "ser_f64", deserialize_with = "de_f64")]
    pub value: f64,
    #[serde(default, deserialize_with = "de_i64")]
    pub timestamp: i64,
    #[serde(default, deserialize_with = "de_i64")]
    pub step: i64,
    /// Set only in answers that mix runs (`get-history-bulk-interval`) and in a logged model's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// MLflow 3: the logged model this value measures, and the dataset it was computed on. Stored
    /// with the model (its `metrics`), not in the run's history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_digest: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunInputs {
    #[serde(
        default,
        deserialize_with = "list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub dataset_inputs: Vec<DatasetInput>,
    /// MLflow 3: logged models the run took as inputs.
    #[serde(
        default,
        deserialize_with = "list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub model_inputs: Vec<ModelInput>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInput {
    pub model_id: String,
}

/// MLflow 3: the logged models a run produced (`runs/outputs`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunOutputs {
    #[serde(
        default,
        deserialize_with = "list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub model_outputs: Vec<ModelOutput>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelOutput {
    pub model_id: String,
    #[serde(default, deserialize_with = "de_i64")]
    pub step: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetInput {
    #[serde(
        default,
        deserialize_with = "list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tags: Vec<KeyValue>,
    pub dataset: Dataset,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    pub name: String,
    pub digest: String,
    pub source_type: String,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// One entry of an artifact listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    pub path: String,
    pub is_dir: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_size: Option<i64>,
}

/// `ViewType` for searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ViewType {
    #[default]
    ActiveOnly,
    DeletedOnly,
    All,
}

impl ViewType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ActiveOnly => "ACTIVE_ONLY",
            Self::DeletedOnly => "DELETED_ONLY",
            Self::All => "ALL",
        }
    }

    /// The lifecycle stages a search with this view returns.
    pub fn stages(self) -> &'static [&'static str] {
        match self {
            Self::ActiveOnly => &["active"],
            Self::DeletedOnly => &["deleted"],
            Self::All => &["active", "deleted"],
        }
    }
}

impl Serialize for ViewType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ViewType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        let parsed = match &v {
            serde_json::Value::String(s) => match s.as_str() {
                "ACTIVE_ONLY" | "1" => Some(Self::ActiveOnly),
                "DELETED_ONLY" | "2" => Some(Self::DeletedOnly),
                "ALL" | "3" => Some(Self::All),
                _ => None,
            },
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(1) => Some(Self::ActiveOnly),
                Some(2) => Some(Self::DeletedOnly),
                Some(3) => Some(Self::All),
                _ => None,
            },
            _ => None,
        };
        parsed.ok_or_else(|| serde::de::Error::custom(format!("invalid ViewType {v}")))
    }
}
