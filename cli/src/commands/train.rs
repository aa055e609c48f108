//! `mltrack train`: search the price model's hyperparameters with TPE, log every trial as a nested run,
//! package the best model as an MLflow model directory, and register it when asked.
//!
//! Without a tracking server (no `--tracking-uri`, no `MLFLOW_TRACKING_URI`) it still trains and writes
//! the model directory locally, and says so.

use crate::fs::write_atomically;
use crate::settings::TrainSettings;
use crate::tracked_run::TrackedRun;
use client::rest::{now_ms, TrackingClient};
use indicatif::{ProgressBar, ProgressStyle};
use model_core::package::{self, SaveOptions};
use model_core::train::{self, TrainOutcome, TrialResult};
use protocol::names::{EntityKey, KeyKind};
use protocol::{KeyValue, Metric, RunStatus};
use std::fmt::Write as _;
use std::path::Path;

pub(crate) fn run(s: &TrainSettings) -> anyhow::Result<()> {
    let options = &s.options;
    if !options.data.exists() {
        anyhow::bail!(
            "data file `{}` does not exist (set --data or MLTRACK_GOLD_DATA)",
            options.data.display()
        );
    }
    // The data is read before the parent run exists, so unreadable data leaves no failed run behind.
    let gold = model_core::dataset::load_gold(&options.data, options.keep_extra_columns)?;
    let parent = s
        .tracking_uri
        .as_deref()
        .map(|uri| start_parent(uri, s))
        .transpose()?;
    let progress = ProgressBar::new(options.search.max_evals as u64);
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} trials {pos}/{len} [{bar:30}] {elapsed} best val RMSE {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let best = std::sync::Mutex::new(f64::INFINITY);
    let outcome = train::run_on_table(&gold.table, gold.silver, options, |trial| {
        if let Ok(m) = &trial.validation {
            let mut b = best
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if m.rmse < *b {
                *b = m.rmse;
                progress.set_message(format!("{:.2}", m.rmse));
            }
        }
        if let Some(parent) = &parent {
            if let Err(e) = log_trial(parent, trial) {
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
            return match parent {
                Some(parent) => parent.finish(Err(e.into())),
                None => Err(e.into()),
            }
        }
    };
    print_outcome(&outcome);
    package::save(
        &outcome.pipeline,
        &s.out,
        &SaveOptions {
            run_id: parent.as_ref().map(|p| p.id().to_string()),
            artifact_path: Some("model".into()),
        },
    )?;
    save_reference_profile(s, &gold.table, &outcome)?;
    eprintln!("model written to `{}`", s.out.display());
    match parent {
        None => eprintln!(
            "no tracking server (pass --tracking-uri or set MLFLOW_TRACKING_URI): nothing was logged or registered"
        ),
        Some(parent) => {
            let result = finish_parent(&parent, s, &outcome, &s.out);
            let url = format!(
                "{}/#/experiments/{}/runs/{}",
                parent.client().base_url(),
                parent.experiment_id(),
                parent.id()
            );
            parent.finish(result)?;
            eprintln!("logged to {url}");
        }
    }
    Ok(())
}

/// Profiles the rows the final model was fitted on (the same split `train` made) into the model
/// directory, for `monitor`'s drift checks, with the expectations learned from them.
fn save_reference_profile(
    s: &TrainSettings,
    table: &model_core::dataset::Table,
    outcome: &TrainOutcome,
) -> anyhow::Result<()> {
    let options = &s.options;
    let parts =
        model_core::spark_split::spark_random_split(table, &options.split, options.split_seed)?;
    let mut rows = parts[0].clone();
    if options.refit_on_train_val {
        rows.extend_from_slice(&parts[1]);
    }
    // The model's table holds every number as f64; the file says which columns were integers,
    // which drift bins by numpy's integer rule (as Evidently does on the same data).
    let integers: Vec<String> = table_reader::TableReader::open(&options.data, 1, &[])
        .ok()
        .and_then(|r| r.schema().cloned())
        .map(|schema| {
            schema
                .iter()
                .filter(|(_, dtype)| dtype.is_integer())
                .map(|(name, _)| name.to_string())
                .collect()
        })
        .unwrap_or_default();
    let fitted = table.take(&rows);
    let profile = super::reference::build(&outcome.pipeline, &fitted, &integers)?;
    write_atomically(
        &s.out.join(super::reference::EXPECTATIONS_FILE),
        super::reference::learned_expectations(&outcome.pipeline, &fitted).as_bytes(),
    )?;
    write_atomically(
        &s.out.join(super::reference::REFERENCE_PROFILE_FILE),
        profile.to_json().as_bytes(),
    )
}

/// The search's parent run, with the search's settings as parameters.
fn start_parent(uri: &str, s: &TrainSettings) -> anyhow::Result<TrackedRun> {
    let client = TrackingClient::new(uri)?;
    let parent = TrackedRun::create(client, &s.experiment, "price-model-search", "train")?;
    let options = &s.options;
    let space = serde_json::to_string(&options.space)?;
    let params = [
        KeyValue::new("data", options.data.display().to_string()),
        KeyValue::new("max_evals", options.search.max_evals.to_string()),
        KeyValue::new("parallelism", options.search.parallelism.to_string()),
        KeyValue::new("seed", options.search.seed.to_string()),
        KeyValue::new("algorithm", s.algorithm_name),
        KeyValue::new("split", format!("{:?}", options.split)),
        KeyValue::new("search_space", space.chars().take(6000).collect::<String>()),
    ];
    parent.client().log_batch(parent.id(), &[], &params, &[])?;
    Ok(parent)
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

/// One nested run per trial: its sampled values as params, its validation metrics. Trials are
/// ended here whatever happens, so they are plain runs, not [`TrackedRun`]s.
fn log_trial(parent: &TrackedRun, trial: &TrialResult) -> anyhow::Result<()> {
    let c = parent.client();
    let tags = [
        KeyValue::new("mlflow.parentRunId", parent.id()),
        KeyValue::new("mltrack.trial", trial.number.to_string()),
    ];
    let run = c.create_run(
        parent.experiment_id(),
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
            c.set_tag(
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
    c.log_batch(&id, &metrics, &params, &[])?;
    c.end_run(&id, status)?;
    Ok(())
}

/// The best trial's results, the model and the search's plots as the parent run's, then the
/// registration when asked.
fn finish_parent(
    parent: &TrackedRun,
    s: &TrainSettings,
    outcome: &TrainOutcome,
    model_dir: &Path,
) -> anyhow::Result<()> {
    let c = parent.client();
    let best = serde_json::to_value(&outcome.best_params)?;
    let mut params = vec![KeyValue::new("best_trial", outcome.best_trial.to_string())];
    flatten("best", &best, &mut params);
    let silver = &outcome.silver;
    #[allow(clippy::cast_precision_loss)]
    let mut metrics = vec![
        metric("test_rmse", outcome.test.rmse),
        metric("test_mae", outcome.test.mae),
        metric("test_r2", outcome.test.r2),
        metric("best_val_rmse", outcome.validation.rmse),
        metric("test_rows_skipped", outcome.test_skipped as f64),
        metric("silver.input_rows", silver.input_rows as f64),
        metric("silver.duplicates", silver.duplicates as f64),
        metric("silver.null_or_nan", silver.null_or_nan as f64),
        metric("silver.blank_strings", silver.blank_strings as f64),
        metric("silver.output_rows", silver.output_rows as f64),
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
    c.log_batch(parent.id(), &metrics, &params, &[])?;

    let run = c.get_run(parent.id())?;
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
        ("search/loss.svg", super::loss_plot::svg(&losses)),
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
    if let Some(name) = &s.register {
        let model = c.ensure_registered_model(name)?;
        let source = format!(
            "mlflow-artifacts:/{}",
            TrackingClient::run_artifact_path(&run, "model")?
        );
        let version = c.create_model_version(&model.name, &source, Some(parent.id()))?;
        let mut line = format!("registered `{name}` version {}", version.version);
        if let Some(stage) = s.stage {
            c.transition_stage(name, &version.version, stage, true)?;
            let _ = write!(line, " in stage {stage}");
        }
        c.set_tag(
            parent.id(),
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
