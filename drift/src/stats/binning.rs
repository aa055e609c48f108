//! numpy's histogram machinery as Evidently uses it: `np.histogram_bin_edges(x, bins="sturges")` and
//! `np.histogram(x, bins=edges)` with an explicit edge array. Reproduced step by step (including
//! `np.linspace`'s rounding) because a value on a bin edge moves between bins otherwise, and PSI/KL/JS
//! follow the bin counts.

use crate::summary::NumSummary;

/// Sturges edges for data whose minimum, maximum and size are given (`np.histogram_bin_edges`): width
/// `ptp / (log2(size) + 1)`, `ceil(ptp / width)` equal bins, and a unit-wide bin around a constant.
///
/// `integer` is numpy's rule for an integer array (`_get_bin_edges`: `if np.issubdtype(a.dtype,
/// np.integer) and width < 1: width = 1`): bins are never narrower than one unit, so a 0/1 column
/// gets one bin `[0, 1]` where floats get two. The edges themselves are still floats.
pub fn sturges_edges(min: f64, max: f64, size: u64, integer: bool) -> Vec<f64> {
    let (first, last) = if min == max {
        (min - 0.5, max + 0.5)
    } else {
        (min, max)
    };
    let mut width = (max - min) / ((size as f64).log2() + 1.0);
    if integer && width != 0.0 && width < 1.0 {
        width = 1.0;
    }
    // numpy tests `if width:`; zero means one bin.
    let bins = if width == 0.0 {
        1
    } else {
        // A whole, positive number of bins (range over width, rounded up).
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let n = ((last - first) / width).ceil() as usize;
        n
    };
    linspace(first, last, bins + 1)
}

/// `np.linspace(start, stop, num)` with `endpoint=True`: `start + i·step`, the last edge forced to `stop`.
pub fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    if num == 0 {
        return Vec::new();
    }
    if num == 1 {
        return vec![start];
    }
    let div = (num - 1) as f64;
    let delta = stop - start;
    let step = delta / div;
    let mut out: Vec<f64> = (0..num)
        .map(|i| {
            let i = i as f64;
            let y = if step == 0.0 {
                i / div * delta
            } else {
                i * step
            };
            y + start
        })
        .collect();
    out[num - 1] = stop;
    out
}

/// Counts per bin as `np.histogram(x, bins=edges)` gives them: bin `i` holds `edges[i] <= x < edges[i+1]`,
/// the last bin also holds `x == edges[last]`; values outside the edges are not counted.
pub fn histogram(summary: &NumSummary, edges: &[f64]) -> Vec<u64> {
    if edges.len() < 2 {
        return Vec::new();
    }
    // prefix[k] = rows holding one of the first k distinct values.
    let mut prefix = Vec::with_capacity(summary.counts.len() + 1);
    prefix.push(0u64);
    let mut acc = 0;
    for c in &summary.counts {
        acc += c;
        prefix.push(acc);
    }
    let below = |x: f64| prefix[summary.values.partition_point(|v| *v < x)];
    let at_most = |x: f64| prefix[summary.values.partition_point(|v| *v <= x)];
    let last = edges.len() - 1;
    let mut cum: Vec<u64> = edges[..last].iter().map(|&e| below(e)).collect();
    cum.push(at_most(edges[last]));
    cum.windows(2).map(|w| w[1].saturating_sub(w[0])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linspace_hits_both_ends() {
        let e = linspace(0.0, 1.0, 4);
        assert_eq!(e.len(), 4);
        assert_eq!(e[0], 0.0);
        assert_eq!(e[3], 1.0);
        assert!((e[1] - 1.0 / 3.0).abs() < 1e-16);
    }

    #[test]
    fn sturges_uses_log2_of_the_size() {
        // 8 values over [0, 8]: width 8 / (3 + 1) = 2, so four bins.
        assert_eq!(
            sturges_edges(0.0, 8.0, 8, false),
            vec![0.0, 2.0, 4.0, 6.0, 8.0]
        );
        // A constant gets one bin one unit wide.
        assert_eq!(sturges_edges(3.0, 3.0, 10, false), vec![2.5, 3.5]);
    }

    #[test]
    fn integer_bins_are_at_least_one_unit_wide() {
        // 0/1 over 2 values: width 1 / (1 + 1) = 0.5 → two float bins, one integer bin.
        assert_eq!(sturges_edges(0.0, 1.0, 2, false), vec![0.0, 0.5, 1.0]);
        assert_eq!(sturges_edges(0.0, 1.0, 2, true), vec![0.0, 1.0]);
        // Wide enough already: the rule changes nothing.
        assert_eq!(
            sturges_edges(0.0, 8.0, 8, true),
            sturges_edges(0.0, 8.0, 8, false)
        );
        // A constant integer column keeps numpy's unit bin around it.
        assert_eq!(sturges_edges(3.0, 3.0, 10, true), vec![2.5, 3.5]);
    }

    #[test]
    fn histogram_puts_edge_values_right_and_closes_the_last_bin() {
        let s = NumSummary::from_values(&[0.0, 1.0, 1.0, 2.0, 3.0]);
        assert_eq!(histogram(&s, &[0.0, 1.0, 2.0, 3.0]), vec![1, 2, 2]);
        assert_eq!(histogram(&s, &[0.5, 1.5]), vec![2]);
    }
}
