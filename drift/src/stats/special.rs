//! Special functions, written to follow the scipy code paths Evidently calls, so the p-values agree to
//! ~1e-15 rather than "to a few digits".
//!
//! `erf`/`erfc`/`lgamma` come from the `libm` crate (a port of musl's, correctly rounded to about an ulp);
//! everything built on them is here because no maintained crate reproduces scipy's exact choices: the
//! normal CDF composed the way cephes `ndtr` does it, the regularised upper gamma for `chi2.sf`, and the
//! exact two-sample Kolmogorov–Smirnov distribution (`scipy.stats._stats_py._compute_prob_outside_square`
//! and `_stats_pythran._compute_outer_prob_inside_method`).

// As in scipy: sample sizes and loop bounds held in floats are non-negative whole numbers.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

use std::f64::consts::FRAC_1_SQRT_2;

/// Standard normal CDF, composed like cephes `ndtr` (scipy's `norm.cdf`): `0.5 + 0.5·erf` near zero,
/// `0.5·erfc` in the tails. The Z-test then computes `1 - ndtr(|z|)` as Evidently does, so tiny p-values
/// round the same way.
pub fn ndtr(a: f64) -> f64 {
    if a.is_nan() {
        return f64::NAN;
    }
    let x = a * FRAC_1_SQRT_2;
    let z = x.abs();
    if z < FRAC_1_SQRT_2 {
        0.5 + 0.5 * libm::erf(x)
    } else {
        let y = 0.5 * libm::erfc(z);
        if x > 0.0 {
            1.0 - y
        } else {
            y
        }
    }
}

/// Survival function of the chi-square distribution (`scipy.special.chdtrc`). `df = 0` gives NaN for a
/// zero statistic, which is how Evidently's chi-square reports a constant column.
pub fn chi2_sf(df: f64, x: f64) -> f64 {
    if x < 0.0 {
        return 1.0;
    }
    gamma_q(df / 2.0, x / 2.0)
}

/// Regularised upper incomplete gamma Q(a, x), with cephes `igamc`'s special cases.
pub fn gamma_q(a: f64, x: f64) -> f64 {
    if a.is_nan() || x.is_nan() || x < 0.0 || a < 0.0 {
        return f64::NAN;
    }
    if a == 0.0 {
        return if x > 0.0 { 0.0 } else { f64::NAN };
    }
    if x == 0.0 {
        return 1.0;
    }
    if x.is_infinite() {
        return 0.0;
    }
    if a.is_infinite() {
        return 1.0;
    }
    if x < a + 1.0 {
        1.0 - gamma_p_series(a, x)
    } else {
        gamma_q_fraction(a, x)
    }
}

/// `x^a e^-x / Γ(a)`, the common factor of both expansions.
fn gamma_prefactor(a: f64, x: f64) -> f64 {
    (a * x.ln() - x - libm::lgamma(a)).exp()
}

/// P(a, x) by its power series; converges fast for x < a + 1.
fn gamma_p_series(a: f64, x: f64) -> f64 {
    let mut ap = a;
    let mut term = 1.0 / a;
    let mut sum = term;
    for _ in 0..100_000 {
        ap += 1.0;
        term *= x / ap;
        sum += term;
        if term.abs() < sum.abs() * f64::EPSILON {
            break;
        }
    }
    sum * gamma_prefactor(a, x)
}

/// Q(a, x) by its continued fraction (modified Lentz); relative accuracy holds deep into the tail, which
/// matters for chi-square p-values like 1e-40.
fn gamma_q_fraction(a: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / TINY;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..100_000 {
        let i = f64::from(i);
        let an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < TINY {
            d = TINY;
        }
        c = b + an / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < f64::EPSILON {
            break;
        }
    }
    gamma_prefactor(a, x) * h
}

/// Exact two-sided p-value of the two-sample KS statistic `d` for sample sizes `n1`, `n2`, as
/// `scipy.stats.ks_2samp(method="exact")` computes it. Returns `None` where scipy's exact attempt fails
/// (it then falls back to the asymptotic distribution).
pub fn ks_2samp_exact(n1: u64, n2: u64, d: f64) -> Option<f64> {
    let g = gcd(n1, n2);
    let lcm = (n1 / g) * n2;
    // numpy's round is half-to-even; d·lcm is within rounding of an integer anyway.
    let h = (d * lcm as f64).round_ties_even() as u64;
    if h == 0 {
        return Some(1.0);
    }
    let prob = if n1 == n2 {
        prob_outside_square(n1, h)
    } else {
        outer_prob_inside(n1, n2, g, h)
    };
    (0.0..=1.0).contains(&prob).then_some(prob)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// P(D_{n,n} ≥ h/n) by the alternating binomial series in Horner form (scipy `_compute_prob_outside_square`).
fn prob_outside_square(n: u64, h: u64) -> f64 {
    let (nf, hf) = (n as f64, h as f64);
    let mut p = 0.0;
    let mut k = n / h;
    loop {
        let kf = k as f64;
        let mut p1 = 1.0;
        for j in 0..h {
            let jf = j as f64;
            p1 = (nf - kf * hf - jf) * p1 / (nf + kf * hf + jf + 1.0);
        }
        p = p1 * (1.0 - p);
        if k == 0 {
            break;
        }
        k -= 1;
    }
    2.0 * p
}

/// Proportion of lattice paths that leave the band |x/m − y/n| < h/lcm, computed as 1 − p directly
/// (Viehmann 2021), as scipy's pythran `_compute_outer_prob_inside_method` does, column by column.
fn outer_prob_inside(m: u64, n: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (mg, ng) = ((m / g) as i64, (n / g) as i64);
    let (n_i, h_i) = (n as i64, h as i64);
    let ceil_div = |num: i64, den: i64| (num as f64 / den as f64).ceil() as i64;
    let floor_div = |num: i64, den: i64| (num as f64 / den as f64).floor() as i64;

    let mut minj: i64 = 0;
    let mut maxj: i64 = ceil_div(h_i, mg).min(n_i + 1);
    let mut curlen = maxj - minj;
    let len_a = (2 * maxj + 2).min(n_i + 1) as usize;
    let mut a = vec![1.0f64; len_a];
    for v in a.iter_mut().take(maxj as usize) {
        *v = 0.0;
    }
    for i in 1..=(m as i64) {
        let (lastminj, lastlen) = (minj, curlen);
        minj = (floor_div(ng * i - h_i, mg) + 1).max(0).min(n_i);
        maxj = ceil_div(ng * i + h_i, mg).min(n_i + 1);
        if maxj <= minj {
            return 1.0;
        }
        let fi = i as f64;
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        for jj in 0..(maxj - minj) {
            let j = (jj + minj) as f64;
            let prev = a[(jj + minj - lastminj) as usize];
            val = (prev * fi + val * j) / (fi + j);
            a[jj as usize] = val;
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let start = (maxj - minj) as usize;
            let end = (start + (lastlen - curlen) as usize).min(a.len());
            for v in &mut a[start..end] {
                *v = 1.0;
            }
        }
    }
    a[(maxj - minj - 1) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(f64::MIN_POSITIVE)
    }

    #[test]
    fn ndtr_is_symmetric_and_centred() {
        assert_eq!(ndtr(0.0), 0.5);
        for x in [0.3, 1.0, 2.5, 7.0] {
            assert!(close(ndtr(x) + ndtr(-x), 1.0, 1e-15));
        }
    }

    #[test]
    fn chi2_sf_with_two_degrees_is_an_exponential() {
        // chi2 with 2 dof has sf(x) = exp(-x/2): a closed form both branches must hit.
        for x in [0.1, 1.0, 2.9, 3.1, 10.0, 200.0] {
            assert!(close(chi2_sf(2.0, x), (-x / 2.0).exp(), 1e-13), "x = {x}");
        }
    }

    #[test]
    fn chi2_sf_of_zero_degrees_and_zero_statistic_is_nan() {
        assert!(chi2_sf(0.0, 0.0).is_nan());
        assert_eq!(chi2_sf(3.0, f64::INFINITY), 0.0);
    }

    #[test]
    fn exact_ks_matches_the_closed_form_for_the_largest_distance() {
        // D = 1 for n = m means one sample lies entirely below the other: p = 2 / C(2n, n).
        let p = ks_2samp_exact(4, 4, 1.0).unwrap_or(f64::NAN);
        assert!(close(p, 2.0 / 70.0, 1e-14), "{p}");
        let p = ks_2samp_exact(3, 5, 1.0).unwrap_or(f64::NAN);
        assert!(close(p, 2.0 / 56.0, 1e-14), "{p}");
    }
}
