//! MLflow's validation rules (`mlflow/utils/validation.py`), with its limits and its wording, since
//! MLflow's own tests match the messages as substrings. Everything here runs before the store is
//! touched, so a rejected request never changes anything.

use crate::error::{ApiError, ApiResult};

/// `MAX_ENTITY_KEY_LENGTH`: metric names, param keys, run/experiment tag keys.
pub const MAX_KEY_LENGTH: usize = 250;
/// `MAX_PARAM_VAL_LENGTH`; longer values are truncated, as the server does by default.
pub const MAX_PARAM_VALUE_LENGTH: usize = 6000;
/// `MAX_TAG_VAL_LENGTH` for run tags; longer values are truncated.
pub const MAX_RUN_TAG_VALUE_LENGTH: usize = 8000;
pub const MAX_EXPERIMENT_TAG_VALUE_LENGTH: usize = 20000;
pub const MAX_EXPERIMENT_NAME_LENGTH: usize = 500;
pub const MAX_ARTIFACT_LOCATION_LENGTH: usize = 2048;
pub const MAX_BATCH_METRICS: usize = 1000;
pub const MAX_BATCH_PARAMS: usize = 100;
pub const MAX_BATCH_TAGS: usize = 100;
pub const MAX_BATCH_TOTAL: usize = 1000;
pub const MAX_DATASET_NAME_LENGTH: usize = 500;
pub const MAX_DATASET_DIGEST_LENGTH: usize = 36;
pub const MAX_DATASET_SOURCE_LENGTH: usize = 65535;
pub const MAX_DATASET_SCHEMA_LENGTH: usize = 1_048_575;
pub const MAX_DATASET_PROFILE_LENGTH: usize = 16_777_215;
pub const MAX_INPUT_TAG_KEY_LENGTH: usize = 255;
pub const MAX_INPUT_TAG_VALUE_LENGTH: usize = 500;

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

/// `_validate_run_id`: `^[a-zA-Z0-9][\w\-]{0,255}$`.
pub fn validate_run_id(id: &str) -> ApiResult<()> {
    let mut chars = id.chars();
    let ok = id.len() <= 256
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!("Invalid run ID: '{id}'")))
    }
}

/// Experiment ids are integers in the SQL store; anything else names no experiment.
pub fn experiment_id(id: &str) -> ApiResult<i64> {
    id.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| ApiError::invalid(format!("Invalid experiment ID: '{id}'")))
}

/// `_validate_metric_name` / `_validate_param_name` / `_validate_tag_name`: characters, length and path
/// safety (a key may become a file name, so it must not resolve to another name).
pub fn validate_key(kind: &str, key: &str) -> ApiResult<()> {
    let allowed = key
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | '/' | ':'));
    if !allowed {
        return Err(ApiError::invalid(format!(
            "Invalid {kind} name: '{key}'. Names may only contain alphanumerics, underscores (_), \
             dashes (-), periods (.), spaces ( ), colon(:) and slashes (/)."
        )));
    }
    if let Some(resolved) = unsafe_path_resolution(key) {
        return Err(ApiError::invalid(format!(
            "Invalid {kind} name: '{key}'. Names may be treated as files in certain cases, and must \
             not resolve to other names when treated as such. This name would resolve to \
             '{resolved}'"
        )));
    }
    validate_length(&format!("{kind} name"), key, MAX_KEY_LENGTH)
}

/// Returns what `posixpath.normpath` makes of `name` when that differs from `name`.
fn unsafe_path_resolution(name: &str) -> Option<String> {
    let absolute = name.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let mut normalized = parts.join("/");
    if absolute {
        normalized.insert(0, '/');
    }
    if normalized.is_empty() {
        normalized.push('.');
    }
    let unsafe_name = normalized != name
        || normalized == "."
        || normalized.starts_with("..")
        || normalized.starts_with('/');
    unsafe_name.then_some(normalized)
}

pub fn validate_length(what: &str, value: &str, max: usize) -> ApiResult<()> {
    let len = value.chars().count();
    if len > max {
        return Err(ApiError::invalid(format!(
            "{what} '{}' had length {len}, which exceeded length limit of {max}",
            truncate_for_message(value)
        )));
    }
    Ok(())
}

/// MLflow truncates over-long param and run-tag values by default (`MLFLOW_TRUNCATE_LONG_VALUES`).
pub fn truncate_value(value: String, max: usize) -> String {
    if value.chars().count() <= max {
        return value;
    }
    tracing::warn!(max, "truncating an over-long value");
    value.chars().take(max).collect()
}

fn truncate_for_message(value: &str) -> String {
    if value.chars().count() > 80 {
        format!("{}...", value.chars().take(80).collect::<String>())
    } else {
        value.to_string()
    }
}

pub fn validate_experiment_name(name: Option<String>) -> ApiResult<String> {
    let name = required(name, "name")?;
    if name.trim().is_empty() {
        return Err(ApiError::invalid(format!(
            "Invalid experiment name: '{name}'"
        )));
    }
    validate_length("Experiment name", &name, MAX_EXPERIMENT_NAME_LENGTH)?;
    Ok(name)
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
    fn path_unsafe_keys_are_rejected_with_their_resolution() {
        for (key, resolved) in [
            ("../x", "../x"),
            ("a//b", "a/b"),
            ("/abs", "/abs"),
            ("a/", "a"),
            (".", "."),
        ] {
            let msg = validate_key("metric", key).unwrap_err().message;
            assert!(
                msg.contains(&format!("would resolve to '{resolved}'")),
                "{key}: {msg}"
            );
        }
        assert!(validate_key("metric", "a/b.c d:e-f_g").is_ok());
        assert!(validate_key("metric", "a/../b").is_err());
    }

    #[test]
    fn keys_with_forbidden_characters_or_too_long_are_rejected() {
        assert!(validate_key("param", "a$b").is_err());
        assert!(validate_key("param", &"k".repeat(250)).is_ok());
        let msg = validate_key("param", &"k".repeat(251)).unwrap_err().message;
        assert!(msg.contains("exceeded length limit of 250"), "{msg}");
    }

    #[test]
    fn run_ids_follow_mlflow_pattern() {
        assert!(validate_run_id("0123abcd").is_ok());
        assert!(validate_run_id("_abc").is_err());
        assert!(validate_run_id("a/b").is_err());
        assert!(validate_run_id(&"a".repeat(257)).is_err());
    }

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
