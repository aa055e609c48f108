//! A parsed filter clause: what the grammars in `filter` and `registry_filter` produce and the SQL
//! compiler consumes.

use super::statement::RawOp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Metric,
    Param,
    Tag,
    Attribute,
    Dataset,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparator {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Like,
    ILike,
    In,
    NotIn,
    IsNull,
    IsNotNull,
}

impl Comparator {
    /// MLflow's spelling, as used in its messages (and valid SQL).
    pub fn as_str(self) -> &'static str {
        match self {
            Comparator::Eq => "=",
            Comparator::Ne => "!=",
            Comparator::Gt => ">",
            Comparator::Ge => ">=",
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::Like => "LIKE",
            Comparator::ILike => "ILIKE",
            Comparator::In => "IN",
            Comparator::NotIn => "NOT IN",
            Comparator::IsNull => "IS NULL",
            Comparator::IsNotNull => "IS NOT NULL",
        }
    }

    pub(super) fn from_op(op: &RawOp) -> Option<Self> {
        Some(match op {
            RawOp::In => Comparator::In,
            RawOp::NotIn => Comparator::NotIn,
            RawOp::IsNull => Comparator::IsNull,
            RawOp::IsNotNull => Comparator::IsNotNull,
            // MLflow upper-cases the comparator before matching, so `like` is LIKE.
            RawOp::Cmp(text) => match text.to_ascii_uppercase().as_str() {
                "=" => Comparator::Eq,
                "!=" => Comparator::Ne,
                ">" => Comparator::Gt,
                ">=" => Comparator::Ge,
                "<" => Comparator::Lt,
                "<=" => Comparator::Le,
                "LIKE" => Comparator::Like,
                "ILIKE" => Comparator::ILike,
                _ => return None,
            },
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    /// The text between the quotes exactly as written: like MLflow, escapes such as `''` or
    /// `\'` are not undone (use the other quote character to embed a quote).
    Str(String),
    Num(f64),
    /// The items of an `IN (...)` / `NOT IN (...)` list, verbatim like [`FilterValue::Str`].
    List(Vec<String>),
    /// For IS [NOT] NULL.
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    pub entity: Entity,
    pub key: String,
    pub comparator: Comparator,
    pub value: FilterValue,
}
