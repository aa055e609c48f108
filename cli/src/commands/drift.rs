//! `mltrack drift`: compare current data with a reference (file or saved profile), write the JSON and
//! HTML reports, alert by exit code or webhook, and log everything to a tracking run.

use crate::cli::{DriftArgs, DriftCommand, DriftProfileArgs, DriftRunArgs};
use anyhow::{bail, Context};
use client::rest::TrackingClient;
use drift::{Correction, DriftOptions, DriftReport, Scoped, Settings, StatTest};
use protocol::{KeyValue, Metric};
use std::path::Path;
use std::time::Duration;

/// Exit status when `--fail-on-drift` is given and drift was found (1 stays "the command failed").
pub const DRIFT_EXIT_CODE: u8 = 3;

/// Runs the subcommand; `Ok(true)` means drift was detected and the caller asked to fail on it.
pub fn run(args: DriftArgs) -> anyhow::Result<bool> {
    match args.command {
        Some(DriftCommand::Profile(p)) => profile(&p).map(|()| false),
        None => compare(args.run),
    }
}

fn profile(args: &DriftProfileArgs) -> anyhow::Result<()> {
    let settings = Settings {
        numerical: args.numerical.clone(),
        categorical: args.categorical.clone(),
        ..Settings::default()
    };
    let profile = drift::profile(&args.reference, &settings)?;
    write_atomically(&args.out, profile.to_json().as_bytes())?;
    eprintln!(
        "saved the reference profile of `{}` to `{}`",
        args.reference.display(),
        args.out.display()
    );
    Ok(())
}

/// `[COLUMN=]VALUE` → (column, value).
fn split_scoped(item: &str) -> (Option<&str>, &str) {
    match item.split_once('=') {
        Some((column, value)) => (Some(column.trim()), value.trim()),
        None => (None, item.trim()),
    }
}

fn stattests(args: &DriftRunArgs) -> anyhow::Result<Scoped<StatTest>> {
    let mut scoped = Scoped::default();
    let parse = |flag: &str, name: &str| {
        StatTest::from_name(name).with_context(|| format!("invalid value `{name}` for `{flag}`"))
    };
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
        let value: f64 = text.parse().with_context(|| {
            format!("invalid value `{item}` for `--threshold`: expected [COLUMN=]NUMBER")
        })?;
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

fn compare(args: DriftRunArgs) -> anyhow::Result<bool> {
    let (Some(reference), Some(current)) = (args.reference.clone(), args.current.clone()) else {
        bail!("`--reference` and `--current` are required (or use `mltrack drift profile`)");
    };
    // Checked before the data is read, but the run is only created once there is a report: a run
    // for input that could not be read would be an empty run nobody asked for.
    let tracking = tracking_target(&args)?;
    let settings = Settings {
        numerical: args.numerical.clone(),
        categorical: args.categorical.clone(),
        prediction: args.prediction.clone(),
        stattest: stattests(&args)?,
        threshold: thresholds(&args)?,
        drift_share: args.drift_share,
        correction: match args.correction.as_str() {
            "bonferroni" => Correction::Bonferroni,
            "fdr" => Correction::Fdr,
            _ => Correction::None,
        },
    };
    settings.validate()?;
    let started = std::time::Instant::now();
    let report = drift::run(&DriftOptions {
        reference,
        current,
        settings,
    })?;
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "drift computed"
    );
    print_summary(&report);

    let json = report.to_json();
    if let Some(path) = &args.json {
        write_atomically(path, json.as_bytes())?;
    }
    let html = report.to_html();
    if let Some(path) = &args.html {
        write_atomically(path, html.as_bytes())?;
    }
    let drifted = report.alert();
    if let Some(target) = tracking {
        let (client, run_id, created) = target.open_run()?;
        let logged = log_to_run(&client, &run_id, &report, &json, &html, drifted);
        // A run this command created is always ended (FAILED if logging failed); a run it was
        // given (`--run-id`) belongs to the caller and is left as it is.
        if created {
            let status = if logged.is_ok() {
                protocol::RunStatus::Finished
            } else {
                protocol::RunStatus::Failed
            };
            client.end_run(&run_id, status)?;
        }
        logged?;
        eprintln!(
            "logged the drift report to run {run_id} at {}",
            client.base_url()
        );
    }
    if let Some(url) = &args.webhook {
        // The report is already written and logged: a failed webhook is reported, never fatal.
        let summary = report.summary_json().to_string();
        if let Err(e) = post_webhook(url, &summary, args.webhook_retries) {
            eprintln!("warning: webhook `{url}` failed: {e:#}");
        }
    }
    Ok(drifted && args.fail_on_drift)
}

/// Where to log: an existing run, or a new run in an experiment.
enum TrackingTarget {
    Run(TrackingClient, String),
    Experiment(TrackingClient, String),
}

impl TrackingTarget {
    /// The client and run to log to, and whether the run was created here (and so is ended here);
    /// the experiment is created if needed.
    fn open_run(self) -> anyhow::Result<(TrackingClient, String, bool)> {
        match self {
            TrackingTarget::Run(client, run_id) => Ok((client, run_id, false)),
            TrackingTarget::Experiment(client, name) => {
                let experiment = client.get_or_create_experiment(&name)?;
                let run = client.create_run(
                    &experiment,
                    Some("drift-report"),
                    &[KeyValue::new("mltrack.command", "drift")],
                )?;
                Ok((client, run.info.run_id, true))
            }
        }
    }
}

/// Resolves where to log without writing anything: the server is known, and a given run exists.
fn tracking_target(args: &DriftRunArgs) -> anyhow::Result<Option<TrackingTarget>> {
    if args.run_id.is_none() && args.experiment.is_none() {
        return Ok(None);
    }
    let uri = args
        .tracking_uri
        .clone()
        .or_else(|| std::env::var(client::rest::TRACKING_URI_ENV).ok())
        .context("`--run-id`/`--experiment` need a tracking server: pass `--tracking-uri` or set MLFLOW_TRACKING_URI")?;
    let client = TrackingClient::new(&uri)?;
    if let Some(run_id) = &args.run_id {
        client
            .get_run(run_id)
            .with_context(|| format!("run `{run_id}`"))?;
        return Ok(Some(TrackingTarget::Run(client, run_id.clone())));
    }
    let name = args.experiment.as_deref().unwrap_or("drift");
    Ok(Some(TrackingTarget::Experiment(client, name.to_string())))
}

fn log_to_run(
    client: &TrackingClient,
    run_id: &str,
    report: &DriftReport,
    json: &str,
    html: &str,
    drifted: bool,
) -> anyhow::Result<()> {
    let run = client.get_run(run_id)?;
    let dir = tempfile::tempdir()?;
    for (name, body) in [("drift_report.json", json), ("drift_report.html", html)] {
        let file = dir.path().join(name);
        std::fs::write(&file, body)?;
        client.upload_artifact(
            &TrackingClient::run_artifact_path(&run, &format!("drift/{name}"))?,
            &file,
        )?;
    }
    let now = client::rest::now_ms();
    let metric = |key: &str, value: f64| Metric {
        key: key.into(),
        value,
        timestamp: now,
        step: 0,
        run_id: None,
        ..Default::default()
    };
    let d = &report.dataset;
    let mut metrics = vec![
        metric("drift.dataset_drift", f64::from(u8::from(d.dataset_drift))),
        metric("drift.share_of_drifted_columns", d.share_of_drifted_columns),
        #[allow(clippy::cast_precision_loss)]
        metric(
            "drift.number_of_drifted_columns",
            d.number_of_drifted_columns as f64,
        ),
    ];
    if let Some(p) = &report.prediction {
        metrics.push(metric(
            "drift.prediction_drift",
            f64::from(u8::from(p.drift_detected)),
        ));
        metrics.push(metric("drift.prediction_score", p.drift_score));
    }
    for c in &report.columns {
        let key = super::metric_keys::metric_key("drift.score.", &c.name);
        metrics.push(metric(&key, c.drift_score));
    }
    let tags = [
        KeyValue::new(
            "mltrack.drift.alert",
            if drifted { "true" } else { "false" },
        ),
        KeyValue::new("mltrack.drift.report", "drift/drift_report.html"),
    ];
    client.log_batch(run_id, &metrics, &[], &tags)?;
    Ok(())
}

/// POSTs the report with a timeout, retrying with exponential backoff.
fn post_webhook(url: &str, json: &str, retries: u32) -> anyhow::Result<()> {
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let mut attempt = 0;
    loop {
        let outcome = http
            .post(url)
            .header("content-type", "application/json")
            .body(json.to_string())
            .send()
            .map_err(anyhow::Error::from)
            .and_then(|r| {
                if r.status().is_success() {
                    Ok(())
                } else {
                    bail!("answered HTTP {}", r.status())
                }
            });
        match outcome {
            Ok(()) => return Ok(()),
            Err(e) if attempt >= retries => return Err(e),
            Err(e) => {
                eprintln!("webhook attempt {} failed: {e:#}; retrying", attempt + 1);
                std::thread::sleep(Duration::from_millis(500 * 2u64.pow(attempt)));
                attempt += 1;
            }
        }
    }
}

/// Writes via a temporary file in the same directory, so a failure leaves no partial report.
pub fn write_atomically(path: &Path, body: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    std::io::Write::write_all(&mut tmp, body)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(())
}

fn print_summary(report: &DriftReport) {
    let d = &report.dataset;
    println!(
        "dataset drift: {} ({} of {} columns drifted, share {:.3}, threshold {})",
        if d.dataset_drift {
            "DETECTED"
        } else {
            "not detected"
        },
        d.number_of_drifted_columns,
        d.number_of_columns,
        d.share_of_drifted_columns,
        d.drift_share
    );
    if let Some(p) = &report.prediction {
        println!(
            "prediction drift ({}): {} ({} = {:.4}, threshold {})",
            p.column,
            if p.drift_detected {
                "DETECTED"
            } else {
                "not detected"
            },
            p.stattest.name(),
            p.drift_score,
            p.threshold
        );
    }
    let mut columns: Vec<_> = report.columns.iter().collect();
    columns.sort_by_key(|c| !c.drift_detected);
    println!(
        "{:<32} {:<5} {:<14} {:>12} {:>10}  drift",
        "column", "type", "test", "score", "threshold"
    );
    for c in columns {
        let ty = match c.column_type {
            drift::ColumnType::Numerical => "num",
            drift::ColumnType::Categorical => "cat",
        };
        println!(
            "{:<32} {:<5} {:<14} {:>12.6} {:>10}  {}",
            c.name,
            ty,
            c.stattest.name(),
            c.drift_score,
            c.threshold,
            if c.drift_detected { "yes" } else { "no" }
        );
    }
}
