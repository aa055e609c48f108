//! The names `mltrack monitor` writes on its runs and the web UI's monitoring page reads back. They
//! are a contract between two programs released together, so they are spelled once, here.
//!
//! Each processed batch is one run in the model's monitoring experiment: what happened to its rows
//! and its drift numbers are metrics, its thresholds are params, and the lists the page shows over
//! time (drifted columns, unseen values) are JSON tags.

/// Experiment tag: the registered model a monitoring experiment watches, so the page finds the
/// experiment even when `--experiment` named it differently.
pub const EXPERIMENT_MODEL: &str = "mltrack.monitor.model";
/// The default name of a model's monitoring experiment.
pub fn experiment_name(model: &str) -> String {
    format!("monitoring/{model}")
}

/// Run tag: the batch's file or folder name.
pub const BATCH: &str = "mltrack.monitor.batch";
/// Run tag: the batch date, `YYYY-MM-DD`.
pub const DATE: &str = "mltrack.monitor.date";
/// Run tag: the SHA-256 of the batch's bytes, which makes a re-run a no-op.
pub const SHA256: &str = "mltrack.monitor.sha256";
/// Run tag: the registered model version that scored the batch.
pub const MODEL_VERSION: &str = "mltrack.monitor.model_version";
/// Run tag: JSON array of the drifted columns, named as in the `drift.score.` metric keys.
pub const DRIFTED: &str = "mltrack.monitor.drifted";
/// Run tag: JSON array of `[column, value, rows]`, the most frequent unseen categories among the
/// skipped rows, cut to fit a tag value.
pub const UNSEEN: &str = "mltrack.monitor.unseen";
/// Run tag: why the alert mail could not be delivered.
pub const MAIL_ERROR: &str = "mltrack.monitor.mail_error";

/// Metric: rows read from the batch file.
pub const ROWS_IN: &str = "rows_in";
/// Metric: rows the model scored.
pub const ROWS_SCORED: &str = "rows_scored";
/// Metric: rows skipped by the pipeline (unseen categories, missing values).
pub const ROWS_SKIPPED: &str = "rows_skipped";
/// Metric: rows set aside by `drop` expectations.
pub const ROWS_QUARANTINED: &str = "rows_quarantined";
/// Metric: share of drifted columns.
pub const DRIFT_SHARE: &str = "drift_share";
/// Metric: 1 when the share reached its threshold.
pub const DATASET_DRIFT: &str = "dataset_drift";
/// Metric: the prediction column's drift score.
pub const PREDICTION_DRIFT_SCORE: &str = "prediction_drift_score";
/// Metric: 1 when the predictions drifted.
pub const PREDICTION_DRIFT: &str = "prediction_drift";
/// Metric: the domain classifier's ROC AUC (multivariate drift).
pub const MULTIVARIATE_AUC: &str = "multivariate_auc";
/// Metric: 1 when the domain classifier's AUC passed its threshold.
pub const MULTIVARIATE_DRIFT: &str = "multivariate_drift";
/// Metric prefix: each column's drift score.
pub const COLUMN_SCORE_PREFIX: &str = "drift.score.";

/// Param: the share of drifted columns that makes dataset drift.
pub const DRIFT_SHARE_THRESHOLD: &str = "drift_share_threshold";
/// Param: the prediction drift test's threshold.
pub const PREDICTION_DRIFT_THRESHOLD: &str = "prediction_drift_threshold";
/// Param: the prediction drift test's name (a p-value test flags below its threshold, a distance
/// above).
pub const PREDICTION_DRIFT_TEST: &str = "prediction_drift_test";
/// Param: the ROC AUC above which the domain classifier flags drift.
pub const MULTIVARIATE_THRESHOLD: &str = "multivariate_threshold";

/// The longest JSON the list tags carry (MLflow's tag value limit is 8000 characters).
pub const MAX_LIST_TAG: usize = 8000;
