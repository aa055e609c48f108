//! Random-forest hyper-parameters: a by-value builder, checked once into [`RandomForestValidParams`].
//!
//! Names and defaults are Spark's `RandomForestRegressor` (pyspark.ml.regression), so logged params read
//! like the reference pipeline's. A bad combination is a [`ModelError`], never a panic: TPE may sample
//! anything the search space allows.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{invalid_param, ModelError, Result};

/// How many features each node considers (Spark's `featureSubsetStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum FeatureSubsetStrategy {
    /// `all` for a single tree, else `onethird` (the regression rule).
    #[default]
    Auto,
    /// Every feature.
    All,
    /// ceil(n / 3).
    OneThird,
    /// ceil(√n).
    Sqrt,
    /// max(1, ceil(log2 n)).
    Log2,
    /// Exactly this many (capped at n).
    Count(usize),
    /// ceil(fraction · n), fraction in (0, 1].
    Fraction(f64),
}

impl FeatureSubsetStrategy {
    /// Features per node for `n` features and `num_trees` trees.
    pub fn features_per_node(self, n: usize, num_trees: usize) -> usize {
        let k = match self {
            FeatureSubsetStrategy::Auto if num_trees == 1 => n,
            FeatureSubsetStrategy::All => n,
            FeatureSubsetStrategy::Auto | FeatureSubsetStrategy::OneThird => n.div_ceil(3),
            FeatureSubsetStrategy::Sqrt => ceil_usize((n as f64).sqrt()),
            FeatureSubsetStrategy::Log2 => ceil_usize((n as f64).log2()).max(1),
            FeatureSubsetStrategy::Count(c) => c,
            FeatureSubsetStrategy::Fraction(f) => ceil_usize(f * n as f64),
        };
        k.clamp(1, n.max(1))
    }
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn ceil_usize(x: f64) -> usize {
    x.ceil().max(0.0) as usize
}

impl fmt::Display for FeatureSubsetStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeatureSubsetStrategy::Auto => f.write_str("auto"),
            FeatureSubsetStrategy::All => f.write_str("all"),
            FeatureSubsetStrategy::OneThird => f.write_str("onethird"),
            FeatureSubsetStrategy::Sqrt => f.write_str("sqrt"),
            FeatureSubsetStrategy::Log2 => f.write_str("log2"),
            FeatureSubsetStrategy::Count(c) => write!(f, "{c}"),
            FeatureSubsetStrategy::Fraction(x) => write!(f, "{x:?}"),
        }
    }
}

impl FromStr for FeatureSubsetStrategy {
    type Err = ModelError;

    /// Spark's spellings: a name, an integer count, or a fraction in (0, 1].
    fn from_str(s: &str) -> Result<Self> {
        let bad = |reason: &str| invalid_param("featureSubsetStrategy", s, reason);
        Ok(match s.to_ascii_lowercase().as_str() {
            "auto" => FeatureSubsetStrategy::Auto,
            "all" => FeatureSubsetStrategy::All,
            "onethird" => FeatureSubsetStrategy::OneThird,
            "sqrt" => FeatureSubsetStrategy::Sqrt,
            "log2" => FeatureSubsetStrategy::Log2,
            other => {
                if let Ok(c) = other.parse::<usize>() {
                    if c == 0 {
                        return Err(bad("a count must be at least 1"));
                    }
                    FeatureSubsetStrategy::Count(c)
                } else if let Ok(x) = other.parse::<f64>() {
                    if !(x > 0.0 && x <= 1.0) {
                        return Err(bad("a fraction must be in (0, 1]"));
                    }
                    FeatureSubsetStrategy::Fraction(x)
                } else {
                    return Err(bad(
                        "expected auto, all, onethird, sqrt, log2, a count or a fraction",
                    ));
                }
            }
        })
    }
}

impl From<FeatureSubsetStrategy> for String {
    fn from(s: FeatureSubsetStrategy) -> String {
        s.to_string()
    }
}

impl TryFrom<String> for FeatureSubsetStrategy {
    type Error = ModelError;

    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

/// Checked parameters; only [`RandomForestParams::check`] makes one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RandomForestValidParams {
    pub(crate) num_trees: usize,
    pub(crate) max_depth: usize,
    pub(crate) max_bins: usize,
    pub(crate) min_instances_per_node: usize,
    pub(crate) min_info_gain: f64,
    pub(crate) subsampling_rate: f64,
    pub(crate) feature_subset_strategy: FeatureSubsetStrategy,
    pub(crate) bootstrap: bool,
    pub(crate) seed: u64,
    /// Feature index → number of categories (Spark reads this from the vector's nominal metadata;
    /// a plain ndarray has none, so it travels with the parameters).
    pub(crate) categorical_features: BTreeMap<usize, usize>,
}

impl RandomForestValidParams {
    pub fn num_trees(&self) -> usize {
        self.num_trees
    }
    pub fn max_depth(&self) -> usize {
        self.max_depth
    }
    pub fn max_bins(&self) -> usize {
        self.max_bins
    }
    pub fn min_instances_per_node(&self) -> usize {
        self.min_instances_per_node
    }
    pub fn min_info_gain(&self) -> f64 {
        self.min_info_gain
    }
    pub fn subsampling_rate(&self) -> f64 {
        self.subsampling_rate
    }
    pub fn feature_subset_strategy(&self) -> FeatureSubsetStrategy {
        self.feature_subset_strategy
    }
    pub fn bootstrap(&self) -> bool {
        self.bootstrap
    }
    pub fn seed(&self) -> u64 {
        self.seed
    }
    pub fn categorical_features(&self) -> &BTreeMap<usize, usize> {
        &self.categorical_features
    }

    /// The parameters as MLflow params, with Spark's names.
    pub fn to_mlflow_params(&self) -> Vec<(String, String)> {
        vec![
            ("numTrees".into(), self.num_trees.to_string()),
            ("maxDepth".into(), self.max_depth.to_string()),
            ("maxBins".into(), self.max_bins.to_string()),
            (
                "minInstancesPerNode".into(),
                self.min_instances_per_node.to_string(),
            ),
            ("minInfoGain".into(), self.min_info_gain.to_string()),
            ("subsamplingRate".into(), self.subsampling_rate.to_string()),
            (
                "featureSubsetStrategy".into(),
                self.feature_subset_strategy.to_string(),
            ),
            ("bootstrap".into(), self.bootstrap.to_string()),
            ("seed".into(), self.seed.to_string()),
        ]
    }
}

/// Random-forest regressor parameters.
///
/// Defaults (Spark's `RandomForestRegressor`): `numTrees` 20, `maxDepth` 5, `maxBins` 32,
/// `minInstancesPerNode` 1, `minInfoGain` 0.0, `subsamplingRate` 1.0, `featureSubsetStrategy` auto,
/// `bootstrap` true, no categorical features. `seed` is 42, the reference pipeline's (Spark's own
/// default is a hash of the class name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomForestParams(RandomForestValidParams);

impl Default for RandomForestParams {
    fn default() -> Self {
        RandomForestParams(RandomForestValidParams {
            num_trees: 20,
            max_depth: 5,
            max_bins: 32,
            min_instances_per_node: 1,
            min_info_gain: 0.0,
            subsampling_rate: 1.0,
            feature_subset_strategy: FeatureSubsetStrategy::Auto,
            bootstrap: true,
            seed: 42,
            categorical_features: BTreeMap::new(),
        })
    }
}

/// Spark caps depth at 30 (node ids are ints).
pub(super) const MAX_DEPTH_LIMIT: usize = 30;
/// Bins are stored as `u16`.
pub(super) const MAX_BINS_LIMIT: usize = u16::MAX as usize;

impl RandomForestParams {
    /// Spark's defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Number of trees (≥ 1).
    pub fn num_trees(mut self, n: usize) -> Self {
        self.0.num_trees = n;
        self
    }
    /// Maximum depth; 0 is a single leaf (0..=30).
    pub fn max_depth(mut self, d: usize) -> Self {
        self.0.max_depth = d;
        self
    }
    /// Maximum bins per continuous feature; must be ≥ 2 and ≥ every categorical arity.
    pub fn max_bins(mut self, b: usize) -> Self {
        self.0.max_bins = b;
        self
    }
    /// Minimum (bootstrap-weighted) rows in each child of a split (≥ 1).
    pub fn min_instances_per_node(mut self, n: usize) -> Self {
        self.0.min_instances_per_node = n;
        self
    }
    /// Minimum gain for a split to count (≥ 0).
    pub fn min_info_gain(mut self, g: f64) -> Self {
        self.0.min_info_gain = g;
        self
    }
    /// Poisson rate of the bootstrap, or Bernoulli rate without it, in (0, 1].
    pub fn subsampling_rate(mut self, r: f64) -> Self {
        self.0.subsampling_rate = r;
        self
    }
    /// Features considered per node.
    pub fn feature_subset_strategy(mut self, s: FeatureSubsetStrategy) -> Self {
        self.0.feature_subset_strategy = s;
        self
    }
    /// Sample rows with replacement (only when there is more than one tree, as in Spark).
    pub fn bootstrap(mut self, b: bool) -> Self {
        self.0.bootstrap = b;
        self
    }
    /// Seed of every random choice; the same seed gives the same forest on any number of threads.
    pub fn seed(mut self, s: u64) -> Self {
        self.0.seed = s;
        self
    }
    /// Marks features as categorical: index → number of categories (values are `0.0..arity`).
    pub fn categorical_features(mut self, c: BTreeMap<usize, usize>) -> Self {
        self.0.categorical_features = c;
        self
    }

    /// Validates the ranges that do not depend on data.
    pub fn check_ref(&self) -> Result<&RandomForestValidParams> {
        let p = &self.0;
        if p.num_trees == 0 {
            return Err(invalid_param("numTrees", p.num_trees, "must be at least 1"));
        }
        if p.max_depth > MAX_DEPTH_LIMIT {
            return Err(invalid_param("maxDepth", p.max_depth, "must be in [0, 30]"));
        }
        if !(2..=MAX_BINS_LIMIT).contains(&p.max_bins) {
            return Err(invalid_param(
                "maxBins",
                p.max_bins,
                "must be in [2, 65535]",
            ));
        }
        if p.min_instances_per_node == 0 {
            return Err(invalid_param(
                "minInstancesPerNode",
                0,
                "must be at least 1",
            ));
        }
        if !(p.min_info_gain >= 0.0 && p.min_info_gain.is_finite()) {
            return Err(invalid_param(
                "minInfoGain",
                p.min_info_gain,
                "must be a finite number ≥ 0",
            ));
        }
        if !(p.subsampling_rate > 0.0 && p.subsampling_rate <= 1.0) {
            return Err(invalid_param(
                "subsamplingRate",
                p.subsampling_rate,
                "must be in (0, 1]",
            ));
        }
        if let FeatureSubsetStrategy::Fraction(x) = p.feature_subset_strategy {
            if !(x > 0.0 && x <= 1.0) {
                return Err(invalid_param(
                    "featureSubsetStrategy",
                    x,
                    "a fraction must be in (0, 1]",
                ));
            }
        }
        if let FeatureSubsetStrategy::Count(0) = p.feature_subset_strategy {
            return Err(invalid_param(
                "featureSubsetStrategy",
                0,
                "a count must be at least 1",
            ));
        }
        if let Some((&f, &a)) = p.categorical_features.iter().find(|(_, &a)| a == 0) {
            return Err(invalid_param(
                "categoricalFeatures",
                format!("{f}:{a}"),
                "arity must be ≥ 1",
            ));
        }
        Ok(p)
    }

    /// Validates and unwraps.
    pub fn check(self) -> Result<RandomForestValidParams> {
        self.check_ref()?;
        Ok(self.0)
    }
}

impl linfa::ParamGuard for RandomForestParams {
    type Checked = RandomForestValidParams;
    type Error = ModelError;

    fn check_ref(&self) -> Result<&Self::Checked> {
        RandomForestParams::check_ref(self)
    }

    fn check(self) -> Result<Self::Checked> {
        RandomForestParams::check(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_one_third_for_a_forest_and_all_for_one_tree() {
        assert_eq!(FeatureSubsetStrategy::Auto.features_per_node(21, 20), 7);
        assert_eq!(FeatureSubsetStrategy::Auto.features_per_node(23, 20), 8);
        assert_eq!(FeatureSubsetStrategy::Auto.features_per_node(23, 1), 23);
        assert_eq!(FeatureSubsetStrategy::Sqrt.features_per_node(23, 20), 5);
        assert_eq!(FeatureSubsetStrategy::Log2.features_per_node(23, 20), 5);
        assert_eq!(
            FeatureSubsetStrategy::Fraction(0.5).features_per_node(23, 20),
            12
        );
        assert_eq!(
            FeatureSubsetStrategy::Count(99).features_per_node(23, 20),
            23
        );
    }

    #[test]
    fn strategies_round_trip_through_strings() {
        for s in ["auto", "all", "onethird", "sqrt", "log2", "7", "0.5"] {
            let parsed: FeatureSubsetStrategy = s.parse().expect("parses");
            assert_eq!(parsed.to_string(), s);
        }
        assert!("1.5".parse::<FeatureSubsetStrategy>().is_err());
        assert!("0".parse::<FeatureSubsetStrategy>().is_err());
    }

    #[test]
    fn out_of_range_params_name_themselves() {
        let cases: [(RandomForestParams, &str); 5] = [
            (RandomForestParams::new().num_trees(0), "numTrees"),
            (RandomForestParams::new().max_depth(31), "maxDepth"),
            (RandomForestParams::new().max_bins(1), "maxBins"),
            (
                RandomForestParams::new().subsampling_rate(0.0),
                "subsamplingRate",
            ),
            (
                RandomForestParams::new().min_instances_per_node(0),
                "minInstancesPerNode",
            ),
        ];
        for (params, name) in cases {
            let msg = params.check().unwrap_err().to_string();
            assert!(msg.contains(name), "{msg}");
        }
        assert!(RandomForestParams::new().check().is_ok());
    }
}
