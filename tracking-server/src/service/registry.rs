//! The registry's rules (`mlflow/utils/validation.py`, `model_registry/sqlalchemy_store.py`): names,
//! versions, stages, aliases, and which `source` a model version may point at.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::uri;
use crate::validation::{required, validate_key, validate_length};
use protocol::names::KeyKind;
use protocol::{KeyValue, KeyValueIn};

pub const STAGES: [&str; 4] = ["None", "Staging", "Production", "Archived"];
const MAX_REGISTRY_TAG_VALUE_LENGTH: usize = 100_000;
const MAX_ALIAS_LENGTH: usize = 255;
const MODEL_VERSIONS_TAG: &str = "mlflow.modelVersions";
/// Marks a registered model or version as a prompt of MLflow's prompt registry.
pub const IS_PROMPT_TAG: &str = "mlflow.prompt.is_prompt";

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
    validate_key(KeyKind::Tag, &key)?;
    let value = value.unwrap_or_default();
    validate_length("Tag value", &value, MAX_REGISTRY_TAG_VALUE_LENGTH)?;
    Ok(KeyValue { key, value })
}

pub fn tags(tags: Vec<KeyValueIn>) -> ApiResult<Vec<KeyValue>> {
    tags.into_iter().map(|t| tag(t.key, t.value)).collect()
}

/// MLflow's source rules (`_create_model_version` in MLflow's handlers): the deployment's regex if
/// set; then a local source must lie inside the artifact directory of the run (or logged model) it
/// names, and any other source must be an absolute path without relative references. A remote
/// source may name a run this server has never seen: the run can live on another tracking server.
pub async fn validate_source(
    s: &AppState,
    source: &str,
    run_id: Option<&str>,
    model_id: Option<&str>,
    is_prompt: bool,
) -> ApiResult<()> {
    if let Some(regex) = &s.config.model_version_source_regex {
        if !source.is_empty() && !regex.is_match(source) {
            return Err(ApiError::invalid(format!(
                "Invalid model version source: '{source}'."
            )));
        }
    }
    if is_prompt {
        // Never a path on this machine; a placeholder without a scheme (`dummy-source`) is fine.
        let scheme = uri::scheme(source);
        if scheme == "file" || (scheme.is_empty() && source.starts_with('/')) {
            return Err(ApiError::invalid(format!(
                "Invalid prompt source: '{source}'. Local source paths are not allowed for prompts."
            )));
        }
        if !scheme.is_empty() {
            uri::validate_no_relative_paths(source)?;
        }
        return Ok(());
    }
    if !uri::is_local_uri(source)? {
        return uri::validate_no_relative_paths(source);
    }
    let resolved = uri::resolve_path(&uri::local_file_uri_to_path(source));
    let (owner, root) = match (model_id, run_id) {
        (Some(model_id), _) => {
            let model = s.store.get_logged_model(model_id, false).await?;
            ("model_id", Some(model.info.artifact_uri))
        }
        (None, Some(run_id)) => {
            let run = s.store.get_run(run_id).await?;
            ("run_id", Some(run.info.artifact_uri))
        }
        (None, None) => ("run_id", None),
    };
    if let Some(root) = root {
        if uri::is_local_uri(&root)? {
            let root = uri::resolve_path(&uri::local_file_uri_to_path(&root));
            if uri::is_within(&root, &resolved) {
                return Ok(());
            }
        }
    }
    Err(ApiError::invalid(format!(
        "Invalid model version source: '{}'. To use a local path as a model version source, the \
         {owner} request parameter has to be specified and the local path has to be contained \
         within the artifact directory of the run specified by the {owner}.",
        resolved.display()
    )))
}

/// Where a version's files can be downloaded: `models:/m-…` and `runs:/…` resolve to artifact URIs.
pub async fn download_uri(s: &AppState, source: &str) -> ApiResult<String> {
    if let Some(model_id) = source
        .strip_prefix("models:/")
        .filter(|m| m.starts_with("m-"))
    {
        let model = s
            .store
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
    let model = s.store.get_logged_model(model_id, false).await?;
    let mut list: Vec<serde_json::Value> = model
        .info
        .tags
        .iter()
        .find(|t| t.key == MODEL_VERSIONS_TAG)
        .and_then(|t| serde_json::from_str(&t.value).ok())
        .unwrap_or_default();
    list.push(serde_json::json!({"name": name, "version": version.parse::<i64>().unwrap_or(0)}));
    let value = crate::search::pyrepr::json_dumps(&serde_json::Value::Array(list));
    s.store
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
