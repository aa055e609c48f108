//! `mltrack score`: batch scoring with a registered or local model. Every input row ends up either in
//! the output (input columns plus `prediction`) or in the skipped file (input columns plus `row`,
//! `reason`, `column`, `value`), and a scoring run records what happened so people see when the model
//! no longer covers the data.
//!
//! Reading, scoring and writing overlap: a reader thread decodes the next batch while the main thread
//! scores and writes the current one, with at most two batches in flight, so memory stays flat
//! whatever the input's size.

use super::metric_keys::metric_key;
use crate::cli::ScoreArgs;
use crate::commands::model_source::{self, ResolvedModel};
use anyhow::{bail, Context};
use client::rest::{now_ms, TrackingClient};
use indicatif::{ProgressBar, ProgressStyle};
use model_core::indexer::HandleInvalid;
use model_core::scoring::{ScoreCounts, ScoredBatch, Scorer};
use model_core::table_io::{TableReader, TableWriter};
use protocol::{KeyValue, Metric, RunStatus};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What one scoring job did.
struct Outcome {
    counts: ScoreCounts,
    seconds: f64,
    skipped_path: PathBuf,
}

pub fn run(args: ScoreArgs) -> anyhow::Result<()> {
    if args.batch_rows == 0 {
        bail!("invalid value 0 for `--batch-rows`: must be at least 1");
    }
    if !args.input.exists() {
        bail!("input `{}` does not exist", args.input.display());
    }
    let skipped_path = args
        .skipped
        .clone()
        .unwrap_or_else(|| default_skipped_path(&args.output));
    for out in [&args.output, &skipped_path] {
        if same_file(out, &args.input) {
            bail!(
                "`{}` is the input: choose another output path",
                out.display()
            );
        }
    }
    if args.output == skipped_path {
        bail!(
            "`--output` and `--skipped` are the same file `{}`",
            args.output.display()
        );
    }
    let handle_invalid: HandleInvalid = args.handle_invalid.parse().with_context(|| {
        format!(
            "invalid value `{}` for `--handle-invalid`",
            args.handle_invalid
        )
    })?;
    let client = match args
        .tracking_uri
        .clone()
        .or_else(|| std::env::var(client::rest::TRACKING_URI_ENV).ok())
        .filter(|u| !u.is_empty())
    {
        Some(uri) => Some(TrackingClient::new(&uri)?),
        None => None,
    };
    if client.is_none() && (args.run_id.is_some() || args.experiment.is_some()) {
        bail!("`--run-id` and `--experiment` need a tracking server: pass `--tracking-uri` or set MLFLOW_TRACKING_URI");
    }
    let cache = args
        .model_cache
        .clone()
        .unwrap_or_else(model_source::default_cache_dir);
    let model = model_source::resolve(&args.model, client.as_ref(), &cache)?;
    tracing::info!(
        "using model {} from `{}`{}",
        args.model,
        model.dir.display(),
        if model.cached { " (cached)" } else { "" }
    );
    let run = match (&client, args.no_log) {
        (Some(c), false) => Some((c, start_run(c, &args, &model)?)),
        _ => None,
    };
    let outcome = score_file(&args, &model, handle_invalid, &skipped_path);
    // A run this command created is always ended: FINISHED, or FAILED with the error as a tag. A
    // run it was given (`--run-id`) belongs to the caller and is never ended here.
    let created = args.run_id.is_none();
    let outcome = match (outcome, &run) {
        (Ok(o), Some((c, run_id))) => log_outcome(c, run_id, &args, &o)
            .with_context(|| format!("cannot log the scoring run {run_id}"))
            .map(|()| o),
        (outcome, _) => outcome,
    };
    if let Some((c, run_id)) = &run {
        match &outcome {
            Ok(_) if created => c.end_run(run_id, RunStatus::Finished).map(|_| ())?,
            Ok(_) => {}
            Err(e) => {
                let _ = c.set_tag(run_id, "mltrack.error", &format!("{e:#}"));
                if created {
                    let _ = c.end_run(run_id, RunStatus::Failed);
                }
            }
        }
    }
    let outcome = outcome?;
    print_summary(&args, &outcome, run.as_ref().map(|(_, id)| id.as_str()));
    Ok(())
}

/// `out.parquet` → `out.skipped.parquet`.
fn default_skipped_path(output: &Path) -> PathBuf {
    let stem = output
        .file_stem()
        .map_or_else(|| "scored".into(), |s| s.to_string_lossy().into_owned());
    let name = match output.extension() {
        Some(ext) => format!("{stem}.skipped.{}", ext.to_string_lossy()),
        None => format!("{stem}.skipped"),
    };
    output.with_file_name(name)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn score_file(
    args: &ScoreArgs,
    model: &ResolvedModel,
    handle_invalid: HandleInvalid,
    skipped_path: &Path,
) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let mut scorer = Scorer::new(&model.pipeline, handle_invalid);
    let mut reader = TableReader::open(&args.input, args.batch_rows, scorer.string_columns())?;
    let progress = progress_bar(&reader);
    let by_rows = reader.total_rows().is_some();
    // Three stages, one thread each: decode → score → encode, handing batches over without a queue (at most three in memory).
    // The writer publishes its files only on the explicit end-of-input message (`None`); if scoring
    // fails, the channel just closes and the writer drops its temporary files.
    let (read_tx, read_rx) = std::sync::mpsc::sync_channel(0);
    let (write_tx, write_rx) = std::sync::mpsc::sync_channel::<Option<ScoredBatch>>(0);
    let mut write_rx = Some(write_rx);
    std::thread::scope(|s| {
        let write_tx = write_tx;
        s.spawn(move || loop {
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
            scorer.check_schema(df.schema(), &args.input)?;
            if let Some(rx) = write_rx.take() {
                let (scored_schema, skipped_schema) = Scorer::output_schemas(df.schema());
                let out = TableWriter::create(&args.output, &scored_schema)?;
                let skipped = TableWriter::create(skipped_path, &skipped_schema)?;
                writer = Some(s.spawn(move || write_all(out, skipped, &rx)));
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
            bail!("`{}` is empty: it has no rows", args.input.display());
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
        skipped_path: skipped_path.to_path_buf(),
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

fn start_run(
    client: &TrackingClient,
    args: &ScoreArgs,
    model: &ResolvedModel,
) -> anyhow::Result<String> {
    let run_id = if let Some(id) = &args.run_id {
        client
            .get_run(id)
            .with_context(|| format!("cannot log to run `{id}`"))?;
        id.clone()
    } else {
        let experiment = args.experiment.as_deref().unwrap_or("scoring");
        let experiment_id = client
            .get_or_create_experiment(experiment)
            .with_context(|| format!("cannot use experiment `{experiment}`"))?;
        let name = match (&model.name, &model.version) {
            (Some(n), Some(v)) => format!("score {n} v{v}"),
            _ => "score".to_string(),
        };
        client
            .create_run(
                &experiment_id,
                Some(&name),
                &[KeyValue::new("mltrack.command", "score")],
            )?
            .info
            .run_id
    };
    let mut params = vec![
        KeyValue::new("model_uri", model.uri.clone()),
        KeyValue::new("input", args.input.display().to_string()),
        KeyValue::new("output", args.output.display().to_string()),
        KeyValue::new("handle_invalid", args.handle_invalid.clone()),
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
    client.log_batch(&run_id, &[], &params, &tags)?;
    Ok(run_id)
}

/// A metric key from a column name: MLflow allows letters, digits, `_ - . / ` and space.
fn log_outcome(
    client: &TrackingClient,
    run_id: &str,
    args: &ScoreArgs,
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
    #[allow(clippy::cast_precision_loss)]
    let mut metrics = vec![
        metric("rows_in".into(), c.rows_in as f64),
        metric("rows_scored".into(), c.scored as f64),
        metric("rows_skipped".into(), c.skipped as f64),
        metric(
            "skipped_share".into(),
            c.skipped as f64 / c.rows_in.max(1) as f64,
        ),
        metric("duration_s".into(), o.seconds),
        metric(
            "rows_per_second".into(),
            c.rows_in as f64 / o.seconds.max(1e-9),
        ),
    ];
    #[allow(clippy::cast_precision_loss)]
    for (column, n) in &c.skipped_by_column {
        metrics.push(metric(
            metric_key("rows_skipped.column.", column),
            *n as f64,
        ));
    }
    #[allow(clippy::cast_precision_loss)]
    for (reason, n) in &c.skipped_by_reason {
        metrics.push(metric(
            metric_key("rows_skipped.reason.", reason),
            *n as f64,
        ));
    }
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
        "model_uri": args.model,
        "input": args.input.display().to_string(),
        "output": args.output.display().to_string(),
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
    const SAMPLE_ROWS: usize = 1000;
    let mut reader = TableReader::open(skipped, SAMPLE_ROWS, &[])?;
    let Some(first) = reader.next_batch()? else {
        return Ok(());
    };
    let sample = first.slice(0, SAMPLE_ROWS);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("skipped_sample.csv");
    let mut writer = TableWriter::create(&path, sample.schema())?;
    writer.write(&sample)?;
    writer.finish()?;
    client.upload_artifact(
        &TrackingClient::run_artifact_path(run, "scoring/skipped_sample.csv")?,
        &path,
    )?;
    Ok(())
}

fn print_summary(args: &ScoreArgs, o: &Outcome, run_id: Option<&str>) {
    let c = &o.counts;
    println!(
        "scored {} of {} rows in {:.2} s → {}",
        c.scored,
        c.rows_in,
        o.seconds,
        args.output.display()
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
