//! Experiment writes, as both the REST API and the web UI perform them. Each takes names and ids
//! already parsed into `protocol::names` types at the front end's edge, so neither front end can
//! skip a rule the other applies.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::validation::{validate_length, MAX_ARTIFACT_LOCATION_LENGTH};
use protocol::names::{ExperimentId, ExperimentName};
use protocol::KeyValue;

/// An experiment's own artifact location as MLflow accepts it: local paths resolved to `file:`
/// URIs, at most 2048 characters, never a `runs:` URI. Empty means "the server's root".
pub fn artifact_location(location: Option<String>) -> ApiResult<Option<String>> {
    let location = location
        .filter(|l| !l.is_empty())
        .map(|l| crate::uri::resolve_uri_if_local(&l))
        .transpose()?;
    if let Some(loc) = &location {
        validate_length("artifact_location", loc, MAX_ARTIFACT_LOCATION_LENGTH)?;
        if loc.starts_with("runs:") {
            return Err(ApiError::invalid(format!(
                "Got an invalid artifact location '{loc}': a 'runs:' URI cannot be an experiment's \
                 artifact location"
            )));
        }
    }
    Ok(location)
}

/// Creates an experiment; without an artifact location (checked by [`artifact_location`]) its
/// artifacts go under the server's root (`<root>/<id>`). Returns the new id.
pub async fn create(
    s: &AppState,
    name: &ExperimentName,
    artifact_location: Option<&str>,
    tags: &[KeyValue],
) -> ApiResult<ExperimentId> {
    let root = s.config.artifact_root();
    let id = s
        .store
        .create_experiment(name.as_str(), artifact_location, &root, tags)
        .await?;
    Ok(ExperimentId::parse(&id.to_string())?)
}

/// Renames an experiment; the new name must be free.
pub async fn rename(s: &AppState, id: ExperimentId, new_name: &ExperimentName) -> ApiResult<()> {
    Ok(s.store
        .rename_experiment(id.get(), new_name.as_str())
        .await?)
}

/// Soft-deletes (or restores) an experiment and its runs.
pub async fn set_deleted(s: &AppState, id: ExperimentId, deleted: bool) -> ApiResult<()> {
    Ok(s.store.set_experiment_deleted(id.get(), deleted).await?)
}

/// An experiment tag as MLflow accepts it (also the description, `mlflow.note.content`): the key
/// required and valid, the value at most 20,000 characters (refused, not truncated, unlike run tags).
pub fn tag(key: Option<String>, value: Option<String>) -> ApiResult<KeyValue> {
    let key = crate::validation::required(key, "key")?;
    crate::validation::validate_key(protocol::names::KeyKind::Tag, &key)?;
    let value = value.unwrap_or_default();
    validate_length(
        "Tag value",
        &value,
        crate::validation::MAX_EXPERIMENT_TAG_VALUE_LENGTH,
    )?;
    Ok(KeyValue { key, value })
}
