//! Filter strings for `registered-models/search` and `model-versions/search`.
//!
//! Both grammars only know `attribute.`/`tag.`/`tags.` prefixes and a handful of attributes;
//! their error texts differ slightly from the runs grammar, following MLflow's
//! `SearchModelUtils` and `SearchModelVersionUtils`.

use super::clause::{Clause, Comparator, Entity, FilterValue};
use super::error::SearchError;
use super::filter::{
    attribute_or_tag_entity, check_comparator, finish, invalid_attribute_key, NUMERIC_COMPARATORS,
};
use super::lexer::Item;
use super::statement::{self, InvalidStyle, RawClause};
use super::values::{
    clean_key, expected_numeric_attribute, expected_quoted, lhs_ident, lists_if, number_value,
    string_or_list, string_value, Lists, RUN_ID_LISTS_ONLY,
};

const TAG_COMPARATORS: &[Comparator] = &[
    Comparator::Ne,
    Comparator::Eq,
    Comparator::Like,
    Comparator::ILike,
];
const STRING_ATTRIBUTE_COMPARATORS: &[Comparator] = &[
    Comparator::Ne,
    Comparator::Eq,
    Comparator::Like,
    Comparator::ILike,
    Comparator::In,
];
const REGISTERED_MODEL_KEYS: &[&str] = &["name"];
const MODEL_VERSION_KEYS: &[&str] = &["name", "version_number", "run_id", "source_path"];
const NAME_LISTS_ONLY: &str =
    "Only the 'name' attribute supports comparison with a list of quoted string values.";

fn expected_string_or_list<'a>(rhs: &Item<'a>) -> impl FnOnce() -> String + 'a {
    let text = rhs.text();
    move || {
        format!(
            "Expected a quoted string value or a list of quoted string values for attributes. \
             Got value {text}"
        )
    }
}

/// Splits the identifier and checks it against `valid_keys`.
fn entity_and_key(
    rc: &RawClause<'_>,
    valid_keys: &[&str],
) -> Result<(Entity, String), SearchError> {
    let ident = lhs_ident(rc)?;
    let (entity_raw, key_raw) = ident.split_entity();
    let entity = entity_raw.map_or(Ok(Entity::Attribute), attribute_or_tag_entity)?;
    let key = clean_key(key_raw);
    if entity == Entity::Attribute && !valid_keys.contains(&key.as_str()) {
        return Err(invalid_attribute_key(&key, valid_keys));
    }
    Ok((entity, key))
}

fn tag_value(rhs: &Item<'_>) -> Result<FilterValue, SearchError> {
    string_or_list(rhs, Lists::NotAValue, expected_quoted("tag", rhs))
}

fn registered_model_clause(rc: &RawClause<'_>) -> Result<Clause, SearchError> {
    let (entity, key) = entity_and_key(rc, REGISTERED_MODEL_KEYS)?;
    let value = match (&rc.rhs, entity) {
        (None, _) => FilterValue::Null,
        (Some(rhs), Entity::Tag) => tag_value(rhs)?,
        (Some(rhs), _) => string_or_list(
            rhs,
            lists_if(key == "name", NAME_LISTS_ONLY),
            expected_string_or_list(rhs),
        )?,
    };
    let allowed = match entity {
        Entity::Tag => TAG_COMPARATORS,
        _ => STRING_ATTRIBUTE_COMPARATORS,
    };
    let comparator = check_comparator(&rc.op, allowed)?;
    finish(entity, key, comparator, value)
}

/// registered-models/search: name (=, !=, LIKE, ILIKE, IN) and tags.*/tag.* (=, !=, LIKE,
/// ILIKE). The 3.x client appends ``AND tag.`mlflow.prompt.is_prompt` != 'true'``.
pub fn parse_registered_model_filter(filter: &str) -> Result<Vec<Clause>, SearchError> {
    statement::parse_statement(filter, InvalidStyle::Bare)?
        .iter()
        .map(registered_model_clause)
        .collect()
}

/// `version_number` is numeric, but a quoted number is accepted too: MLflow takes any string
/// there and converts it when comparing.
fn version_number_value(rhs: &Item<'_>) -> Result<FilterValue, SearchError> {
    if let Some(n) = number_value(rhs) {
        return Ok(FilterValue::Num(n));
    }
    if matches!(rhs, Item::Paren { .. }) {
        return Err(SearchError::new(RUN_ID_LISTS_ONLY));
    }
    match string_value(rhs) {
        Some(Ok(s)) => match s.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(FilterValue::Num(n)),
            _ => Err(expected_numeric_attribute("version_number", rhs)),
        },
        Some(Err(e)) => Err(e),
        None => Err(expected_numeric_attribute("version_number", rhs)),
    }
}

fn model_version_clause(rc: &RawClause<'_>) -> Result<Clause, SearchError> {
    let (entity, key) = entity_and_key(rc, MODEL_VERSION_KEYS)?;
    let numeric = entity == Entity::Attribute && key == "version_number";
    let value = match (&rc.rhs, entity) {
        (None, _) => FilterValue::Null,
        (Some(rhs), Entity::Tag) => tag_value(rhs)?,
        (Some(rhs), _) if numeric => version_number_value(rhs)?,
        (Some(rhs @ Item::Num(_)), _) => {
            return Err(SearchError(format!(
                "Only the 'version_number' attribute supports comparison with numeric values. \
                 Got value {} for '{key}'.",
                rhs.text()
            )))
        }
        (Some(rhs), _) => string_or_list(
            rhs,
            lists_if(key == "run_id", RUN_ID_LISTS_ONLY),
            expected_string_or_list(rhs),
        )?,
    };
    let allowed = match entity {
        Entity::Tag => TAG_COMPARATORS,
        _ if numeric => NUMERIC_COMPARATORS,
        _ => STRING_ATTRIBUTE_COMPARATORS,
    };
    let comparator = check_comparator(&rc.op, allowed)?;
    finish(entity, key, comparator, value)
}

/// model-versions/search: name, `run_id` (IN allowed), `source_path`, `version_number` (numeric),
/// tags.*.
pub fn parse_model_version_filter(filter: &str) -> Result<Vec<Clause>, SearchError> {
    statement::parse_statement(filter, InvalidStyle::Bare)?
        .iter()
        .map(model_version_clause)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rm(filter: &str) -> Vec<Clause> {
        parse_registered_model_filter(filter).unwrap_or_else(|e| panic!("{filter}: {e}"))
    }

    fn mv(filter: &str) -> Vec<Clause> {
        parse_model_version_filter(filter).unwrap_or_else(|e| panic!("{filter}: {e}"))
    }

    fn rm_err(filter: &str) -> String {
        parse_registered_model_filter(filter).expect_err(filter).0
    }

    fn mv_err(filter: &str) -> String {
        parse_model_version_filter(filter).expect_err(filter).0
    }

    fn clause(entity: Entity, key: &str, comparator: Comparator, value: FilterValue) -> Clause {
        Clause {
            entity,
            key: key.into(),
            comparator,
            value,
        }
    }

    #[test]
    fn the_3x_client_prompt_exclusion_parses() {
        let got = rm("name LIKE '%iris%' AND tag.`mlflow.prompt.is_prompt` != 'true'");
        assert_eq!(
            got,
            vec![
                clause(
                    Entity::Attribute,
                    "name",
                    Comparator::Like,
                    FilterValue::Str("%iris%".into())
                ),
                clause(
                    Entity::Tag,
                    "mlflow.prompt.is_prompt",
                    Comparator::Ne,
                    FilterValue::Str("true".into())
                ),
            ]
        );
        assert_eq!(rm("tag.`mlflow.prompt.is_prompt` != 'true'").len(), 1);
    }

    #[test]
    fn registered_model_name_supports_equality_like_and_in() {
        assert_eq!(rm("name = 'a'")[0].comparator, Comparator::Eq);
        assert_eq!(rm("attribute.name != 'a'")[0].comparator, Comparator::Ne);
        assert_eq!(rm("name ilike 'A%'")[0].comparator, Comparator::ILike);
        assert_eq!(
            rm("name IN ('a', 'b')")[0].value,
            FilterValue::List(vec!["a".into(), "b".into()])
        );
    }

    #[test]
    fn registered_model_tags_take_both_prefixes() {
        assert_eq!(rm("tags.team = 'x'")[0].entity, Entity::Tag);
        assert_eq!(rm("tag.team LIKE 'x%'")[0].key, "team");
    }

    #[test]
    fn registered_model_rejects_what_mlflow_rejects() {
        assert!(rm_err("name NOT IN ('a')").starts_with("Invalid comparator 'NOT IN' not one of"));
        assert!(rm_err("tags.a IS NULL").starts_with("Invalid comparator 'IS NULL' not one of"));
        assert!(rm_err("tags.a > 'b'").starts_with("Invalid comparator '>' not one of"));
        assert_eq!(
            rm_err("params.a = 'b'"),
            "Invalid entity type 'params'. Valid entity types are ('attribute', 'tag', 'tags')"
        );
        assert_eq!(
            rm_err("creation_timestamp > 1"),
            "Invalid attribute key 'creation_timestamp' specified. Valid keys are '{'name'}'"
        );
        assert_eq!(
            rm_err("name = 1"),
            "Expected a quoted string value or a list of quoted string values for attributes. \
             Got value 1"
        );
        assert_eq!(
            rm_err("tags.a = 1"),
            "Expected a quoted string value for tag (e.g. 'my-value'). Got value 1"
        );
        assert_eq!(
            rm_err("name = 'a' OR name = 'b'"),
            "Invalid clause(s) in filter string: OR"
        );
    }

    #[test]
    fn model_version_string_attributes_parse() {
        assert_eq!(
            mv("name = 'm' and run_id IN ('r1', 'r2') AND source_path LIKE 's3://%'"),
            vec![
                clause(
                    Entity::Attribute,
                    "name",
                    Comparator::Eq,
                    FilterValue::Str("m".into())
                ),
                clause(
                    Entity::Attribute,
                    "run_id",
                    Comparator::In,
                    FilterValue::List(vec!["r1".into(), "r2".into()])
                ),
                clause(
                    Entity::Attribute,
                    "source_path",
                    Comparator::Like,
                    FilterValue::Str("s3://%".into())
                ),
            ]
        );
    }

    #[test]
    fn model_version_number_is_numeric_and_accepts_quoted_numbers() {
        assert_eq!(mv("version_number >= 3")[0].value, FilterValue::Num(3.0));
        assert_eq!(mv("version_number = '3'")[0].value, FilterValue::Num(3.0));
        assert_eq!(
            mv("attribute.version_number < 10")[0].comparator,
            Comparator::Lt
        );
        assert_eq!(
            mv_err("version_number = 'three'"),
            "Expected numeric value type for numeric attribute: version_number. Found 'three'"
        );
        assert!(mv_err("version_number LIKE '3'").starts_with("Invalid comparator 'LIKE'"));
    }

    #[test]
    fn model_version_lists_are_for_run_id_only() {
        assert_eq!(mv_err("name IN ('a')"), RUN_ID_LISTS_ONLY);
        assert_eq!(mv_err("version_number IN ('1')"), RUN_ID_LISTS_ONLY);
        assert!(mv_err("run_id NOT IN ('a')").starts_with("Invalid comparator 'NOT IN'"));
    }

    #[test]
    fn model_version_rejects_numbers_on_string_attributes_and_unknown_keys() {
        assert!(mv_err("run_id = 5").starts_with("Only the 'version_number' attribute supports"));
        assert!(mv_err("status = 'READY'").starts_with("Invalid attribute key 'status' specified"));
        assert!(mv_err("tags.a IS NOT NULL").starts_with("Invalid comparator 'IS NOT NULL'"));
    }

    #[test]
    fn model_version_tags_parse() {
        assert_eq!(
            mv("tags.`my tag` = 'v'")[0],
            clause(
                Entity::Tag,
                "my tag",
                Comparator::Eq,
                FilterValue::Str("v".into())
            )
        );
    }

    #[test]
    fn empty_registry_filters_yield_no_clauses() {
        assert!(rm("").is_empty());
        assert!(mv("   ").is_empty());
    }
}
