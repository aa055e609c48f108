//! `search-logged-models` filters (`name = 'model'`, `metrics.rmse < 0.5`, `params.alpha = '0.1'`,
//! `tags.k != 'v'`), joined by AND. A small grammar of its own, as MLflow has
//! (`mlflow/utils/search_logged_model_utils.py`): the runs grammar rejects logged-model attributes
//! such as `name`. Metrics and the timestamps compare as numbers with `< <= > >= = !=`; everything
//! else as text with `= != LIKE ILIKE`, and MLflow's message names the operators allowed.

use super::clause::{Clause, Comparator, Entity, FilterValue};

/// Longest first, so that `<=` is not read as `<`.
const OPERATORS: &[&str] = &[
    "!=", "<=", ">=", "=", "<", ">", " LIKE ", " ILIKE ", " like ", " ilike ",
];

const NUMERIC_ATTRIBUTES: &[&str] = &["creation_timestamp", "last_updated_timestamp"];

pub fn parse_logged_model_filter(filter: &str) -> Result<Vec<Clause>, String> {
    let mut clauses = Vec::new();
    for part in split_and(filter) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (lhs, op, rhs) = OPERATORS
            .iter()
            .filter_map(|op| part.find(op).map(|at| (at, *op)))
            .min_by_key(|(at, op)| (*at, std::cmp::Reverse(op.len())))
            .map(|(at, op)| (part[..at].trim(), op.trim(), part[at + op.len()..].trim()))
            .ok_or_else(|| format!("Invalid filter '{filter}': cannot parse '{part}'"))?;
        let (entity, key) = match lhs.split_once('.') {
            Some(("tags" | "tag", k)) => (Entity::Tag, k.trim_matches('`')),
            Some(("params" | "param", k)) => (Entity::Param, k.trim_matches('`')),
            Some(("metrics" | "metric", k)) => (Entity::Metric, k.trim_matches('`')),
            Some(("attributes" | "attribute", k)) => (Entity::Attribute, k),
            None => (Entity::Attribute, lhs),
            Some((other, _)) => {
                return Err(format!(
                    "Invalid entity type: '{other}'. Expected one of ['attributes', 'metrics', \
                     'params', 'tags']."
                ))
            }
        };
        let numeric = entity == Entity::Metric
            || (entity == Entity::Attribute && NUMERIC_ATTRIBUTES.contains(&key));
        let comparator = match op.to_ascii_uppercase().as_str() {
            "=" => Comparator::Eq,
            "!=" => Comparator::Ne,
            "<" => Comparator::Lt,
            "<=" => Comparator::Le,
            ">" => Comparator::Gt,
            ">=" => Comparator::Ge,
            "LIKE" => Comparator::Like,
            _ => Comparator::ILike,
        };
        let allowed: &[Comparator] = if numeric {
            &[
                Comparator::Lt,
                Comparator::Le,
                Comparator::Gt,
                Comparator::Ge,
                Comparator::Eq,
                Comparator::Ne,
            ]
        } else {
            &[
                Comparator::Eq,
                Comparator::Ne,
                Comparator::Like,
                Comparator::ILike,
            ]
        };
        if !allowed.contains(&comparator) {
            let names: Vec<String> = allowed
                .iter()
                .map(|c| format!("'{}'", c.as_str()))
                .collect();
            let prefix = match entity {
                Entity::Metric => "metrics.",
                Entity::Param => "params.",
                Entity::Tag => "tags.",
                _ => "attributes.",
            };
            return Err(format!(
                "Invalid comparison operator for {prefix}{key}: '{}'. Expected one of ({}).",
                comparator.as_str(),
                names.join(", ")
            ));
        }
        let value = if numeric {
            FilterValue::Num(
                rhs.parse().map_err(|_| {
                    format!("Invalid filter '{filter}': expected a number in '{part}'")
                })?,
            )
        } else {
            FilterValue::Str(
                rhs.strip_prefix('\'')
                    .and_then(|r| r.strip_suffix('\''))
                    .or_else(|| rhs.strip_prefix('"').and_then(|r| r.strip_suffix('"')))
                    .ok_or_else(|| {
                        format!("Invalid filter '{filter}': expected a quoted value in '{part}'")
                    })?
                    .to_string(),
            )
        };
        clauses.push(Clause {
            entity,
            key: key.to_string(),
            comparator,
            value,
        });
    }
    Ok(clauses)
}

/// Splits on `AND` outside quotes.
fn split_and(filter: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let words: Vec<&str> = filter.split(' ').collect();
    for (i, word) in words.iter().enumerate() {
        for c in word.chars() {
            match quote {
                Some(q) if c == q => quote = None,
                None if c == '\'' || c == '"' => quote = Some(c),
                _ => {}
            }
        }
        if quote.is_none() && word.eq_ignore_ascii_case("and") && i > 0 {
            parts.push(std::mem::take(&mut current));
        } else {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
    }
    parts.push(current);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_tags_params_and_metrics_parse() {
        let c = parse_logged_model_filter(
            "name = 'model' AND tags.`a b` != 'x and y' AND params.alpha = '0.1' AND metrics.rmse <= 0.5",
        )
        .unwrap();
        assert_eq!(c.len(), 4);
        assert_eq!(
            (c[0].key.as_str(), c[0].comparator),
            ("name", Comparator::Eq)
        );
        assert_eq!((c[1].entity, c[1].key.as_str()), (Entity::Tag, "a b"));
        assert_eq!(c[1].value, FilterValue::Str("x and y".into()));
        assert_eq!((c[2].entity, c[2].key.as_str()), (Entity::Param, "alpha"));
        assert_eq!(
            (c[3].entity, c[3].comparator, &c[3].value),
            (Entity::Metric, Comparator::Le, &FilterValue::Num(0.5))
        );
        assert!(parse_logged_model_filter("").unwrap().is_empty());
    }

    #[test]
    fn wrong_operators_and_values_are_refused_with_mlflows_words() {
        assert!(parse_logged_model_filter("name = model").is_err());
        let e = parse_logged_model_filter("params.alpha > '0.1'").unwrap_err();
        assert!(
            e.contains("Invalid comparison operator for params.alpha: '>'"),
            "{e}"
        );
        let e = parse_logged_model_filter("metrics.rmse LIKE '1%'").unwrap_err();
        assert!(
            e.contains("Invalid comparison operator for metrics.rmse"),
            "{e}"
        );
        assert!(parse_logged_model_filter("metrics.rmse < 'x'").is_err());
        assert!(parse_logged_model_filter("datasets.x = 'y'").is_err());
    }
}
