//! `scipy.stats.kstwo.sf(d, n)`: the two-sided one-sample Kolmogorov distribution that `ks_2samp` uses
//! once a sample exceeds 10 000 rows (`method="auto"` → `"asymp"`, with `n = round(n1·n2 / (n1 + n2))`).
//!
//! Ported from `scipy/stats/_ksstats.py::_kolmogn` with its region choice intact (Ruben–Gambino edges,
//! Durbin matrix, Pomeranz, Pelz–Good, and Miller's `2·smirnov` tail), because each region is a different
//! approximation and only the same choice gives the same digits. One deviation: scipy's `smirnov` sums the
//! Birnbaum–Tingey series in double-double; here it is summed in `f64` in log space. Every term is
//! positive, so the relative error stays near 1e-13.

// As in scipy: sample sizes and loop bounds held in floats are non-negative whole numbers.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

const E128: i32 = 128;
const PI_SQUARED: f64 = std::f64::consts::PI * std::f64::consts::PI;
const MIN_LOG: f64 = -708.0;

fn two_pow(e: i32) -> f64 {
    libm::ldexp(1.0, e)
}

/// Survival function of `D_n` at `x`; `n` is a positive integer held in an `f64`.
pub(super) fn kstwo_sf(n: f64, x: f64) -> f64 {
    if n.is_nan() || n < 1.0 || x.is_nan() {
        return f64::NAN;
    }
    let n = n as u64;
    let nf = n as f64;
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let t = nf * x;
    if t <= 1.0 {
        if t <= 0.5 {
            return 1.0;
        }
        let cdf = if n <= 140 {
            (1..=n)
                .map(|i| i as f64 * (1.0 / nf) * (2.0 * t - 1.0))
                .product::<f64>()
        } else {
            (log_nfactorial_div_n_pow_n(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return (1.0 - cdf).clamp(0.0, 1.0);
    }
    if t >= nf - 1.0 {
        return (2.0 * (1.0 - x).powf(nf)).clamp(0.0, 1.0);
    }
    if x >= 0.5 {
        return (2.0 * smirnov(n, x)).clamp(0.0, 1.0);
    }
    let nxsquared = t * x;
    if n <= 140 {
        if nxsquared <= 0.754_693 {
            return (1.0 - durbin_cdf(n, x)).clamp(0.0, 1.0);
        }
        if nxsquared <= 4.0 {
            return (1.0 - pomeranz_cdf(n, x)).clamp(0.0, 1.0);
        }
        return (2.0 * smirnov(n, x)).clamp(0.0, 1.0);
    }
    if nxsquared >= 370.0 {
        return 0.0;
    }
    if nxsquared >= 2.2 {
        return (2.0 * smirnov(n, x)).clamp(0.0, 1.0);
    }
    let cdf = if nxsquared >= 18.0 {
        1.0
    } else if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        durbin_cdf(n, x)
    } else {
        pelz_good_cdf(nf, x)
    };
    (1.0 - cdf).clamp(0.0, 1.0)
}

/// ln(n! / n^n) by Stirling's series (scipy `_log_nfactorial_div_n_pow_n`).
fn log_nfactorial_div_n_pow_n(n: f64) -> f64 {
    // scipy's `_STIRLING_COEFFS`, digits kept as written there.
    #[allow(clippy::excessive_precision)]
    const C: [f64; 8] = [
        -2.955_065_359_477_124_183e-2,
        6.410_256_410_256_410_256_4e-3,
        -1.917_526_917_526_917_526_9e-3,
        8.417_508_417_508_417_508_4e-4,
        -5.952_380_952_380_952_381e-4,
        7.936_507_936_507_936_507_9e-4,
        -2.777_777_777_777_777_777_8e-3,
        8.333_333_333_333_333_333_3e-2,
    ];
    let rn = 1.0 / n;
    let x = rn / n;
    let poly = C.iter().fold(0.0, |acc, c| acc * x + c);
    n.ln() / 2.0 - n + (2.0 * std::f64::consts::PI).ln() / 2.0 + rn * poly
}

/// One-sided Smirnov survival `P(D_n⁺ ≥ x)` by the Birnbaum–Tingey sum.
fn smirnov(n: u64, x: f64) -> f64 {
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let nf = n as f64;
    let ln_n_fact = libm::lgamma(nf + 1.0);
    let last = (nf * (1.0 - x)).floor() as u64;
    let mut total = 0.0;
    for j in 0..=last {
        let jf = j as f64;
        let a = 1.0 - x - jf / nf;
        let b = x + jf / nf;
        if a <= 0.0 && nf - jf > 0.0 {
            continue;
        }
        let ln_choose = ln_n_fact - libm::lgamma(jf + 1.0) - libm::lgamma(nf - jf + 1.0);
        let ln_a = if nf - jf > 0.0 {
            (nf - jf) * a.ln()
        } else {
            0.0
        };
        total += (ln_choose + ln_a + (jf - 1.0) * b.ln()).exp();
    }
    (x * total).clamp(0.0, 1.0)
}

fn matmul(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut out = vec![0.0; m * m];
    for i in 0..m {
        for k in 0..m {
            let aik = a[i * m + k];
            if aik == 0.0 {
                continue;
            }
            for j in 0..m {
                out[i * m + j] += aik * b[k * m + j];
            }
        }
    }
    out
}

/// `Pr(D_n ≤ d)` by the Durbin matrix (Marsaglia–Tsang–Wang), scipy `_kolmogn_DMTW`.
fn durbin_cdf(n: u64, d: f64) -> f64 {
    let nf = n as f64;
    let nd = nf * d;
    if d >= 1.0 {
        return 1.0;
    }
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    let mut v: Vec<f64> = (1..=m).map(|i| 1.0 - h.powi(i as i32)).collect();
    let mut w = vec![0.0; m];
    let mut fac = 1.0;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= j as f64;
        v[j - 1] *= fac;
    }
    let tt = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    v[m - 1] = (1.0 + tt) * fac;
    let mut hm = vec![0.0; m * m];
    for i in 1..m {
        for r in (i - 1)..m {
            hm[r * m + i] = w[r - (i - 1)];
        }
    }
    for r in 0..m {
        hm[r * m] = v[r];
    }
    for c in 0..m {
        hm[(m - 1) * m + c] = v[m - 1 - c];
    }
    let mut pwr = vec![0.0; m * m];
    for i in 0..m {
        pwr[i * m + i] = 1.0;
    }
    let (mut nn, mut expnt, mut h_expnt) = (n, 0i32, 0i32);
    while nn > 0 {
        if nn % 2 == 1 {
            pwr = matmul(&pwr, &hm, m);
            expnt += h_expnt;
        }
        hm = matmul(&hm, &hm, m);
        h_expnt *= 2;
        if hm[(k - 1) * m + (k - 1)].abs() > two_pow(E128) {
            for x in &mut hm {
                *x /= two_pow(E128);
            }
            h_expnt += E128;
        }
        nn /= 2;
    }
    let mut p = pwr[(k - 1) * m + (k - 1)];
    for i in 1..=n {
        p = i as f64 * p / nf;
        if p.abs() < two_pow(-E128) {
            p *= two_pow(E128);
            expnt -= E128;
        }
    }
    if expnt != 0 {
        p = libm::ldexp(p, expnt);
    }
    p.clamp(0.0, 1.0)
}

fn pomeranz_j1j2(i: i64, n: i64, ll: i64, ceilf: i64, roundf: i64) -> (i64, i64) {
    let (j1, j2) = if i == 0 {
        (-ll - ceilf - 1, ll + ceilf - 1)
    } else {
        let (half, odd) = ((i + 1) / 2, (i + 1) % 2);
        if odd == 0 {
            if half == n + 1 {
                (n - ll - ceilf - 1, n + ll + ceilf - 1)
            } else {
                (half - 1 - ll - roundf - 1, half + ll - 1 + ceilf - 1)
            }
        } else {
            (half - 1 - ll - 1, half + ll + roundf - 1)
        }
    };
    ((j1 + 2).max(0), j2.min(n))
}

/// `Pr(D_n ≤ x)` by Pomeranz's recursion, scipy `_kolmogn_Pomeranz`.
fn pomeranz_cdf(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    let ni = n as i64;
    let t = nf * x;
    let ll = t.floor() as i64;
    let f = t - ll as f64;
    let g = f.min(1.0 - f);
    let ceilf = i64::from(f > 0.0);
    let roundf = i64::from(f > 0.5);
    let npwrs = (2 * (ll + 1)) as usize;
    let (mut gp, mut tgp, mut omp) = (vec![1.0; npwrs], vec![1.0; npwrs], vec![1.0; npwrs]);
    let (a, b, c) = (g / nf, 2.0 * g / nf, (1.0 - 2.0 * g) / nf);
    for m in 1..npwrs {
        let mf = m as f64;
        gp[m] = gp[m - 1] * a / mf;
        tgp[m] = tgp[m - 1] * b / mf;
        omp[m] = omp[m - 1] * c / mf;
    }
    let mut v0 = vec![0.0; npwrs];
    let mut v1 = vec![0.0; npwrs];
    v1[0] = 1.0;
    let (mut v0s, mut v1s) = (0i64, 0i64);
    let mut expnt = 0i32;
    let mut j1 = pomeranz_j1j2(0, ni, ll, ceilf, roundf).0;
    for i in 1..(2 * ni + 2) {
        let k1 = j1;
        std::mem::swap(&mut v0, &mut v1);
        std::mem::swap(&mut v0s, &mut v1s);
        v1.fill(0.0);
        let j2;
        (j1, j2) = pomeranz_j1j2(i, ni, ll, ceilf, roundf);
        let pwrs = if i == 1 || i == 2 * ni + 1 {
            &gp
        } else if i % 2 == 1 {
            &tgp
        } else {
            &omp
        };
        let ln2 = j2 - k1 + 1;
        if ln2 > 0 {
            let ln2u = ln2 as usize;
            let start = (k1 - v0s) as usize;
            let seg: Vec<f64> = (0..ln2u)
                .map(|q| v0.get(start + q).copied().unwrap_or(0.0))
                .collect();
            // Full convolution of seg and pwrs[..ln2], then the slice scipy keeps.
            let conv_start = (j1 - k1) as usize;
            let conv_len = (j2 - j1 + 1).max(0) as usize;
            for (q, slot) in v1.iter_mut().take(conv_len).enumerate() {
                let idx = conv_start + q;
                let mut s = 0.0;
                for p in 0..ln2u {
                    if idx >= p && idx - p < ln2u {
                        s += seg[p] * pwrs[idx - p];
                    }
                }
                *slot = s;
            }
            let max = v1.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if 0.0 < max && max < two_pow(-E128) {
                for x in &mut v1 {
                    *x *= two_pow(E128);
                }
                expnt -= E128;
            }
            v1s = v0s + j1 - k1;
        }
    }
    let mut ans = v1[(ni - v1s) as usize];
    for m in 1..=n {
        if ans.abs() > two_pow(E128) {
            ans *= two_pow(-E128);
            expnt += E128;
        }
        ans *= m as f64;
    }
    if expnt != 0 {
        ans = libm::ldexp(ans, expnt);
    }
    ans.clamp(0.0, 1.0)
}

/// Pelz–Good approximation of `Pr(D_n ≤ x)`, scipy `_kolmogn_PelzGood`.
fn pelz_good_cdf(n: f64, x: f64) -> f64 {
    let z = n.sqrt() * x;
    let (z2, z3, z4, z6) = (z * z, z.powi(3), z.powi(4), z.powi(6));
    let qlog = -PI_SQUARED / 8.0 / z2;
    if qlog < MIN_LOG {
        return 0.0;
    }
    let q = qlog.exp();
    let (pi4, pi6) = (PI_SQUARED * PI_SQUARED, PI_SQUARED.powi(3));
    let k1a = -z2;
    let k1b = PI_SQUARED / 4.0;
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * PI_SQUARED / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = PI_SQUARED * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z.powi(8);
    let mut k = [0.0f64; 4];
    let maxk = (16.0 * z / std::f64::consts::PI).ceil() as i64;
    for kk in (1..=maxk).rev() {
        let m = (2 * kk - 1) as f64;
        let (m2, m4, m6) = (m * m, m.powi(4), m.powi(6));
        let qpower = q.powf((8 * kk) as f64);
        let coeffs = [
            1.0,
            k1a + k1b * m2,
            k2a + k2b * m2 + k2c * m4,
            k3a + k3b * m2 + k3c * m4 + k3d * m6,
        ];
        for (acc, c) in k.iter_mut().zip(coeffs) {
            *acc = *acc * qpower + c;
        }
    }
    let sqrt2pi = (2.0 * std::f64::consts::PI).sqrt();
    let denominators = [z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for (acc, d) in k.iter_mut().zip(denominators) {
        *acc = *acc * q * sqrt2pi / d;
    }
    let q = (-PI_SQUARED / 2.0 / z2).exp();
    let sqrt3z = 3f64.sqrt() * z;
    let (mut k2extra, mut k3extra) = (0.0, 0.0);
    for kk in (1..=maxk).rev() {
        let kf = kk as f64;
        let ksq = kf * kf;
        let qp = q.powf(ksq);
        k2extra += ksq * qp;
        let kspi = std::f64::consts::PI * kf;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksq * qp;
    }
    k[2] += k2extra * PI_SQUARED * sqrt2pi / (-36.0 * z3);
    k[3] += k3extra * PI_SQUARED * sqrt2pi / (216.0 * z6);
    (0..4).map(|i| k[i] / n.powf(i as f64 / 2.0)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_region_matches_scipy_kstwo() {
        // Points generated by drift/fixtures/make_fixtures.py with scipy.stats.kstwo.sf.
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("../../fixtures/kstwo.json")).unwrap_or_default();
        let points = fixture["points"].as_array().cloned().unwrap_or_default();
        assert!(points.len() > 80);
        for p in points {
            let (n, d, want) = (
                p[0].as_f64().unwrap_or(0.0),
                p[1].as_f64().unwrap_or(0.0),
                p[2].as_f64().unwrap_or(-1.0),
            );
            let got = kstwo_sf(n, d);
            let err = if got == want {
                0.0
            } else {
                (got - want).abs() / want.abs()
            };
            assert!(
                err <= 1e-9,
                "kstwo.sf({d}, {n}): got {got:e}, scipy {want:e}, rel {err:e}"
            );
        }
    }

    #[test]
    fn regions_agree_where_they_meet() {
        // Durbin is exact; Pomeranz is exact too: on a point both can take they must agree.
        let (n, x) = (50, 0.1);
        let a = durbin_cdf(n, x);
        let b = pomeranz_cdf(n, x);
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }

    #[test]
    fn smirnov_of_one_sample_is_linear() {
        assert!((smirnov(1, 0.3) - 0.7).abs() < 1e-15);
    }

    #[test]
    fn the_sf_falls_from_one_to_zero() {
        let n = 400.0;
        let mut last = 1.0;
        for i in 1..100 {
            let p = kstwo_sf(n, f64::from(i) / 200.0);
            assert!(p <= last + 1e-12, "not monotone at {i}");
            last = p;
        }
        assert!(last < 1e-10);
    }
}
