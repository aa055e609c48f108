//! `mltrack score`: batch scoring with a registered or local model. Every input row ends up either in
//! the output (input columns plus `prediction`) or in the skipped file (input columns plus `row`,
//! `reason`, `column`, `value`), and a scoring run records what happened so people see when the model
//! no longer covers the data.
//!
//! Reading, scoring and writing overlap on three threads (decode → score → encode) that hand each
//! batch to the next without a queue, so at most three batches are in memory whatever the input's
//! size.

use super::model_source::{self, ResolvedModel};
use super::score_log::{count_metrics, upload_sample, SAMPLE_ROWS};
use crate::settings::ScoreSettings;
use crate::tracked_run::TrackedRun;
use anyhow::{bail, Context};
use client::rest::{now_ms, TrackingClient};
use indicatif::{ProgressBar, ProgressStyle};
use model_core::scoring::{ScoreCounts, ScoredBatch, Scorer};
use model_core::table_io::{TableReader, TableWriter};
use protocol::{KeyValue, Metric};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What one scoring job did.
struct Outcome {
    counts: ScoreCounts,
    seconds: f64,
    skipped_path: PathBuf,
}

pub(crate) fn run(s: &ScoreSettings) -> anyhow::Result<()> {
    if !s.input.exists() {
        bail!("input `{}` does not exist", s.input.display());
    }
    let client = s
        .tracking_uri
        .as_deref()
        .map(TrackingClient::new)
        .transpose()?;
    let model = model_source::resolve(&s.model, client.as_ref(), &s.model_cache)?;
    tracing::info!(
        "using model {} from `{}`{}",
        s.model,
        model.dir.display(),
        if model.cached { " (cached)" } else { "" }
    );
    let run = match (client, &s.log) {
        (Some(client), Some(target)) => Some(start_run(client, target, s, &model)?),
        _ => None,
    };
    let outcome = score_file(s, &model);
    let outcome = match (outcome, &run) {
        (Ok(o), Some(run)) => log_outcome(run.client(), run.id(), s, &o)
            .with_context(|| format!("cannot log the scoring run {}", run.id()))
            .map(|()| o),
        (outcome, _) => outcome,
    };
    let run_id = run.as_ref().map(|r| r.id().to_string());
    let outcome = match run {
        Some(run) => run.finish(outcome)?,
        None => outcome?,
    };
    print_summary(s, &outcome, run_id.as_deref());
    Ok(())
}

fn score_file(s: &ScoreSettings, model: &ResolvedModel) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let mut scorer = Scorer::new(&model.pipeline, s.handle_invalid);
    let mut reader = TableReader::open(&s.input, s.batch_rows, scorer.string_columns())?;
    let progress = progress_bar(&reader);
    let by_rows = reader.total_rows().is_some();
    // Three stages, one thread each, handing batches over without a queue (see the module doc).
    // The writer publishes its files only on the explicit end-of-input message (`None`); if scoring
    // fails, the channel just closes and the writer drops its temporary files.
    let (read_tx, read_rx) = std::sync::mpsc::sync_channel(0);
    let (write_tx, write_rx) = std::sync::mpsc::sync_channel::<Option<ScoredBatch>>(0);
    let mut write_rx = Some(write_rx);
    std::thread::scope(|scope| {
        let write_tx = write_tx;
        scope.spawn(move || loop {
            let next = reader.next_batch();
            let bytes = reader.bytes_read();
            let stop = !matches!(next, Ok(Some(_)));
            if read_tx.send((next, bytes)).is_err() || stop {
                break;
            }
        });
        let mut writer = None;
        for (batch, bytes) in read_rx {
            let Some(df) = batch? else { break };
            scorer.check_schema(df.schema(), &s.input)?;
            if let Some(rx) = write_rx.take() {
                let (scored_schema, skipped_schema) = Scorer::output_schemas(df.schema());
                let out = TableWriter::create(&s.output, &scored_schema)?;
                let skipped = TableWriter::create(&s.skipped, &skipped_schema)?;
                writer = Some(scope.spawn(move || write_all(out, skipped, &rx)));
            }
            let scored = scorer.score(&df)?;
            if write_tx.send(Some(scored)).is_err() {
                break;
            }
            progress.set_position(if by_rows {
                scorer.totals().rows_in as u64
            } else {
                bytes
            });
            progress.set_message(format!("{} skipped", scorer.totals().skipped));
        }
        let Some(handle) = writer else {
            bail!("`{}` is empty: it has no rows", s.input.display());
        };
        let _ = write_tx.send(None);
        handle
            .join()
            .map_err(|_| anyhow::anyhow!("the output writer panicked"))?
    })?;
    progress.finish_and_clear();
    Ok(Outcome {
        counts: scorer.totals().clone(),
        seconds: started.elapsed().as_secs_f64(),
        skipped_path: s.skipped.clone(),
    })
}

/// The writer stage: appends batches until the end-of-input message, then publishes both files.
fn write_all(
    mut out: TableWriter,
    mut skipped: TableWriter,
    batches: &std::sync::mpsc::Receiver<Option<ScoredBatch>>,
) -> anyhow::Result<()> {
    for batch in batches {
        let Some(b) = batch else {
            skipped.finish()?;
            out.finish()?;
            return Ok(());
        };
        out.write(&b.scored)?;
        skipped.write(&b.skipped)?;
    }
    bail!("scoring stopped before the end of the input")
}

fn progress_bar(reader: &TableReader) -> ProgressBar {
    let (len, unit) = match reader.total_rows() {
        Some(rows) => (rows as u64, "{human_pos}/{human_len} rows"),
        None => (reader.size_bytes(), "{bytes}/{total_bytes}"),
    };
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} scoring [{{bar:30}}] {unit} {{per_sec}} {{msg}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// The scoring run, created or adopted, with what was scored and by which model as parameters.
fn start_run(
    client: TrackingClient,
    target: &crate::tracked_run::RunTarget,
    s: &ScoreSettings,
    model: &ResolvedModel,
) -> anyhow::Result<TrackedRun> {
    let name = match (&model.name, &model.version) {
        (Some(n), Some(v)) => format!("score {n} v{v}"),
        _ => "score".to_string(),
    };
    let run = TrackedRun::open(client, target, &name, "score")?;
    let mut params = vec![
        KeyValue::new("model_uri", model.uri.clone()),
        KeyValue::new("input", s.input.display().to_string()),
        KeyValue::new("output", s.output.display().to_string()),
        KeyValue::new("handle_invalid", s.handle_invalid_name),
    ];
    let mut tags = vec![KeyValue::new("mltrack.model_uri", model.uri.clone())];
    if let (Some(n), Some(v)) = (&model.name, &model.version) {
        params.push(KeyValue::new("model_name", n.clone()));
        params.push(KeyValue::new("model_version", v.clone()));
        tags.push(KeyValue::new("mltrack.model_version", format!("{n}/{v}")));
    }
    if let Some(r) = &model.run_id {
        params.push(KeyValue::new("model_run_id", r.clone()));
    }
    run.client().log_batch(run.id(), &[], &params, &tags)?;
    Ok(run)
}

/// The counts as metrics (per column and per reason too), the skipped rows and a summary as
/// artifacts.
fn log_outcome(
    client: &TrackingClient,
    run_id: &str,
    s: &ScoreSettings,
    o: &Outcome,
) -> anyhow::Result<()> {
    let now = now_ms();
    let metric = |key: String, value: f64| Metric {
        key,
        value,
        timestamp: now,
        step: 0,
        run_id: None,
        ..Default::default()
    };
    let c = &o.counts;
    let mut metrics: Vec<Metric> = count_metrics(c)
        .into_iter()
        .map(|(k, v)| metric(k, v))
        .collect();
    metrics.extend([
        metric(
            "skipped_share".into(),
            c.skipped as f64 / c.rows_in.max(1) as f64,
        ),
        metric("duration_s".into(), o.seconds),
        metric(
            "rows_per_second".into(),
            c.rows_in as f64 / o.seconds.max(1e-9),
        ),
    ]);
    client.log_batch(run_id, &metrics, &[], &[])?;
    let run = client.get_run(run_id)?;
    let name = o
        .skipped_path
        .file_name()
        .map_or_else(|| "skipped".into(), |n| n.to_string_lossy().into_owned());
    client.upload_artifact(
        &TrackingClient::run_artifact_path(&run, &format!("scoring/{name}"))?,
        &o.skipped_path,
    )?;
    if c.skipped > 0
        && model_core::table_io::Format::of(&o.skipped_path)
            == model_core::table_io::Format::Parquet
    {
        upload_skipped_sample(client, &run, &o.skipped_path)?;
    }
    let summary = serde_json::json!({
        "model_uri": s.model,
        "input": s.input.display().to_string(),
        "output": s.output.display().to_string(),
        "skipped_output": o.skipped_path.display().to_string(),
        "rows_in": c.rows_in,
        "rows_scored": c.scored,
        "rows_skipped": c.skipped,
        "skipped_by_column": c.skipped_by_column,
        "skipped_by_reason": c.skipped_by_reason,
        "seconds": o.seconds,
    });
    let tmp = tempfile::NamedTempFile::new()?;
    std::fs::write(tmp.path(), serde_json::to_vec_pretty(&summary)?)?;
    client.upload_artifact(
        &TrackingClient::run_artifact_path(&run, "scoring/summary.json")?,
        tmp.path(),
    )?;
    Ok(())
}

/// The first rows of a parquet skipped file as CSV, which the web UI previews as a table.
fn upload_skipped_sample(
    client: &TrackingClient,
    run: &protocol::Run,
    skipped: &Path,
) -> anyhow::Result<()> {
    let mut reader = TableReader::open(skipped, SAMPLE_ROWS, &[])?;
    let Some(first) = reader.next_batch()? else {
        return Ok(());
    };
    upload_sample(client, run, &first, "scoring/skipped_sample.csv")
}

fn print_summary(s: &ScoreSettings, o: &Outcome, run_id: Option<&str>) {
    let c = &o.counts;
    println!(
        "scored {} of {} rows in {:.2} s → {}",
        c.scored,
        c.rows_in,
        o.seconds,
        s.output.display()
    );
    let by_column: Vec<String> = c
        .skipped_by_column
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    println!(
        "skipped {} rows{} → {}",
        c.skipped,
        if by_column.is_empty() {
            String::new()
        } else {
            format!(" ({})", by_column.join(", "))
        },
        o.skipped_path.display()
    );
    if let Some(id) = run_id {
        println!("logged to run {id}");
    }
}
