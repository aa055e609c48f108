//! `mltrack train`'s engine: load gold data, split, search, refit the best pipeline, score on test.
//!
//! The split is Spark's own `randomSplit` ([`crate::spark_split`]): by default 60/20/20 with seed 42,
//! the course's `randomSplit([.6, .2, .2], seed=42)`, which gives 4,390 / 1,390 / 1,366 gold rows. Each trial fits on train and is
//! scored by validation RMSE on the price scale; the best parameters are refitted on train ∪ validation
//! (as the course's ML 08 notebook does) and scored once on test.

use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::dataset::{self, SilverReport, Table};
use crate::error::{invalid_param, ModelError, Result};
use crate::forest::FeatureSubsetStrategy;
use crate::metrics::Metrics;
use crate::pipeline::{PipelineParams, PricePipeline};
use crate::search::{self, SearchSettings};
use crate::spark_split::spark_random_split;
use crate::tpe::{Dimension, SearchSpace, Value};

/// Names a search space may use; each sets the Spark parameter of the same name (`logLabel` is the
/// choice `false`/`true` of training on log(price)).
pub const SPACE_NAMES: [&str; 8] = [
    "numTrees",
    "maxDepth",
    "maxBins",
    "minInstancesPerNode",
    "minInfoGain",
    "subsamplingRate",
    "featureSubsetStrategy",
    "logLabel",
];

/// The default space: every parameter the issue names. maxBins starts at 40 because
/// `neighbourhood_cleansed` has 36 values (37 under `keep`), so smaller values always fail.
pub fn default_space() -> SearchSpace {
    let choice = |opts: &[&str]| Dimension::Choice {
        options: opts.iter().map(|s| (*s).to_string()).collect(),
    };
    SearchSpace::default()
        .with(
            "numTrees",
            Dimension::QUniform {
                low: 10.0,
                high: 120.0,
                q: 1.0,
            },
        )
        .with(
            "maxDepth",
            Dimension::QUniform {
                low: 3.0,
                high: 14.0,
                q: 1.0,
            },
        )
        .with(
            "maxBins",
            Dimension::QUniform {
                low: 40.0,
                high: 128.0,
                q: 8.0,
            },
        )
        .with(
            "minInstancesPerNode",
            Dimension::QLogUniform {
                low: 1.0,
                high: 64.0,
                q: 1.0,
            },
        )
        .with(
            "featureSubsetStrategy",
            choice(&["onethird", "sqrt", "0.5", "all"]),
        )
        .with(
            "subsamplingRate",
            Dimension::Uniform {
                low: 0.5,
                high: 1.0,
            },
        )
        .with("logLabel", choice(&["false", "true"]))
}

/// Applies sampled values to `base`. A value out of range is an error, which fails only that trial.
pub fn params_from_values(
    space: &SearchSpace,
    values: &[Value],
    base: &PipelineParams,
) -> Result<PipelineParams> {
    let mut p = base.clone();
    for ((name, dim), value) in space.dims.iter().zip(values) {
        let text = match (dim, value) {
            (Dimension::Choice { options }, Value::Choice(i)) => {
                options.get(*i).cloned().unwrap_or_default()
            }
            (_, Value::Num(x)) => x.to_string(),
            (_, Value::Choice(i)) => i.to_string(),
        };
        let num = || match value {
            Value::Num(x) => Ok(*x),
            Value::Choice(_) => text
                .parse::<f64>()
                .map_err(|_| invalid_param("search space", &text, "not a number")),
        };
        let count = |param: &'static str| -> Result<usize> {
            let x = num()?;
            if x >= 0.0 && x.fract() == 0.0 && x < 1e9 {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                Ok(x as usize)
            } else {
                Err(invalid_param(param, x, "must be a whole number ≥ 0"))
            }
        };
        p.forest = match name.as_str() {
            "numTrees" => p.forest.num_trees(count("numTrees")?),
            "maxDepth" => p.forest.max_depth(count("maxDepth")?),
            "maxBins" => p.forest.max_bins(count("maxBins")?),
            "minInstancesPerNode" => p
                .forest
                .min_instances_per_node(count("minInstancesPerNode")?),
            "minInfoGain" => p.forest.min_info_gain(num()?),
            "subsamplingRate" => p.forest.subsampling_rate(num()?),
            "featureSubsetStrategy" => p
                .forest
                .feature_subset_strategy(text.parse::<FeatureSubsetStrategy>()?),
            "logLabel" => {
                p.log_label = matches!(text.as_str(), "true" | "1");
                p.forest
            }
            _ => {
                return Err(invalid_param(
                    "search space",
                    name,
                    "unknown parameter name",
                ))
            }
        };
    }
    p.forest.check_ref()?;
    Ok(p)
}

/// Everything `mltrack train` decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Gold data: parquet file or directory, or CSV. Empty by default: where the data is is the
    /// caller's decision (see [`dataset::default_gold_data_in`]), and only [`run`] reads it.
    pub data: PathBuf,
    /// Also use columns beyond the gold 24 (e.g. the public file's `*_na` indicators) as features.
    pub keep_extra_columns: bool,
    /// Train / validation / test weights.
    pub split: [f64; 3],
    /// Seed of the split (Spark's `randomSplit` seed).
    pub split_seed: i64,
    /// Fixed parameters; sampled ones override them.
    pub base: PipelineParams,
    pub space: SearchSpace,
    pub search: SearchSettings,
    /// Refit the best parameters on train ∪ validation before the test score.
    pub refit_on_train_val: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            data: PathBuf::new(),
            keep_extra_columns: false,
            split: [0.6, 0.2, 0.2],
            split_seed: 42,
            base: PipelineParams::default(),
            space: default_space(),
            search: SearchSettings::default(),
            refit_on_train_val: true,
        }
    }
}

/// One finished trial, as handed to the `on_trial` callback (e.g. to log a nested MLflow run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialResult {
    /// 0-based trial number.
    pub number: usize,
    /// The sampled values, readable (`featureSubsetStrategy` = `sqrt`, …).
    pub sampled: Vec<(String, String)>,
    /// The full parameters, when the sample was valid.
    pub params: Option<PipelineParams>,
    /// Validation metrics, or why the trial failed.
    pub validation: std::result::Result<Metrics, String>,
    /// Fit plus scoring time.
    pub seconds: f64,
}

/// The result of [`run`].
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// The final pipeline (best parameters, refitted).
    pub pipeline: PricePipeline,
    pub best_trial: usize,
    pub best_params: PipelineParams,
    /// Every trial in trial order.
    pub trials: Vec<TrialResult>,
    /// Validation metrics of the best trial.
    pub validation: Metrics,
    /// Test metrics of the final pipeline.
    pub test: Metrics,
    /// Test rows left out under `skip` (unseen categories).
    pub test_skipped: usize,
    pub silver: SilverReport,
    /// Rows in train, validation and test.
    pub split_rows: [usize; 3],
    pub seconds: f64,
}

/// Loads `options.data` and runs the search; see [`run_on_table`].
pub fn run(options: &TrainOptions, on_trial: impl Fn(&TrialResult) + Sync) -> Result<TrainOutcome> {
    let gold = dataset::load_gold(&options.data, options.keep_extra_columns)?;
    run_on_table(&gold.table, gold.silver, options, on_trial)
}

/// Splits `table`, searches, refits the best and scores it on test.
pub fn run_on_table(
    table: &Table,
    silver: SilverReport,
    options: &TrainOptions,
    on_trial: impl Fn(&TrialResult) + Sync,
) -> Result<TrainOutcome> {
    let started = Instant::now();
    options.space.check()?;
    if options.search.max_evals == 0 {
        return Err(invalid_param("max_evals", 0, "must be at least 1"));
    }
    let parts = spark_random_split(table, &options.split, options.split_seed)?;
    let [train, val, test] = [0, 1, 2].map(|i| table.take(&parts[i]));
    for (name, part) in [("train", &train), ("validation", &val), ("test", &test)] {
        if part.n_rows() == 0 {
            return Err(ModelError::NoRows(format!("{name} split")));
        }
    }
    let trials = search::minimize(
        &options.space,
        &options.search,
        |number, values| {
            let t0 = Instant::now();
            let params = params_from_values(&options.space, values, &options.base);
            let outcome = params.as_ref().map_err(ToString::to_string).and_then(|p| {
                PricePipeline::fit(&train, p)
                    .and_then(|m| m.evaluate(&val))
                    .map(|(metrics, _)| metrics)
                    .map_err(|e| e.to_string())
            });
            let result = TrialResult {
                number,
                sampled: options.space.describe(values),
                params: params.ok(),
                validation: outcome.clone(),
                seconds: t0.elapsed().as_secs_f64(),
            };
            on_trial(&result);
            // A failed trial reports a NaN loss: kept in the list, never shown to TPE nor chosen.
            Ok((
                result.validation.as_ref().map_or(f64::NAN, |m| m.rmse),
                result,
            ))
        },
        |_| {},
    );
    let trial_results: Vec<TrialResult> = trials
        .into_iter()
        .filter_map(|t| t.outcome.ok().map(|o| o.1))
        .collect();
    let best = trial_results
        .iter()
        .filter_map(|t| match (&t.validation, &t.params) {
            (Ok(m), Some(p)) if m.rmse.is_finite() => Some((t.number, *m, p)),
            _ => None,
        })
        .min_by(|a, b| a.1.rmse.total_cmp(&b.1.rmse));
    let Some((best_trial, validation, best_params)) = best else {
        let why = trial_results
            .iter()
            .find_map(|t| t.validation.as_ref().err().cloned())
            .unwrap_or_default();
        return Err(ModelError::Search(format!(
            "every trial failed; the first: {why}"
        )));
    };
    let best_params = best_params.clone();
    let final_train = if options.refit_on_train_val {
        table.take(&[parts[0].clone(), parts[1].clone()].concat())
    } else {
        train.clone()
    };
    let pipeline = PricePipeline::fit(&final_train, &best_params)?;
    let (test_metrics, predictions) = pipeline.evaluate(&test)?;
    Ok(TrainOutcome {
        pipeline,
        best_trial,
        best_params,
        trials: trial_results,
        validation,
        test: test_metrics,
        test_skipped: predictions.skipped.len(),
        silver,
        split_rows: [parts[0].len(), parts[1].len(), parts[2].len()],
        seconds: started.elapsed().as_secs_f64(),
    })
}
