//! The forest flattened for prediction: one array of fixed-size nodes for all trees, categorical sets
//! as bitsets in a shared pool, rows predicted in parallel chunks.
//!
//! The fitted [`Tree`]s keep what training and inspection need (impurity, gain, weights, sorted
//! category lists behind an enum); walking them costs ~30 ns per tree per row. Scoring millions of
//! rows wants a compact, branch-light layout instead. Compiling takes microseconds, so it is done per
//! call rather than cached (a cache would have to be kept out of the model's equality and serde).

use ndarray::{Array1, ArrayView2, Axis};
use rayon::prelude::*;

use super::{Split, Tree};

/// One node. A leaf has `kind == LEAF` and its prediction in `value`.
#[derive(Clone, Copy)]
struct FlatNode {
    kind: u8,
    feature: u32,
    left: u32,
    right: u32,
    /// Threshold (continuous) or prediction (leaf).
    value: f64,
    /// Categorical: the set's words in `pool[set..set + words]`.
    set: u32,
    words: u32,
}

const LEAF: u8 = 0;
const CONTINUOUS: u8 = 1;
const CATEGORICAL: u8 = 2;

/// Rows per parallel task: large enough to amortise scheduling, small enough to balance two cores.
const CHUNK_ROWS: usize = 4096;

pub(crate) struct CompiledForest<'w> {
    nodes: Vec<FlatNode>,
    roots: Vec<u32>,
    pool: Vec<u64>,
    /// Boosted ensembles' tree weights: the prediction is Σ wₜ·treeₜ rather than the mean.
    weights: Option<&'w [f64]>,
}

impl<'w> CompiledForest<'w> {
    pub(crate) fn new(trees: &[Tree], weights: Option<&'w [f64]>) -> Self {
        let mut forest = CompiledForest {
            nodes: Vec::new(),
            roots: Vec::with_capacity(trees.len()),
            pool: Vec::new(),
            weights,
        };
        for tree in trees {
            let base = u32::try_from(forest.nodes.len()).unwrap_or(u32::MAX);
            forest.roots.push(base);
            for node in &tree.nodes {
                let flat = match &node.split {
                    None => FlatNode {
                        kind: LEAF,
                        feature: 0,
                        left: 0,
                        right: 0,
                        value: node.prediction,
                        set: 0,
                        words: 0,
                    },
                    Some(s) => {
                        let (kind, value, set, words) = match &s.rule {
                            Split::Continuous { threshold, .. } => (CONTINUOUS, *threshold, 0, 0),
                            Split::Categorical { categories, .. } => {
                                let n_words = categories.last().map_or(0, |&c| c as usize / 64 + 1);
                                let start = forest.pool.len();
                                forest.pool.resize(start + n_words, 0);
                                for &c in categories {
                                    forest.pool[start + c as usize / 64] |= 1 << (c % 64);
                                }
                                let to_u32 = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
                                (CATEGORICAL, 0.0, to_u32(start), to_u32(n_words))
                            }
                        };
                        FlatNode {
                            kind,
                            feature: u32::try_from(s.rule.feature()).unwrap_or(u32::MAX),
                            left: base + s.left,
                            right: base + s.right,
                            value,
                            set,
                            words,
                        }
                    }
                };
                forest.nodes.push(flat);
            }
        }
        forest
    }

    /// The same routing as [`Split::goes_left`]: NaN and non-category values go right.
    #[inline]
    fn leaf_value(&self, root: u32, row: &[f64]) -> f64 {
        let mut node = &self.nodes[root as usize];
        loop {
            let x = row[node.feature as usize];
            let left = match node.kind {
                LEAF => return node.value,
                CONTINUOUS => x <= node.value,
                _ => {
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    let c = x as u64;
                    #[allow(clippy::cast_precision_loss)]
                    let exact = x >= 0.0 && (c as f64) == x;
                    let word = (c / 64) as usize;
                    exact
                        && word < node.words as usize
                        && self.pool[node.set as usize + word] >> (c % 64) & 1 == 1
                }
            };
            node = &self.nodes[if left { node.left } else { node.right } as usize];
        }
    }

    /// The mean over trees (or the weighted sum) for each row of `x`.
    pub(crate) fn predict(&self, x: ArrayView2<'_, f64>) -> Array1<f64> {
        #[allow(clippy::cast_precision_loss)]
        let n_trees = self.roots.len().max(1) as f64;
        let mut out = Array1::zeros(x.nrows());
        let slice = out.as_slice_mut().unwrap_or(&mut []);
        let predict_chunk = |(rows, out): (ArrayView2<'_, f64>, &mut [f64])| {
            let mut row = vec![0.0; rows.ncols()];
            for (r, o) in rows.axis_iter(Axis(0)).zip(out.iter_mut()) {
                row.iter_mut().zip(r.iter()).for_each(|(d, s)| *d = *s);
                *o = match self.weights {
                    None => {
                        let sum: f64 = self.roots.iter().map(|&t| self.leaf_value(t, &row)).sum();
                        sum / n_trees
                    }
                    Some(w) => self
                        .roots
                        .iter()
                        .zip(w)
                        .map(|(&t, w)| w * self.leaf_value(t, &row))
                        .sum(),
                };
            }
        };
        let chunks: Vec<_> = x
            .axis_chunks_iter(Axis(0), CHUNK_ROWS)
            .zip(slice.chunks_mut(CHUNK_ROWS))
            .collect();
        if chunks.len() > 1 {
            chunks.into_par_iter().for_each(predict_chunk);
        } else {
            chunks.into_iter().for_each(predict_chunk);
        }
        out
    }
}
