//! The benchmark shape: 16 numerical + 8 categorical columns per side. In current, n0..n3
//! shift by +0.2, n4..n5 scale by 1.3, and c0..c1 reverse their Zipf weights, so 8 of 24 columns drift.
//! A local xorshift generator keeps the bench free of RNG dependencies and repeatable.

use drift::{Dataset, Values};

pub(crate) struct Rng(pub u64);

impl Rng {
    pub(crate) fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    pub(crate) fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// Zipf-weighted pick among `k` categories; `reversed` flips the weights.
fn zipf_cdf(k: usize, reversed: bool) -> Vec<f64> {
    let mut w: Vec<f64> = (1..=k).map(|i| 1.0 / i as f64).collect();
    if reversed {
        w.reverse();
    }
    let total: f64 = w.iter().sum();
    let mut acc = 0.0;
    w.iter()
        .map(|x| {
            acc += x / total;
            acc
        })
        .collect()
}

pub(crate) fn side(rows: usize, seed: u64, current: bool) -> Dataset {
    let mut rng = Rng(seed);
    let mut d = Dataset::new();
    for i in 0..16 {
        let (shift, scale) = match (current, i) {
            (true, 0..=3) => (0.2, 1.0),
            (true, 4 | 5) => (0.0, 1.3),
            _ => (0.0, 1.0),
        };
        let values = (0..rows).map(|_| shift + scale * rng.normal()).collect();
        d.push(format!("n{i}"), Values::Numeric(values))
            .expect("equal lengths");
    }
    for i in 0..8 {
        let k = 4 + 2 * i;
        let labels: Vec<String> = (0..k).map(|j| format!("c{i}_v{j}")).collect();
        let cdf = zipf_cdf(k, current && i < 2);
        let values = Values::text((0..rows).map(|_| {
            let u = rng.uniform();
            Some(labels[cdf.partition_point(|&c| c < u).min(k - 1)].as_str())
        }));
        d.push(format!("c{i}"), values).expect("equal lengths");
    }
    d
}
