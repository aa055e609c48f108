//! Run tag rules, as both the REST API (`set-tag`, `log-batch`) and the web UI (tags, description)
//! apply them, so a key the API refuses is refused in the UI with the same message.

use crate::error::ApiResult;
use crate::validation::{self as v, required};
use protocol::names::KeyKind;
use protocol::KeyValue;

/// The run tag holding the description MLflow's UI edits.
pub const NOTE_TAG: &str = "mlflow.note.content";

/// A run tag as MLflow accepts it: the key required and valid, an over-long value truncated.
/// `field` prefixes the missing-key message (`tags[0].` inside a batch).
pub fn tag(key: Option<String>, value: Option<String>, field: &str) -> ApiResult<KeyValue> {
    let key = required(key, &format!("{field}key"))?;
    v::validate_key(KeyKind::Tag, &key)?;
    let value = v::truncate_value(value.unwrap_or_default(), v::MAX_RUN_TAG_VALUE_LENGTH);
    Ok(KeyValue { key, value })
}
