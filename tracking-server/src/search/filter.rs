//! Filter strings for `runs/search` and `experiments/search`, plus the types and checks the
//! registry grammars share.
//!
//! Checks run in MLflow's order (identifier, then value, then comparator) so that a filter with
//! several faults is reported with the same message the reference gives.

use super::error::SearchError;
use super::pyrepr::py_set;
use super::statement::{self, InvalidStyle, RawClause, RawOp};
use super::values::{
    clean_key, expected_numeric_attribute, expected_quoted, lhs_ident, lists_if, number_value,
    string_or_list, trim_backticks, Lists, EXPERIMENT_ID_LISTS_ONLY, RUN_ID_LISTS_ONLY,
};

use super::clause::{Clause, Comparator, Entity, FilterValue};

pub(crate) const NUMERIC_COMPARATORS: &[Comparator] = &[
    Comparator::Gt,
    Comparator::Ge,
    Comparator::Ne,
    Comparator::Eq,
    Comparator::Lt,
    Comparator::Le,
];
const RUN_PARAM_TAG_COMPARATORS: &[Comparator] = &[
    Comparator::Ne,
    Comparator::Eq,
    Comparator::Like,
    Comparator::ILike,
    Comparator::IsNull,
    Comparator::IsNotNull,
];
const STRING_ATTRIBUTE_COMPARATORS: &[Comparator] = &[
    Comparator::Ne,
    Comparator::Eq,
    Comparator::Like,
    Comparator::ILike,
    Comparator::In,
    Comparator::NotIn,
];

const RUN_SEARCH_KEYS: &[&str] = &[
    "run_id",
    "run_name",
    "status",
    "artifact_uri",
    "user_id",
    "start_time",
    "end_time",
    "created",
    "Created",
    "run name",
    "Run name",
    "Run Name",
];
const RUN_NUMERIC_KEYS: &[&str] = &["start_time", "end_time", "created", "Created"];
const DATASET_KEYS: &[&str] = &["name", "digest", "context"];
const EXPERIMENT_SEARCH_KEYS: &[&str] =
    &["name", "experiment_id", "creation_time", "last_update_time"];
const EXPERIMENT_NUMERIC_KEYS: &[&str] = &["creation_time", "last_update_time"];

/// Entity prefixes of the runs grammar; case-sensitive, as in MLflow.
pub(crate) fn run_entity(raw: &str) -> Result<Entity, SearchError> {
    Ok(match raw {
        "metric" | "metrics" => Entity::Metric,
        "parameter" | "parameters" | "param" | "params" => Entity::Param,
        "tag" | "tags" => Entity::Tag,
        "attribute" | "attributes" | "attr" | "run" => Entity::Attribute,
        "dataset" | "datasets" => Entity::Dataset,
        _ => {
            return Err(SearchError(format!(
                "Invalid entity type '{raw}'. Valid values are ['metric', 'parameter', 'tag', \
                 'attribute', 'dataset']"
            )))
        }
    })
}

/// The experiment and registry grammars only know attributes and tags, spelled exactly so.
pub(crate) fn attribute_or_tag_entity(raw: &str) -> Result<Entity, SearchError> {
    match raw {
        "attribute" => Ok(Entity::Attribute),
        "tag" | "tags" => Ok(Entity::Tag),
        _ => Err(SearchError(format!(
            "Invalid entity type '{raw}'. Valid entity types are ('attribute', 'tag', 'tags')"
        ))),
    }
}

/// The store only understands canonical attribute names, so the UI's aliases end here.
pub(crate) fn canonical_run_attribute(key: &str) -> &str {
    match key {
        "created" | "Created" => "start_time",
        "run name" | "Run name" | "Run Name" => "run_name",
        other => other,
    }
}

pub(crate) fn invalid_attribute_key(key: &str, valid: &[&str]) -> SearchError {
    SearchError(format!(
        "Invalid attribute key '{key}' specified. Valid keys are '{}'",
        py_set(valid)
    ))
}

pub(crate) fn check_comparator(
    op: &RawOp,
    allowed: &[Comparator],
) -> Result<Comparator, SearchError> {
    match Comparator::from_op(op) {
        Some(c) if allowed.contains(&c) => Ok(c),
        _ => {
            let typed = match op {
                RawOp::Cmp(text) => text.as_str(),
                RawOp::In => "IN",
                RawOp::NotIn => "NOT IN",
                RawOp::IsNull => "IS NULL",
                RawOp::IsNotNull => "IS NOT NULL",
            };
            let names: Vec<&str> = allowed.iter().map(|c| c.as_str()).collect();
            Err(SearchError(format!(
                "Invalid comparator '{typed}' not one of '{}'",
                py_set(&names)
            )))
        }
    }
}

/// Builds the clause once a list value and its comparator are known to agree.
pub(crate) fn finish(
    entity: Entity,
    key: String,
    comparator: Comparator,
    value: FilterValue,
) -> Result<Clause, SearchError> {
    let is_list = matches!(value, FilterValue::List(_));
    if is_list != matches!(comparator, Comparator::In | Comparator::NotIn) {
        // Only `key = ('a')`-style input gets here; MLflow would fail later, in the store.
        return Err(SearchError(format!(
            "Invalid comparator '{}' for a list of values. Use IN or NOT IN.",
            comparator.as_str()
        )));
    }
    Ok(Clause {
        entity,
        key,
        comparator,
        value,
    })
}

fn run_clause(rc: &RawClause<'_>) -> Result<Clause, SearchError> {
    let ident = lhs_ident(rc)?;
    let (entity_raw, key_raw) = ident.split_entity();
    let entity = entity_raw.map_or(Ok(Entity::Attribute), |e| run_entity(trim_backticks(e)))?;
    let key = clean_key(key_raw);
    match entity {
        Entity::Attribute if !RUN_SEARCH_KEYS.contains(&key.as_str()) => {
            return Err(invalid_attribute_key(&key, RUN_SEARCH_KEYS))
        }
        Entity::Dataset if !DATASET_KEYS.contains(&key.as_str()) => {
            return Err(SearchError(format!(
                "Invalid dataset key '{key}' specified. Valid keys are '{}'",
                py_set(DATASET_KEYS)
            )))
        }
        _ => {}
    }
    let numeric = match entity {
        Entity::Metric => true,
        Entity::Attribute => RUN_NUMERIC_KEYS.contains(&key.as_str()),
        _ => false,
    };
    let value = match (&rc.rhs, entity) {
        (None, _) => FilterValue::Null,
        (Some(rhs), Entity::Metric) => FilterValue::Num(number_value(rhs).ok_or_else(|| {
            SearchError(format!(
                "Expected numeric value type for metric. Found {}",
                rhs.text()
            ))
        })?),
        (Some(rhs), Entity::Param | Entity::Tag) => {
            let kind = if entity == Entity::Param {
                "parameter"
            } else {
                "tag"
            };
            string_or_list(rhs, Lists::NotAValue, expected_quoted(kind, rhs))?
        }
        (Some(rhs), Entity::Attribute) if numeric => FilterValue::Num(
            number_value(rhs).ok_or_else(|| expected_numeric_attribute(&key, rhs))?,
        ),
        (Some(rhs), Entity::Attribute) => {
            string_or_list(rhs, lists_if(key == "run_id", RUN_ID_LISTS_ONLY), || {
                format!(
                    "Expected a quoted string value for attributes. Got value {}",
                    rhs.text()
                )
            })?
        }
        (Some(rhs), Entity::Dataset) => string_or_list(rhs, Lists::Allowed, || {
            format!(
                "Expected a quoted string value for dataset attributes. Got value {}",
                rhs.text()
            )
        })?,
    };
    let allowed = match entity {
        _ if numeric => NUMERIC_COMPARATORS,
        Entity::Param | Entity::Tag => RUN_PARAM_TAG_COMPARATORS,
        _ => STRING_ATTRIBUTE_COMPARATORS,
    };
    let comparator = check_comparator(&rc.op, allowed)?;
    let key = match entity {
        Entity::Attribute => canonical_run_attribute(&key).to_string(),
        _ => key,
    };
    finish(entity, key, comparator, value)
}

/// runs/search grammar. Empty or whitespace-only filter -> Ok(vec![]).
pub fn parse_run_filter(filter: &str) -> Result<Vec<Clause>, SearchError> {
    statement::parse_statement(filter, InvalidStyle::Quoted)?
        .iter()
        .map(run_clause)
        .collect()
}

fn experiment_clause(rc: &RawClause<'_>) -> Result<Clause, SearchError> {
    let ident = lhs_ident(rc)?;
    let (entity_raw, key_raw) = ident.split_entity();
    let entity = entity_raw.map_or(Ok(Entity::Attribute), attribute_or_tag_entity)?;
    let key = clean_key(key_raw);
    if entity == Entity::Attribute && !EXPERIMENT_SEARCH_KEYS.contains(&key.as_str()) {
        return Err(invalid_attribute_key(&key, EXPERIMENT_SEARCH_KEYS));
    }
    let numeric = entity == Entity::Attribute && EXPERIMENT_NUMERIC_KEYS.contains(&key.as_str());
    let value = match (&rc.rhs, entity) {
        (None, _) => FilterValue::Null,
        (Some(rhs), Entity::Tag) => {
            string_or_list(rhs, Lists::NotAValue, expected_quoted("tag", rhs))?
        }
        (Some(rhs), _) if numeric => FilterValue::Num(
            number_value(rhs).ok_or_else(|| expected_numeric_attribute(&key, rhs))?,
        ),
        (Some(rhs), _) => string_or_list(
            rhs,
            lists_if(key == "experiment_id", EXPERIMENT_ID_LISTS_ONLY),
            || {
                format!(
                    "Expected a quoted string value for attributes. Got value {}",
                    rhs.text()
                )
            },
        )?,
    };
    let allowed = match entity {
        Entity::Tag => RUN_PARAM_TAG_COMPARATORS,
        _ if numeric => NUMERIC_COMPARATORS,
        _ => STRING_ATTRIBUTE_COMPARATORS,
    };
    let comparator = check_comparator(&rc.op, allowed)?;
    finish(entity, key, comparator, value)
}

/// experiments/search: attributes name, `experiment_id` (IN allowed), `creation_time`,
/// `last_update_time`; tags.* with =, !=, LIKE, ILIKE, IS [NOT] NULL.
pub fn parse_experiment_filter(filter: &str) -> Result<Vec<Clause>, SearchError> {
    statement::parse_statement(filter, InvalidStyle::Bare)?
        .iter()
        .map(experiment_clause)
        .collect()
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
