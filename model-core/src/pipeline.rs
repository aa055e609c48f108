//! The whole price model: string indexers → vector assembler → random forest, optionally on log(price).
//!
//! This is the unit that is searched, saved and scored. Fitting learns the indexers' labels from the
//! training rows only (as Spark), so categories that appear only in validation or test rows are
//! "unseen" there and follow `handle_invalid`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::assembler::{CategoryColumn, SkippedRow, VectorAssembler};
use crate::dataset::{ColumnData, Table};
use crate::error::{invalid_param, ModelError, Result};
use crate::forest::{RandomForestModel, RandomForestParams};
use crate::indexer::{HandleInvalid, StringIndexerModel};
use crate::metrics::Metrics;

/// Everything that defines a pipeline fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineParams {
    /// The label column.
    pub label: String,
    /// Policy for null/unseen categories and null/NaN numbers (the reference pipeline uses skip).
    pub handle_invalid: HandleInvalid,
    /// Train on ln(label) and predict exp(prediction). Prices are log-normal-like, so this trades a
    /// little bias for much less influence of the few extreme prices.
    pub log_label: bool,
    /// Forest parameters; categorical features are filled in from the indexers at fit time.
    pub forest: RandomForestParams,
}

impl Default for PipelineParams {
    /// The reference pipeline: label `price`, `skip`, raw label, Spark defaults with maxBins 40.
    fn default() -> Self {
        PipelineParams {
            label: crate::dataset::LABEL.to_string(),
            handle_invalid: HandleInvalid::Skip,
            log_label: false,
            forest: RandomForestParams::new().max_bins(40),
        }
    }
}

impl PipelineParams {
    /// The parameters as MLflow params: the forest's under Spark's names, plus `handleInvalid`,
    /// `logLabel` and `labelCol` (forest parameters that fail `check` are left out).
    pub fn to_mlflow_params(&self) -> Vec<(String, String)> {
        let mut params = match self.forest.check_ref() {
            Ok(p) => p.to_mlflow_params(),
            Err(_) => Vec::new(),
        };
        params.push(("handleInvalid".into(), self.handle_invalid.to_string()));
        params.push(("logLabel".into(), self.log_label.to_string()));
        params.push(("labelCol".into(), self.label.clone()));
        params
    }
}

/// Predictions for the rows that were not skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    /// One prediction per kept row.
    pub values: Vec<f64>,
    /// The input row of each prediction.
    pub rows: Vec<usize>,
    /// Rows left out under `skip`, with the reason.
    pub skipped: Vec<SkippedRow>,
}

/// A fitted pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricePipeline {
    label: String,
    handle_invalid: HandleInvalid,
    log_label: bool,
    indexers: Vec<StringIndexerModel>,
    assembler: VectorAssembler,
    forest: RandomForestModel,
}

impl PricePipeline {
    /// Fits indexers, assembles the training rows, and fits the forest.
    pub fn fit(table: &Table, params: &PipelineParams) -> Result<Self> {
        let label = label_column(table, &params.label)?;
        let assembler = VectorAssembler::from_table(table, &params.label);
        let indexers = assembler
            .categorical
            .iter()
            .map(|name| match table.column(name).map(|c| &c.data) {
                Some(ColumnData::Str(values)) => {
                    StringIndexerModel::fit(name, values, params.handle_invalid)
                }
                _ => Err(ModelError::Table(format!(
                    "column `{name}` must be a string"
                ))),
            })
            .collect::<Result<Vec<_>>>()?;
        let assembled = assembler.transform(table, &indexers, params.handle_invalid)?;
        if assembled.rows.is_empty() {
            return Err(ModelError::NoRows(
                "training rows after indexing".to_string(),
            ));
        }
        let mut y = Vec::with_capacity(assembled.rows.len());
        for &row in &assembled.rows {
            let v =
                label[row]
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| ModelError::InvalidNumber {
                        column: params.label.clone(),
                        row,
                    })?;
            if params.log_label {
                if v <= 0.0 {
                    return Err(invalid_param(
                        "log_label",
                        format!("{} = {v} at row {row}", params.label),
                        "needs labels > 0",
                    ));
                }
                y.push(v.ln());
            } else {
                y.push(v);
            }
        }
        let categorical: BTreeMap<usize, usize> = indexers
            .iter()
            .map(StringIndexerModel::arity)
            .enumerate()
            .collect();
        let forest = params
            .forest
            .clone()
            .categorical_features(categorical)
            .check()?
            .fit_arrays(assembled.x.view(), &y, &assembler.feature_names())?;
        Ok(PricePipeline {
            label: params.label.clone(),
            handle_invalid: params.handle_invalid,
            log_label: params.log_label,
            indexers,
            assembler,
            forest,
        })
    }

    /// A pipeline from parts fitted elsewhere (a Spark model read by `spark::read`), checked as a
    /// pipeline read from disk is.
    pub fn from_parts(
        label: String,
        handle_invalid: HandleInvalid,
        log_label: bool,
        indexers: Vec<StringIndexerModel>,
        assembler: VectorAssembler,
        forest: RandomForestModel,
    ) -> std::result::Result<Self, String> {
        let pipeline = PricePipeline {
            label,
            handle_invalid,
            log_label,
            indexers,
            assembler,
            forest,
        };
        pipeline.validate()?;
        Ok(pipeline)
    }

    /// Predicts the label (on its original scale) for every row that is not skipped.
    pub fn predict(&self, table: &Table) -> Result<Predictions> {
        self.predict_with(table, self.handle_invalid)
    }

    /// [`PricePipeline::predict`] under another invalid-value policy than the one it was fitted
    /// with (scoring may prefer `keep` or `error` to the training default `skip`).
    pub fn predict_with(
        &self,
        table: &Table,
        handle_invalid: HandleInvalid,
    ) -> Result<Predictions> {
        let assembled = self
            .assembler
            .transform(table, &self.indexers, handle_invalid)?;
        self.predict_assembled(assembled)
    }

    /// Predicts from columns already split by kind, in the assembler's order (see
    /// [`VectorAssembler::assemble`]).
    pub fn predict_columns(
        &self,
        n_rows: usize,
        categorical: &[&dyn CategoryColumn],
        numeric: &[&[Option<f64>]],
        handle_invalid: HandleInvalid,
    ) -> Result<Predictions> {
        let assembled = self.assembler.assemble(
            n_rows,
            categorical,
            numeric,
            &self.indexers,
            handle_invalid,
        )?;
        self.predict_assembled(assembled)
    }

    fn predict_assembled(&self, assembled: crate::assembler::Assembled) -> Result<Predictions> {
        let raw = self.forest.predict_array(assembled.x.view())?;
        let values = if self.log_label {
            raw.iter().map(|v| v.exp()).collect()
        } else {
            raw.to_vec()
        };
        Ok(Predictions {
            values,
            rows: assembled.rows,
            skipped: assembled.skipped,
        })
    }

    /// Predicts and scores against the table's label column (skipped rows are not scored, as in Spark).
    pub fn evaluate(&self, table: &Table) -> Result<(Metrics, Predictions)> {
        let label = label_column(table, &self.label)?;
        let p = self.predict(table)?;
        let truth = p
            .rows
            .iter()
            .map(|&r| {
                label[r]
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| ModelError::InvalidNumber {
                        column: self.label.clone(),
                        row: r,
                    })
            })
            .collect::<Result<Vec<f64>>>()?;
        let metrics = Metrics::compute(&truth, &p.values)
            .ok_or_else(|| ModelError::NoRows("rows to evaluate after indexing".to_string()))?;
        Ok((metrics, p))
    }

    /// The label column's name.
    pub fn label(&self) -> &str {
        &self.label
    }
    /// Whether the forest predicts ln(label).
    pub fn log_label(&self) -> bool {
        self.log_label
    }
    /// The invalid-value policy.
    pub fn handle_invalid(&self) -> HandleInvalid {
        self.handle_invalid
    }
    /// The fitted indexers, in feature order.
    pub fn indexers(&self) -> &[StringIndexerModel] {
        &self.indexers
    }
    /// The assembler's column plan.
    pub fn assembler(&self) -> &VectorAssembler {
        &self.assembler
    }
    /// The forest.
    pub fn forest(&self) -> &RandomForestModel {
        &self.forest
    }
    /// Feature names with their importances, most important first.
    pub fn feature_importances(&self) -> Vec<(String, f64)> {
        let mut v: Vec<(String, f64)> = self
            .forest
            .feature_names()
            .iter()
            .cloned()
            .zip(self.forest.feature_importances().iter().copied())
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1));
        v
    }

    /// Structural checks for a pipeline read from disk.
    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        self.forest.validate()?;
        let names = self.assembler.feature_names();
        if names != self.forest.feature_names() {
            return Err("assembler and forest disagree on features".to_string());
        }
        if self.indexers.len() != self.assembler.categorical.len()
            || self
                .indexers
                .iter()
                .zip(&self.assembler.categorical)
                .any(|(i, c)| i.column() != c)
        {
            return Err("indexers do not match the categorical columns".to_string());
        }
        Ok(())
    }
}

fn label_column<'a>(table: &'a Table, label: &str) -> Result<&'a [Option<f64>]> {
    match table.column(label).map(|c| &c.data) {
        Some(ColumnData::Num(v)) => Ok(v),
        Some(ColumnData::Str(_)) => Err(ModelError::Table(format!(
            "label column `{label}` must be a number"
        ))),
        None => Err(ModelError::Table(format!(
            "input has no label column `{label}`"
        ))),
    }
}
