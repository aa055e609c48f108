//! The search loop: TPE or random suggestions, trials evaluated in parallel batches.
//!
//! Trials run in batches of `parallelism`. Every trial of a batch is suggested from the trials that
//! finished before the batch (hyperopt's `SparkTrials` behaves alike), each with its own ChaCha8
//! stream numbered by the trial, so a search depends only on the seed and `parallelism`, never on
//! which trial finishes first. `on_trial` is called as each trial finishes (from the worker thread),
//! which is what a progress bar or nested-run logger needs.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::tpe::{self, Observation, SearchSpace, TpeSettings, Value};

/// How points are proposed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "algorithm", rename_all = "lowercase")]
pub enum Algorithm {
    /// TPE after `n_startup` random trials.
    Tpe(TpeSettings),
    /// Prior draws only.
    Random,
}

impl Default for Algorithm {
    fn default() -> Self {
        Algorithm::Tpe(TpeSettings::default())
    }
}

/// Budget and reproducibility.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchSettings {
    /// Number of trials.
    pub max_evals: usize,
    /// Trials evaluated at once; 0 means rayon's thread count.
    pub parallelism: usize,
    pub seed: u64,
    pub algorithm: Algorithm,
}

impl Default for SearchSettings {
    /// 32 trials, 2 at a time, seed 42, TPE.
    fn default() -> Self {
        SearchSettings {
            max_evals: 32,
            parallelism: 2,
            seed: 42,
            algorithm: Algorithm::default(),
        }
    }
}

/// One evaluated point. `outcome` is the loss and the objective's extra output, or why it failed.
#[derive(Debug, Clone)]
pub struct Trial<T> {
    /// 0-based trial number.
    pub number: usize,
    pub values: Vec<Value>,
    pub outcome: Result<(f64, T), String>,
}

impl<T> Trial<T> {
    /// The loss, when the trial succeeded with a finite one.
    pub fn loss(&self) -> Option<f64> {
        self.outcome
            .as_ref()
            .ok()
            .map(|o| o.0)
            .filter(|l| l.is_finite())
    }
}

/// Minimises `objective` over `space`. Failed trials (an `Err`, or a non-finite loss) are kept in the
/// result but not shown to TPE, like hyperopt's `STATUS_FAIL`.
pub fn minimize<T, F, C>(
    space: &SearchSpace,
    settings: &SearchSettings,
    objective: F,
    on_trial: C,
) -> Vec<Trial<T>>
where
    T: Send,
    F: Fn(usize, &[Value]) -> Result<(f64, T), String> + Sync,
    C: Fn(&Trial<T>) + Sync,
{
    let batch = match settings.parallelism {
        0 => rayon::current_num_threads(),
        k => k,
    }
    .max(1);
    let mut trials: Vec<Trial<T>> = Vec::with_capacity(settings.max_evals);
    let mut history: Vec<Observation> = Vec::new();
    while trials.len() < settings.max_evals {
        let start = trials.len();
        let end = (start + batch).min(settings.max_evals);
        let points: Vec<(usize, Vec<Value>)> = (start..end)
            .map(|number| {
                let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
                rng.set_stream(number as u64);
                let values = match &settings.algorithm {
                    Algorithm::Tpe(tpe_settings) => {
                        tpe::suggest(space, tpe_settings, &history, &mut rng)
                    }
                    Algorithm::Random => space.sample_prior(&mut rng),
                };
                (number, values)
            })
            .collect();
        let finished: Vec<Trial<T>> = points
            .into_par_iter()
            .map(|(number, values)| {
                let outcome = objective(number, &values);
                let trial = Trial {
                    number,
                    values,
                    outcome,
                };
                on_trial(&trial);
                trial
            })
            .collect();
        for t in finished {
            if let Some(loss) = t.loss() {
                history.push(Observation {
                    values: t.values.clone(),
                    loss,
                });
            }
            trials.push(t);
        }
    }
    trials
}

/// The trial with the lowest finite loss (the earliest on ties).
pub fn best<T>(trials: &[Trial<T>]) -> Option<&Trial<T>> {
    trials.iter().filter(|t| t.loss().is_some()).min_by(|a, b| {
        a.loss()
            .unwrap_or(f64::INFINITY)
            .total_cmp(&b.loss().unwrap_or(f64::INFINITY))
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::tpe::Dimension;

    fn branin_like(v: &[Value]) -> Result<(f64, ()), String> {
        match (v[0], v[1]) {
            (Value::Num(x), Value::Num(y)) => Ok(((x - 0.7).powi(2) + 5.0 * (y - 0.2).powi(2), ())),
            _ => Err("bad space".to_string()),
        }
    }

    fn space() -> SearchSpace {
        SearchSpace::default()
            .with(
                "x",
                Dimension::Uniform {
                    low: -5.0,
                    high: 5.0,
                },
            )
            .with(
                "y",
                Dimension::Uniform {
                    low: -5.0,
                    high: 5.0,
                },
            )
    }

    fn mean_best(algorithm: &Algorithm) -> f64 {
        let runs: Vec<f64> = (0..10)
            .map(|seed| {
                let settings = SearchSettings {
                    max_evals: 40,
                    parallelism: 1,
                    seed,
                    algorithm: algorithm.clone(),
                };
                let trials = minimize(&space(), &settings, |_, v| branin_like(v), |_| {});
                best(&trials).and_then(Trial::loss).unwrap_or(f64::INFINITY)
            })
            .collect();
        runs.iter().sum::<f64>() / 10.0
    }

    #[test]
    fn tpe_beats_random_search_at_equal_budget() {
        let tpe = mean_best(&Algorithm::default());
        let random = mean_best(&Algorithm::Random);
        assert!(tpe < random, "tpe {tpe} vs random {random}");
    }

    #[test]
    fn a_search_is_reproducible_and_reports_every_trial() {
        let calls = AtomicUsize::new(0);
        let settings = SearchSettings {
            max_evals: 14,
            parallelism: 3,
            ..SearchSettings::default()
        };
        let run = || {
            minimize(
                &space(),
                &settings,
                |_, v| branin_like(v),
                |_| {
                    calls.fetch_add(1, Ordering::Relaxed);
                },
            )
        };
        let a: Vec<Vec<Value>> = run().into_iter().map(|t| t.values).collect();
        let b: Vec<Vec<Value>> = run().into_iter().map(|t| t.values).collect();
        assert_eq!(a, b);
        assert_eq!(a.len(), 14);
        assert_eq!(calls.load(Ordering::Relaxed), 28);
    }

    #[test]
    fn failed_trials_are_kept_but_not_best() {
        let settings = SearchSettings {
            max_evals: 12,
            parallelism: 1,
            ..SearchSettings::default()
        };
        let trials = minimize(
            &space(),
            &settings,
            |n, v| {
                if n % 2 == 0 {
                    Err(format!("trial {n} failed"))
                } else {
                    branin_like(v)
                }
            },
            |_| {},
        );
        assert_eq!(trials.iter().filter(|t| t.outcome.is_err()).count(), 6);
        assert_eq!(best(&trials).map(|t| t.number % 2), Some(1));
    }
}
