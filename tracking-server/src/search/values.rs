//! Reading identifiers and right-hand-side values out of grouped clauses, with MLflow's
//! messages for each kind of wrong value.

use super::clause::FilterValue;
use super::error::SearchError;
use super::lexer::{Ident, Item, Kind, Token};
use super::statement::RawClause;

/// MLflow's `_strip_quotes` test: the same quote character at both ends.
pub(crate) fn quoted_inner(text: &str) -> Option<&str> {
    ['\'', '"']
        .iter()
        .find_map(|&q| text.strip_prefix(q)?.strip_suffix(q))
}

pub(crate) fn trim_backticks(text: &str) -> &str {
    text.strip_prefix('`')
        .and_then(|t| t.strip_suffix('`'))
        .unwrap_or(text)
}

/// A key with its quoting removed: `"my metric"` and `` `mlflow.runName` `` name plain keys.
pub(crate) fn clean_key(raw: &str) -> String {
    trim_backticks(quoted_inner(raw).unwrap_or(raw)).to_string()
}

pub(crate) fn lhs_ident<'r, 'a>(rc: &'r RawClause<'a>) -> Result<&'r Ident<'a>, SearchError> {
    match &rc.lhs {
        Item::Ident(id) => Ok(id),
        other => Err(SearchError(format!(
            "Invalid comparison clause. Expected 'Identifier' found '{}'",
            other.text()
        ))),
    }
}

/// A quoted string, or a name that is really a double-quoted string (sqlparse reads `"x"` as a
/// name). `None` when the item is not string-like at all.
pub(crate) fn string_value(item: &Item<'_>) -> Option<Result<String, SearchError>> {
    let text = match item {
        Item::Str(t) => t,
        Item::Ident(id) => id.text,
        _ => return None,
    };
    Some(quoted_inner(text).map(str::to_string).ok_or_else(|| {
        SearchError(format!(
            "Parameter value is either not quoted or unidentified quote types used for string \
             value {text}. Use either single or double quotes."
        ))
    }))
}

pub(crate) fn number_value(item: &Item<'_>) -> Option<f64> {
    match item {
        Item::Num(t) => t.parse().ok(),
        _ => None,
    }
}

/// `('a', "b")`. MLflow reads the list with Python's `ast.literal_eval`, so either quote works,
/// a trailing comma is fine and adjacent literals concatenate (`('a' 'b')` is `['ab']`). The
/// text between the quotes is kept verbatim, as for single values.
pub(crate) fn list_value(text: &str, inner: &[Token<'_>]) -> Result<Vec<String>, SearchError> {
    const PREFIX: &str = "While parsing a list in the query,";
    let toks: Vec<&Token<'_>> = inner.iter().filter(|t| t.kind != Kind::Ws).collect();
    if toks.is_empty() {
        return Err(SearchError(format!(
            "{PREFIX} expected a non-empty list of string values, but got empty list"
        )));
    }
    if toks
        .iter()
        .any(|t| !matches!(t.kind, Kind::SQuote | Kind::DQuote | Kind::Comma))
    {
        return Err(SearchError(format!(
            "{PREFIX} expected string value, punctuation, or whitespace, but got different type \
             in list: {text}"
        )));
    }
    let mut values = Vec::new();
    let mut current: Option<String> = None;
    for t in toks {
        if t.kind == Kind::Comma {
            // A comma must follow an element: `(,'a')` and `('a',,)` are Python syntax errors.
            let Some(value) = current.take() else {
                return Err(SearchError(format!(
                    "{PREFIX} expected a non-empty list of string values, but got ill-formed list."
                )));
            };
            values.push(value);
        } else {
            let piece = quoted_inner(t.text).unwrap_or(t.text);
            current.get_or_insert_with(String::new).push_str(piece);
        }
    }
    values.extend(current);
    Ok(values)
}

/// How a key treats a parenthesised list on the right-hand side.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lists<'m> {
    Allowed,
    /// MLflow has a dedicated message for list values on keys that cannot take one.
    Refused(&'m str),
    /// The key takes strings only; a list is just another wrong value.
    NotAValue,
}

/// A string, or a list where `lists` allows one; otherwise the caller's messages.
pub(crate) fn string_or_list(
    rhs: &Item<'_>,
    lists: Lists<'_>,
    other_error: impl FnOnce() -> String,
) -> Result<FilterValue, SearchError> {
    if let Some(s) = string_value(rhs) {
        return s.map(FilterValue::Str);
    }
    match (rhs, lists) {
        (Item::Paren { text, inner }, Lists::Allowed) => {
            list_value(text, inner).map(FilterValue::List)
        }
        (Item::Paren { .. }, Lists::Refused(message)) => Err(SearchError::new(message)),
        _ => Err(SearchError(other_error())),
    }
}

pub(crate) const RUN_ID_LISTS_ONLY: &str =
    "Only the 'run_id' attribute supports comparison with a list of quoted string values.";
pub(crate) const EXPERIMENT_ID_LISTS_ONLY: &str =
    "Only the 'experiment_id' attribute supports comparison with a list of quoted string values.";

/// Each grammar allows lists on one key and refuses them elsewhere with MLflow's message.
pub(crate) fn lists_if(allowed: bool, refusal: &str) -> Lists<'_> {
    if allowed {
        Lists::Allowed
    } else {
        Lists::Refused(refusal)
    }
}

pub(crate) fn expected_quoted<'a>(kind: &'a str, rhs: &Item<'a>) -> impl FnOnce() -> String + 'a {
    let text = rhs.text();
    move || format!("Expected a quoted string value for {kind} (e.g. 'my-value'). Got value {text}")
}

pub(crate) fn expected_numeric_attribute(key: &str, rhs: &Item<'_>) -> SearchError {
    SearchError(format!(
        "Expected numeric value type for numeric attribute: {key}. Found {}",
        rhs.text()
    ))
}
