//! `mltrack drift`'s settings: the tests and thresholds per column, the outputs, and where to log.

use super::environment::Environment;
use crate::cli::{
    CorrectionArg, DriftArgs, DriftCommand, DriftProfileArgs, DriftRunArgs, MultivariateArgs,
};
use crate::exit::UsageError;
use crate::tracked_run::RunTarget;
use ::drift::options::Multivariate;
use ::drift::{Correction, Scoped, Settings, StatTest};
use anyhow::Context;
use std::path::PathBuf;

const COMMAND: &[&str] = &["drift"];

#[derive(Debug)]
pub enum DriftSettings {
    Profile(ProfileSettings),
    Compare(CompareSettings),
}

#[derive(Debug)]
pub struct ProfileSettings {
    pub reference: PathBuf,
    pub out: PathBuf,
    pub drift: Settings,
}

#[derive(Debug)]
pub struct CompareSettings {
    pub reference: PathBuf,
    pub current: PathBuf,
    pub drift: Settings,
    pub json: Option<PathBuf>,
    pub html: Option<PathBuf>,
    pub fail_on_drift: bool,
    pub webhook: Option<Webhook>,
    pub log: Option<DriftLog>,
}

/// Where the report's summary is `POSTed`.
#[derive(Debug)]
pub struct Webhook {
    pub url: String,
    /// Retries after the first attempt.
    pub retries: u32,
}

/// The tracking server and the run to log the report to.
#[derive(Debug)]
pub struct DriftLog {
    pub tracking_uri: String,
    pub target: RunTarget,
}

impl DriftSettings {
    pub fn resolve(args: DriftArgs, env: &Environment) -> anyhow::Result<Self> {
        match args.command {
            Some(DriftCommand::Profile(p)) => Ok(DriftSettings::Profile(profile(p))),
            None => Ok(DriftSettings::Compare(compare(args.run, env)?)),
        }
    }
}

fn profile(args: DriftProfileArgs) -> ProfileSettings {
    ProfileSettings {
        reference: args.reference,
        out: args.out,
        drift: Settings {
            numerical: args.numerical,
            categorical: args.categorical,
            ..Settings::default()
        },
    }
}

fn compare(args: DriftRunArgs, env: &Environment) -> anyhow::Result<CompareSettings> {
    let (Some(reference), Some(current)) = (args.reference.clone(), args.current.clone()) else {
        return Err(UsageError::new(
            COMMAND,
            "`--reference` and `--current` are required (or use `mltrack drift profile`)",
        )
        .into());
    };
    let stattest = stattests(&args)?;
    let threshold = thresholds(&args)?;
    let target = match (args.run_id, args.experiment) {
        (Some(id), _) => Some(RunTarget::Existing(id)),
        (None, Some(experiment)) => Some(RunTarget::NewIn(experiment)),
        (None, None) => None,
    };
    let log = match target {
        None => None,
        // Whether there is a server depends on the environment too, so a missing one is a
        // failure of the command (1), not a usage error.
        Some(target) => Some(DriftLog {
            tracking_uri: env.tracking_uri(args.tracking_uri).context(
                "`--run-id`/`--experiment` need a tracking server: pass `--tracking-uri` or set MLFLOW_TRACKING_URI",
            )?,
            target,
        }),
    };
    let drift = Settings {
        stattest,
        threshold,
        numerical: args.numerical,
        categorical: args.categorical,
        prediction: args.prediction,
        drift_share: args.drift_share,
        correction: match args.correction {
            CorrectionArg::None => Correction::None,
            CorrectionArg::Bonferroni => Correction::Bonferroni,
            CorrectionArg::Fdr => Correction::Fdr,
        },
        multivariate: multivariate(&args.multivariate),
    };
    Ok(CompareSettings {
        reference,
        current,
        drift,
        json: args.json,
        html: args.html,
        fail_on_drift: args.fail_on_drift,
        webhook: args.webhook.map(|url| Webhook {
            url,
            retries: args.webhook_retries,
        }),
        log,
    })
}

/// The multivariate test as `--multivariate-threshold` and `--no-multivariate` set it (`monitor` too).
pub(super) fn multivariate(args: &MultivariateArgs) -> Multivariate {
    Multivariate {
        enabled: !args.no_multivariate,
        threshold: args.multivariate_threshold,
        ..Multivariate::default()
    }
}

/// `[COLUMN=]VALUE` → (column, value).
fn split_scoped(item: &str) -> (Option<&str>, &str) {
    match item.split_once('=') {
        Some((column, value)) => (Some(column.trim()), value.trim()),
        None => (None, item.trim()),
    }
}

/// Test names are checked here (the error lists the valid ones), but an unknown one stays a failure
/// of the command (exit 1): whether a test suits a column is only known once the data is read, and
/// both mistakes should end the same way.
fn stattests(args: &DriftRunArgs) -> anyhow::Result<Scoped<StatTest>> {
    let parse = |flag: &str, name: &str| {
        StatTest::from_name(name).with_context(|| format!("invalid value `{name}` for `{flag}`"))
    };
    let mut scoped = Scoped::default();
    for item in &args.stattest {
        match split_scoped(item) {
            (Some(column), name) => {
                scoped
                    .columns
                    .insert(column.to_string(), parse("--stattest", name)?);
            }
            (None, name) => scoped.all = Some(parse("--stattest", name)?),
        }
    }
    scoped.num = args
        .num_stattest
        .as_deref()
        .map(|n| parse("--num-stattest", n))
        .transpose()?;
    scoped.cat = args
        .cat_stattest
        .as_deref()
        .map(|n| parse("--cat-stattest", n))
        .transpose()?;
    Ok(scoped)
}

fn thresholds(args: &DriftRunArgs) -> anyhow::Result<Scoped<f64>> {
    let mut scoped = Scoped::default();
    for item in &args.threshold {
        let (column, text) = split_scoped(item);
        let Ok(value) = text.parse::<f64>() else {
            return Err(UsageError::new(
                COMMAND,
                format!("invalid value `{item}` for `--threshold`: expected [COLUMN=]NUMBER"),
            )
            .into());
        };
        match column {
            Some(c) => {
                scoped.columns.insert(c.to_string(), value);
            }
            None => scoped.all = Some(value),
        }
    }
    scoped.num = args.num_threshold;
    scoped.cat = args.cat_threshold;
    Ok(scoped)
}
