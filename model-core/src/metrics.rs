//! Regression metrics and the seeded train/validation/test split.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{invalid_param, Result};

/// RMSE, MAE and R², as Spark's `RegressionEvaluator` defines them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub rmse: f64,
    pub mae: f64,
    /// 1 − `SS_res` / `SS_tot`, `SS_tot` about the mean of the true values (negative when worse than it).
    pub r2: f64,
    /// Rows scored.
    pub n: usize,
}

impl Metrics {
    /// Scores predictions; `None` when there is nothing to score or the lengths differ.
    pub fn compute(truth: &[f64], predicted: &[f64]) -> Option<Metrics> {
        if truth.is_empty() || truth.len() != predicted.len() {
            return None;
        }
        #[allow(clippy::cast_precision_loss)]
        let n = truth.len() as f64;
        let mean = truth.iter().sum::<f64>() / n;
        let (mut ss_res, mut abs, mut ss_tot) = (0.0, 0.0, 0.0);
        for (t, p) in truth.iter().zip(predicted) {
            ss_res += (t - p) * (t - p);
            abs += (t - p).abs();
            ss_tot += (t - mean) * (t - mean);
        }
        let r2 = if ss_tot > 0.0 {
            1.0 - ss_res / ss_tot
        } else {
            f64::NAN
        };
        Some(Metrics {
            rmse: (ss_res / n).sqrt(),
            mae: abs / n,
            r2,
            n: truth.len(),
        })
    }
}

/// A seeded split of row indices `0..n_rows` with Spark's sampling scheme (each row draws one uniform
/// number and lands in the part whose cumulative-weight range contains it, so part sizes vary around
/// their expectation), drawing from ChaCha8 in row order. Use it for data without a Spark reference;
/// [`crate::spark_split::spark_random_split`] reproduces Spark's own rows and is what training uses.
pub fn random_split(n_rows: usize, weights: &[f64], seed: u64) -> Result<Vec<Vec<usize>>> {
    if weights.is_empty() || weights.iter().any(|w| !(w.is_finite() && *w >= 0.0)) {
        return Err(invalid_param(
            "split",
            format!("{weights:?}"),
            "weights must be finite and ≥ 0",
        ));
    }
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return Err(invalid_param(
            "split",
            format!("{weights:?}"),
            "weights must not all be 0",
        ));
    }
    let mut bounds = Vec::with_capacity(weights.len());
    let mut acc = 0.0;
    for w in weights {
        acc += w / total;
        bounds.push(acc);
    }
    let mut parts = vec![Vec::new(); weights.len()];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for row in 0..n_rows {
        let u: f64 = rng.gen();
        let part = bounds
            .iter()
            .position(|&b| u < b)
            .unwrap_or(weights.len() - 1);
        parts[part].push(row);
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_match_hand_computed_values() {
        let m = Metrics::compute(&[1.0, 2.0, 3.0, 4.0], &[1.0, 3.0, 3.0, 2.0]).expect("scores");
        // residuals 0, -1, 0, 2: SS_res 5, |r| 3; SS_tot = 2.25 + 0.25 + 0.25 + 2.25 = 5.
        assert!((m.rmse - (5.0f64 / 4.0).sqrt()).abs() < 1e-15);
        assert!((m.mae - 0.75).abs() < 1e-15);
        assert!(m.r2.abs() < 1e-15);
        assert!(Metrics::compute(&[], &[]).is_none());
    }

    #[test]
    fn a_split_is_a_seeded_partition_near_its_weights() {
        let parts = random_split(10_000, &[0.6, 0.2, 0.2], 42).expect("splits");
        let mut all: Vec<usize> = parts.concat();
        all.sort_unstable();
        assert_eq!(all, (0..10_000).collect::<Vec<_>>());
        for (part, w) in parts.iter().zip([6000.0, 2000.0, 2000.0]) {
            #[allow(clippy::cast_precision_loss)]
            let got = part.len() as f64;
            // Binomial sd is at most 49 here; 4 sd.
            assert!((got - w).abs() < 200.0, "{got} vs {w}");
        }
        assert_eq!(
            parts,
            random_split(10_000, &[3.0, 1.0, 1.0], 42).expect("splits")
        );
        assert_ne!(
            parts,
            random_split(10_000, &[0.6, 0.2, 0.2], 43).expect("splits")
        );
    }
}
