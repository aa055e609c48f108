//! Scoring data frames batch by batch with nothing dropped silently: every input row comes out either
//! scored (the input columns plus `prediction`) or skipped (the input columns plus `row`, `reason`,
//! `column` and `value`), as the seed's daily job needs to show people when to retrain.

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;

use crate::assembler::{CategoryColumn, InvalidValue};
use crate::dataset::{ColumnData, Table};
use crate::error::{ModelError, Result};
use crate::indexer::HandleInvalid;
use crate::pipeline::PricePipeline;

/// The prediction column added to scored rows.
pub const PREDICTION: &str = "prediction";
/// Columns added to skipped rows: the row's 0-based position in the whole input, why it was
/// skipped, the first column at fault, and that column's value (null for a null).
pub const SKIPPED_COLUMNS: [&str; 4] = ["row", "reason", "column", "value"];

/// The `reason` of a skipped row.
pub fn reason_name(value: &InvalidValue) -> &'static str {
    match value {
        InvalidValue::Unseen { .. } => "unseen_category",
        InvalidValue::NullCategory => "null_category",
        InvalidValue::InvalidNumber => "invalid_number",
    }
}

/// Row counts of a scoring job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScoreCounts {
    pub rows_in: usize,
    pub scored: usize,
    pub skipped: usize,
    /// Skipped rows by the column at fault.
    pub skipped_by_column: BTreeMap<String, usize>,
    /// Skipped rows by reason (`unseen_category`, `null_category`, `invalid_number`).
    pub skipped_by_reason: BTreeMap<String, usize>,
}

impl ScoreCounts {
    fn add(&mut self, other: &ScoreCounts) {
        self.rows_in += other.rows_in;
        self.scored += other.scored;
        self.skipped += other.skipped;
        for (k, v) in &other.skipped_by_column {
            *self.skipped_by_column.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.skipped_by_reason {
            *self.skipped_by_reason.entry(k.clone()).or_default() += v;
        }
    }
}

/// One scored batch.
#[derive(Debug)]
pub struct ScoredBatch {
    /// Input columns of the scored rows plus [`PREDICTION`].
    pub scored: DataFrame,
    /// Input columns of the skipped rows plus [`SKIPPED_COLUMNS`].
    pub skipped: DataFrame,
    pub counts: ScoreCounts,
}

/// Scores batches of one input with one pipeline, numbering rows across batches.
pub struct Scorer<'a> {
    pipeline: &'a PricePipeline,
    handle_invalid: HandleInvalid,
    features: Vec<String>,
    rows_seen: usize,
    totals: ScoreCounts,
}

impl<'a> Scorer<'a> {
    /// A scorer applying `handle_invalid` (which may differ from the policy the model was fitted with).
    pub fn new(pipeline: &'a PricePipeline, handle_invalid: HandleInvalid) -> Self {
        let a = pipeline.assembler();
        let features = a.categorical.iter().chain(&a.numeric).cloned().collect();
        Scorer {
            pipeline,
            handle_invalid,
            features,
            rows_seen: 0,
            totals: ScoreCounts::default(),
        }
    }

    /// The input columns the model reads: categoricals (strings) then numbers.
    pub fn feature_columns(&self) -> &[String] {
        &self.features
    }

    /// The categorical columns, which CSV input must read as text whatever they look like.
    pub fn string_columns(&self) -> &[String] {
        &self.pipeline.assembler().categorical
    }

    /// Checks an input schema before any row is scored: every feature present with a usable type, and
    /// no input column that the output would add. `path` names the input in errors.
    pub fn check_schema(&self, schema: &Schema, path: &Path) -> Result<()> {
        let a = self.pipeline.assembler();
        for name in &a.categorical {
            match schema.get(name.as_str()) {
                None => return Err(missing(path, name)),
                Some(DataType::String) => {}
                Some(other) => return Err(wrong_type(path, name, other, "string")),
            }
        }
        for name in &a.numeric {
            match schema.get(name.as_str()) {
                None => return Err(missing(path, name)),
                Some(t) if t.is_primitive_numeric() || matches!(t, DataType::Boolean) => {}
                Some(other) => return Err(wrong_type(path, name, other, "a number")),
            }
        }
        for added in std::iter::once(&PREDICTION).chain(&SKIPPED_COLUMNS) {
            if schema.contains(added) {
                return Err(ModelError::Table(format!(
                    "`{}` already has a column `{added}`, which scoring adds; rename it",
                    path.display()
                )));
            }
        }
        Ok(())
    }

    /// The schemas of the scored and skipped outputs for an input schema.
    pub fn output_schemas(input: &Schema) -> (Schema, Schema) {
        let mut scored = input.clone();
        scored.with_column(PREDICTION.into(), DataType::Float64);
        let mut skipped = input.clone();
        skipped.with_column("row".into(), DataType::UInt64);
        for name in &SKIPPED_COLUMNS[1..] {
            skipped.with_column((*name).into(), DataType::String);
        }
        (scored, skipped)
    }

    /// Scores one batch.
    pub fn score(&mut self, df: &DataFrame) -> Result<ScoredBatch> {
        let table_err = |e: PolarsError| ModelError::Table(e.to_string());
        let assembler = self.pipeline.assembler();
        // Categories are read straight from polars' string arrays (no per-cell `String`); numbers
        // go through the crate's table as `f64`s.
        let strings = assembler
            .categorical
            .iter()
            .map(|name| {
                let column = df.column(name).map_err(table_err)?;
                Ok(column.str().map_err(table_err)?.rechunk().into_owned())
            })
            .collect::<Result<Vec<StringChunked>>>()?;
        let arrays: Vec<PolarsStrings<'_>> = strings
            .iter()
            .map(|ca| PolarsStrings(ca.downcast_as_array()))
            .collect();
        let sources: Vec<&dyn CategoryColumn> =
            arrays.iter().map(|a| a as &dyn CategoryColumn).collect();
        let numbers = df
            .select(assembler.numeric.iter().map(String::as_str))
            .map_err(table_err)?;
        let (table, _) = Table::from_polars(&numbers)?;
        let offset = self.rows_seen;
        let predictions = self
            .pipeline
            .predict_columns(
                df.height(),
                &sources,
                &assembler.numeric_columns(&table)?,
                self.handle_invalid,
            )
            .map_err(|e| renumber(e, offset))?;
        let mut keep = vec![false; df.height()];
        for &r in &predictions.rows {
            keep[r] = true;
        }
        let mask = BooleanChunked::from_slice("keep".into(), &keep);
        // Most batches skip nothing: then the input's columns are shared, not copied through a filter.
        let all_kept = predictions.skipped.is_empty();
        let mut scored = if all_kept {
            df.clone()
        } else {
            df.filter(&mask).map_err(table_err)?
        };
        scored
            .with_column(Column::new(PREDICTION.into(), &predictions.values))
            .map_err(table_err)?;

        let mut counts = ScoreCounts {
            rows_in: df.height(),
            scored: predictions.rows.len(),
            skipped: predictions.skipped.len(),
            ..ScoreCounts::default()
        };
        let mut rows = Vec::with_capacity(predictions.skipped.len());
        let mut reasons = Vec::with_capacity(predictions.skipped.len());
        let mut columns = Vec::with_capacity(predictions.skipped.len());
        let mut values: Vec<Option<String>> = Vec::with_capacity(predictions.skipped.len());
        for s in &predictions.skipped {
            rows.push((offset + s.row) as u64);
            let reason = reason_name(&s.value);
            reasons.push(reason);
            columns.push(s.column.as_str());
            values.push(match &s.value {
                InvalidValue::Unseen { value } => Some(value.clone()),
                InvalidValue::NullCategory => None,
                InvalidValue::InvalidNumber => number_text(&table, &s.column, s.row),
            });
            *counts
                .skipped_by_column
                .entry(s.column.clone())
                .or_default() += 1;
            *counts
                .skipped_by_reason
                .entry(reason.to_string())
                .or_default() += 1;
        }
        let inverse: BooleanChunked = keep.iter().map(|k| Some(!k)).collect();
        let mut skipped = if all_kept {
            df.clear()
        } else {
            df.filter(&inverse).map_err(table_err)?
        };
        for column in [
            Column::new("row".into(), &rows),
            Column::new("reason".into(), &reasons),
            Column::new("column".into(), &columns),
            Column::new("value".into(), &values),
        ] {
            skipped.with_column(column).map_err(table_err)?;
        }
        self.rows_seen += df.height();
        self.totals.add(&counts);
        Ok(ScoredBatch {
            scored,
            skipped,
            counts,
        })
    }

    /// Counts over every batch scored so far.
    pub fn totals(&self) -> &ScoreCounts {
        &self.totals
    }
}

/// A polars string column seen as a categorical source.
struct PolarsStrings<'a>(&'a <StringType as PolarsDataType>::Array);

impl CategoryColumn for PolarsStrings<'_> {
    fn value(&self, row: usize) -> Option<&str> {
        self.0.get(row)
    }
}

/// The text of a null/NaN/infinite number for the `value` column (null stays null).
fn number_text(table: &Table, column: &str, row: usize) -> Option<String> {
    match table.column(column).map(|c| &c.data) {
        Some(ColumnData::Num(v)) => v[row].map(|x| x.to_string()),
        _ => None,
    }
}

/// Row numbers in errors count from the start of the input, not of the batch.
fn renumber(e: ModelError, offset: usize) -> ModelError {
    match e {
        ModelError::UnseenCategory { column, row, value } => ModelError::UnseenCategory {
            column,
            row: row + offset,
            value,
        },
        ModelError::NullCategory { column, row } => ModelError::NullCategory {
            column,
            row: row + offset,
        },
        ModelError::InvalidNumber { column, row } => ModelError::InvalidNumber {
            column,
            row: row + offset,
        },
        other => other,
    }
}

fn missing(path: &Path, column: &str) -> ModelError {
    ModelError::MissingColumn {
        path: path.to_path_buf(),
        column: column.to_string(),
    }
}

fn wrong_type(path: &Path, column: &str, found: &DataType, expected: &'static str) -> ModelError {
    ModelError::ColumnType {
        path: path.to_path_buf(),
        column: column.to_string(),
        found: found.to_string(),
        expected,
    }
}

#[cfg(test)]
#[path = "scoring_tests.rs"]
mod tests;
