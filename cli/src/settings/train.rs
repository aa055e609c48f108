//! `mltrack train`'s settings.

use super::environment::Environment;
use crate::cli::{AlgorithmArg, TrainArgs};
use anyhow::{bail, Context};
use model_core::search::Algorithm;
use model_core::train::TrainOptions;
use std::path::PathBuf;

#[derive(Debug)]
pub struct TrainSettings {
    /// The search, with the gold data's path resolved.
    pub options: TrainOptions,
    /// As typed, for the run's parameters.
    pub algorithm_name: &'static str,
    pub experiment: String,
    pub register: Option<String>,
    /// The registry stage, spelt as MLflow spells it.
    pub stage: Option<&'static str>,
    pub out: PathBuf,
    pub tracking_uri: Option<String>,
}

impl TrainSettings {
    pub fn resolve(args: TrainArgs, env: &Environment) -> anyhow::Result<Self> {
        let tracking_uri = env.tracking_uri(args.tracking_uri);
        if tracking_uri.is_none() && args.register.is_some() {
            // Whether there is a server depends on the environment too, so this is a failure of
            // the command (1), not a usage error.
            bail!("`--register` needs a tracking server: pass `--tracking-uri` or set MLFLOW_TRACKING_URI");
        }
        let mut options = TrainOptions {
            data: env.gold_data(args.data),
            ..TrainOptions::default()
        };
        options.search.max_evals = args.max_evals;
        options.search.parallelism = args.parallelism;
        options.search.seed = args.seed;
        // `--seed` is limited to i64's range by its parser, so this never fails.
        options.split_seed = i64::try_from(args.seed).context("--seed must be at most i64::MAX")?;
        if args.algorithm == AlgorithmArg::Random {
            options.search.algorithm = Algorithm::Random;
        }
        Ok(TrainSettings {
            options,
            algorithm_name: args.algorithm.name(),
            experiment: args.experiment,
            register: args.register,
            stage: args.stage.map(super::super::cli::StageArg::name),
            out: args.out,
            tracking_uri,
        })
    }
}
