//! A random-forest regressor with Spark ML's semantics, written here rather than borrowed.
//!
//! Why by hand: smartcore's `RandomForestRegressor` splits exactly on pre-sorted values (no `maxBins`,
//! no binning), treats indexed categories as ordered numbers, samples features per tree rather than
//! Spark's per node with `onethird`, and is single-threaded; linfa-trees has no regression tree at all
//! and linfa-ensemble only bags classifiers (each crate's docs on docs.rs). Matching the reference pipeline needs
//! Spark's binned thresholds, ordered category-set splits, Poisson bootstrap and per-node feature
//! subsets, which none of them offer.
//!
//! What matches Spark (`org.apache.spark.ml.tree.impl.RandomForest`): candidate thresholds (exactly, for ≤ max(maxBins², 10 000)
//! rows), categorical splits, gain, stopping rules, leaf values, feature importances. What cannot:
//! Spark's JVM random streams and partition layout, so the same seed gives a statistically equivalent
//! forest, not the same trees.
//!
//! Trees are grown in parallel with rayon. Tree `t` draws from its own ChaCha8 stream `t` of the seed,
//! so a forest depends only on the seed, never on the number of threads.

mod compiled;
mod params;
pub mod split;
mod tree;

use linfa::dataset::{AsSingleTargets, DatasetBase, Records};
use linfa::traits::{Fit, PredictInplace};
use ndarray::{Array1, ArrayBase, ArrayView2, Data, Ix2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use params::{FeatureSubsetStrategy, RandomForestParams, RandomForestValidParams};
pub use split::FeatureSplits;
pub use tree::{Node, NodeSplit, Split, Tree};

use crate::error::{ModelError, Result};

/// A fitted forest: immutable, serialisable, and cheap to share between threads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomForestModel {
    params: RandomForestValidParams,
    feature_names: Vec<String>,
    trees: Vec<Tree>,
    feature_importances: Vec<f64>,
    /// Per-tree weights of a boosted ensemble (a Spark GBT model read by `spark::read`): the
    /// prediction is Σ wₜ·treeₜ instead of the mean. Absent for forests, so older files read alike.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tree_weights: Option<Vec<f64>>,
}

impl RandomForestValidParams {
    /// Fits on a feature matrix (rows × features) and labels. Features named in
    /// `categorical_features` must hold category indices `0.0..arity`.
    pub fn fit_arrays(
        &self,
        x: ArrayView2<'_, f64>,
        y: &[f64],
        feature_names: &[String],
    ) -> Result<RandomForestModel> {
        let (n_rows, n_features) = x.dim();
        if y.len() != n_rows {
            return Err(ModelError::Shape(format!(
                "{n_rows} feature rows but {} labels",
                y.len()
            )));
        }
        if feature_names.len() != n_features {
            return Err(ModelError::Shape(format!(
                "{n_features} features but {} feature names",
                feature_names.len()
            )));
        }
        if n_rows == 0 || n_features == 0 {
            return Err(ModelError::NoRows("random forest fit".to_string()));
        }
        if let Some(&f) = self.categorical_features.keys().find(|&&f| f >= n_features) {
            return Err(ModelError::Shape(format!(
                "categorical feature {f} but only {n_features} features"
            )));
        }
        for (f, column) in x.columns().into_iter().enumerate() {
            if let Some(row) = column.iter().position(|v| !v.is_finite()) {
                return Err(ModelError::InvalidNumber {
                    column: feature_names[f].clone(),
                    row,
                });
            }
        }
        if let Some(row) = y.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::InvalidNumber {
                column: "label".to_string(),
                row,
            });
        }
        let arity: Vec<Option<usize>> = (0..n_features)
            .map(|f| self.categorical_features.get(&f).copied())
            .collect();
        let data = split::bin_features(x, &arity, feature_names, self.max_bins, self.seed)?;
        let settings = tree::TreeSettings {
            max_depth: self.max_depth,
            min_instances_per_node: self.min_instances_per_node as f64,
            min_info_gain: self.min_info_gain,
            features_per_node: self
                .feature_subset_strategy
                .features_per_node(n_features, self.num_trees),
        };
        let with_replacement = self.bootstrap && self.num_trees > 1;
        let grown: Vec<(Tree, Vec<f64>)> = (0..self.num_trees)
            .into_par_iter()
            .map(|t| {
                let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
                rng.set_stream(t as u64);
                let weights =
                    bag_weights(n_rows, self.subsampling_rate, with_replacement, &mut rng);
                let mut importances = vec![0.0; n_features];
                let tree = tree::grow(&data, y, &weights, &settings, &mut rng, &mut importances);
                (tree, importances)
            })
            .collect();
        // Spark's `TreeEnsembleModel.featureImportances`: each tree's gain×weight sums normalised to
        // 1, added up over trees, and the total normalised again.
        let mut total = vec![0.0; n_features];
        for (_, imp) in &grown {
            let norm: f64 = imp.iter().sum();
            if norm > 0.0 {
                total.iter_mut().zip(imp).for_each(|(t, i)| *t += i / norm);
            }
        }
        let norm: f64 = total.iter().sum();
        if norm > 0.0 {
            for t in &mut total {
                *t /= norm;
            }
        }
        Ok(RandomForestModel {
            params: self.clone(),
            feature_names: feature_names.to_vec(),
            trees: grown.into_iter().map(|(t, _)| t).collect(),
            feature_importances: total,
            tree_weights: None,
        })
    }
}

/// Per-row multiplicities of one tree's sample: Poisson(rate) with replacement (Spark's bootstrap),
/// else Bernoulli(rate) in/out, else every row once.
fn bag_weights(n: usize, rate: f64, with_replacement: bool, rng: &mut ChaCha8Rng) -> Vec<f64> {
    if with_replacement {
        // Knuth's method: exact, and fast because rate ≤ 1.
        let limit = (-rate).exp();
        (0..n)
            .map(|_| {
                let mut k = 0.0;
                let mut p: f64 = rng.gen();
                while p > limit {
                    k += 1.0;
                    p *= rng.gen::<f64>();
                }
                k
            })
            .collect()
    } else if rate < 1.0 {
        (0..n)
            .map(|_| if rng.gen::<f64>() < rate { 1.0 } else { 0.0 })
            .collect()
    } else {
        vec![1.0; n]
    }
}

impl RandomForestModel {
    /// An ensemble fitted elsewhere (Spark): its trees, and for boosted ensembles the tree weights.
    /// Importances follow Spark's definition from the splits' gains and node weights.
    pub fn from_trees(
        params: RandomForestValidParams,
        feature_names: Vec<String>,
        trees: Vec<Tree>,
        tree_weights: Option<Vec<f64>>,
    ) -> Result<Self> {
        let n = feature_names.len();
        let mut total = vec![0.0; n];
        for tree in &trees {
            let mut imp = vec![0.0; n];
            for node in &tree.nodes {
                if let Some(s) = &node.split {
                    if let Some(i) = imp.get_mut(s.rule.feature()) {
                        *i += s.gain * node.weight;
                    }
                }
            }
            let norm: f64 = imp.iter().sum();
            if norm > 0.0 {
                total.iter_mut().zip(&imp).for_each(|(t, i)| *t += i / norm);
            }
        }
        let norm: f64 = total.iter().sum();
        if norm > 0.0 {
            for t in &mut total {
                *t /= norm;
            }
        }
        let model = RandomForestModel {
            params,
            feature_names,
            trees,
            feature_importances: total,
            tree_weights,
        };
        model.validate().map_err(ModelError::Shape)?;
        Ok(model)
    }

    /// The weights of a boosted ensemble's trees; `None` for a forest (the mean of its trees).
    pub fn tree_weights(&self) -> Option<&[f64]> {
        self.tree_weights.as_deref()
    }

    /// The parameters the forest was fitted with.
    pub fn params(&self) -> &RandomForestValidParams {
        &self.params
    }

    /// Feature names in column order.
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// The trees.
    pub fn trees(&self) -> &[Tree] {
        &self.trees
    }

    /// Spark's feature importances (sum to 1 unless no tree split at all), in feature order.
    pub fn feature_importances(&self) -> &[f64] {
        &self.feature_importances
    }

    /// The mean of the trees' predictions for one row (the weighted sum for a boosted ensemble).
    pub fn predict_row(&self, row: &[f64]) -> f64 {
        if let Some(w) = &self.tree_weights {
            return self
                .trees
                .iter()
                .zip(w)
                .map(|(t, w)| w * t.predict(row))
                .sum();
        }
        let sum: f64 = self.trees.iter().map(|t| t.predict(row)).sum();
        #[allow(clippy::cast_precision_loss)]
        let n = self.trees.len() as f64;
        sum / n
    }

    /// Predicts every row of `x`; the number of columns must match the fitted features.
    pub fn predict_array(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        if x.ncols() != self.feature_names.len() {
            return Err(ModelError::Shape(format!(
                "model has {} features, input has {}",
                self.feature_names.len(),
                x.ncols()
            )));
        }
        Ok(self.predict_unchecked(x))
    }

    fn predict_unchecked(&self, x: ArrayView2<'_, f64>) -> Array1<f64> {
        compiled::CompiledForest::new(&self.trees, self.tree_weights.as_deref()).predict(x)
    }

    /// Checks the structure of a model read from disk, so that prediction cannot index out of range.
    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        let n_features = self.feature_names.len();
        if self.trees.is_empty() || self.feature_importances.len() != n_features {
            return Err("forest has no trees or importances of the wrong length".to_string());
        }
        if self
            .tree_weights
            .as_ref()
            .is_some_and(|w| w.len() != self.trees.len() || w.iter().any(|x| !x.is_finite()))
        {
            return Err("tree weights do not match the trees".to_string());
        }
        for (t, tree) in self.trees.iter().enumerate() {
            if tree.nodes.is_empty() {
                return Err(format!("tree {t} has no nodes"));
            }
            for (i, node) in tree.nodes.iter().enumerate() {
                if let Some(s) = &node.split {
                    let child_ok = |c: u32| (c as usize) > i && (c as usize) < tree.nodes.len();
                    if s.rule.feature() >= n_features || !child_ok(s.left) || !child_ok(s.right) {
                        return Err(format!("tree {t} node {i} points outside the model"));
                    }
                }
            }
        }
        Ok(())
    }
}

impl<D, T> Fit<ArrayBase<D, Ix2>, T, ModelError> for RandomForestValidParams
where
    D: Data<Elem = f64>,
    T: AsSingleTargets<Elem = f64>,
{
    type Object = RandomForestModel;

    /// linfa entry point; feature names come from the dataset (`feature_0`… when it has none).
    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> Result<RandomForestModel> {
        let x = dataset.records().view();
        let y: Vec<f64> = dataset.as_single_targets().iter().copied().collect();
        let mut names: Vec<String> = dataset.feature_names().to_vec();
        if names.len() != dataset.records().nfeatures() {
            names = (0..x.ncols()).map(|i| format!("feature_{i}")).collect();
        }
        self.fit_arrays(x, &y, &names)
    }
}

impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix2>, Array1<f64>> for RandomForestModel {
    /// linfa's prediction; a column count that does not match the model is a programming error here
    /// (linfa's trait has no error channel), so it panics with the shapes. Use
    /// [`RandomForestModel::predict_array`] on untrusted input.
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<f64>) {
        assert_eq!(
            x.ncols(),
            self.feature_names.len(),
            "feature count differs from the model's"
        );
        assert_eq!(
            x.nrows(),
            y.len(),
            "target length differs from the row count"
        );
        y.assign(&self.predict_unchecked(x.view()));
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<f64> {
        Array1::zeros(x.nrows())
    }
}

#[cfg(test)]
mod tests;
