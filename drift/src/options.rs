//! What a drift run is asked to do: column types, tests, thresholds, the dataset rule. Plain data with
//! serde, so the CLI can build it from flags and a config file alike.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::data::ColumnType;
use crate::error::DriftError;
use crate::stats::StatTest;

/// A setting given for all columns, per column type, and per column. The most specific one wins:
/// column > type > all, which is Evidently's `resolve_stattest_threshold` order (and does not reset the
/// others, unlike the bug in evidently#678).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: Deserialize<'de>"))]
pub struct Scoped<T> {
    /// Applies to every column unless a more specific value exists.
    pub all: Option<T>,
    /// Applies to numerical columns.
    pub num: Option<T>,
    /// Applies to categorical columns.
    pub cat: Option<T>,
    /// Applies to the named column.
    pub columns: BTreeMap<String, T>,
}

impl<T> Default for Scoped<T> {
    fn default() -> Self {
        Scoped {
            all: None,
            num: None,
            cat: None,
            columns: BTreeMap::new(),
        }
    }
}

impl<T: Copy> Scoped<T> {
    /// The value that applies to `column` of type `ty`, if any.
    pub fn resolve(&self, column: &str, ty: ColumnType) -> Option<T> {
        let by_type = match ty {
            ColumnType::Numerical => self.num,
            ColumnType::Categorical => self.cat,
        };
        self.columns.get(column).copied().or(by_type).or(self.all)
    }
}

/// Multiple-testing correction for p-value tests (ks, chisquare, z). Off by default because Evidently has
/// none (evidently#238); alibi-detect's Bonferroni default is the model for the option.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Correction {
    /// Raw p-values, as Evidently.
    #[default]
    None,
    /// p × m (capped at 1), m = number of columns scored by a p-value test.
    Bonferroni,
    /// Benjamini–Hochberg adjusted p-values over the same m columns.
    Fdr,
}

/// The multivariate test: a domain classifier that tells reference rows from current rows
/// ([`crate::multivariate`]). On by default; drift when its held-out ROC AUC exceeds `threshold`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Multivariate {
    /// Run the test (and, when building a profile, store the reference row sample it needs).
    pub enabled: bool,
    /// Drift when the ROC AUC is above this (0.55, Evidently's threshold for its text domain
    /// classifier, `abs_text_content_drift`).
    pub threshold: f64,
    /// Rows sampled from each side (seeded). Bounds the profile's size and the test's time; at most
    /// [`Multivariate::MAX_ROWS`].
    pub max_rows: usize,
}

impl Multivariate {
    /// The largest row sample: the classifier's row weights are exact in `f32` below 4096 rows per
    /// fit (see [`crate::multivariate`]), and more rows buy little power at a linear cost.
    pub const MAX_ROWS: usize = 4000;
}

impl Default for Multivariate {
    fn default() -> Self {
        Multivariate {
            enabled: true,
            threshold: 0.55,
            max_rows: 1000,
        }
    }
}

/// Everything about a drift run except where the data comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Columns to treat as numerical whatever their storage type.
    pub numerical: Vec<String>,
    /// Columns to treat as categorical (numbers become categories).
    pub categorical: Vec<String>,
    /// The model's prediction column: tested like any other column, counted among the columns for the
    /// dataset share (Evidently's `_get_all_columns_for_drift`), and repeated in the report's `prediction`.
    pub prediction: Option<String>,
    /// Tests to use instead of Evidently's default selection.
    pub stattest: Scoped<StatTest>,
    /// Thresholds to use instead of each test's default.
    pub threshold: Scoped<f64>,
    /// Dataset drift when drifted columns / columns ≥ this share.
    pub drift_share: f64,
    /// Optional multiple-testing correction.
    pub correction: Correction,
    /// The domain-classifier test over all columns together.
    pub multivariate: Multivariate,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            numerical: Vec::new(),
            categorical: Vec::new(),
            prediction: None,
            stattest: Scoped::default(),
            threshold: Scoped::default(),
            drift_share: 0.5,
            correction: Correction::None,
            multivariate: Multivariate::default(),
        }
    }
}

impl Settings {
    /// The declared type of `column`, if it was declared.
    ///
    /// # Errors
    /// [`DriftError::ConflictingDeclaration`] when it is declared as both.
    pub fn declared(&self, column: &str) -> Result<Option<ColumnType>, DriftError> {
        let num = self.numerical.iter().any(|c| c == column);
        let cat = self.categorical.iter().any(|c| c == column);
        match (num, cat) {
            (true, true) => Err(DriftError::ConflictingDeclaration {
                column: column.to_owned(),
            }),
            (true, false) => Ok(Some(ColumnType::Numerical)),
            (false, true) => Ok(Some(ColumnType::Categorical)),
            (false, false) => Ok(None),
        }
    }

    /// Checks values that do not depend on the data.
    ///
    /// # Errors
    /// [`DriftError::InvalidOption`] for a drift share outside [0, 1] or a threshold that is negative or
    /// not finite.
    pub fn validate(&self) -> Result<(), DriftError> {
        if !(0.0..=1.0).contains(&self.drift_share) {
            return Err(DriftError::InvalidOption {
                what: "drift share",
                value: self.drift_share.to_string(),
                why: "it must be between 0 and 1",
            });
        }
        let m = &self.multivariate;
        if !(0.0..=1.0).contains(&m.threshold) {
            return Err(DriftError::InvalidOption {
                what: "multivariate threshold",
                value: m.threshold.to_string(),
                why: "it is a ROC AUC, between 0 and 1",
            });
        }
        if m.max_rows > Multivariate::MAX_ROWS {
            return Err(DriftError::InvalidOption {
                what: "multivariate sample rows",
                value: m.max_rows.to_string(),
                why: "it must be at most 4000",
            });
        }
        let t = &self.threshold;
        for value in t
            .all
            .iter()
            .chain(&t.num)
            .chain(&t.cat)
            .chain(t.columns.values())
        {
            if !value.is_finite() || *value < 0.0 {
                return Err(DriftError::InvalidOption {
                    what: "threshold",
                    value: value.to_string(),
                    why: "it must be a finite number ≥ 0",
                });
            }
        }
        Ok(())
    }

    /// Every column name an option refers to, so unknown names can be reported.
    pub(crate) fn named_columns(&self) -> impl Iterator<Item = &String> {
        self.numerical
            .iter()
            .chain(&self.categorical)
            .chain(&self.prediction)
            .chain(self.stattest.columns.keys())
            .chain(self.threshold.columns.keys())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_beats_type_beats_all() {
        let mut s: Scoped<f64> = Scoped {
            all: Some(0.3),
            num: Some(0.2),
            ..Scoped::default()
        };
        s.columns.insert("a".into(), 0.1);
        assert_eq!(s.resolve("a", ColumnType::Numerical), Some(0.1));
        assert_eq!(s.resolve("b", ColumnType::Numerical), Some(0.2));
        assert_eq!(s.resolve("b", ColumnType::Categorical), Some(0.3));
        assert_eq!(
            Scoped::<f64>::default().resolve("b", ColumnType::Categorical),
            None
        );
    }

    #[test]
    fn a_drift_share_above_one_is_rejected() {
        let s = Settings {
            drift_share: 1.5,
            ..Settings::default()
        };
        assert!(matches!(
            s.validate(),
            Err(DriftError::InvalidOption { .. })
        ));
    }
}
