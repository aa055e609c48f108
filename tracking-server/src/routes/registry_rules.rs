//! The registry's rules (`mlflow/utils/validation.py`, `model_registry/sqlalchemy_store.py`): names,
//! versions, stages, aliases, and which `source` a model version may point at.

use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::protocol::{KeyValue, KeyValueIn};
use crate::validation::{required, validate_key, validate_length};

pub const STAGES: [&str; 4] = ["None", "Staging", "Production", "Archived"];
const MAX_REGISTRY_TAG_VALUE_LENGTH: usize = 100_000;
const MAX_ALIAS_LENGTH: usize = 255;
const MODEL_VERSIONS_TAG: &str = "mlflow.modelVersions";

/// Non-empty, no `/` or `:` (a name becomes part of `models:/name/…` URIs).
pub fn model_name(name: Option<String>) -> ApiResult<String> {
    let name = required(name, "name")?;
    if name.contains('/') || name.contains(':') || name.trim().is_empty() {
        return Err(ApiError::invalid(format!(
            "Invalid name: '{name}'. Registered model names may not contain '/' or ':'."
        )));
    }
    validate_length("Registered model name", &name, 256)?;
    Ok(name)
}

pub fn version(v: Option<&str>) -> ApiResult<i64> {
    let v = v
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::missing("version"))?;
    v.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "Parameter 'version' must be an integer, got '{v}'."
            ))
        })
}

/// Case-insensitive in, canonical out.
pub fn stage(s: &str) -> ApiResult<String> {
    STAGES
        .iter()
        .find(|st| st.eq_ignore_ascii_case(s.trim()))
        .map(|st| (*st).to_string())
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "Invalid Model Version stage: {s}. Value must be one of None, Staging, Production, Archived."
            ))
        })
}

/// `archive_existing_versions` only makes sense when moving into an active stage.
pub fn check_archive_existing(stage: &str, archive: bool) -> ApiResult<()> {
    if archive && !matches!(stage, "Staging" | "Production") {
        return Err(ApiError::invalid(format!(
            "Model version transition cannot archive existing model versions because '{stage}' is not \
             an Active stage. Valid stages are Staging, Production"
        )));
    }
    Ok(())
}

/// `^[\w\-]*$`, ≤ 255, not `latest` (any case), not `v<digits>`.
pub fn alias(alias: Option<String>) -> ApiResult<String> {
    let alias = required(alias, "alias")?;
    if !alias
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        return Err(ApiError::invalid(format!(
            "Invalid alias name: '{alias}'. Names may only contain alphanumerics, underscores (_), and dashes (-)."
        )));
    }
    validate_length("Alias name", &alias, MAX_ALIAS_LENGTH)?;
    if alias.eq_ignore_ascii_case("latest") {
        return Err(ApiError::invalid(format!(
            "'{alias}' alias name (case insensitive) is reserved."
        )));
    }
    let mut chars = alias.chars();
    if matches!(chars.next(), Some('v' | 'V'))
        && alias.len() > 1
        && chars.all(|c| c.is_ascii_digit())
    {
        return Err(ApiError::invalid(format!(
            "Version alias name '{alias}' is reserved."
        )));
    }
    Ok(alias)
}

pub fn tag(key: Option<String>, value: Option<String>) -> ApiResult<KeyValue> {
    let key = required(key, "key")?;
    validate_key("tag", &key)?;
    let value = value.unwrap_or_default();
    validate_length("Tag value", &value, MAX_REGISTRY_TAG_VALUE_LENGTH)?;
    Ok(KeyValue { key, value })
}

pub fn tags(tags: Vec<KeyValueIn>) -> ApiResult<Vec<KeyValue>> {
    tags.into_iter().map(|t| tag(t.key, t.value)).collect()
}

fn traversal_error() -> ApiError {
    ApiError::invalid(
        "Invalid model version source: If supplying a source as an http, https, local file path, ftp, \
         objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path \
         references present. Please provide an absolute path.",
    )
}

/// MLflow's source rules (§3.9): no `..` (plain or percent-encoded) or NUL anywhere; local paths only
/// inside the run's own artifact directory; a logged model's source must be that model.
pub async fn validate_source(
    s: &AppState,
    source: &str,
    run_id: Option<&str>,
    model_id: Option<&str>,
) -> ApiResult<()> {
    let decoded = percent_encoding::percent_decode_str(source)
        .decode_utf8_lossy()
        .into_owned();
    let decoded_twice = percent_encoding::percent_decode_str(&decoded)
        .decode_utf8_lossy()
        .into_owned();
    for text in [source, decoded.as_str(), decoded_twice.as_str()] {
        if text.contains('\0') || text.split(['/', '\\']).any(|seg| seg == "..") {
            return Err(traversal_error());
        }
    }
    if let Some(model_id) = model_id {
        let model = s.registry.get_logged_model(model_id, false).await?;
        let ok = source == format!("models:/{model_id}")
            || source.trim_end_matches('/') == model.info.artifact_uri;
        if !ok {
            return Err(ApiError::invalid(format!(
                "Invalid model version source: '{source}'. It must be the logged model's artifact location \
                 '{}' or 'models:/{model_id}'.",
                model.info.artifact_uri
            )));
        }
        return Ok(());
    }
    let local = source.starts_with('/') || source.starts_with("file:") || !source.contains(':');
    if local {
        let message = "Invalid model version source: To use a local path as a model version source, the \
             run_id request parameter has to be specified and the local path has to be contained within \
             the artifact directory of the run specified by the run_id.";
        let run_id = run_id.ok_or_else(|| ApiError::invalid(message))?;
        let run = s.store.get_run(run_id).await?;
        let root = run
            .info
            .artifact_uri
            .trim_start_matches("file://")
            .trim_end_matches('/')
            .to_string();
        let path = source.trim_start_matches("file://");
        if !run.info.artifact_uri.starts_with("file://") && !run.info.artifact_uri.starts_with('/')
            || !(path == root || path.starts_with(&format!("{root}/")))
        {
            return Err(ApiError::invalid(message));
        }
    } else if let Some(run_id) = run_id {
        // A remote source with a run id: the run must exist.
        s.store.get_run(run_id).await?;
    }
    Ok(())
}

/// Where a version's files can be downloaded: `models:/m-…` and `runs:/…` resolve to artifact URIs.
pub async fn download_uri(s: &AppState, source: &str) -> ApiResult<String> {
    if let Some(model_id) = source
        .strip_prefix("models:/")
        .filter(|m| m.starts_with("m-"))
    {
        let model = s
            .registry
            .get_logged_model(model_id.trim_end_matches('/'), true)
            .await?;
        return Ok(model.info.artifact_uri);
    }
    if let Some(rest) = source.strip_prefix("runs:/") {
        let (run_id, path) = rest.split_once('/').unwrap_or((rest, ""));
        let run = s.store.get_run(run_id).await?;
        let root = run.info.artifact_uri.trim_end_matches('/').to_string();
        return Ok(if path.is_empty() {
            root
        } else {
            format!("{root}/{path}")
        });
    }
    Ok(source.to_string())
}

/// MLflow 3: a version made from a logged model is listed in that model's `mlflow.modelVersions` tag.
pub async fn record_registration(
    s: &AppState,
    model_id: &str,
    name: &str,
    version: &str,
) -> ApiResult<()> {
    let model = s.registry.get_logged_model(model_id, false).await?;
    let mut list: Vec<serde_json::Value> = model
        .info
        .tags
        .iter()
        .find(|t| t.key == MODEL_VERSIONS_TAG)
        .and_then(|t| serde_json::from_str(&t.value).ok())
        .unwrap_or_default();
    list.push(serde_json::json!({"name": name, "version": version.parse::<i64>().unwrap_or(0)}));
    let value = serde_json::to_string(&list).unwrap_or_default();
    s.registry
        .set_logged_model_tags(model_id, &[KeyValue::new(MODEL_VERSIONS_TAG, value)])
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_are_case_insensitive_in_and_canonical_out() {
        assert_eq!(stage("production").unwrap(), "Production");
        assert_eq!(stage("NONE").unwrap(), "None");
        let msg = stage("Prod").unwrap_err().message;
        assert!(
            msg.starts_with("Invalid Model Version stage: Prod."),
            "{msg}"
        );
    }

    #[test]
    fn reserved_and_malformed_aliases_are_refused() {
        for bad in ["latest", "LATEST", "v1", "V12", "a b", "a/b", ""] {
            assert!(alias(Some(bad.into())).is_err(), "{bad}");
        }
        for good in ["champion", "v", "v1a", "blue-green_2"] {
            assert_eq!(alias(Some(good.into())).unwrap(), good);
        }
    }

    #[test]
    fn model_names_cannot_contain_separators() {
        assert!(model_name(Some("a/b".into())).is_err());
        assert!(model_name(Some("a:b".into())).is_err());
        assert!(model_name(None).is_err());
        assert_eq!(
            model_name(Some("airbnb-price".into())).unwrap(),
            "airbnb-price"
        );
    }

    #[test]
    fn versions_must_be_positive_integers() {
        assert_eq!(version(Some("3")).unwrap(), 3);
        assert!(version(Some("x")).is_err());
        assert!(version(Some("0")).is_err());
        assert!(version(None).is_err());
    }
}
