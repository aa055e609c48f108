//! Spark's `StringIndexer` with `stringOrderType = frequencyDesc`.
//!
//! Labels are ordered by descending frequency in the training data, ties broken alphabetically
//! (ascending), so index 0 is the most frequent label (Spark's `StringIndexer` with `stringOrderType=frequencyDesc`, verified against pyspark).
//! Nulls are neither counted nor labels. `handle_invalid` decides what a null or unseen value becomes
//! at transform time, exactly as Spark's `handleInvalid`.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};

/// What to do with a null or unseen category (and, in the pipeline, a null/NaN number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HandleInvalid {
    /// Drop the whole row (Spark filters it out of the output, test rows included).
    Skip,
    /// Map the value to an extra index, `numLabels`; the feature then has `numLabels + 1` values.
    Keep,
    /// Fail with an error naming the column and row (Spark's default).
    #[default]
    Error,
}

impl fmt::Display for HandleInvalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HandleInvalid::Skip => "skip",
            HandleInvalid::Keep => "keep",
            HandleInvalid::Error => "error",
        })
    }
}

impl FromStr for HandleInvalid {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "skip" => Ok(HandleInvalid::Skip),
            "keep" => Ok(HandleInvalid::Keep),
            "error" => Ok(HandleInvalid::Error),
            other => Err(crate::error::invalid_param(
                "handle_invalid",
                other,
                "expected skip, keep or error",
            )),
        }
    }
}

/// The outcome of looking one value up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// A known label, or the extra bucket under `keep`.
    Index(usize),
    /// An unseen label, to be skipped (under `skip`).
    SkipUnseen,
    /// A null, to be skipped (under `skip`).
    SkipNull,
}

/// A fitted indexer for one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "IndexerRepr", into = "IndexerRepr")]
pub struct StringIndexerModel {
    column: String,
    labels: Vec<String>,
    handle_invalid: HandleInvalid,
    /// polars' hash map (foldhash): scoring looks up every categorical cell, and std's SipHash was
    /// a tenth of the scoring profile.
    index: polars::prelude::PlHashMap<String, usize>,
}

#[derive(Serialize, Deserialize)]
struct IndexerRepr {
    column: String,
    labels: Vec<String>,
    handle_invalid: HandleInvalid,
}

impl TryFrom<IndexerRepr> for StringIndexerModel {
    type Error = String;

    fn try_from(r: IndexerRepr) -> std::result::Result<Self, String> {
        StringIndexerModel::from_labels(&r.column, r.labels, r.handle_invalid)
            .map_err(|e| e.to_string())
    }
}

impl From<StringIndexerModel> for IndexerRepr {
    fn from(m: StringIndexerModel) -> Self {
        IndexerRepr {
            column: m.column,
            labels: m.labels,
            handle_invalid: m.handle_invalid,
        }
    }
}

impl StringIndexerModel {
    /// Learns the labels of `values` (nulls ignored).
    pub fn fit(
        column: &str,
        values: &[Option<String>],
        handle_invalid: HandleInvalid,
    ) -> Result<Self> {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for v in values.iter().flatten() {
            *counts.entry(v.as_str()).or_default() += 1;
        }
        if counts.is_empty() {
            return Err(ModelError::NoRows(format!(
                "column `{column}` has no non-null values to index"
            )));
        }
        let mut ordered: Vec<(&str, usize)> = counts.into_iter().collect();
        ordered.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let labels = ordered.into_iter().map(|(l, _)| l.to_string()).collect();
        Self::from_labels(column, labels, handle_invalid)
    }

    /// Rebuilds a model from its saved labels.
    pub fn from_labels(
        column: &str,
        labels: Vec<String>,
        handle_invalid: HandleInvalid,
    ) -> Result<Self> {
        let mut index = polars::prelude::PlHashMap::with_capacity_and_hasher(
            labels.len(),
            polars::prelude::PlRandomState::default(),
        );
        for (i, l) in labels.iter().enumerate() {
            if index.insert(l.clone(), i).is_some() {
                return Err(ModelError::Table(format!(
                    "indexer for `{column}` repeats label `{l}`"
                )));
            }
        }
        Ok(StringIndexerModel {
            column: column.to_string(),
            labels,
            handle_invalid,
            index,
        })
    }

    /// The input column.
    pub fn column(&self) -> &str {
        &self.column
    }

    /// The labels; label `i` has index `i`.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The invalid-value policy.
    pub fn handle_invalid(&self) -> HandleInvalid {
        self.handle_invalid
    }

    /// Number of distinct indices the output can take: the labels, plus the extra bucket under `keep`.
    pub fn arity(&self) -> usize {
        self.labels.len() + usize::from(self.handle_invalid == HandleInvalid::Keep)
    }

    /// Looks up the value of `row` under the policy the indexer was fitted with.
    pub fn lookup(&self, value: Option<&str>, row: usize) -> Result<Lookup> {
        self.lookup_as(value, row, self.handle_invalid)
    }

    /// Looks up the value of `row` under another policy: Spark lets a fitted indexer's
    /// `handleInvalid` change at transform time, and so does `mltrack score --handle-invalid`. Under
    /// `keep` an unseen value gets index `numLabels`, which no categorical split of the forest
    /// contains, so it follows the right branch everywhere (as in Spark).
    pub fn lookup_as(
        &self,
        value: Option<&str>,
        row: usize,
        mode: HandleInvalid,
    ) -> Result<Lookup> {
        match (value, mode) {
            (Some(v), mode) => match (self.index.get(v), mode) {
                (Some(&i), _) => Ok(Lookup::Index(i)),
                (None, HandleInvalid::Skip) => Ok(Lookup::SkipUnseen),
                (None, HandleInvalid::Keep) => Ok(Lookup::Index(self.labels.len())),
                (None, HandleInvalid::Error) => Err(ModelError::UnseenCategory {
                    column: self.column.clone(),
                    row,
                    value: v.to_string(),
                }),
            },
            (None, HandleInvalid::Skip) => Ok(Lookup::SkipNull),
            (None, HandleInvalid::Keep) => Ok(Lookup::Index(self.labels.len())),
            (None, HandleInvalid::Error) => Err(ModelError::NullCategory {
                column: self.column.clone(),
                row,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(values: &[Option<&str>]) -> Vec<Option<String>> {
        values.iter().map(|v| v.map(str::to_string)).collect()
    }

    #[test]
    fn labels_are_by_descending_count_with_alphabetical_ties() {
        // Spark, verified: counts c=2, a=2, b=2, d=1 give [a, b, c, d].
        let values = owned(&[
            Some("c"),
            Some("d"),
            Some("b"),
            Some("a"),
            Some("c"),
            None,
            Some("a"),
            Some("b"),
        ]);
        let m = StringIndexerModel::fit("col", &values, HandleInvalid::Error).expect("fits");
        assert_eq!(m.labels(), ["a", "b", "c", "d"]);
    }

    #[test]
    fn nulls_are_not_labels() {
        let values = owned(&[None, None, None, Some("x")]);
        let m = StringIndexerModel::fit("col", &values, HandleInvalid::Keep).expect("fits");
        assert_eq!(m.labels(), ["x"]);
        assert_eq!(m.arity(), 2, "keep adds one bucket");
    }

    #[test]
    fn invalid_values_follow_the_mode() {
        let values = owned(&[Some("a"), Some("b")]);
        for (mode, unseen, null) in [
            (
                HandleInvalid::Skip,
                Some(Lookup::SkipUnseen),
                Some(Lookup::SkipNull),
            ),
            (
                HandleInvalid::Keep,
                Some(Lookup::Index(2)),
                Some(Lookup::Index(2)),
            ),
            (HandleInvalid::Error, None, None),
        ] {
            let m = StringIndexerModel::fit("col", &values, mode).expect("fits");
            assert_eq!(m.lookup(Some("zzz"), 7).ok(), unseen, "{mode}");
            assert_eq!(m.lookup(None, 7).ok(), null, "{mode}");
            assert_eq!(
                m.lookup(Some("b"), 7).ok(),
                Some(Lookup::Index(1)),
                "{mode}"
            );
        }
        let m = StringIndexerModel::fit("col", &values, HandleInvalid::Error).expect("fits");
        let msg = m.lookup(Some("zzz"), 7).unwrap_err().to_string();
        assert!(
            msg.contains("`col`") && msg.contains("row 7") && msg.contains("zzz"),
            "{msg}"
        );
    }

    #[test]
    fn a_model_survives_json() {
        let m = StringIndexerModel::fit(
            "col",
            &owned(&[Some("a"), Some("b"), Some("b")]),
            HandleInvalid::Skip,
        )
        .expect("fits");
        let back: StringIndexerModel =
            serde_json::from_str(&serde_json::to_string(&m).expect("serialises")).expect("parses");
        assert_eq!(back, m);
        assert_eq!(back.lookup(Some("a"), 0).ok(), Some(Lookup::Index(1)));
    }
}
