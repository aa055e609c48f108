//! One regression tree grown on binned features, following Spark's `RandomForest` node by node.
//!
//! Per node: pick the feature subset (reservoir sampling), add up per-bin statistics of the node's
//! rows (weighted by their bootstrap counts), and take the split with the largest variance gain.
//! Spark grows trees level by level in memory-bounded groups; growing depth-first here gives the same
//! splits for the same random choices, because each node's choice depends only on its own rows.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::split::{BinnedFeatures, FeatureSplits};

/// How a split node routes a row. Rows for which the test holds go left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Split {
    /// `x[feature] <= threshold`.
    Continuous { feature: usize, threshold: f64 },
    /// `x[feature]` is one of the sorted `categories` (Spark's `feature 5 in {1.0,2.0}`).
    Categorical {
        feature: usize,
        categories: Vec<u32>,
    },
}

impl Split {
    /// The feature the split tests.
    pub fn feature(&self) -> usize {
        match self {
            Split::Continuous { feature, .. } | Split::Categorical { feature, .. } => *feature,
        }
    }

    /// Whether a row with this feature value goes left. NaN goes right, as `NaN <= t` is false in Spark.
    pub fn goes_left(&self, value: f64) -> bool {
        match self {
            Split::Continuous { threshold, .. } => value <= *threshold,
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Split::Categorical { categories, .. } => {
                value >= 0.0
                    && value.fract() == 0.0
                    && categories.binary_search(&(value as u32)).is_ok()
            }
        }
    }
}

/// A node of a tree, stored in a flat vector; children are indices into it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Weighted mean label of the node's rows.
    pub prediction: f64,
    /// Weighted variance of the node's labels.
    pub impurity: f64,
    /// Sum of the bootstrap weights of the node's rows.
    pub weight: f64,
    /// `None` for a leaf.
    pub split: Option<NodeSplit>,
}

/// The split of an internal node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeSplit {
    pub rule: Split,
    pub gain: f64,
    pub left: u32,
    pub right: u32,
}

/// A fitted tree; node 0 is the root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

impl Tree {
    /// The prediction for one row of raw feature values.
    pub fn predict(&self, row: &[f64]) -> f64 {
        let mut i = 0;
        loop {
            let node = &self.nodes[i];
            match &node.split {
                None => return node.prediction,
                Some(s) => {
                    i = if s.rule.goes_left(row[s.rule.feature()]) {
                        s.left
                    } else {
                        s.right
                    } as usize;
                }
            }
        }
    }

    /// Depth of the deepest leaf (a lone root is depth 0).
    pub fn depth(&self) -> usize {
        fn walk(nodes: &[Node], i: usize) -> usize {
            match &nodes[i].split {
                None => 0,
                Some(s) => 1 + walk(nodes, s.left as usize).max(walk(nodes, s.right as usize)),
            }
        }
        walk(&self.nodes, 0)
    }
}

/// Weighted label statistics: Σw, Σwy, Σwy², as Spark's `VarianceAggregator`.
#[derive(Debug, Clone, Copy, Default)]
struct Stats {
    w: f64,
    wy: f64,
    wyy: f64,
}

impl Stats {
    fn add(&mut self, w: f64, y: f64) {
        self.w += w;
        self.wy += w * y;
        self.wyy += w * y * y;
    }
    fn plus(self, o: Stats) -> Stats {
        Stats {
            w: self.w + o.w,
            wy: self.wy + o.wy,
            wyy: self.wyy + o.wyy,
        }
    }
    fn minus(self, o: Stats) -> Stats {
        Stats {
            w: self.w - o.w,
            wy: self.wy - o.wy,
            wyy: self.wyy - o.wyy,
        }
    }
    fn mean(self) -> f64 {
        if self.w > 0.0 {
            self.wy / self.w
        } else {
            0.0
        }
    }
    /// Spark's `Variance.calculate`: Σwy²/Σw − mean².
    fn impurity(self) -> f64 {
        if self.w > 0.0 {
            let m = self.wy / self.w;
            (self.wyy / self.w - m * m).max(0.0)
        } else {
            0.0
        }
    }
}

/// Settings a tree needs from the forest.
pub(crate) struct TreeSettings {
    pub max_depth: usize,
    pub min_instances_per_node: f64,
    pub min_info_gain: f64,
    pub features_per_node: usize,
}

/// Grows one tree. `weights[row]` is the bootstrap count of each row (rows with 0 are out of the bag),
/// `importances` accumulates gain × node weight per feature (Spark's definition, unnormalised).
pub(crate) fn grow(
    data: &BinnedFeatures,
    y: &[f64],
    weights: &[f64],
    settings: &TreeSettings,
    rng: &mut ChaCha8Rng,
    importances: &mut [f64],
) -> Tree {
    let mut rows: Vec<u32> = (0..y.len())
        .filter(|&r| weights[r] > 0.0)
        .map(|r| u32::try_from(r).unwrap_or(u32::MAX))
        .collect();
    let mut stats = Stats::default();
    for &r in &rows {
        stats.add(weights[r as usize], y[r as usize]);
    }
    let mut grower = Grower {
        data,
        y,
        weights,
        settings,
        rng,
        importances,
        nodes: Vec::new(),
    };
    grower.node(&mut rows, 0, stats);
    Tree {
        nodes: grower.nodes,
    }
}

struct Grower<'a> {
    data: &'a BinnedFeatures,
    y: &'a [f64],
    weights: &'a [f64],
    settings: &'a TreeSettings,
    rng: &'a mut ChaCha8Rng,
    importances: &'a mut [f64],
    nodes: Vec<Node>,
}

struct Candidate {
    feature: usize,
    gain: f64,
    left: Stats,
    /// Bins (continuous: up to and including this bin; categorical: this set) that go left.
    left_bins: LeftBins,
}

enum LeftBins {
    UpTo(usize),
    Set(Vec<u32>),
}

impl Grower<'_> {
    fn node(&mut self, rows: &mut [u32], depth: usize, stats: Stats) -> u32 {
        let index = u32::try_from(self.nodes.len()).unwrap_or(u32::MAX);
        let impurity = stats.impurity();
        self.nodes.push(Node {
            prediction: stats.mean(),
            impurity,
            weight: stats.w,
            split: None,
        });
        // Spark: a node at maxDepth is a leaf, and so is a child whose impurity is below machine ε.
        if depth >= self.settings.max_depth || impurity < f64::EPSILON {
            return index;
        }
        let features = self.sample_features();
        let mut best: Option<Candidate> = None;
        for f in features {
            if let Some(c) = self.best_split(f, rows, stats, impurity) {
                if best.as_ref().is_none_or(|b| c.gain > b.gain) {
                    best = Some(c);
                }
            }
        }
        let Some(best) = best else { return index };
        if best.gain <= 0.0 {
            return index;
        }
        let bins = &self.data.bins[best.feature];
        let goes_left = |r: u32| match &best.left_bins {
            LeftBins::UpTo(b) => (bins[r as usize] as usize) <= *b,
            LeftBins::Set(set) => set.binary_search(&u32::from(bins[r as usize])).is_ok(),
        };
        let n_left = partition(rows, goes_left);
        let rule = match (&best.left_bins, &self.data.splits[best.feature]) {
            (LeftBins::UpTo(b), FeatureSplits::Continuous { thresholds }) => Split::Continuous {
                feature: best.feature,
                threshold: thresholds[*b],
            },
            (LeftBins::Set(set), _) => Split::Categorical {
                feature: best.feature,
                categories: set.clone(),
            },
            (LeftBins::UpTo(_), FeatureSplits::Categorical { .. }) => {
                unreachable!("bins match kinds")
            }
        };
        self.importances[best.feature] += best.gain * stats.w;
        let (left_rows, right_rows) = rows.split_at_mut(n_left);
        let left = self.node(left_rows, depth + 1, best.left);
        let right = self.node(right_rows, depth + 1, stats.minus(best.left));
        self.nodes[index as usize].split = Some(NodeSplit {
            rule,
            gain: best.gain,
            left,
            right,
        });
        index
    }

    /// The features this node may split on: all, or `k` drawn by reservoir sampling (Spark's
    /// `SamplingUtils.reservoirSampleAndCount`), in ascending order so equal gains resolve alike.
    fn sample_features(&mut self) -> Vec<usize> {
        let n = self.data.splits.len();
        let k = self.settings.features_per_node;
        if k >= n {
            return (0..n).collect();
        }
        let mut reservoir: Vec<usize> = (0..k).collect();
        for i in k..n {
            let j = self.rng.gen_range(0..=i);
            if j < k {
                reservoir[j] = i;
            }
        }
        reservoir.sort_unstable();
        reservoir
    }

    fn best_split(&self, f: usize, rows: &[u32], total: Stats, impurity: f64) -> Option<Candidate> {
        let n_bins = self.data.splits[f].n_bins();
        if n_bins < 2 {
            return None;
        }
        let bins = &self.data.bins[f];
        let mut hist = vec![Stats::default(); n_bins];
        for &r in rows {
            let r = r as usize;
            hist[bins[r] as usize].add(self.weights[r], self.y[r]);
        }
        // Continuous bins are already ordered; categories are ordered by their mean label in this
        // node (Spark's ordered categorical splits for regression), empty categories last.
        let order: Vec<usize> = match &self.data.splits[f] {
            FeatureSplits::Continuous { .. } => (0..n_bins).collect(),
            FeatureSplits::Categorical { .. } => {
                let centroid = |s: &Stats| if s.w > 0.0 { s.wy / s.w } else { f64::MAX };
                let mut o: Vec<usize> = (0..n_bins).collect();
                o.sort_by(|&a, &b| centroid(&hist[a]).total_cmp(&centroid(&hist[b])));
                o
            }
        };
        let mut left = Stats::default();
        let mut best: Option<(usize, f64, Stats)> = None;
        for (i, &bin) in order.iter().enumerate().take(n_bins - 1) {
            left = left.plus(hist[bin]);
            let right = total.minus(left);
            if left.w < self.settings.min_instances_per_node
                || right.w < self.settings.min_instances_per_node
            {
                continue;
            }
            let gain = impurity
                - (left.w / total.w) * left.impurity()
                - (right.w / total.w) * right.impurity();
            if gain < self.settings.min_info_gain {
                continue;
            }
            if best.is_none_or(|(_, g, _)| gain > g) {
                best = Some((i, gain, left));
            }
        }
        let (i, gain, left) = best?;
        let left_bins = match &self.data.splits[f] {
            FeatureSplits::Continuous { .. } => LeftBins::UpTo(i),
            FeatureSplits::Categorical { .. } => {
                #[allow(clippy::cast_possible_truncation)]
                let mut set: Vec<u32> = order[..=i].iter().map(|&b| b as u32).collect();
                set.sort_unstable();
                LeftBins::Set(set)
            }
        };
        Some(Candidate {
            feature: f,
            gain,
            left,
            left_bins,
        })
    }
}

/// Moves the rows for which `left` holds to the front; returns how many there are. Stable order is
/// not needed: sums over a node are taken in row order only within one node.
fn partition(rows: &mut [u32], left: impl Fn(u32) -> bool) -> usize {
    let mut n_left = 0;
    for i in 0..rows.len() {
        if left(rows[i]) {
            rows.swap(i, n_left);
            n_left += 1;
        }
    }
    n_left
}
