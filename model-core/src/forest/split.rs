//! Candidate splits and pre-binning, as Spark's `RandomForest.findSplits` computes them.
//!
//! Continuous features get at most `maxBins − 1` thresholds from the distinct values of a sample of the
//! training rows (all rows when there are at most max(maxBins², 10 000)); a row goes left when its
//! value ≤ the threshold. Categorical features get one bin per category. Every value is binned once per
//! fit, so growing a node only adds up per-bin statistics.

use ndarray::ArrayView2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};

/// How a feature is split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum FeatureSplits {
    /// Sorted thresholds; bin `i` holds values in (thresholds[i−1], thresholds[i]].
    Continuous { thresholds: Vec<f64> },
    /// Categories `0..arity`, one bin each.
    Categorical { arity: usize },
}

impl FeatureSplits {
    /// Number of bins.
    pub fn n_bins(&self) -> usize {
        match self {
            FeatureSplits::Continuous { thresholds } => thresholds.len() + 1,
            FeatureSplits::Categorical { arity } => *arity,
        }
    }
}

/// Spark's `findSplitsForContinuousFeature` on one feature's sampled values (unit weights).
///
/// With at most `num_splits` gaps between distinct values every midpoint is a threshold. Otherwise the
/// sorted distinct values are walked with a stride of n / (`num_splits` + 1) rows, and a midpoint is
/// emitted whenever adding the next value's count would move the running count further from the
/// current target. This is Spark's approximate quantile rule, not a plain quantile function, and may
/// yield fewer than `num_splits` thresholds.
pub fn continuous_thresholds(values: &mut [f64], num_splits: usize) -> Vec<f64> {
    if values.is_empty() {
        return Vec::new();
    }
    values.sort_by(f64::total_cmp);
    let mut distinct: Vec<(f64, f64)> = Vec::new();
    for &v in values.iter() {
        match distinct.last_mut() {
            // -0.0 and 0.0 are one value, as in Spark's map of doubles after `+ 0.0` normalisation.
            Some((last, count)) if *last == v => *count += 1.0,
            _ => distinct.push((v, 1.0)),
        }
    }
    let possible = distinct.len() - 1;
    if possible == 0 {
        return Vec::new();
    }
    if possible <= num_splits {
        return distinct
            .windows(2)
            .map(|w| f64::midpoint(w[0].0, w[1].0))
            .collect();
    }
    #[allow(clippy::cast_precision_loss)]
    let stride = values.len() as f64 / (num_splits + 1) as f64;
    let mut thresholds = Vec::with_capacity(num_splits);
    let mut current = distinct[0].1;
    let mut target = stride;
    for pair in distinct.windows(2) {
        let previous = current;
        current += pair[1].1;
        if (previous - target).abs() < (current - target).abs() {
            thresholds.push(f64::midpoint(pair[0].0, pair[1].0));
            target += stride;
        }
    }
    thresholds
}

/// All features binned, column-major: `bins[f][row]`.
#[derive(Debug, Clone)]
pub struct BinnedFeatures {
    pub splits: Vec<FeatureSplits>,
    pub bins: Vec<Vec<u16>>,
}

/// The bin of a continuous value: the number of thresholds below it, so `value ≤ thresholds[i]`
/// exactly when `bin ≤ i`.
#[allow(clippy::cast_possible_truncation)]
pub fn bin_of(thresholds: &[f64], value: f64) -> u16 {
    thresholds.partition_point(|&t| t < value) as u16
}

/// Computes the splits of every feature and bins the data.
///
/// `arity[f]` is `Some(k)` for a categorical feature. Following Spark, `max_bins` is first capped at
/// the number of rows, every categorical arity must fit, and a categorical feature with one category
/// is treated as continuous.
pub fn bin_features(
    x: ArrayView2<'_, f64>,
    arity: &[Option<usize>],
    feature_names: &[String],
    max_bins: usize,
    seed: u64,
) -> Result<BinnedFeatures> {
    let (n_rows, n_features) = x.dim();
    let max_possible_bins = max_bins.min(n_rows).max(2);
    for (f, a) in arity.iter().enumerate() {
        if let Some(a) = *a {
            if a > max_possible_bins {
                return Err(ModelError::MaxBinsTooSmall {
                    max_bins: max_possible_bins,
                    feature: f,
                    name: feature_names.get(f).cloned().unwrap_or_default(),
                    arity: a,
                });
            }
        }
    }
    // Spark samples max(maxBins², 10 000) rows (expected) for the thresholds when the data is larger.
    let wanted = (max_bins * max_bins).max(10_000);
    let sample: Vec<usize> = if n_rows <= wanted {
        (0..n_rows).collect()
    } else {
        #[allow(clippy::cast_precision_loss)]
        let fraction = wanted as f64 / n_rows as f64;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(u64::MAX);
        (0..n_rows)
            .filter(|_| rng.gen::<f64>() < fraction)
            .collect()
    };
    let mut splits = Vec::with_capacity(n_features);
    let mut bins = Vec::with_capacity(n_features);
    for (f, column) in x.columns().into_iter().enumerate() {
        match arity.get(f).copied().flatten() {
            Some(a) if a > 1 => {
                let mut b = Vec::with_capacity(n_rows);
                for (row, &v) in column.iter().enumerate() {
                    #[allow(clippy::cast_precision_loss)]
                    let ok = v >= 0.0 && v.fract() == 0.0 && v < a as f64;
                    if !ok {
                        return Err(ModelError::BadCategory {
                            feature: f,
                            row,
                            value: v,
                            arity: a,
                        });
                    }
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    b.push(v as u16);
                }
                splits.push(FeatureSplits::Categorical { arity: a });
                bins.push(b);
            }
            _ => {
                let mut values: Vec<f64> = sample.iter().map(|&r| column[r]).collect();
                let thresholds = continuous_thresholds(&mut values, max_possible_bins - 1);
                bins.push(column.iter().map(|&v| bin_of(&thresholds, v)).collect());
                splits.push(FeatureSplits::Continuous { thresholds });
            }
        }
    }
    Ok(BinnedFeatures { splits, bins })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_distinct_values_give_every_midpoint() {
        let mut v = vec![3.0, 1.0, 2.0, 2.0, 1.0];
        assert_eq!(continuous_thresholds(&mut v, 39), vec![1.5, 2.5]);
        let mut constant = vec![4.0; 10];
        assert!(continuous_thresholds(&mut constant, 39).is_empty());
    }

    #[test]
    fn many_distinct_values_follow_the_stride_rule() {
        // 0..100 each once, 3 splits: stride 25; the running count passes 25, 50 and 75 at the values
        // 24|25, 49|50, 74|75 (ties keep the earlier value, as `previousGap < currentGap` does).
        let mut v: Vec<f64> = (0..100).map(f64::from).collect();
        assert_eq!(continuous_thresholds(&mut v, 3), vec![24.5, 49.5, 74.5]);
    }

    #[test]
    fn heavy_values_can_yield_fewer_thresholds_than_asked() {
        // 0..=9 once each, then 10 ninety times: stride 100/6 ≈ 16.7, and the running count jumps from
        // 10 straight to 100, so only the midpoint before the heavy value is emitted.
        let mut v: Vec<f64> = (0..10)
            .map(f64::from)
            .chain(std::iter::repeat_n(10.0, 90))
            .collect();
        assert_eq!(continuous_thresholds(&mut v, 5), vec![9.5]);
    }

    #[test]
    fn binning_agrees_with_the_left_rule() {
        let t = [1.5, 2.5];
        for (v, bin) in [(1.0, 0), (1.5, 0), (2.0, 1), (2.5, 1), (3.0, 2)] {
            assert_eq!(bin_of(&t, v), bin, "{v}");
        }
    }

    #[test]
    fn a_categorical_feature_wider_than_max_bins_is_refused() {
        let x = ndarray::Array2::<f64>::zeros((100, 1));
        let err = bin_features(x.view(), &[Some(36)], &["hood".into()], 32, 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "maxBins (= 32) must be at least the number of values of every categorical feature, \
             but feature 0 `hood` has 36 values"
        );
    }
}
