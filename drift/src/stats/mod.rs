//! Evidently's drift tests, their defaults, and the rule that picks one per column.
//!
//! The statistics are implemented here rather than taken from a crate: matching Evidently to 1e-9 needs
//! scipy's exact algorithms (exact KS path counting, numpy's Sturges bins and edge rules, Evidently's
//! zero filling), which no statistics crate reproduces. Only `erf`, `erfc` and `lgamma` come from `libm`.

pub mod binning;
mod kolmogorov;
mod methods;
pub mod special;

use crate::data::ColumnType;
use crate::error::DriftError;
use crate::summary::{union_distinct, Summary};

/// One of Evidently's registered tests. The names are Evidently's (`ks`, `kl_div`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatTest {
    /// Two-sample Kolmogorov–Smirnov p-value (numerical).
    Ks,
    /// Chi-square goodness-of-fit p-value of current counts against scaled reference counts.
    Chisquare,
    /// Two-proportion Z-test p-value (first sorted value against the rest).
    Z,
    /// Wasserstein-1 distance divided by the reference's population std (numerical).
    Wasserstein,
    /// Jensen–Shannon distance (natural log) on binned shares.
    Jensenshannon,
    /// Population stability index on zero-filled binned shares.
    Psi,
    /// Kullback–Leibler divergence KL(reference ‖ current) on zero-filled binned shares.
    KlDiv,
    /// Hellinger distance.
    Hellinger,
}

/// Which way a score must go to mean drift. Evidently is not uniform (`ks` uses `<=`, `chisquare` `<`), so
/// each test stores its own instead of inferring it from "p-value or distance".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Drift when `score <= threshold`.
    AtMost,
    /// Drift when `score < threshold`.
    Below,
    /// Drift when `score >= threshold`.
    AtLeast,
}

impl StatTest {
    /// Every test, in Evidently's documentation order.
    pub const ALL: [StatTest; 8] = [
        StatTest::Ks,
        StatTest::Chisquare,
        StatTest::Z,
        StatTest::Wasserstein,
        StatTest::Jensenshannon,
        StatTest::Psi,
        StatTest::KlDiv,
        StatTest::Hellinger,
    ];

    /// Evidently's registry name, used on the command line and in the JSON report.
    pub fn name(self) -> &'static str {
        match self {
            StatTest::Ks => "ks",
            StatTest::Chisquare => "chisquare",
            StatTest::Z => "z",
            StatTest::Wasserstein => "wasserstein",
            StatTest::Jensenshannon => "jensenshannon",
            StatTest::Psi => "psi",
            StatTest::KlDiv => "kl_div",
            StatTest::Hellinger => "hellinger",
        }
    }

    /// Evidently's display name, used in the HTML report.
    pub fn display_name(self) -> &'static str {
        match self {
            StatTest::Ks => "K-S p_value",
            StatTest::Chisquare => "chi-square p_value",
            StatTest::Z => "Z-test p_value",
            StatTest::Wasserstein => "Wasserstein distance (normed)",
            StatTest::Jensenshannon => "Jensen-Shannon distance",
            StatTest::Psi => "PSI",
            StatTest::KlDiv => "Kullback-Leibler divergence",
            StatTest::Hellinger => "Hellinger distance",
        }
    }

    /// Parses an Evidently name.
    ///
    /// # Errors
    /// [`DriftError::UnknownStatTest`] for any other name.
    pub fn from_name(name: &str) -> Result<Self, DriftError> {
        Self::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| DriftError::UnknownStatTest {
                name: name.to_owned(),
            })
    }

    /// The threshold used when none is configured (`StatTest.default_threshold` in Evidently).
    pub fn default_threshold(self) -> f64 {
        if self.is_p_value() {
            0.05
        } else {
            0.1
        }
    }

    /// True for tests whose score is a p-value (the only ones a multiple-testing correction applies to).
    pub fn is_p_value(self) -> bool {
        matches!(self, StatTest::Ks | StatTest::Chisquare | StatTest::Z)
    }

    /// The comparison each Evidently implementation uses.
    pub fn direction(self) -> Direction {
        match self {
            StatTest::Ks => Direction::AtMost,
            StatTest::Chisquare | StatTest::Z => Direction::Below,
            _ => Direction::AtLeast,
        }
    }

    /// Whether `score` means drift at `threshold`. NaN never does (Evidently's chi-square on a constant).
    pub fn detects(self, score: f64, threshold: f64) -> bool {
        match self.direction() {
            Direction::AtMost => score <= threshold,
            Direction::Below => score < threshold,
            Direction::AtLeast => score >= threshold,
        }
    }

    /// Column types Evidently registers the test for. The default selector may still apply `chisquare`
    /// and `z` to numerical columns with few values; asking for them explicitly on one is an error there.
    pub fn allows(self, ty: ColumnType) -> bool {
        match self {
            StatTest::Ks | StatTest::Wasserstein => ty == ColumnType::Numerical,
            StatTest::Chisquare | StatTest::Z => ty == ColumnType::Categorical,
            _ => true,
        }
    }

    /// Runs the test on two summaries of the same column type.
    pub fn score(self, reference: &Summary, current: &Summary) -> f64 {
        match (self, reference, current) {
            (StatTest::Ks, Summary::Num(r), Summary::Num(c)) => methods::ks(r, c),
            (StatTest::Wasserstein, Summary::Num(r), Summary::Num(c)) => methods::wasserstein(r, c),
            (StatTest::Chisquare, r, c) => methods::chisquare(r, c),
            (StatTest::Z, r, c) => methods::z(r, c),
            (StatTest::Jensenshannon, r, c) => methods::jensenshannon(r, c),
            (StatTest::Psi, r, c) => methods::psi(r, c),
            (StatTest::KlDiv, r, c) => methods::kl_div(r, c),
            (StatTest::Hellinger, r, c) => methods::hellinger(r, c),
            // KS and Wasserstein on categories are rejected before scoring (see `allows`).
            _ => f64::NAN,
        }
    }
}

impl std::fmt::Display for StatTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for StatTest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for StatTest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        StatTest::from_name(&name).map_err(serde::de::Error::custom)
    }
}

/// Evidently's `_get_default_stattest`: the reference size (after NaN/inf are dropped) picks p-value tests
/// (≤ 1000 rows) or distances (> 1000), and the number of distinct values over both sides picks the test
/// within each family. Current size plays no part.
pub fn default_test(reference: &Summary, current: &Summary) -> StatTest {
    let n_unique = union_distinct(reference, current);
    let small = reference.len() <= 1000;
    match (reference.column_type(), small) {
        (ColumnType::Numerical, true) if n_unique > 5 => StatTest::Ks,
        (ColumnType::Numerical, true) if n_unique > 2 => StatTest::Chisquare,
        (ColumnType::Numerical, true) => StatTest::Z,
        (ColumnType::Numerical, false) if n_unique > 5 => StatTest::Wasserstein,
        (ColumnType::Numerical, false) => StatTest::Jensenshannon,
        (ColumnType::Categorical, true) if n_unique > 2 => StatTest::Chisquare,
        (ColumnType::Categorical, true) => StatTest::Z,
        (ColumnType::Categorical, false) => StatTest::Jensenshannon,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::NumSummary;

    fn num(values: &[f64]) -> Summary {
        Summary::Num(NumSummary::from_values(values))
    }

    #[test]
    fn names_round_trip() {
        for t in StatTest::ALL {
            assert_eq!(StatTest::from_name(t.name()).ok(), Some(t));
        }
        assert!(StatTest::from_name("anderson").is_err());
    }

    #[test]
    fn ks_drifts_at_the_threshold_but_chisquare_does_not() {
        assert!(StatTest::Ks.detects(0.05, 0.05));
        assert!(!StatTest::Chisquare.detects(0.05, 0.05));
        assert!(StatTest::Wasserstein.detects(0.1, 0.1));
        assert!(!StatTest::Chisquare.detects(f64::NAN, 0.05));
    }

    #[test]
    fn selection_depends_on_reference_rows_and_unique_values() {
        let many: Vec<f64> = (0..1000).map(f64::from).collect();
        let more: Vec<f64> = (0..1001).map(f64::from).collect();
        let three: Vec<f64> = (0..1001).map(|i| f64::from(i % 3)).collect();
        assert_eq!(default_test(&num(&many), &num(&many)), StatTest::Ks);
        assert_eq!(
            default_test(&num(&more), &num(&many)),
            StatTest::Wasserstein
        );
        assert_eq!(
            default_test(&num(&three[..1000]), &num(&three)),
            StatTest::Chisquare
        );
        assert_eq!(
            default_test(&num(&three), &num(&three)),
            StatTest::Jensenshannon
        );
        assert_eq!(default_test(&num(&[0.0, 1.0]), &num(&[1.0])), StatTest::Z);
        // Six values counted over both sides, five in the reference: KS.
        assert_eq!(
            default_test(&num(&[0.0, 1.0, 2.0, 3.0, 4.0]), &num(&[5.0])),
            StatTest::Ks
        );
    }
}
