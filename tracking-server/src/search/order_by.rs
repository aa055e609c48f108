//! `order_by` items: `<identifier> [ASC|DESC]`, one per list element.
//!
//! MLflow requires each item to parse as exactly one sqlparse identifier, so surrounding
//! whitespace or extra words are errors rather than being trimmed away. Duplicate fields are an
//! error too (a 500 in the reference; a 400 here, since it is the caller's mistake).

use std::collections::HashSet;
use std::mem::discriminant;

use super::clause::Entity;
use super::error::SearchError;
use super::filter::run_entity;
use super::filter::{attribute_or_tag_entity, canonical_run_attribute, invalid_attribute_key};
use super::lexer::{self, Ident, Item};
use super::pyrepr::{py_list, py_set};

#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    pub entity: Entity,
    pub key: String,
    pub ascending: bool,
}

const RUN_ORDER_KEYS: &[&str] = &[
    "run_id",
    "run_name",
    "status",
    "start_time",
    "end_time",
    "artifact_uri",
    "user_id",
    "created",
    "Created",
];
const EXPERIMENT_ORDER_KEYS: &[&str] =
    &["name", "experiment_id", "creation_time", "last_update_time"];
const REGISTERED_MODEL_ORDER_KEYS: &[&str] = &[
    "name",
    "timestamp",
    "creation_timestamp",
    "last_updated_timestamp",
];
const MODEL_VERSION_ORDER_KEYS: &[&str] = &[
    "name",
    "version_number",
    "creation_timestamp",
    "last_updated_timestamp",
];

fn could_not_parse(item: &str) -> SearchError {
    SearchError(format!(
        "Invalid order_by clause '{item}'. Could not be parsed."
    ))
}

/// Removes one layer of quoting from an identifier part; MLflow runs the item through
/// `shlex.split` after turning backticks into double quotes, which drops them all.
fn unquote(part: &str) -> &str {
    ['`', '"', '\'']
        .iter()
        .find_map(|&q| part.strip_prefix(q)?.strip_suffix(q))
        .unwrap_or(part)
}

/// The identifier's entity prefix (if any) and key, unquoted, plus the direction.
fn parse_item(item: &str) -> Result<(Option<String>, String, bool), SearchError> {
    if item.is_empty() || item.trim() != item {
        return Err(could_not_parse(item));
    }
    let items = lexer::items(item);
    let (ident, ascending) = match items.as_slice() {
        [Item::Ident(id)] => (id, true),
        [Item::Ident(id), Item::Ident(dir)] if is_bare_word(dir) => {
            let ascending = match dir.text.to_ascii_lowercase().as_str() {
                "asc" => true,
                "desc" => false,
                _ => {
                    return Err(SearchError(format!(
                        "Invalid ordering key in order_by clause '{item}'."
                    )))
                }
            };
            (id, ascending)
        }
        _ => return Err(could_not_parse(item)),
    };
    let parts: Vec<&str> = ident.parts.iter().map(|p| unquote(p)).collect();
    Ok(match parts.split_first() {
        Some((first, rest)) if !rest.is_empty() => {
            (Some((*first).to_string()), rest.join("."), ascending)
        }
        _ => (None, parts.join("."), ascending),
    })
}

fn is_bare_word(id: &Ident<'_>) -> bool {
    id.parts.len() == 1 && !id.text.starts_with(['`', '"', '\''])
}

/// Rejects a second item naming an already-ordered field, quoting the list as MLflow does.
fn check_duplicates(items: &[String], parsed: &[OrderBy]) -> Result<(), SearchError> {
    let mut seen = HashSet::with_capacity(parsed.len());
    if parsed
        .iter()
        .all(|ob| seen.insert((discriminant(&ob.entity), ob.key.as_str())))
    {
        return Ok(());
    }
    Err(SearchError(format!(
        "`order_by` contains duplicate fields: {}",
        py_list(items)
    )))
}

/// The experiment and registry grammars: `attribute.` prefix optional, tags refused.
fn parse_attribute_only(
    items: &[String],
    valid_keys: &[&str],
    canonical: impl Fn(&str) -> &str,
    invalid_key: impl Fn(&str) -> SearchError,
) -> Result<Vec<OrderBy>, SearchError> {
    let mut parsed = Vec::with_capacity(items.len());
    for item in items {
        let (entity_raw, key, ascending) = parse_item(item)?;
        let entity = entity_raw
            .as_deref()
            .map_or(Ok(Entity::Attribute), attribute_or_tag_entity)?;
        if entity != Entity::Attribute {
            return Err(SearchError::new("Invalid order_by entity: tag"));
        }
        if !valid_keys.contains(&key.as_str()) {
            return Err(invalid_key(&key));
        }
        parsed.push(OrderBy {
            entity,
            key: canonical(&key).to_string(),
            ascending,
        });
    }
    check_duplicates(items, &parsed)?;
    Ok(parsed)
}

/// runs `order_by` items like "metrics.rmse DESC", "params.alpha", "tags.`mlflow.runName` ASC",
/// "`attribute.start_time`", "created".
pub fn parse_run_order_by(items: &[String]) -> Result<Vec<OrderBy>, SearchError> {
    let mut parsed = Vec::with_capacity(items.len());
    for item in items {
        let (entity_raw, key, ascending) = parse_item(item)?;
        let entity = entity_raw
            .as_deref()
            .map_or(Ok(Entity::Attribute), run_entity)?;
        let key = match entity {
            Entity::Attribute if !RUN_ORDER_KEYS.contains(&key.as_str()) => {
                return Err(invalid_attribute_key(&key, RUN_ORDER_KEYS))
            }
            Entity::Attribute => canonical_run_attribute(&key).to_string(),
            // Runs have many dataset inputs, so there is no single value to sort by.
            Entity::Dataset => {
                return Err(SearchError::new("Invalid order_by entity type 'dataset'"))
            }
            _ => key,
        };
        parsed.push(OrderBy {
            entity,
            key,
            ascending,
        });
    }
    check_duplicates(items, &parsed)?;
    Ok(parsed)
}

/// Keys: name, `experiment_id`, `creation_time`, `last_update_time`.
pub fn parse_experiment_order_by(items: &[String]) -> Result<Vec<OrderBy>, SearchError> {
    parse_attribute_only(
        items,
        EXPERIMENT_ORDER_KEYS,
        |k| k,
        |k| invalid_attribute_key(k, EXPERIMENT_ORDER_KEYS),
    )
}

/// Keys: name, `creation_timestamp`, `last_updated_timestamp`, and `timestamp`, which MLflow's SQL
/// store sorts by the last-updated time (its REST docs call it the "last updated timestamp").
pub fn parse_registered_model_order_by(items: &[String]) -> Result<Vec<OrderBy>, SearchError> {
    parse_attribute_only(
        items,
        REGISTERED_MODEL_ORDER_KEYS,
        |k| match k {
            "timestamp" => "last_updated_timestamp",
            other => other,
        },
        |k| {
            SearchError(format!(
                "Invalid order by key '{k}' specified. Valid keys are '{}'",
                py_set(REGISTERED_MODEL_ORDER_KEYS)
            ))
        },
    )
}

/// Keys: name, `version_number`, `creation_timestamp`, `last_updated_timestamp`.
pub fn parse_model_version_order_by(items: &[String]) -> Result<Vec<OrderBy>, SearchError> {
    parse_attribute_only(
        items,
        MODEL_VERSION_ORDER_KEYS,
        |k| k,
        |k| invalid_attribute_key(k, MODEL_VERSION_ORDER_KEYS),
    )
}

#[cfg(test)]
#[path = "order_by_tests.rs"]
mod tests;
