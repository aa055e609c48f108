//! MLflow's system tags (`mlflow/utils/mlflow_tags.py`) that mltrack reads or writes, and the
//! timestamp convention every entity uses.

/// The run's name; `runs/create`'s `run_name` and this tag are kept equal.
pub const RUN_NAME: &str = "mlflow.runName";
/// A nested run's parent (hyperparameter trials under their search).
pub const PARENT_RUN_ID: &str = "mlflow.parentRunId";
pub const USER: &str = "mlflow.user";
pub const SOURCE_NAME: &str = "mlflow.source.name";
/// The run's or experiment's description (markdown), as MLflow's UI edits it.
pub const NOTE_CONTENT: &str = "mlflow.note.content";
/// Why a run that mltrack's own commands created ended FAILED (the error, on one line).
pub const ERROR: &str = "mltrack.error";

/// Milliseconds since the Unix epoch, MLflow's unit for every timestamp.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
