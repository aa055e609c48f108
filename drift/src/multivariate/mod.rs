//! Multivariate drift: what the column-by-column tests cannot see, such as two columns that each keep
//! their distribution while the relation between them changes.
//!
//! A domain classifier ([`forest`]) learns to tell reference rows from current rows on seeded samples
//! of both (at most [`crate::options::Multivariate::max_rows`] a side, 1000 by default). If the
//! sides are alike it cannot do better than chance, and its held-out ROC AUC stays near 0.5; drift is
//! an AUC above the threshold (0.55 by default). The features it relied on most are reported with their
//! share of the trees' impurity decrease.
//!
//! Features: numbers become their rank among the distinct values of both samples (trees only see order,
//! and ranks keep linfa's "values closer than 1e-5 are equal" rule from merging small-scale values);
//! categories become their index among the sorted names of both samples (ordinal encoding; trees still
//! isolate a category with two splits). A missing value is -1, below every rank and code.
//!
//! A profile carries the reference sample ([`sample`]); a profile saved without one (an older mltrack)
//! still works, and the report says the test was skipped and why.

mod forest;
pub(crate) mod sample;

use ndarray::Array2;
use serde::Serialize;

use crate::data::ColumnType;
use sample::{RowSample, SampleColumn};

/// The seed of the reference sample (in profiles and from raw data alike, so both give the same test).
pub(crate) const REFERENCE_SEED: u64 = 0x6d6c_7472_6163_6b31;
/// The seed of the current sample.
pub(crate) const CURRENT_SEED: u64 = 0x6d6c_7472_6163_6b32;
/// The seed of the folds and bootstraps.
const CLASSIFIER_SEED: u64 = 0x6d6c_7472_6163_6b33;
/// Fewer rows a side than this and the AUC is too noisy to mean anything at 0.55 (its spread under no
/// drift is about 0.03 at 200 rows a side).
pub const MIN_ROWS: usize = 200;
/// Features listed in the report.
const TOP_FEATURES: usize = 5;

/// The multivariate test's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MultivariateDrift {
    /// `"domain_classifier"`.
    pub method: &'static str,
    /// Out-of-fold ROC AUC of the classifier, current rows as positives.
    pub roc_auc: f64,
    /// Drift when `roc_auc > threshold`.
    pub threshold: f64,
    /// Whether the sides could be told apart.
    pub drift_detected: bool,
    /// Rows used from each side (the samples are balanced to the smaller one).
    pub rows_per_side: usize,
    /// The columns the classifier split on most, by share of impurity decrease, largest first.
    pub features: Vec<FeatureImportance>,
}

/// One column's share of the classifier's splits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureImportance {
    /// Column name.
    pub column: String,
    /// Share of the total impurity decrease, between 0 and 1.
    pub importance: f64,
}

/// The multivariate section of a report: a result, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Multivariate {
    /// The test ran.
    Tested(MultivariateDrift),
    /// The test could not run; the reason is one line for the report.
    Skipped {
        /// Why, e.g. the reference profile has no row sample.
        skipped: String,
    },
}

impl Multivariate {
    /// True when the test ran and found drift.
    pub fn drift_detected(&self) -> bool {
        matches!(self, Multivariate::Tested(m) if m.drift_detected)
    }

    /// The result, when the test ran.
    pub fn tested(&self) -> Option<&MultivariateDrift> {
        match self {
            Multivariate::Tested(m) => Some(m),
            Multivariate::Skipped { .. } => None,
        }
    }

    pub(crate) fn skipped(reason: impl Into<String>) -> Self {
        Multivariate::Skipped {
            skipped: reason.into(),
        }
    }
}

/// Runs the domain classifier on the two samples over the columns of `plan`.
pub(crate) fn test(
    plan: &[(&str, ColumnType)],
    reference: &RowSample,
    current: &RowSample,
    threshold: f64,
) -> Multivariate {
    let rows = reference.rows().min(current.rows());
    if rows < MIN_ROWS {
        return Multivariate::skipped(format!(
            "too few rows for the domain classifier ({rows} a side, it needs {MIN_ROWS})"
        ));
    }
    let mut features = Vec::with_capacity(plan.len());
    for &(name, _) in plan {
        match (reference.column(name), current.column(name)) {
            (Some(r), Some(c)) => features.push((name, r, c)),
            _ => {
                return Multivariate::skipped(format!(
                    "the reference row sample has no column `{name}`"
                ))
            }
        }
    }
    let (r, c) = encode(&features, reference.rows(), current.rows());
    match forest::classify(&r, &c, CLASSIFIER_SEED) {
        Err(e) => Multivariate::skipped(format!("the domain classifier failed: {e}")),
        Ok(found) => {
            let mut ranked: Vec<(usize, f64)> = found
                .importance
                .iter()
                .copied()
                .enumerate()
                .filter(|(_, v)| *v > 0.0)
                .collect();
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            ranked.truncate(TOP_FEATURES);
            Multivariate::Tested(MultivariateDrift {
                method: "domain_classifier",
                roc_auc: found.auc,
                threshold,
                drift_detected: found.auc > threshold,
                rows_per_side: found.rows_per_side,
                features: ranked
                    .into_iter()
                    .map(|(i, importance)| FeatureImportance {
                        column: plan[i].0.to_owned(),
                        importance,
                    })
                    .collect(),
            })
        }
    }
}

/// The two feature matrices, encoded over both samples together (see the module doc).
fn encode(
    features: &[(&str, &SampleColumn, &SampleColumn)],
    ref_rows: usize,
    cur_rows: usize,
) -> (Array2<f64>, Array2<f64>) {
    let mut r = Array2::<f64>::from_elem((ref_rows, features.len()), -1.0);
    let mut c = Array2::<f64>::from_elem((cur_rows, features.len()), -1.0);
    for (j, (_, a, b)) in features.iter().enumerate() {
        match (a, b) {
            (SampleColumn::Num(a), SampleColumn::Num(b)) => {
                let mut keys: Vec<f64> =
                    a.iter().chain(b).copied().filter(|x| !x.is_nan()).collect();
                keys.sort_by(f64::total_cmp);
                keys.dedup();
                let code = |x: f64| {
                    if x.is_nan() {
                        -1.0
                    } else {
                        keys.partition_point(|k| *k < x) as f64
                    }
                };
                a.iter().enumerate().for_each(|(i, &x)| r[[i, j]] = code(x));
                b.iter().enumerate().for_each(|(i, &x)| c[[i, j]] = code(x));
            }
            (SampleColumn::Cat(a), SampleColumn::Cat(b)) => {
                let mut keys: Vec<&str> = a.iter().chain(b).flatten().map(String::as_str).collect();
                keys.sort_unstable();
                keys.dedup();
                let code = |x: &Option<String>| {
                    x.as_deref()
                        .map_or(-1.0, |s| keys.partition_point(|k| *k < s) as f64)
                };
                a.iter().enumerate().for_each(|(i, x)| r[[i, j]] = code(x));
                b.iter().enumerate().for_each(|(i, x)| c[[i, j]] = code(x));
            }
            // A column sampled as a number on one side and a category on the other carries no
            // comparable signal; it stays -1 (missing) on both sides.
            _ => {}
        }
    }
    (r, c)
}
