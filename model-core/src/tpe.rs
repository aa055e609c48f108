//! Tree-structured Parzen Estimator, written from hyperopt 0.3.0's `hyperopt/tpe.py`.
//!
//! Why in-house: the `tpe` crate (0.3.1) has no random start-up phase, no prior component, no linear
//! forgetting and a different good/bad split (γ·n rather than hyperopt's γ·√n), and the other
//! candidates are placeholders or Gaussian-process optimisers (their docs on docs.rs). The reference
//! pipeline's search is hyperopt's, so its algorithm is reproduced here: per-parameter (univariate)
//! adaptive Parzen estimators for the best ⌈γ√N⌉ trials (at most 25) and the rest, 24 candidates drawn
//! from the good density, the one maximising log l(x) − log g(x) kept. Hyperopt's numpy random stream
//! cannot be replayed, so parity means the same algorithm, not the same draws.
//!
//! One difference on purpose: log-scale bounds are given on the natural scale (`LogUniform { low: 1,
//! high: 64 }`), where hyperopt takes them in log space.

use std::f64::consts::SQRT_2;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{invalid_param, Result};

/// One dimension of a search space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Dimension {
    /// Uniform on [low, high].
    Uniform { low: f64, high: f64 },
    /// round(uniform(low, high) / q) · q — hyperopt's `quniform` (end points half as likely).
    QUniform { low: f64, high: f64, q: f64 },
    /// exp(uniform(ln low, ln high)).
    LogUniform { low: f64, high: f64 },
    /// round(exp(uniform(ln low, ln high)) / q) · q.
    QLogUniform { low: f64, high: f64, q: f64 },
    /// One of the options, uniformly a priori; the value is the option's index.
    Choice { options: Vec<String> },
}

impl Dimension {
    fn check(&self, name: &str) -> Result<()> {
        let bad = |why: &str| invalid_param("search space", format!("{name}: {self:?}"), why);
        match self {
            Dimension::Uniform { low, high } | Dimension::QUniform { low, high, .. } => {
                if !(low.is_finite() && high.is_finite() && low < high) {
                    return Err(bad("needs finite low < high"));
                }
            }
            Dimension::LogUniform { low, high } | Dimension::QLogUniform { low, high, .. } => {
                if !(*low > 0.0 && high.is_finite() && low < high) {
                    return Err(bad("needs 0 < low < high"));
                }
            }
            Dimension::Choice { options } => {
                if options.is_empty() {
                    return Err(bad("needs at least one option"));
                }
            }
        }
        if let Dimension::QUniform { q, .. } | Dimension::QLogUniform { q, .. } = self {
            if !(*q > 0.0 && q.is_finite()) {
                return Err(bad("needs q > 0"));
            }
        }
        Ok(())
    }

    /// (internal low, internal high, is log, q) of a numeric dimension.
    fn numeric(&self) -> Option<(f64, f64, bool, Option<f64>)> {
        match *self {
            Dimension::Uniform { low, high } => Some((low, high, false, None)),
            Dimension::QUniform { low, high, q } => Some((low, high, false, Some(q))),
            Dimension::LogUniform { low, high } => Some((low.ln(), high.ln(), true, None)),
            Dimension::QLogUniform { low, high, q } => Some((low.ln(), high.ln(), true, Some(q))),
            Dimension::Choice { .. } => None,
        }
    }
}

/// A sampled value: a number, or the index of a choice.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Num(f64),
    Choice(usize),
}

/// Named dimensions, in a fixed order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SearchSpace {
    pub dims: Vec<(String, Dimension)>,
}

impl SearchSpace {
    /// Adds a dimension.
    pub fn with(mut self, name: &str, dim: Dimension) -> Self {
        self.dims.push((name.to_string(), dim));
        self
    }

    /// Checks every dimension.
    pub fn check(&self) -> Result<()> {
        if self.dims.is_empty() {
            return Err(invalid_param("search space", "{}", "has no dimensions"));
        }
        self.dims.iter().try_for_each(|(n, d)| d.check(n))
    }

    /// A draw from the prior (hyperopt's `rand.suggest`).
    pub fn sample_prior(&self, rng: &mut ChaCha8Rng) -> Vec<Value> {
        self.dims
            .iter()
            .map(|(_, d)| match d.numeric() {
                Some((lo, hi, log, q)) => Value::Num(to_external(rng.gen_range(lo..=hi), log, q)),
                None => Value::Choice(rng.gen_range(0..choice_len(d))),
            })
            .collect()
    }

    /// Values as readable strings (choices by option name), for logging.
    pub fn describe(&self, values: &[Value]) -> Vec<(String, String)> {
        self.dims
            .iter()
            .zip(values)
            .map(|((name, dim), v)| {
                let text = match (dim, v) {
                    (Dimension::Choice { options }, Value::Choice(i)) => {
                        options.get(*i).cloned().unwrap_or_default()
                    }
                    (_, Value::Num(x)) => x.to_string(),
                    (_, Value::Choice(i)) => i.to_string(),
                };
                (name.clone(), text)
            })
            .collect()
    }
}

fn choice_len(d: &Dimension) -> usize {
    match d {
        Dimension::Choice { options } => options.len(),
        _ => 0,
    }
}

fn to_external(internal: f64, log: bool, q: Option<f64>) -> f64 {
    let x = if log { internal.exp() } else { internal };
    match q {
        Some(q) => (x / q).round() * q,
        None => x,
    }
}

/// Hyperopt's TPE settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TpeSettings {
    /// Random trials before TPE starts. Hyperopt uses 20; the default here is 10 (optuna's), because
    /// with a 32-trial budget 20 random trials would leave TPE only 12.
    pub n_startup: usize,
    /// Candidates drawn from l(x) per parameter (hyperopt: 24).
    pub n_ei_candidates: usize,
    /// Good-set size is min(⌈γ√N⌉, 25) (hyperopt: 0.25).
    pub gamma: f64,
    /// Weight of the prior component (hyperopt: 1.0).
    pub prior_weight: f64,
    /// Observations beyond this many get linearly decaying weights, oldest lowest (hyperopt: 25).
    pub linear_forgetting: usize,
}

impl Default for TpeSettings {
    fn default() -> Self {
        TpeSettings {
            n_startup: 10,
            n_ei_candidates: 24,
            gamma: 0.25,
            prior_weight: 1.0,
            linear_forgetting: 25,
        }
    }
}

/// A finished trial as TPE sees it: its values and finite loss.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub values: Vec<Value>,
    pub loss: f64,
}

/// Suggests the next point from `history` (in trial order; failed trials left out).
pub fn suggest(
    space: &SearchSpace,
    settings: &TpeSettings,
    history: &[Observation],
    rng: &mut ChaCha8Rng,
) -> Vec<Value> {
    if history.len() < settings.n_startup.max(1) {
        return space.sample_prior(rng);
    }
    #[allow(clippy::cast_precision_loss)]
    let sqrt_n = (history.len() as f64).sqrt();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n_below = ((settings.gamma * sqrt_n).ceil() as usize)
        .min(settings.linear_forgetting)
        .max(1);
    let mut order: Vec<usize> = (0..history.len()).collect();
    order.sort_by(|&a, &b| history[a].loss.total_cmp(&history[b].loss));
    let mut is_below = vec![false; history.len()];
    order.iter().take(n_below).for_each(|&i| is_below[i] = true);
    // Both sets stay in trial order: linear forgetting weights recent trials most.
    let (below, above): (Vec<&Observation>, Vec<&Observation>) = {
        let (b, a): (Vec<_>, Vec<_>) = history.iter().zip(&is_below).partition(|p| *p.1);
        (
            b.into_iter().map(|p| p.0).collect(),
            a.into_iter().map(|p| p.0).collect(),
        )
    };

    space
        .dims
        .iter()
        .enumerate()
        .map(|(d, (_, dim))| {
            if let Some((lo, hi, log, q)) = dim.numeric() {
                let internal = |o: &&Observation| match o.values[d] {
                    Value::Num(x) if log => x.max(lo.exp()).ln(),
                    Value::Num(x) => x,
                    Value::Choice(i) => i as f64,
                };
                let l = Parzen::new(
                    &below.iter().map(internal).collect::<Vec<_>>(),
                    lo,
                    hi,
                    settings,
                );
                let g = Parzen::new(
                    &above.iter().map(internal).collect::<Vec<_>>(),
                    lo,
                    hi,
                    settings,
                );
                let best = (0..settings.n_ei_candidates.max(1))
                    .map(|_| to_external(l.sample(rng), log, q))
                    .map(|x| (x, l.log_density(x, log, q) - g.log_density(x, log, q)))
                    .fold((f64::NAN, f64::NEG_INFINITY), |acc, c| {
                        if c.1 > acc.1 || acc.0.is_nan() {
                            c
                        } else {
                            acc
                        }
                    });
                Value::Num(best.0)
            } else {
                let k = choice_len(dim);
                let pick = |o: &&Observation| match o.values[d] {
                    Value::Choice(i) => i,
                    Value::Num(_) => 0,
                };
                let pb = categorical(&below.iter().map(pick).collect::<Vec<_>>(), k, settings);
                let pa = categorical(&above.iter().map(pick).collect::<Vec<_>>(), k, settings);
                let best = (0..settings.n_ei_candidates.max(1))
                    .map(|_| draw_index(&pb, rng))
                    .map(|c| (c, pb[c].ln() - pa[c].ln()))
                    .fold(
                        (0, f64::NEG_INFINITY),
                        |acc, c| if c.1 > acc.1 { c } else { acc },
                    );
                Value::Choice(best.0)
            }
        })
        .collect()
}

/// Hyperopt's `linear_forgetting_weights`: the oldest N − LF observations ramp from 1/N to 1.
fn forgetting_weights(n: usize, lf: usize) -> Vec<f64> {
    if n <= lf {
        return vec![1.0; n];
    }
    let ramp = n - lf;
    #[allow(clippy::cast_precision_loss)]
    let start = 1.0 / n as f64;
    let mut w: Vec<f64> = (0..ramp)
        .map(|i| {
            #[allow(clippy::cast_precision_loss)]
            let t = if ramp == 1 {
                0.0
            } else {
                i as f64 / (ramp - 1) as f64
            };
            start + (1.0 - start) * t
        })
        .collect();
    w.extend(std::iter::repeat_n(1.0, lf));
    w
}

/// Category probabilities: forgetting-weighted counts plus `prior_weight` per option, normalised.
fn categorical(picks: &[usize], k: usize, settings: &TpeSettings) -> Vec<f64> {
    let mut p = vec![settings.prior_weight; k];
    for (&c, w) in picks
        .iter()
        .zip(forgetting_weights(picks.len(), settings.linear_forgetting))
    {
        if c < k {
            p[c] += w;
        }
    }
    let total: f64 = p.iter().sum();
    for x in &mut p {
        *x /= total;
    }
    p
}

fn draw_index(p: &[f64], rng: &mut ChaCha8Rng) -> usize {
    let u: f64 = rng.gen();
    let mut acc = 0.0;
    for (i, w) in p.iter().enumerate() {
        acc += w;
        if u < acc {
            return i;
        }
    }
    p.len() - 1
}

/// Hyperopt's `adaptive_parzen_normal`: a Gaussian per observation plus the prior, in internal space.
struct Parzen {
    weights: Vec<f64>,
    mus: Vec<f64>,
    sigmas: Vec<f64>,
    lo: f64,
    hi: f64,
}

impl Parzen {
    fn new(obs: &[f64], lo: f64, hi: f64, settings: &TpeSettings) -> Self {
        let prior_mu = 0.5 * (lo + hi);
        let prior_sigma = hi - lo;
        let obs_weights = forgetting_weights(obs.len(), settings.linear_forgetting);
        let mut comps: Vec<(f64, f64, bool)> = obs
            .iter()
            .zip(&obs_weights)
            .map(|(&m, &w)| (m, w, false))
            .collect();
        comps.sort_by(|a, b| a.0.total_cmp(&b.0));
        let prior_pos = comps.partition_point(|c| c.0 < prior_mu);
        comps.insert(prior_pos, (prior_mu, settings.prior_weight, true));
        let mus: Vec<f64> = comps.iter().map(|c| c.0).collect();
        let n = mus.len();
        let mut sigmas = vec![prior_sigma; n];
        if n == 2 {
            // One observation: it gets half the prior's width.
            sigmas[1 - prior_pos] = 0.5 * prior_sigma;
        } else if n > 2 {
            sigmas = (0..n)
                .map(|i| {
                    let left = if i > 0 {
                        mus[i] - mus[i - 1]
                    } else {
                        f64::NEG_INFINITY
                    };
                    let right = if i + 1 < n {
                        mus[i + 1] - mus[i]
                    } else {
                        f64::NEG_INFINITY
                    };
                    left.max(right)
                })
                .collect();
            #[allow(clippy::cast_precision_loss)]
            let min_sigma = prior_sigma / (1.0 + n as f64).min(100.0);
            for s in &mut sigmas {
                *s = s.clamp(min_sigma, prior_sigma);
            }
            sigmas[prior_pos] = prior_sigma;
        }
        let total: f64 = comps.iter().map(|c| c.1).sum();
        Parzen {
            weights: comps.iter().map(|c| c.1 / total).collect(),
            mus,
            sigmas,
            lo,
            hi,
        }
    }

    /// A draw from the mixture truncated to [lo, hi] (rejection, as hyperopt's GMM1/LGMM1).
    fn sample(&self, rng: &mut ChaCha8Rng) -> f64 {
        for _ in 0..10_000 {
            let c = draw_index(&self.weights, rng);
            let x = self.mus[c] + self.sigmas[c] * standard_normal(rng);
            if (self.lo..=self.hi).contains(&x) {
                return x;
            }
        }
        self.mus[draw_index(&self.weights, rng)].clamp(self.lo, self.hi)
    }

    /// Log density (or, with `q`, log probability of the rounding cell) of an external value under
    /// the truncated mixture.
    fn log_density(&self, x: f64, log: bool, q: Option<f64>) -> f64 {
        let to_internal = |v: f64| {
            if log {
                v.max(f64::MIN_POSITIVE).ln()
            } else {
                v
            }
        };
        let mut accept = 0.0;
        let mut mass = 0.0;
        for ((&w, &mu), &s) in self.weights.iter().zip(&self.mus).zip(&self.sigmas) {
            accept += w * (phi((self.hi - mu) / s) - phi((self.lo - mu) / s));
            mass += if let Some(q) = q {
                let ub = to_internal(x + 0.5 * q).min(self.hi);
                let lb = to_internal(x - 0.5 * q).max(self.lo);
                w * (phi((ub - mu) / s) - phi((lb - mu) / s)).max(0.0)
            } else {
                let z = (to_internal(x) - mu) / s;
                let pdf = w * (-0.5 * z * z).exp() / (s * (2.0 * std::f64::consts::PI).sqrt());
                if log {
                    pdf / x
                } else {
                    pdf
                }
            };
        }
        (mass.max(f64::MIN_POSITIVE) / accept.max(f64::MIN_POSITIVE)).ln()
    }
}

fn phi(z: f64) -> f64 {
    0.5 * libm::erfc(-z / SQRT_2)
}

/// Box–Muller.
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>();
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

#[cfg(test)]
mod tests;
