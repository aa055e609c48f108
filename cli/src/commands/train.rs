//! `mltrack train`: search the price model's hyperparameters with TPE, log every trial as a nested run,
//! package the best model as an MLflow model directory, and register it when asked.
//!
//! Without a tracking server (no `--tracking-uri`, no `MLFLOW_TRACKING_URI`) it still trains and writes
//! the model directory locally, and says so.

use crate::cli::TrainArgs;
use crate::commands::drift::write_atomically;
use anyhow::Context;
use client::rest::{now_ms, TrackingClient};
use indicatif::{ProgressBar, ProgressStyle};
use model_core::package::{self, SaveOptions};
use model_core::search::Algorithm;
use model_core::train::{self, TrainOptions, TrainOutcome, TrialResult};
use protocol::names::{EntityKey, KeyKind};
use protocol::{KeyValue, Metric, RunStatus};
use std::path::Path;

/// The parent run's id and the client, when a tracking server is in use.
struct Tracking {
    client: TrackingClient,
    experiment_id: String,
    parent: String,
}

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let mut options = TrainOptions::default();
    if let Some(data) = &args.data {
        options.data.clone_from(data);
    }
    options.search.max_evals = args.max_evals;
    options.search.parallelism = args.parallelism;
    options.search.seed = args.seed;
    // `--seed` is limited to i64's range by its parser, so this never falls back.
    options.split_seed = i64::try_from(args.seed).context("--seed must be at most i64::MAX")?;
    if args.algorithm == "random" {
        options.search.algorithm = Algorithm::Random;
    }
    if !options.data.exists() {
        anyhow::bail!(
            "data file `{}` does not exist (set --data or MLTRACK_GOLD_DATA)",
            options.data.display()
        );
    }
    // The data is read before the parent run exists, so unreadable data leaves no failed run behind.
    let gold = model_core::dataset::load_gold(&options.data, options.keep_extra_columns)?;
    let tracking = connect(&args, &options)?;
    let progress = ProgressBar::new(args.max_evals as u64);
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} trials {pos}/{len} [{bar:30}] {elapsed} best val RMSE {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let best = std::sync::Mutex::new(f64::INFINITY);
    let outcome = train::run_on_table(&gold.table, gold.silver, &options, |trial| {
        if let Ok(m) = &trial.validation {
            let mut b = best
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if m.rmse < *b {
                *b = m.rmse;
                progress.set_message(format!("{:.2}", m.rmse));
            }
        }
        if let Some(t) = &tracking {
            if let Err(e) = log_trial(t, trial) {
                progress.println(format!(
                    "warning: could not log trial {}: {e:#}",
                    trial.number
                ));
            }
        }
        progress.inc(1);
    });
    progress.finish();
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            if let Some(t) = &tracking {
                let _ = t.client.end_run(&t.parent, RunStatus::Failed);
            }
            return Err(e.into());
        }
    };
    print_outcome(&outcome);
    let out_dir = args.out.clone();
    package::save(
        &outcome.pipeline,
        &out_dir,
        &SaveOptions {
            run_id: tracking.as_ref().map(|t| t.parent.clone()),
            artifact_path: Some("model".into()),
        },
    )?;
    eprintln!("model written to `{}`", out_dir.display());
    match &tracking {
        None => eprintln!(
            "no tracking server (pass --tracking-uri or set MLFLOW_TRACKING_URI): nothing was logged or registered"
        ),
        Some(t) => {
            let result = finish_parent(t, &args, &outcome, &out_dir);
            let status = if result.is_ok() { RunStatus::Finished } else { RunStatus::Failed };
            t.client.end_run(&t.parent, status)?;
            result?;
            eprintln!(
                "logged to {}/#/experiments/{}/runs/{}",
                t.client.base_url(),
                t.experiment_id,
                t.parent
            );
        }
    }
    Ok(())
}

fn connect(args: &TrainArgs, options: &TrainOptions) -> anyhow::Result<Option<Tracking>> {
    let Some(uri) = args
        .tracking_uri
        .clone()
        .or_else(|| std::env::var(client::rest::TRACKING_URI_ENV).ok())
    else {
        if args.register.is_some() {
            anyhow::bail!("`--register` needs a tracking server: pass `--tracking-uri` or set MLFLOW_TRACKING_URI");
        }
        return Ok(None);
    };
    let client = TrackingClient::new(&uri)?;
    let experiment_id = client
        .get_or_create_experiment(&args.experiment)
        .with_context(|| format!("cannot use experiment `{}` on {uri}", args.experiment))?;
    let parent = client.create_run(
        &experiment_id,
        Some("price-model-search"),
        &[KeyValue::new("mltrack.command", "train")],
    )?;
    let parent = parent.info.run_id;
    let space = serde_json::to_string(&options.space)?;
    let params = [
        KeyValue::new("data", options.data.display().to_string()),
        KeyValue::new("max_evals", options.search.max_evals.to_string()),
        KeyValue::new("parallelism", options.search.parallelism.to_string()),
        KeyValue::new("seed", options.search.seed.to_string()),
        KeyValue::new("algorithm", args.algorithm.clone()),
        KeyValue::new("split", format!("{:?}", options.split)),
        KeyValue::new("search_space", space.chars().take(6000).collect::<String>()),
    ];
    client.log_batch(&parent, &[], &params, &[])?;
    Ok(Some(Tracking {
        client,
        experiment_id,
        parent,
    }))
}

fn metric(key: &str, value: f64) -> Metric {
    Metric {
        key: key.into(),
        value,
        timestamp: now_ms(),
        step: 0,
        run_id: None,
        ..Default::default()
    }
}

/// One nested run per trial: its sampled values as params, its validation metrics.
fn log_trial(t: &Tracking, trial: &TrialResult) -> anyhow::Result<()> {
    let tags = [
        KeyValue::new("mlflow.parentRunId", t.parent.clone()),
        KeyValue::new("mltrack.trial", trial.number.to_string()),
    ];
    let run = t.client.create_run(
        &t.experiment_id,
        Some(&format!("trial-{:03}", trial.number)),
        &tags,
    )?;
    let id = run.info.run_id;
    let params: Vec<KeyValue> = trial
        .sampled
        .iter()
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
        .collect();
    let (metrics, status) = match &trial.validation {
        Ok(m) => (
            vec![
                metric("val_rmse", m.rmse),
                metric("val_mae", m.mae),
                metric("val_r2", m.r2),
                metric("fit_seconds", trial.seconds),
            ],
            RunStatus::Finished,
        ),
        Err(why) => {
            t.client.set_tag(
                &id,
                "mltrack.trial.error",
                &why.chars().take(5000).collect::<String>(),
            )?;
            (
                vec![metric("fit_seconds", trial.seconds)],
                RunStatus::Failed,
            )
        }
    };
    t.client.log_batch(&id, &metrics, &params, &[])?;
    t.client.end_run(&id, status)?;
    Ok(())
}

fn finish_parent(
    t: &Tracking,
    args: &TrainArgs,
    outcome: &TrainOutcome,
    model_dir: &Path,
) -> anyhow::Result<()> {
    let c = &t.client;
    let best = serde_json::to_value(&outcome.best_params)?;
    let mut params = vec![KeyValue::new("best_trial", outcome.best_trial.to_string())];
    flatten("best", &best, &mut params);
    let s = &outcome.silver;
    #[allow(clippy::cast_precision_loss)]
    let mut metrics = vec![
        metric("test_rmse", outcome.test.rmse),
        metric("test_mae", outcome.test.mae),
        metric("test_r2", outcome.test.r2),
        metric("best_val_rmse", outcome.validation.rmse),
        metric("test_rows_skipped", outcome.test_skipped as f64),
        metric("silver.input_rows", s.input_rows as f64),
        metric("silver.duplicates", s.duplicates as f64),
        metric("silver.null_or_nan", s.null_or_nan as f64),
        metric("silver.blank_strings", s.blank_strings as f64),
        metric("silver.output_rows", s.output_rows as f64),
        metric("train_seconds", outcome.seconds),
    ];
    let importances = outcome.pipeline.feature_importances();
    for (name, value) in &importances {
        let key = format!("feature_importance.{name}");
        if EntityKey::parse(KeyKind::Metric, key.clone()).is_ok() {
            metrics.push(metric(&key, *value));
        }
    }
    // The loss of each trial as a series too, so the UI charts it against the step.
    for trial in &outcome.trials {
        if let Ok(m) = &trial.validation {
            let mut point = metric("trial_val_rmse", m.rmse);
            point.step = i64::try_from(trial.number).unwrap_or(0);
            metrics.push(point);
        }
    }
    c.log_batch(&t.parent, &metrics, &params, &[])?;

    let run = c.get_run(&t.parent)?;
    c.upload_dir(
        &TrackingClient::run_artifact_path(&run, "model")?,
        model_dir,
    )?;
    let scratch = tempfile::tempdir()?;
    let losses: Vec<(usize, f64)> = outcome
        .trials
        .iter()
        .filter_map(|t| t.validation.as_ref().ok().map(|m| (t.number, m.rmse)))
        .collect();
    let files = [
        ("search/loss.svg", crate::commands::loss_plot::svg(&losses)),
        (
            "search/trials.json",
            serde_json::to_string_pretty(&outcome.trials)?,
        ),
        (
            "feature_importances.json",
            serde_json::to_string_pretty(&importances)?,
        ),
    ];
    for (name, body) in files {
        let local = scratch.path().join(name.replace('/', "_"));
        write_atomically(&local, body.as_bytes())?;
        c.upload_artifact(&TrackingClient::run_artifact_path(&run, name)?, &local)?;
    }
    if let Some(name) = &args.register {
        let model = c.ensure_registered_model(name)?;
        let source = format!(
            "mlflow-artifacts:/{}",
            TrackingClient::run_artifact_path(&run, "model")?
        );
        let version = c.create_model_version(&model.name, &source, Some(&t.parent))?;
        let mut line = format!("registered `{name}` version {}", version.version);
        if let Some(stage) = &args.stage {
            c.transition_stage(name, &version.version, stage, true)?;
            line.push_str(&format!(" in stage {stage}"));
        }
        c.set_tag(
            &t.parent,
            "mltrack.registered_version",
            &format!("{name}/{}", version.version),
        )?;
        eprintln!("{line}");
    }
    Ok(())
}

/// `{"forest": {"num_trees": 20}}` → `best.forest.num_trees = 20`.
fn flatten(prefix: &str, value: &serde_json::Value, out: &mut Vec<KeyValue>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                flatten(&format!("{prefix}.{k}"), v, out);
            }
        }
        serde_json::Value::String(s) => out.push(KeyValue::new(prefix, s.clone())),
        other => out.push(KeyValue::new(prefix, other.to_string())),
    }
}

fn print_outcome(o: &TrainOutcome) {
    println!(
        "best trial {} of {}: validation RMSE {:.2}; test RMSE {:.2}, MAE {:.2}, R² {:.3} on {} rows ({} skipped)",
        o.best_trial,
        o.trials.len(),
        o.validation.rmse,
        o.test.rmse,
        o.test.mae,
        o.test.r2,
        o.test.n,
        o.test_skipped
    );
}
