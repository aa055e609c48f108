//! The domain classifier: bagged, depth-limited `linfa-trees` decision trees, cross-fitted over two
//! folds so that every sampled row is scored by trees that never saw it.
//!
//! Why this shape:
//! * **Why `linfa-trees`**: the project's card names it, it is pure Rust with no BLAS, it shares
//!   `linfa` and `ndarray` with `model-core` (its only new dependency is `ndarray-rand`), and trees suit
//!   the job: mixed numerical and label-encoded categorical features, no scaling, interactions found
//!   by successive splits (a flipped correlation between two columns is two splits deep).
//! * **Why an ensemble**: a single `linfa-trees` tree predicts a hard label, so its ROC curve has one
//!   point and the AUC is a noisy balanced accuracy. Averaging the leaf shares of [`TREES_PER_FOLD`]
//!   trees on bootstrap samples (bagging) gives a graded score and a much steadier AUC.
//! * **Why depth-limited**: [`MAX_DEPTH`] levels are enough for pairwise interactions and bound the
//!   cost (linfa scans every row of every feature at each level), and shallow trees overfit less.
//! * **Why two folds**: held-out AUC on all sampled rows instead of a 30 % split, so the AUC's noise
//!   under no drift stays near 0.013 with 1000 rows a side, well below the 0.55 threshold.
//!
//! Determinism: the rows, folds and bootstraps come from seeded `SplitMix64` streams, and trees are fitted
//! in parallel but collected in order. linfa breaks a tie between two labels' weights in a leaf by
//! `HashMap` order, which varies between runs, so reference rows weigh `1 + 2^-12`: ties cannot occur,
//! and because fewer than 4096 rows enter a fit every partial sum of weights is exact in `f32`, which
//! leaves every majority unchanged.

use linfa::traits::Fit;
use linfa::DatasetBase;
use linfa_trees::{DecisionTree, TreeNode};
use ndarray::{Array1, Array2, ArrayView1};
use rayon::prelude::*;

use super::sample::SplitMix64;

/// Trees per fold. linfa's split search costs ~0.1 µs per row, feature and level, so 2 × 8 trees of
/// depth 5 on 1000 + 1000 rows and 24 columns take ~0.1 s of CPU (see BENCHMARKS.md); more trees
/// smooth the scores but barely move the AUC.
pub(crate) const TREES_PER_FOLD: usize = 8;
/// Depth of each tree: enough for interactions of a few columns.
pub(crate) const MAX_DEPTH: usize = 5;
/// A split must leave this many rows on each side.
const MIN_LEAF_ROWS: f32 = 5.0;
/// See the module doc: breaks label ties without changing any majority.
const REFERENCE_WEIGHT: f32 = 1.0 + 1.0 / 4096.0;

/// What the classifier found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Classified {
    /// ROC AUC of the out-of-fold scores, current rows as positives.
    pub(crate) auc: f64,
    /// Per feature: the impurity decrease of its splits, weighted by the rows each split saw, summed
    /// over all trees and scaled to sum to 1 (all zero when no tree split).
    pub(crate) importance: Vec<f64>,
    /// Rows used from each side (the smaller side's count: the classes are balanced).
    pub(crate) rows_per_side: usize,
}

/// Cross-fitted domain classifier on `reference` and `current` (rows × features, same columns).
///
/// # Errors
/// linfa's message when a tree cannot be fitted.
pub(crate) fn classify(
    reference: &Array2<f64>,
    current: &Array2<f64>,
    seed: u64,
) -> Result<Classified, String> {
    let features = reference.ncols();
    let mut rng = SplitMix64::new(seed);
    let m = reference.nrows().min(current.nrows());
    let mut pick = |n: usize| {
        let mut idx: Vec<usize> = (0..n).collect();
        rng.shuffle(&mut idx);
        idx.truncate(m);
        idx
    };
    let (ref_rows, cur_rows) = (pick(reference.nrows()), pick(current.nrows()));
    // (side, row) of every sampled row, with its fold: alternate rows of each shuffled side.
    let rows: Vec<(bool, usize, usize)> = ref_rows
        .iter()
        .enumerate()
        .map(|(i, &r)| (false, r, i % 2))
        .chain(cur_rows.iter().enumerate().map(|(i, &r)| (true, r, i % 2)))
        .collect();
    let row_of = |&(is_current, r, _): &(bool, usize, usize)| {
        if is_current {
            current.row(r)
        } else {
            reference.row(r)
        }
    };

    let jobs: Vec<(usize, u64)> = (0..2)
        .flat_map(|fold| (0..TREES_PER_FOLD).map(move |t| (fold, t as u64)))
        .map(|(fold, t)| {
            (
                fold,
                seed ^ (0xA076_1D64_78BD_642F_u64.wrapping_mul(t + 1 + fold as u64 * 1000)),
            )
        })
        .collect();
    let trees = jobs
        .par_iter()
        .map(|&(fold, tree_seed)| {
            let train: Vec<&(bool, usize, usize)> = rows.iter().filter(|r| r.2 != fold).collect();
            let test: Vec<&(bool, usize, usize)> = rows.iter().filter(|r| r.2 == fold).collect();
            let mut rng = SplitMix64::new(tree_seed);
            let boot: Vec<&(bool, usize, usize)> = (0..train.len())
                .map(|_| train[rng.below(train.len())])
                .collect();
            let mut x = Array2::<f64>::zeros((boot.len(), features));
            for (i, r) in boot.iter().enumerate() {
                x.row_mut(i).assign(&row_of(r));
            }
            let y: Array1<bool> = boot.iter().map(|r| r.0).collect();
            let w: Array1<f32> = boot
                .iter()
                .map(|r| if r.0 { 1.0 } else { REFERENCE_WEIGHT })
                .collect();
            let data = DatasetBase::new(x, y).with_weights(w);
            let tree = DecisionTree::params()
                .max_depth(Some(MAX_DEPTH))
                .min_weight_leaf(MIN_LEAF_ROWS)
                .min_weight_split(2.0 * MIN_LEAF_ROWS)
                .fit(&data)
                .map_err(|e| e.to_string())?;
            let mut flat = Flat::from(tree.root_node());
            for (i, r) in boot.iter().enumerate() {
                flat.learn(data.records.row(i), r.0);
            }
            let mut importance = vec![0.0; features];
            flat.importance(boot.len(), &mut importance);
            let scores: Vec<f64> = test.iter().map(|r| flat.score(row_of(r))).collect();
            Ok((fold, scores, importance))
        })
        .collect::<Result<Vec<_>, String>>()?;

    let mut importance = vec![0.0; features];
    // An odd `m` leaves one more row of each side in fold 0.
    let test_rows = |fold: usize| rows.iter().filter(|r| r.2 == fold).count();
    let mut fold_scores = [vec![0.0; test_rows(0)], vec![0.0; test_rows(1)]];
    for (fold, scores, imp) in &trees {
        for (a, b) in importance.iter_mut().zip(imp) {
            *a += b;
        }
        for (a, b) in fold_scores[*fold].iter_mut().zip(scores) {
            *a += b;
        }
    }
    let total: f64 = importance.iter().sum();
    if total > 0.0 {
        for v in &mut importance {
            *v /= total;
        }
    }
    // Out-of-fold scores with their labels (tree counts are equal, so sums rank like means).
    let mut scored: Vec<(f64, bool)> = Vec::with_capacity(rows.len());
    for (fold, scores) in fold_scores.iter().enumerate() {
        let labels = rows.iter().filter(|r| r.2 == fold).map(|r| r.0);
        scored.extend(scores.iter().copied().zip(labels));
    }
    Ok(Classified {
        auc: roc_auc(&mut scored),
        importance,
        rows_per_side: m,
    })
}

/// ROC AUC as the Mann–Whitney statistic: the chance that a random positive scores above a random
/// negative, ties counting one half (average ranks). 0.5 when a class is missing.
pub(crate) fn roc_auc(scored: &mut [(f64, bool)]) -> f64 {
    let positives = scored.iter().filter(|s| s.1).count() as f64;
    let negatives = scored.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return 0.5;
    }
    scored.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < scored.len() {
        let mut j = i;
        while j < scored.len() && scored[j].0 == scored[i].0 {
            j += 1;
        }
        // Ranks i+1 ..= j share their mean.
        let mean_rank = (i + 1 + j) as f64 / 2.0;
        rank_sum += mean_rank * scored[i..j].iter().filter(|s| s.1).count() as f64;
        i = j;
    }
    (rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives)
}

/// A fitted tree as a flat array, with what linfa does not keep: how many rows of each class reached
/// each node. A leaf's score is its share of current rows (as a random forest's `predict_proba`).
struct Flat {
    nodes: Vec<Node>,
}

struct Node {
    /// `(feature, threshold, impurity decrease, left, right)` for a split; `None` for a leaf.
    split: Option<(usize, f64, f64, usize, usize)>,
    rows: usize,
    current: usize,
}

impl Flat {
    fn from(root: &TreeNode<f64, bool>) -> Self {
        let mut flat = Flat { nodes: Vec::new() };
        flat.push(root);
        flat
    }

    fn push(&mut self, node: &TreeNode<f64, bool>) -> usize {
        let at = self.nodes.len();
        self.nodes.push(Node {
            split: None,
            rows: 0,
            current: 0,
        });
        let children = node.children();
        if let (false, Some(left), Some(right)) = (node.is_leaf(), children[0], children[1]) {
            let (feature, threshold, decrease) = node.split();
            let l = self.push(left);
            let r = self.push(right);
            self.nodes[at].split = Some((feature, threshold, decrease, l, r));
        }
        at
    }

    /// The nodes `x` passes from the root; linfa's prediction sends `x < threshold` left.
    fn path(&self, x: &ArrayView1<'_, f64>) -> Vec<usize> {
        let mut out = vec![0];
        let mut at = 0;
        while let Some((f, t, _, l, r)) = self.nodes[at].split {
            at = if x[f] < t { l } else { r };
            out.push(at);
        }
        out
    }

    fn learn(&mut self, x: ArrayView1<'_, f64>, is_current: bool) {
        for i in self.path(&x) {
            self.nodes[i].rows += 1;
            self.nodes[i].current += usize::from(is_current);
        }
    }

    fn importance(&self, total_rows: usize, out: &mut [f64]) {
        for n in &self.nodes {
            if let Some((feature, _, decrease, _, _)) = n.split {
                out[feature] += decrease * n.rows as f64 / total_rows as f64;
            }
        }
    }

    fn score(&self, x: ArrayView1<'_, f64>) -> f64 {
        let leaf = self
            .path(&x)
            .last()
            .map_or(&self.nodes[0], |&i| &self.nodes[i]);
        if leaf.rows == 0 {
            0.5
        } else {
            leaf.current as f64 / leaf.rows as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_separable_sample_of_odd_size_gives_an_auc_of_one() {
        // 301 rows a side (odd, so fold 0 holds one more row of each side); the columns separate.
        let reference = Array2::from_shape_fn((301, 2), |(i, j)| (i * (j + 1)) as f64);
        let current = Array2::from_shape_fn((305, 2), |(i, j)| 1000.0 + (i * (j + 1)) as f64);
        let found = classify(&reference, &current, 3).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(found.rows_per_side, 301);
        assert_eq!(found.auc, 1.0);
        assert!((found.importance.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn auc_counts_ties_as_half() {
        let mut perfect = [(0.1, false), (0.2, false), (0.8, true), (0.9, true)];
        assert_eq!(roc_auc(&mut perfect), 1.0);
        let mut all_tied = [(0.5, false), (0.5, true), (0.5, true)];
        assert_eq!(roc_auc(&mut all_tied), 0.5);
        // One positive above both negatives, one tied with one: (1 + 1 + 1 + 0.5) / 4.
        let mut mixed = [(0.1, false), (0.4, false), (0.4, true), (0.9, true)];
        assert_eq!(roc_auc(&mut mixed), 0.875);
    }
}
