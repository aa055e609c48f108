//! Spark's `VectorAssembler` after the string indexers: one feature row per kept input row.
//!
//! Feature order is the indexed categorical columns first (named `<column>_index`), then every
//! numeric column, integer columns included, in table order. One `handle_invalid` policy governs
//! both stages, as when Spark's indexer and assembler are given the same `handleInvalid`: a null or
//! unseen category and a null/NaN number skip the row, become the extra bucket / NaN (keep), or fail.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::dataset::{ColumnData, Table};
use crate::error::{ModelError, Result};
use crate::indexer::{HandleInvalid, Lookup, StringIndexerModel};

/// Why a row was left out under `handle_invalid = skip`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum InvalidValue {
    /// A category the indexer did not see at fit time.
    Unseen { value: String },
    /// A null category.
    NullCategory,
    /// A null, NaN or infinite number.
    InvalidNumber,
}

/// One skipped row: its index in the input table and the first offending column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRow {
    pub row: usize,
    pub column: String,
    #[serde(flatten)]
    pub value: InvalidValue,
}

/// Assembled features.
#[derive(Debug, Clone)]
pub struct Assembled {
    /// Rows × features.
    pub x: Array2<f64>,
    /// For each row of `x`, its row in the input table.
    pub rows: Vec<usize>,
    /// Rows dropped under `skip`, in input order.
    pub skipped: Vec<SkippedRow>,
}

/// The assembler's column plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorAssembler {
    /// Categorical input columns, one per indexer, in feature order.
    pub categorical: Vec<String>,
    /// Numeric input columns, in feature order after the categoricals.
    pub numeric: Vec<String>,
}

impl VectorAssembler {
    /// Plans features from a table: its string columns (minus `label`) then its numeric columns.
    pub fn from_table(table: &Table, label: &str) -> Self {
        let mut categorical = Vec::new();
        let mut numeric = Vec::new();
        for c in table.columns().iter().filter(|c| c.name != label) {
            match c.data {
                ColumnData::Str(_) => categorical.push(c.name.clone()),
                ColumnData::Num(_) => numeric.push(c.name.clone()),
            }
        }
        VectorAssembler {
            categorical,
            numeric,
        }
    }

    /// Output feature names: `<column>_index` for each categorical, then the numeric column names.
    pub fn feature_names(&self) -> Vec<String> {
        self.categorical
            .iter()
            .map(|c| format!("{c}_index"))
            .chain(self.numeric.iter().cloned())
            .collect()
    }

    /// Indexes and assembles `table`. `indexers` must follow `self.categorical`.
    pub fn transform(
        &self,
        table: &Table,
        indexers: &[StringIndexerModel],
        handle_invalid: HandleInvalid,
    ) -> Result<Assembled> {
        let str_cols = self
            .categorical
            .iter()
            .map(|name| match table.column(name).map(|c| &c.data) {
                Some(ColumnData::Str(v)) => Ok(v as &dyn CategoryColumn),
                Some(ColumnData::Num(_)) => Err(wrong_type(name, "string")),
                None => Err(missing(name)),
            })
            .collect::<Result<Vec<_>>>()?;
        let num_cols = self.numeric_columns(table)?;
        self.assemble(
            table.n_rows(),
            &str_cols,
            &num_cols,
            indexers,
            handle_invalid,
        )
    }

    /// The numeric input columns of `table`, in feature order.
    pub fn numeric_columns<'t>(&self, table: &'t Table) -> Result<Vec<&'t [Option<f64>]>> {
        self.numeric
            .iter()
            .map(|name| match table.column(name).map(|c| &c.data) {
                Some(ColumnData::Num(v)) => Ok(v.as_slice()),
                Some(ColumnData::Str(_)) => Err(wrong_type(name, "a number")),
                None => Err(missing(name)),
            })
            .collect()
    }

    /// Assembles `n_rows` rows from categorical sources (one per indexer, in feature order) and
    /// numeric columns (in feature order). The scorer calls this with polars' own string columns, so
    /// that no cell is copied into a `String` just to be looked up.
    pub fn assemble(
        &self,
        n_rows: usize,
        str_cols: &[&dyn CategoryColumn],
        num_cols: &[&[Option<f64>]],
        indexers: &[StringIndexerModel],
        handle_invalid: HandleInvalid,
    ) -> Result<Assembled> {
        if indexers.len() != str_cols.len() || num_cols.len() != self.numeric.len() {
            return Err(ModelError::Shape(format!(
                "{} indexers and {} numeric columns for {} categorical and {} numeric features",
                indexers.len(),
                num_cols.len(),
                str_cols.len(),
                self.numeric.len()
            )));
        }
        let width = str_cols.len() + num_cols.len();
        let mut flat = Vec::with_capacity(n_rows * width);
        let mut rows = Vec::with_capacity(n_rows);
        let mut skipped = Vec::new();
        'rows: for row in 0..n_rows {
            let start = flat.len();
            for (values, indexer) in str_cols.iter().zip(indexers) {
                let value = values.value(row);
                let lookup = indexer.lookup_as(value, row, handle_invalid)?;
                let index = match lookup {
                    Lookup::Index(i) => i,
                    Lookup::SkipUnseen | Lookup::SkipNull => {
                        flat.truncate(start);
                        skipped.push(SkippedRow {
                            row,
                            column: indexer.column().to_string(),
                            value: match value {
                                Some(v) if lookup == Lookup::SkipUnseen => InvalidValue::Unseen {
                                    value: v.to_string(),
                                },
                                _ => InvalidValue::NullCategory,
                            },
                        });
                        continue 'rows;
                    }
                };
                #[allow(clippy::cast_precision_loss)]
                flat.push(index as f64);
            }
            for (values, name) in num_cols.iter().zip(&self.numeric) {
                match (values[row], handle_invalid) {
                    (Some(v), _) if v.is_finite() => flat.push(v),
                    (_, HandleInvalid::Keep) => flat.push(values[row].unwrap_or(f64::NAN)),
                    (_, HandleInvalid::Skip) => {
                        flat.truncate(start);
                        skipped.push(SkippedRow {
                            row,
                            column: name.clone(),
                            value: InvalidValue::InvalidNumber,
                        });
                        continue 'rows;
                    }
                    (_, HandleInvalid::Error) => {
                        return Err(ModelError::InvalidNumber {
                            column: name.clone(),
                            row,
                        })
                    }
                }
            }
            rows.push(row);
        }
        let x = Array2::from_shape_vec((rows.len(), width), flat)
            .map_err(|e| ModelError::Shape(format!("assembled features: {e}")))?;
        Ok(Assembled { x, rows, skipped })
    }
}

/// A categorical input column, read by row: a [`Table`]'s strings, or (in the scorer) a polars
/// string column, without copying.
pub trait CategoryColumn {
    /// The value at `row`; `None` is null.
    fn value(&self, row: usize) -> Option<&str>;
}

impl CategoryColumn for Vec<Option<String>> {
    fn value(&self, row: usize) -> Option<&str> {
        self[row].as_deref()
    }
}

fn missing(name: &str) -> ModelError {
    ModelError::Table(format!("input has no column `{name}`"))
}

fn wrong_type(name: &str, expected: &str) -> ModelError {
    ModelError::Table(format!("column `{name}` must be {expected}"))
}
