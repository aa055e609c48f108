//! One batch, start to end: expectations, scoring, the files under `DIR`, drift against the
//! reference, the monitoring run and the alert. Whatever goes wrong stays inside the batch (its run
//! is FAILED with the reason), so that one bad day does not stop the days after it.

use super::batches::Batch;
use super::expect::{self, Policy};
use super::state::{TAG_BATCH, TAG_DATE, TAG_SHA256};
use super::Context;
use crate::commands::metric_keys::metric_key;
use crate::commands::score_log::{count_metrics, upload_sample};
use crate::tracked_run::TrackedRun;
use anyhow::{bail, Context as _};
use client::rest::{now_ms, TrackingClient};
use drift::DriftReport;
use model_core::indexer::HandleInvalid;
use model_core::scoring::{ScoreCounts, Scorer};
use model_core::table_io::TableWriter;
use polars::prelude::DataFrame;
use protocol::{monitor, KeyValue, Metric};
use std::path::{Path, PathBuf};

/// How many distinct unseen values a batch records (the mail shows the first few).
const UNSEEN_LISTED: usize = 50;

/// What happened to one batch.
#[derive(Debug, Default)]
pub(super) struct Done {
    pub rows_in: usize,
    pub counts: Option<ScoreCounts>,
    /// Per rule: policy, rows violating, rows quarantined.
    pub rules: Vec<(String, Policy, usize, usize)>,
    pub quarantined: usize,
    /// Messages of the `fail` expectations that fired.
    pub failures: Vec<String>,
    pub report: Option<DriftReport>,
    /// Unseen categories among the skipped rows (column, value, rows), most frequent first.
    pub unseen: Vec<(String, String, usize)>,
    /// The batch's error, on one line.
    pub error: Option<String>,
    pub run_id: Option<String>,
}

impl Done {
    pub(super) fn drifted(&self) -> bool {
        self.report.as_ref().is_some_and(DriftReport::alert)
    }
}

/// Processes `batch` (content hash `sha256`), logging to a new run when there is a server.
pub(super) fn batch(ctx: &Context<'_>, batch: &Batch, sha256: &str) -> Done {
    let mut done = Done::default();
    let run = ctx.client.map(|client| {
        let mut tags = vec![
            KeyValue::new(TAG_BATCH, batch.name.clone()),
            KeyValue::new(TAG_DATE, batch.date.clone()),
            KeyValue::new(TAG_SHA256, sha256),
            KeyValue::new("mltrack.model_uri", ctx.model.uri.clone()),
        ];
        if let Some(version) = &ctx.model.version {
            tags.push(KeyValue::new(monitor::MODEL_VERSION, version.clone()));
        }
        TrackedRun::create_with_tags(
            client.clone(),
            ctx.experiment,
            &format!("monitor {}", batch.date),
            "monitor",
            &tags,
        )
    });
    let run = match run.transpose() {
        Ok(run) => run,
        Err(e) => {
            done.error = Some(format!("{e:#}"));
            return done;
        }
    };
    let outcome = steps(ctx, batch, &mut done, run.as_ref());
    if let Some(run) = run {
        done.run_id = Some(run.id().to_string());
        let logged = log_metrics(run.client(), run.id(), &done)
            .and_then(|()| log_page_facts(run.client(), run.id(), &done))
            .with_context(|| format!("cannot log to run {}", run.id()));
        if let Err(e) = run.finish(outcome.and(logged)) {
            done.error = Some(format!("{e:#}"));
        }
    } else if let Err(e) = outcome {
        done.error = Some(format!("{e:#}"));
    }
    done
}

fn partition(out: &Path, what: &str, date: &str) -> PathBuf {
    out.join(what).join(format!("date={date}"))
}

fn steps(
    ctx: &Context<'_>,
    batch: &Batch,
    done: &mut Done,
    run: Option<&TrackedRun>,
) -> anyhow::Result<()> {
    let mut scorer = Scorer::new(&ctx.model.pipeline, HandleInvalid::Skip);
    let df = table_reader::read_table(&batch.path, scorer.string_columns())?;
    done.rows_in = df.height();
    let checked = expect::evaluate(ctx.rules, &df)?;
    done.rules.clone_from(&checked.counts);
    done.quarantined = checked.quarantined.height();
    if !checked.failures.is_empty() {
        done.failures.clone_from(&checked.failures);
        bail!("{}", checked.failures.join("; "));
    }
    scorer.check_schema(checked.kept.schema(), &batch.path)?;
    let scored = scorer.score(&checked.kept)?;
    done.counts = Some(scored.counts.clone());
    done.unseen = top_unseen(&scored.skipped, UNSEEN_LISTED);
    let reference_columns: Vec<&str> = ctx.reference.columns().map(|(name, _)| name).collect();
    let current = scored
        .scored
        .select(reference_columns.iter().copied())
        .with_context(|| {
            format!(
                "`{}` lacks a column of the drift reference",
                batch.path.display()
            )
        })?;
    let current = drift::io::from_frame(&current, &batch.path)?;
    // An empty batch (everything skipped or quarantined) has nothing to compare.
    let report = (current.rows() > 0)
        .then(|| {
            drift::detect(
                drift::Reference::Profile(ctx.reference),
                &current,
                ctx.drift,
            )
        })
        .transpose()?;

    let out = ctx.out;
    write_part(
        &partition(out, "predictions", &batch.date),
        &scored.scored,
        true,
    )?;
    write_part(
        &partition(out, "quarantine", &batch.date),
        &checked.quarantined,
        false,
    )?;
    write_part(
        &partition(out, "skipped", &batch.date),
        &scored.skipped,
        false,
    )?;
    if let Some(report) = &report {
        let dir = partition(out, "reports", &batch.date);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
        crate::fs::write_atomically(&dir.join("drift_report.json"), report.to_json().as_bytes())?;
        crate::fs::write_atomically(&dir.join("drift_report.html"), report.to_html().as_bytes())?;
    }
    if let Some(run) = run {
        let info = run.client().get_run(run.id())?;
        upload_sample(
            run.client(),
            &info,
            &scored.skipped,
            "monitor/skipped_sample.csv",
        )?;
        upload_sample(
            run.client(),
            &info,
            &checked.quarantined,
            "monitor/quarantined_sample.csv",
        )?;
        if let Some(report) = &report {
            crate::commands::drift::log_to_run(
                run.client(),
                run.id(),
                report,
                &report.to_json(),
                &report.to_html(),
                report.alert(),
            )?;
        }
    }
    done.report = report;
    Ok(())
}

/// The `limit` most frequent unseen categories of a skipped-rows frame (`reason`, `column`,
/// `value`): what a mail reader needs to tell a new neighbourhood from a typo.
fn top_unseen(skipped: &DataFrame, limit: usize) -> Vec<(String, String, usize)> {
    let text = |name: &str| {
        skipped
            .column(name)
            .ok()
            .and_then(|c| c.str().ok().cloned())
    };
    let (Some(reasons), Some(columns), Some(values)) =
        (text("reason"), text("column"), text("value"))
    else {
        return Vec::new();
    };
    let mut counts = std::collections::BTreeMap::<(String, String), usize>::new();
    for ((reason, column), value) in reasons.iter().zip(columns.iter()).zip(values.iter()) {
        if reason == Some("unseen_category") {
            let key = (
                column.unwrap_or_default().to_string(),
                value.unwrap_or_default().to_string(),
            );
            *counts.entry(key).or_default() += 1;
        }
    }
    let mut top: Vec<_> = counts.into_iter().map(|((c, v), n)| (c, v, n)).collect();
    top.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| (&a.0, &a.1).cmp(&(&b.0, &b.1))));
    top.truncate(limit);
    top
}

/// What the monitoring page shows over time beyond the metrics: the thresholds (params), the
/// drifted columns and the unseen values (JSON tags, cut to fit MLflow's tag limit).
fn log_page_facts(client: &TrackingClient, run_id: &str, done: &Done) -> anyhow::Result<()> {
    let mut params = Vec::new();
    let mut tags = Vec::new();
    if let Some(r) = &done.report {
        params.push(KeyValue::new(
            monitor::DRIFT_SHARE_THRESHOLD,
            r.dataset.drift_share.to_string(),
        ));
        if let Some(p) = &r.prediction {
            params.push(KeyValue::new(
                monitor::PREDICTION_DRIFT_THRESHOLD,
                p.threshold.to_string(),
            ));
            params.push(KeyValue::new(
                monitor::PREDICTION_DRIFT_TEST,
                p.stattest.name(),
            ));
        }
        if let Some(m) = r
            .multivariate
            .as_ref()
            .and_then(drift::Multivariate::tested)
        {
            params.push(KeyValue::new(
                monitor::MULTIVARIATE_THRESHOLD,
                m.threshold.to_string(),
            ));
        }
        let drifted: Vec<String> = r
            .columns
            .iter()
            .filter(|c| c.drift_detected)
            .map(|c| metric_key("", &c.name))
            .collect();
        tags.push(KeyValue::new(monitor::DRIFTED, bounded_json(&drifted)));
    }
    if !done.unseen.is_empty() {
        tags.push(KeyValue::new(monitor::UNSEEN, bounded_json(&done.unseen)));
    }
    if params.is_empty() && tags.is_empty() {
        return Ok(());
    }
    client.log_batch(run_id, &[], &params, &tags)?;
    Ok(())
}

/// `items` as a JSON array, dropping items from the end until it fits a tag value.
fn bounded_json<T: serde::Serialize>(items: &[T]) -> String {
    let mut n = items.len();
    loop {
        let text = serde_json::to_string(&items[..n]).unwrap_or_else(|_| "[]".into());
        if text.len() <= monitor::MAX_LIST_TAG || n == 0 {
            return text;
        }
        n = n * 3 / 4;
    }
}

/// Writes `frame` as `dir/part-0.parquet` (atomically, see [`TableWriter`]); an empty frame writes
/// nothing unless `always` (a day's predictions exist even when empty).
fn write_part(dir: &Path, frame: &DataFrame, always: bool) -> anyhow::Result<()> {
    if frame.height() == 0 && !always {
        return Ok(());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let mut writer = TableWriter::create(&dir.join("part-0.parquet"), frame.schema())?;
    writer.write(frame)?;
    writer.finish()?;
    Ok(())
}

/// The batch's numbers as the run's metrics, as far as the batch got.
fn log_metrics(client: &TrackingClient, run_id: &str, done: &Done) -> anyhow::Result<()> {
    let now = now_ms();
    let mut pairs = vec![(monitor::ROWS_IN.to_string(), done.rows_in as f64)];
    if let Some(counts) = &done.counts {
        pairs.extend(
            count_metrics(counts)
                .into_iter()
                .filter(|(k, _)| k != monitor::ROWS_IN),
        );
    }
    pairs.push((monitor::ROWS_QUARANTINED.into(), done.quarantined as f64));
    for (rule, policy, violations, quarantined) in &done.rules {
        pairs.push((
            metric_key("expectation_violations.", rule),
            *violations as f64,
        ));
        if *policy == Policy::Drop {
            pairs.push((metric_key("rows_quarantined.", rule), *quarantined as f64));
        }
    }
    if let Some(r) = &done.report {
        pairs.push((
            "drifted_columns".into(),
            r.dataset.number_of_drifted_columns as f64,
        ));
        pairs.push((
            monitor::DRIFT_SHARE.into(),
            r.dataset.share_of_drifted_columns,
        ));
        pairs.push((
            monitor::DATASET_DRIFT.into(),
            f64::from(u8::from(r.dataset.dataset_drift)),
        ));
        if let Some(p) = &r.prediction {
            pairs.push((monitor::PREDICTION_DRIFT_SCORE.into(), p.drift_score));
            pairs.push((
                monitor::PREDICTION_DRIFT.into(),
                f64::from(u8::from(p.drift_detected)),
            ));
        }
        if let Some(m) = r
            .multivariate
            .as_ref()
            .and_then(drift::Multivariate::tested)
        {
            pairs.push((monitor::MULTIVARIATE_AUC.into(), m.roc_auc));
            pairs.push((
                monitor::MULTIVARIATE_DRIFT.into(),
                f64::from(u8::from(m.drift_detected)),
            ));
        }
    }
    let metrics: Vec<Metric> = pairs
        .into_iter()
        .filter(|(_, v)| v.is_finite())
        .map(|(key, value)| Metric {
            key,
            value,
            timestamp: now,
            step: 0,
            run_id: None,
            ..Default::default()
        })
        .collect();
    client.log_batch(run_id, &metrics, &[], &[])?;
    Ok(())
}

/// Whether the batch calls for an alert: drift, or a failed `fail` expectation.
pub(super) fn alerting(done: &Done) -> bool {
    done.drifted() || !done.failures.is_empty()
}

/// The mail's view of the batch.
pub(super) fn alert_mail(ctx: &Context<'_>, batch: &Batch, done: &Done) -> super::mail::Alert {
    let report = done.report.as_ref();
    super::mail::Alert {
        model: ctx.model_name.to_string(),
        version: ctx.model.version.clone(),
        batch: batch.name.clone(),
        date: batch.date.clone(),
        dataset_drift: report.is_some_and(|r| r.dataset.dataset_drift),
        drifted: report
            .iter()
            .flat_map(|r| &r.columns)
            .filter(|c| c.drift_detected)
            .map(|c| {
                (
                    c.name.clone(),
                    c.stattest.name().to_string(),
                    c.drift_score,
                    c.threshold,
                )
            })
            .collect(),
        prediction: report.and_then(|r| r.prediction.as_ref()).map(|p| {
            (
                p.stattest.name().to_string(),
                p.drift_score,
                p.threshold,
                p.drift_detected,
            )
        }),
        multivariate: report
            .and_then(|r| r.multivariate.as_ref())
            .and_then(drift::Multivariate::tested)
            .map(|m| super::mail::Multivariate {
                auc: m.roc_auc,
                threshold: m.threshold,
                detected: m.drift_detected,
                features: m
                    .features
                    .iter()
                    .take(3)
                    .map(|f| f.column.clone())
                    .collect(),
            }),
        failures: done.failures.clone(),
        unseen: done.unseen.clone(),
        quarantined: done
            .rules
            .iter()
            .filter(|(_, policy, _, n)| *policy == Policy::Drop && *n > 0)
            .map(|(rule, _, _, n)| (rule.clone(), *n))
            .collect(),
        run_id: done.run_id.clone(),
        run_url: ctx
            .client
            .zip(ctx.experiment_id)
            .zip(done.run_id.as_ref())
            .map(|((c, exp), run)| format!("{}/experiments/{exp}/runs/{run}", c.base_url())),
        page_url: ctx
            .client
            .zip(ctx.model.name.as_ref())
            .and_then(|(c, name)| {
                let mut url = reqwest::Url::parse(c.base_url()).ok()?;
                url.path_segments_mut()
                    .ok()?
                    .pop_if_empty()
                    .extend(["models", name, "monitoring"]);
                Some(url.to_string())
            }),
    }
}

/// The alert's JSON: enough to act on without opening the run.
pub(super) fn alert_json(ctx: &Context<'_>, batch: &Batch, done: &Done) -> serde_json::Value {
    let drifted: Vec<serde_json::Value> = done
        .report
        .iter()
        .flat_map(|r| &r.columns)
        .filter(|c| c.drift_detected)
        .map(|c| serde_json::json!({"column": c.name, "stattest": c.stattest.name(), "score": c.drift_score}))
        .collect();
    serde_json::json!({
        "model": ctx.model_name,
        "model_uri": ctx.model.uri,
        "version": ctx.model.version,
        "batch": batch.name,
        "batch_date": batch.date,
        "dataset_drift": done.report.as_ref().is_some_and(|r| r.dataset.dataset_drift),
        "prediction_drift": done.report.as_ref().and_then(|r| r.prediction.as_ref()).map(|p| serde_json::json!({"score": p.drift_score, "detected": p.drift_detected})),
        "multivariate_drift": done.report.as_ref().and_then(|r| r.multivariate.as_ref()).and_then(drift::Multivariate::tested).map(|m| serde_json::json!({"roc_auc": m.roc_auc, "threshold": m.threshold, "detected": m.drift_detected})),
        "drifted_columns": drifted,
        "rows_in": done.rows_in,
        "rows_skipped": done.counts.as_ref().map_or(0, |c| c.skipped),
        "rows_quarantined": done.quarantined,
        "failed_expectations": done.failures,
        "run_id": done.run_id,
    })
}
