//! The tests themselves, each following the Evidently 0.7 implementation named in its doc line
//! (`evidently/legacy/calculations/stattests/*.py`) and the scipy function it calls.

use super::binning::{histogram, sturges_edges};
use super::{kolmogorov, special};
use crate::summary::{align, union_distinct, Neumaier, NumSummary, Summary};

/// scipy `ks_2samp`'s `method="auto"` switches to the asymptotic distribution above this size.
const KS_MAX_EXACT_N: u64 = 10_000;

/// `_ks_stat_test`: `scipy.stats.ks_2samp(ref, cur)` two-sided p-value.
pub(super) fn ks(r: &NumSummary, c: &NumSummary) -> f64 {
    let (n1, n2) = (r.n, c.n);
    let (f1, f2) = (n1 as f64, n2 as f64);
    // ECDF difference at every observed value, as scipy evaluates `searchsorted(side="right")` there.
    let (mut max_s, mut min_s) = (f64::NEG_INFINITY, f64::INFINITY);
    let (mut i, mut j, mut cum1, mut cum2) = (0usize, 0usize, 0u64, 0u64);
    while i < r.values.len() || j < c.values.len() {
        // Values are finite, so +inf marks an exhausted side.
        let a = r.values.get(i).copied().unwrap_or(f64::INFINITY);
        let b = c.values.get(j).copied().unwrap_or(f64::INFINITY);
        let x = a.min(b);
        // Branch-free steps: which side advances is data-dependent and mispredicts half the time.
        let (ta, tb) = (a == x, b == x);
        cum1 += r.counts.get(i).copied().unwrap_or(0) * u64::from(ta);
        cum2 += c.counts.get(j).copied().unwrap_or(0) * u64::from(tb);
        i += usize::from(ta);
        j += usize::from(tb);
        let diff = cum1 as f64 / f1 - cum2 as f64 / f2;
        max_s = max_s.max(diff);
        min_s = min_s.min(diff);
    }
    let min_s = (-min_s).clamp(0.0, 1.0);
    let d = if min_s > max_s { min_s } else { max_s };
    let exact = if n1.max(n2) <= KS_MAX_EXACT_N {
        special::ks_2samp_exact(n1, n2, d)
    } else {
        None
    };
    let p = exact.unwrap_or_else(|| {
        let (m, n) = (f1.max(f2), f1.min(f2));
        let en = m * n / (m + n);
        kolmogorov::kstwo_sf(en.round_ties_even(), d)
    });
    p.clamp(0.0, 1.0)
}

/// `_wasserstein_distance_norm`: `scipy.stats.wasserstein_distance(ref, cur) / max(np.std(ref), 0.001)`.
pub(super) fn wasserstein(r: &NumSummary, c: &NumSummary) -> f64 {
    let norm = r.std().max(0.001);
    let (f1, f2) = (r.n as f64, c.n as f64);
    let (mut i, mut j, mut cum1, mut cum2) = (0usize, 0usize, 0u64, 0u64);
    let mut total = Neumaier::default();
    let mut prev: Option<(f64, f64)> = None; // (value, |U - V| right of it)
    while i < r.values.len() || j < c.values.len() {
        let a = r.values.get(i).copied().unwrap_or(f64::INFINITY);
        let b = c.values.get(j).copied().unwrap_or(f64::INFINITY);
        let x = a.min(b);
        if let Some((px, gap)) = prev {
            total.add(gap * (x - px));
        }
        // Branch-free steps: which side advances is data-dependent and mispredicts half the time.
        let (ta, tb) = (a == x, b == x);
        cum1 += r.counts.get(i).copied().unwrap_or(0) * u64::from(ta);
        cum2 += c.counts.get(j).copied().unwrap_or(0) * u64::from(tb);
        i += usize::from(ta);
        j += usize::from(tb);
        prev = Some((x, (cum1 as f64 / f1 - cum2 as f64 / f2).abs()));
    }
    total.total() / norm
}

/// `_chi_stat_test`: `scipy.stats.chisquare(cur_counts, ref_counts · n_cur / n_ref)` over the union of
/// values. A value unseen in the reference has expected count 0, so the statistic is inf and p = 0.
pub(super) fn chisquare(r: &Summary, c: &Summary) -> f64 {
    let a = align(r, c);
    let k_norm = c.len() as f64 / r.len() as f64;
    let mut stat = Neumaier::default();
    for (&rc, &cc) in a.reference.iter().zip(&a.current) {
        let expected = rc as f64 * k_norm;
        let observed = cc as f64;
        stat.add((observed - expected).powi(2) / expected);
    }
    let df = a.reference.len() as f64 - 1.0;
    special::chi2_sf(df, stat.total())
}

/// `_z_stat_test`: pooled two-proportion Z-test of "equals the first value in sorted order", two-sided,
/// as `2 * (1 - norm.cdf(|z|))`. One identical value on both sides gives p = 1.
pub(super) fn z(r: &Summary, c: &Summary) -> f64 {
    let a = align(r, c);
    if a.reference.len() == 1 {
        return 1.0;
    }
    let (n1, n2) = (r.len() as f64, c.len() as f64);
    let p1 = (r.len() - a.reference[0]) as f64 / n1;
    let p2 = (c.len() - a.current[0]) as f64 / n2;
    let pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
    let z = (p1 - p2) / (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    2.0 * (1.0 - special::ndtr(z.abs()))
}

/// Evidently's `get_binned_data`: shares per Sturges bin over both sides combined for a numerical column
/// with more than 20 distinct reference values, else shares per distinct value. With `fill_zeroes`, empty
/// bins get 1e-4 (or the side's smallest share / 1e6 when that is ≤ 1e-4).
fn binned_shares(r: &Summary, c: &Summary, fill_zeroes: bool) -> (Vec<f64>, Vec<f64>) {
    let (rn, cn) = (r.len() as f64, c.len() as f64);
    let (rc, cc) = match (r, c) {
        (Summary::Num(rs), Summary::Num(cs)) if rs.values.len() > 20 => {
            // `pd.concat` of the two sides stays an integer array only when both are.
            let integer = rs.integer && cs.integer;
            let edges = sturges_edges(
                rs.min().min(cs.min()),
                rs.max().max(cs.max()),
                rs.n + cs.n,
                integer,
            );
            (histogram(rs, &edges), histogram(cs, &edges))
        }
        _ => {
            let a = align(r, c);
            (a.reference, a.current)
        }
    };
    let mut rp: Vec<f64> = rc.iter().map(|&x| x as f64 / rn).collect();
    let mut cp: Vec<f64> = cc.iter().map(|&x| x as f64 / cn).collect();
    if fill_zeroes {
        fill(&mut rp);
        fill(&mut cp);
    }
    (rp, cp)
}

fn fill(shares: &mut [f64]) {
    let smallest = shares
        .iter()
        .copied()
        .filter(|&s| s != 0.0)
        .fold(f64::INFINITY, f64::min);
    let filler = if smallest <= 0.0001 {
        smallest / 1e6
    } else {
        0.0001
    };
    for s in shares.iter_mut().filter(|s| **s == 0.0) {
        *s = filler;
    }
}

/// scipy `rel_entr(x, y)`: `x·ln(x/y)`, 0 for x = 0, inf where y = 0 < x.
fn rel_entr(x: f64, y: f64) -> f64 {
    if x > 0.0 && y > 0.0 {
        x * (x / y).ln()
    } else if x == 0.0 && y >= 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

fn sum(values: impl Iterator<Item = f64>) -> f64 {
    let mut s = Neumaier::default();
    values.for_each(|v| s.add(v));
    s.total()
}

fn normalised(p: &[f64]) -> Vec<f64> {
    let total = sum(p.iter().copied());
    p.iter().map(|x| x / total).collect()
}

/// `_jensenshannon`: `scipy.spatial.distance.jensenshannon(ref, cur)` (natural log) on unfilled shares.
pub(super) fn jensenshannon(r: &Summary, c: &Summary) -> f64 {
    let (rp, cp) = binned_shares(r, c, false);
    let (p, q) = (normalised(&rp), normalised(&cp));
    let m: Vec<f64> = p.iter().zip(&q).map(|(a, b)| (a + b) / 2.0).collect();
    let left = sum(p.iter().zip(&m).map(|(a, b)| rel_entr(*a, *b)));
    let right = sum(q.iter().zip(&m).map(|(a, b)| rel_entr(*a, *b)));
    f64::midpoint(left, right).sqrt()
}

/// `_psi`: Σ (ref − cur)·ln(ref / cur) on zero-filled shares.
pub(super) fn psi(r: &Summary, c: &Summary) -> f64 {
    let (rp, cp) = binned_shares(r, c, true);
    sum(rp.iter().zip(&cp).map(|(a, b)| (a - b) * (a / b).ln()))
}

/// `_kl_div`: `scipy.stats.entropy(ref, cur)`, i.e. KL(ref ‖ cur) after normalising the zero-filled shares.
pub(super) fn kl_div(r: &Summary, c: &Summary) -> f64 {
    let (rp, cp) = binned_shares(r, c, true);
    let (p, q) = (normalised(&rp), normalised(&cp));
    sum(p.iter().zip(&q).map(|(a, b)| rel_entr(*a, *b)))
}

/// `_hellinger_distance`: categorical on value shares; numerical on density histograms over Sturges edges
/// fitted to the *distinct* values of both sides (not the rows), weighted by the mean bin width.
pub(super) fn hellinger(r: &Summary, c: &Summary) -> f64 {
    let overlap = if let (Summary::Num(rs), Summary::Num(cs)) = (r, c) {
        let distinct = union_distinct(r, c) as u64;
        // The keys are `set(ref) | set(cur)`: a value on both sides keeps the reference's type, so
        // `np.asarray(keys)` is an integer array when the reference is, unless current adds a value
        // of its own that is a float.
        let integer = rs.integer && (cs.integer || union_distinct(r, c) == rs.values.len());
        let edges = sturges_edges(
            rs.min().min(cs.min()),
            rs.max().max(cs.max()),
            distinct,
            integer,
        );
        let h1 = density(&histogram(rs, &edges), &edges);
        let h2 = density(&histogram(cs, &edges), &edges);
        let bin_width = (edges[edges.len() - 1] - edges[0]) / (edges.len() - 1) as f64;
        sum(h1.iter().zip(&h2).map(|(a, b)| (a * b).sqrt() * bin_width))
    } else {
        let a = align(r, c);
        let (rn, cn) = (r.len() as f64, c.len() as f64);
        sum(a
            .reference
            .iter()
            .zip(&a.current)
            .map(|(&x, &y)| ((x as f64 / rn) * (y as f64 / cn)).sqrt()))
    };
    (1.0 - overlap.clamp(0.0, 1.0)).sqrt()
}

/// `np.histogram(..., density=True)`: `counts / bin_width / total`.
fn density(counts: &[u64], edges: &[f64]) -> Vec<f64> {
    let total: u64 = counts.iter().sum();
    counts
        .iter()
        .zip(edges.windows(2))
        .map(|(&n, w)| n as f64 / (w[1] - w[0]) / total as f64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::CatSummary;

    fn num(v: &[f64]) -> NumSummary {
        NumSummary::from_values(v)
    }

    fn cat(v: &[&str]) -> Summary {
        let values = crate::data::Values::text(v.iter().map(|s| Some(*s)));
        match values {
            crate::data::Values::Text { codes, dictionary } => {
                Summary::Cat(CatSummary::from_codes(&codes, &dictionary))
            }
            crate::data::Values::Numeric(_) | crate::data::Values::Integer(_) => {
                unreachable!("text() builds text")
            }
        }
    }

    #[test]
    fn identical_samples_show_no_distance() {
        let a = num(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        assert_eq!(wasserstein(&a, &a), 0.0);
        assert_eq!(ks(&a, &a), 1.0);
        let s = Summary::Num(a);
        assert_eq!(jensenshannon(&s, &s), 0.0);
        assert_eq!(psi(&s, &s), 0.0);
        assert_eq!(hellinger(&s, &s), 0.0);
    }

    #[test]
    fn wasserstein_of_a_shift_is_the_shift_over_the_std() {
        let a = num(&[0.0, 2.0]);
        let b = num(&[1.0, 3.0]);
        // W1 = 1, population std of [0, 2] = 1.
        assert!((wasserstein(&a, &b) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn a_category_unseen_in_reference_gives_chisquare_p_zero() {
        assert_eq!(chisquare(&cat(&["a", "b", "a"]), &cat(&["a", "c"])), 0.0);
        assert!(chisquare(&cat(&["a", "a"]), &cat(&["a"])).is_nan());
    }

    #[test]
    fn disjoint_categories_reach_the_js_maximum() {
        let d = jensenshannon(&cat(&["a"]), &cat(&["b"]));
        assert!((d - std::f64::consts::LN_2.sqrt()).abs() < 1e-15);
        assert_eq!(hellinger(&cat(&["a"]), &cat(&["b"])), 1.0);
    }
}
