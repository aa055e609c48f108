//! The result of a drift run and its JSON form.
//!
//! # JSON report (stable)
//!
//! ```json
//! {
//!   "dataset": {"number_of_columns": 3, "number_of_drifted_columns": 1, "share_of_drifted_columns": 0.333,
//!               "drift_share": 0.5, "dataset_drift": false},
//!   "columns": {
//!     "age":   {"column_type": "num", "stattest": "wasserstein", "threshold": 0.1, "drift_score": 0.21,
//!               "drift_detected": true},
//!     "city":  {"column_type": "cat", "stattest": "jensenshannon", "threshold": 0.1, "drift_score": 0.02,
//!               "drift_detected": false},
//!     "price": {"column_type": "num", "stattest": "wasserstein", "threshold": 0.1, "drift_score": 0.05,
//!               "drift_detected": false}
//!   },
//!   "prediction": {"column": "price", "stattest": "wasserstein", "threshold": 0.1, "drift_score": 0.05,
//!                  "drift_detected": false},
//!   "multivariate": {"method": "domain_classifier", "roc_auc": 0.71, "threshold": 0.55,
//!                    "drift_detected": true, "rows_per_side": 2000,
//!                    "features": [{"column": "age", "importance": 0.48}, {"column": "price", "importance": 0.31}]}
//! }
//! ```
//!
//! * `columns` keeps the reference's column order and **includes the prediction column**, which is also
//!   counted in `number_of_columns` (Evidently counts it too); `prediction` repeats its entry, or is `null`
//!   when no prediction column was named.
//! * `stattest` is Evidently's registry name (`ks`, `chisquare`, `z`, `wasserstein`, `jensenshannon`,
//!   `psi`, `kl_div`, `hellinger`). For `ks`, `chisquare` and `z`, `drift_score` is a p-value and drift
//!   means `score <= threshold` (ks) or `score < threshold`; for the others it is a distance and drift means
//!   `score >= threshold`.
//! * `drift_score` is `null` when it is undefined: chi-square on a column with one value on both sides
//!   (Evidently's NaN, never drift).
//! * `multivariate` is the domain-classifier test ([`crate::multivariate`]): drift when `roc_auc >
//!   threshold`; `features` lists up to five columns by their share of the classifier's splits. It is
//!   `{"skipped": "<reason>"}` when the test could not run (a profile without a row sample, fewer than
//!   200 rows a side) and `null` when it was switched off.
//! * Only when a correction is enabled: `dataset.correction` (`"bonferroni"` or `"fdr"`) and, on p-value
//!   columns, `adjusted_p_value`, which then decides `drift_detected`.

mod charts;
mod html;

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

pub(crate) use charts::chart_for;
pub use charts::Chart;

use crate::data::ColumnType;
use crate::multivariate::Multivariate;
use crate::options::Correction;
use crate::stats::StatTest;

/// The dataset-level verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetDrift {
    /// Columns compared, the prediction column included.
    pub number_of_columns: usize,
    /// Columns whose test detected drift.
    pub number_of_drifted_columns: usize,
    /// `number_of_drifted_columns / number_of_columns`.
    pub share_of_drifted_columns: f64,
    /// The share at or above which the dataset counts as drifted.
    pub drift_share: f64,
    /// `share_of_drifted_columns >= drift_share`.
    pub dataset_drift: bool,
}

/// The result for one column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDrift {
    /// Column name.
    pub name: String,
    /// Numerical or categorical.
    pub column_type: ColumnType,
    /// The test that produced `drift_score`.
    pub stattest: StatTest,
    /// The threshold `drift_score` was compared with.
    pub threshold: f64,
    /// p-value or distance, see [`StatTest::direction`]; NaN when undefined.
    pub drift_score: f64,
    /// Whether this column drifted.
    pub drift_detected: bool,
    /// The corrected p-value, when a correction is enabled and the test gives p-values.
    pub adjusted_p_value: Option<f64>,
    /// Reference rows left after dropping missing values.
    pub reference_rows: u64,
    /// Current rows left after dropping missing values.
    pub current_rows: u64,
    /// The distributions drawn in the HTML report (not part of the JSON).
    pub chart: Chart,
}

/// The prediction column's result, repeated at the top level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictionDrift {
    /// The prediction column's name.
    pub column: String,
    /// Test used.
    pub stattest: StatTest,
    /// Threshold used.
    pub threshold: f64,
    /// Score.
    pub drift_score: f64,
    /// Whether it drifted.
    pub drift_detected: bool,
}

/// A full drift report. Serialise with [`DriftReport::to_json`], render with [`DriftReport::to_html`].
#[derive(Debug, Clone, PartialEq)]
pub struct DriftReport {
    /// Dataset-level numbers.
    pub dataset: DatasetDrift,
    /// Per-column results, in the reference's column order.
    pub columns: Vec<ColumnDrift>,
    /// The prediction column's result, if one was named.
    pub prediction: Option<PredictionDrift>,
    /// The correction in force.
    pub correction: Correction,
    /// The domain-classifier test over all columns; `None` when it was switched off.
    pub multivariate: Option<Multivariate>,
}

impl DriftReport {
    /// The stable JSON form documented in this module, pretty-printed.
    pub fn to_json(&self) -> String {
        // Serialising plain structs and maps of strings and numbers into a String cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The summary alone (what a webhook posts): the JSON without `columns`.
    pub fn summary_json(&self) -> serde_json::Value {
        serde_json::json!({
            "dataset": DatasetJson(self),
            "prediction": self.prediction,
            "multivariate": self.multivariate,
        })
    }

    /// One self-contained HTML page: summary, per-column table (drifted first), one inline SVG chart per
    /// column; no scripts and no external resources.
    pub fn to_html(&self) -> String {
        html::render(self)
    }

    /// True when the dataset drifted (share of drifted columns), the prediction drifted, or the
    /// multivariate test found drift: the condition `--fail-on-drift` exits on and `monitor` alerts
    /// on. The multivariate test counts because it catches what the share cannot (a changed relation
    /// between columns that each look unchanged); switch it off to alert on columns alone.
    pub fn alert(&self) -> bool {
        self.dataset.dataset_drift
            || self.prediction.as_ref().is_some_and(|p| p.drift_detected)
            || self
                .multivariate
                .as_ref()
                .is_some_and(Multivariate::drift_detected)
    }

    /// The result for `column`.
    pub fn column(&self, column: &str) -> Option<&ColumnDrift> {
        self.columns.iter().find(|c| c.name == column)
    }
}

struct DatasetJson<'a>(&'a DriftReport);

impl Serialize for DatasetJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = &self.0.dataset;
        let with_correction = self.0.correction != Correction::None;
        let mut st = s.serialize_struct("DatasetDrift", 5 + usize::from(with_correction))?;
        st.serialize_field("number_of_columns", &d.number_of_columns)?;
        st.serialize_field("number_of_drifted_columns", &d.number_of_drifted_columns)?;
        st.serialize_field("share_of_drifted_columns", &d.share_of_drifted_columns)?;
        st.serialize_field("drift_share", &d.drift_share)?;
        st.serialize_field("dataset_drift", &d.dataset_drift)?;
        if with_correction {
            st.serialize_field("correction", &self.0.correction)?;
        }
        st.end()
    }
}

struct ColumnJson<'a>(&'a ColumnDrift);

impl Serialize for ColumnJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let mut st =
            s.serialize_struct("ColumnDrift", 5 + usize::from(c.adjusted_p_value.is_some()))?;
        st.serialize_field("column_type", &c.column_type)?;
        st.serialize_field("stattest", &c.stattest)?;
        st.serialize_field("threshold", &c.threshold)?;
        st.serialize_field("drift_score", &c.drift_score)?;
        st.serialize_field("drift_detected", &c.drift_detected)?;
        if let Some(q) = c.adjusted_p_value {
            st.serialize_field("adjusted_p_value", &q)?;
        }
        st.end()
    }
}

struct ColumnsJson<'a>(&'a [ColumnDrift]);

impl Serialize for ColumnsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for c in self.0 {
            map.serialize_entry(&c.name, &ColumnJson(c))?;
        }
        map.end()
    }
}

impl Serialize for DriftReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("DriftReport", 4)?;
        st.serialize_field("dataset", &DatasetJson(self))?;
        st.serialize_field("columns", &ColumnsJson(&self.columns))?;
        st.serialize_field("prediction", &self.prediction)?;
        st.serialize_field("multivariate", &self.multivariate)?;
        st.end()
    }
}
