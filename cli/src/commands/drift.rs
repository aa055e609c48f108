//! `mltrack drift`: compare current data with a reference (file or saved profile), write the JSON and
//! HTML reports, alert by exit code or webhook, and log everything to a tracking run.

use crate::exit::ExitStatus;
use crate::fs::write_atomically;
use crate::settings::{CompareSettings, DriftSettings, ProfileSettings};
use crate::tracked_run::{RunTarget, TrackedRun};
use client::rest::TrackingClient;
use drift::{DriftOptions, DriftReport};
use protocol::{KeyValue, Metric};

/// Runs the subcommand; drift found under `--fail-on-drift` is [`ExitStatus::DriftDetected`].
pub(crate) fn run(settings: DriftSettings) -> anyhow::Result<ExitStatus> {
    match settings {
        DriftSettings::Profile(p) => profile(&p).map(|()| ExitStatus::Success),
        DriftSettings::Compare(c) => compare(c),
    }
}

fn profile(s: &ProfileSettings) -> anyhow::Result<()> {
    let profile = drift::profile(&s.reference, &s.drift)?;
    write_atomically(&s.out, profile.to_json().as_bytes())?;
    eprintln!(
        "saved the reference profile of `{}` to `{}`",
        s.reference.display(),
        s.out.display()
    );
    Ok(())
}

/// Where the report goes: a given run (checked before the work), or a new run in an experiment.
enum Destination {
    Run(Box<TrackedRun>),
    NewIn(TrackingClient, String),
}

fn compare(s: CompareSettings) -> anyhow::Result<ExitStatus> {
    // A given run is checked before the data is read, but a new run is only created once there is
    // a report: a run for input that could not be read would be an empty run nobody asked for.
    let destination = match &s.log {
        None => None,
        Some(log) => {
            let client = TrackingClient::new(&log.tracking_uri)?;
            Some(match &log.target {
                RunTarget::Existing(id) => {
                    Destination::Run(Box::new(TrackedRun::adopt(client, id)?))
                }
                RunTarget::NewIn(experiment) => Destination::NewIn(client, experiment.clone()),
            })
        }
    };
    s.drift.validate()?;
    let started = std::time::Instant::now();
    let report = drift::run(&DriftOptions {
        reference: s.reference.clone(),
        current: s.current.clone(),
        settings: s.drift.clone(),
    })?;
    tracing::info!(
        elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "drift computed"
    );
    print_summary(&report);

    let json = report.to_json();
    if let Some(path) = &s.json {
        write_atomically(path, json.as_bytes())?;
    }
    let html = report.to_html();
    if let Some(path) = &s.html {
        write_atomically(path, html.as_bytes())?;
    }
    let drifted = report.alert();
    if let Some(destination) = destination {
        let run = match destination {
            Destination::Run(run) => *run,
            Destination::NewIn(client, experiment) => {
                TrackedRun::create(client, &experiment, "drift-report", "drift")?
            }
        };
        let logged = log_to_run(run.client(), run.id(), &report, &json, &html, drifted);
        let (run_id, url) = (run.id().to_string(), run.client().base_url().to_string());
        run.finish(logged)?;
        eprintln!("logged the drift report to run {run_id} at {url}");
    }
    if let Some(hook) = &s.webhook {
        // The report is already written and logged: a failed webhook is reported, never fatal.
        let summary = report.summary_json().to_string();
        if let Err(e) = super::webhook::post_json(&hook.url, &summary, hook.retries) {
            eprintln!("warning: webhook `{}` failed: {e:#}", hook.url);
        }
    }
    Ok(if drifted && s.fail_on_drift {
        ExitStatus::DriftDetected
    } else {
        ExitStatus::Success
    })
}

/// Uploads the report (JSON and HTML under `drift/`) and its numbers as `drift.*` metrics and tags;
/// `monitor` logs each batch's report the same way, so its runs read like `drift` runs.
pub(super) fn log_to_run(
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
    if let Some(m) = report
        .multivariate
        .as_ref()
        .and_then(drift::Multivariate::tested)
    {
        metrics.push(metric("drift.multivariate_auc", m.roc_auc));
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
    match &report.multivariate {
        None => {}
        Some(drift::Multivariate::Skipped { skipped }) => {
            println!("multivariate drift: not tested ({skipped})");
        }
        Some(drift::Multivariate::Tested(m)) => {
            let features: Vec<String> = m
                .features
                .iter()
                .map(|f| format!("{} {:.2}", f.column, f.importance))
                .collect();
            println!(
                "multivariate drift: {} (domain classifier ROC AUC = {:.4}, threshold {}, {} rows a side; relied on: {})",
                if m.drift_detected {
                    "DETECTED"
                } else {
                    "not detected"
                },
                m.roc_auc,
                m.threshold,
                m.rows_per_side,
                if features.is_empty() {
                    "nothing".to_string()
                } else {
                    features.join(", ")
                }
            );
        }
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
