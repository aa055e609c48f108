//! Grouping of filter tokens into AND-ed comparisons, as sqlparse plus MLflow's
//! `_join_in_comparison_tokens` would group them.

use super::error::SearchError;
use super::lexer::{items_from, tokenize, Item, Kind, Kw};
use super::pyrepr::py_str;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawOp {
    /// A comparison operator or `[NOT] LIKE`/`ILIKE`, as typed.
    Cmp(String),
    In,
    NotIn,
    IsNull,
    IsNotNull,
}

/// One `lhs <op> rhs` group, before any grammar checks; `rhs` is `None` for `IS [NOT] NULL`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawClause<'a> {
    pub lhs: Item<'a>,
    pub op: RawOp,
    pub rhs: Option<Item<'a>>,
}

/// The comparison starting at `items[i]`, with how many items it spans.
fn comparison_at(items: &[Item<'_>], i: usize) -> Option<(RawOp, Option<usize>, usize)> {
    let lhs = items.get(i)?;
    if !lhs.is_operand() {
        return None;
    }
    let kw = |k: usize| match items.get(i + k) {
        Some(Item::Kw(kw, _)) => Some(*kw),
        _ => None,
    };
    let paren = |k: usize| matches!(items.get(i + k), Some(Item::Paren { .. }));
    if matches!(lhs, Item::Ident(_)) {
        match (kw(1), kw(2), kw(3)) {
            (Some(Kw::In), _, _) if paren(2) => return Some((RawOp::In, Some(i + 2), 3)),
            (Some(Kw::Not), Some(Kw::In), _) if paren(3) => {
                return Some((RawOp::NotIn, Some(i + 3), 4))
            }
            (Some(Kw::Is), Some(Kw::Null), _) => return Some((RawOp::IsNull, None, 3)),
            (Some(Kw::Is), Some(Kw::Not), Some(Kw::Null)) => {
                return Some((RawOp::IsNotNull, None, 4))
            }
            _ => {}
        }
    }
    let (op, rhs_at) = match (items.get(i + 1), items.get(i + 2)) {
        (Some(Item::Op(t)), _) => (t.to_string(), i + 2),
        (Some(Item::Kw(Kw::Like | Kw::ILike, t)), _) => (t.to_string(), i + 2),
        (Some(Item::Kw(Kw::Not, not)), Some(Item::Kw(Kw::Like | Kw::ILike, like))) => {
            (format!("{not} {like}"), i + 3)
        }
        _ => return None,
    };
    if !items.get(rhs_at)?.is_operand() {
        return None;
    }
    Some((RawOp::Cmp(op), Some(rhs_at), rhs_at + 1 - i))
}

/// How the "Invalid clause(s)" message lists offending tokens: the runs parser quotes each one,
/// the experiment and registry parsers print them bare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InvalidStyle {
    Quoted,
    Bare,
}

/// Splits a filter into its AND-ed comparisons. Like MLflow, stray `AND`s are ignored and
/// anything that is neither a comparison nor `AND` (`OR`, parentheses, dangling operators) is
/// reported in one "Invalid clause(s)" error.
pub(crate) fn parse_statement(
    filter: &str,
    style: InvalidStyle,
) -> Result<Vec<RawClause<'_>>, SearchError> {
    let toks = tokenize(filter);
    if let Some(pos) = toks.iter().position(|t| t.kind == Kind::Semicolon) {
        if toks[pos + 1..].iter().any(|t| t.kind != Kind::Ws) {
            return Err(SearchError(format!(
                "Search filter contained multiple expression {}. Provide AND-ed expression list.",
                py_str(filter)
            )));
        }
    }
    let items = items_from(filter, &toks);
    let mut clauses = Vec::new();
    let mut invalid: Vec<&str> = Vec::new();
    let mut i = 0;
    while let Some(item) = items.get(i) {
        if matches!(item, Item::Kw(Kw::And, _)) {
            i += 1;
        } else if let Some((op, rhs_at, used)) = comparison_at(&items, i) {
            let rhs = rhs_at.and_then(|r| items.get(r)).cloned();
            clauses.push(RawClause {
                lhs: item.clone(),
                op,
                rhs,
            });
            i += used;
        } else {
            invalid.push(item.text());
            i += 1;
        }
    }
    if invalid.is_empty() {
        return Ok(clauses);
    }
    let listed: Vec<String> = match style {
        InvalidStyle::Quoted => invalid.iter().map(|t| format!("'{t}'")).collect(),
        InvalidStyle::Bare => invalid.iter().map(|t| (*t).to_string()).collect(),
    };
    Err(SearchError(format!(
        "Invalid clause(s) in filter string: {}",
        listed.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_not_in_and_is_null_group_into_clauses() {
        let c = parse_statement(
            "a IN ('x') and b NOT IN ('y') AND c IS NULL and d is not null",
            InvalidStyle::Quoted,
        )
        .unwrap();
        let ops: Vec<RawOp> = c.into_iter().map(|c| c.op).collect();
        assert_eq!(
            ops,
            [RawOp::In, RawOp::NotIn, RawOp::IsNull, RawOp::IsNotNull]
        );
    }

    #[test]
    fn dangling_operator_lists_every_loose_token() {
        let e = parse_statement("metrics.rmse <", InvalidStyle::Quoted).unwrap_err();
        assert_eq!(
            e.0,
            "Invalid clause(s) in filter string: 'metrics.rmse', '<'"
        );
        let e = parse_statement("metrics.rmse <", InvalidStyle::Bare).unwrap_err();
        assert_eq!(e.0, "Invalid clause(s) in filter string: metrics.rmse, <");
    }

    #[test]
    fn a_second_statement_is_rejected() {
        let e = parse_statement("a = 1; b = 2", InvalidStyle::Quoted).unwrap_err();
        assert_eq!(
            e.0,
            "Search filter contained multiple expression 'a = 1; b = 2'. Provide AND-ed expression list."
        );
        let e = parse_statement("a = 1;", InvalidStyle::Quoted).unwrap_err();
        assert_eq!(e.0, "Invalid clause(s) in filter string: ';'");
    }

    #[test]
    fn not_like_is_kept_as_one_comparator_for_later_rejection() {
        let c = parse_statement("a NOT LIKE 'x'", InvalidStyle::Quoted).unwrap();
        assert_eq!(c[0].op, RawOp::Cmp("NOT LIKE".into()));
    }
}
