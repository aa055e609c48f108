//! MLflow's validation rules (`mlflow/utils/validation.py`), with its limits and its wording, since
//! MLflow's own tests match the messages as substrings. Everything here runs before the store is
//! touched, so a rejected request never changes anything.

use crate::error::{ApiError, ApiResult};
use protocol::names::{self, EntityKey, ExperimentId, Invalid, KeyKind, RunId};

pub use protocol::limits::*;

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        ApiError::invalid(e.0)
    }
}

/// A present, non-empty string field (MLflow treats `""` as missing).
pub fn required(value: Option<String>, field: &str) -> ApiResult<String> {
    match value {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(ApiError::missing(field)),
    }
}

/// `run_id`, falling back to the legacy `run_uuid` the client also sends.
pub fn run_id(run_id: Option<String>, run_uuid: Option<String>) -> ApiResult<String> {
    let id = required(run_id.filter(|s| !s.is_empty()).or(run_uuid), "run_id")?;
    validate_run_id(&id)?;
    Ok(id)
}

/// `_validate_run_id` ([`RunId`]).
pub fn validate_run_id(id: &str) -> ApiResult<()> {
    RunId::parse(id)?;
    Ok(())
}

/// Experiment ids are integers in the SQL store; anything else names no experiment.
pub fn experiment_id(id: &str) -> ApiResult<i64> {
    Ok(ExperimentId::parse(id)?.get())
}

/// `_validate_metric_name` / `_validate_param_name` / `_validate_tag_name` ([`EntityKey`]).
pub fn validate_key(kind: KeyKind, key: &str) -> ApiResult<()> {
    EntityKey::parse(kind, key)?;
    Ok(())
}

pub fn validate_length(what: &str, value: &str, max: usize) -> ApiResult<()> {
    Ok(names::check_length(what, value, max)?)
}

/// MLflow truncates over-long param and run-tag values by default (`MLFLOW_TRUNCATE_LONG_VALUES`).
pub fn truncate_value(value: String, max: usize) -> String {
    if value.chars().count() <= max {
        return value;
    }
    tracing::warn!(max, "truncating an over-long value");
    value.chars().take(max).collect()
}

pub fn validate_timestamp(field: &str, ts: i64) -> ApiResult<()> {
    if ts < 0 {
        return Err(ApiError::invalid(format!(
            "Invalid value {ts} for parameter '{field}' supplied: timestamps must be non-negative"
        )));
    }
    Ok(())
}

/// Limits of one `log-batch` request (`_validate_batch_log_limits`).
pub fn validate_batch_limits(metrics: usize, params: usize, tags: usize) -> ApiResult<()> {
    let too_many = |what: &str, limit: usize, got: usize| {
        ApiError::invalid(format!(
            "A batch logging request can contain at most {limit} {what}. Got {got} {what}. Please \
             split up {what} across multiple requests and try again."
        ))
    };
    if metrics > MAX_BATCH_METRICS {
        return Err(too_many("metrics", MAX_BATCH_METRICS, metrics));
    }
    if params > MAX_BATCH_PARAMS {
        return Err(too_many("params", MAX_BATCH_PARAMS, params));
    }
    if tags > MAX_BATCH_TAGS {
        return Err(too_many("tags", MAX_BATCH_TAGS, tags));
    }
    let total = metrics + params + tags;
    if total > MAX_BATCH_TOTAL {
        return Err(too_many(
            "metrics, params, and tags",
            MAX_BATCH_TOTAL,
            total,
        ));
    }
    Ok(())
}

/// A relative artifact path that cannot leave its root: no `..`, no absolute path, no NUL, no
/// backslash tricks. Percent-decoding has already happened at the router.
pub fn validate_artifact_path(path: &str) -> ApiResult<()> {
    let bad = path.contains('\0')
        || path.starts_with('/')
        || path.contains('\\')
        || path.split('/').any(|p| p == "..")
        || (path.len() >= 2 && path.as_bytes()[1] == b':');
    if bad {
        return Err(ApiError::invalid(format!("Invalid path: '{path}'")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_paths_cannot_escape_their_root() {
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "a\0b",
            "..",
            "a\\..\\b",
            "C:/x",
        ] {
            assert!(validate_artifact_path(bad).is_err(), "{bad:?}");
        }
        for good in ["", "a", "a/b.txt", "model/MLmodel", "a..b"] {
            assert!(validate_artifact_path(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn batch_limits_name_the_entity() {
        assert!(validate_batch_limits(1000, 0, 0).is_ok());
        assert!(validate_batch_limits(1001, 0, 0)
            .unwrap_err()
            .message
            .contains("at most 1000 metrics"));
        assert!(validate_batch_limits(0, 101, 0)
            .unwrap_err()
            .message
            .contains("100 params"));
        assert!(validate_batch_limits(900, 100, 100)
            .unwrap_err()
            .message
            .contains("metrics, params, and tags"));
    }

    #[test]
    fn truncation_keeps_the_first_characters() {
        assert_eq!(truncate_value("abcdef".into(), 3), "abc");
        assert_eq!(truncate_value("ab".into(), 3), "ab");
    }
}
