//! What `score` and `monitor` log about scoring, shared so that a monitoring run and a scoring run
//! name the same counts the same way (dashboards and alerts are written against these keys).

use super::metric_keys::metric_key;
use client::rest::TrackingClient;
use model_core::scoring::ScoreCounts;
use model_core::table_io::TableWriter;
use polars::prelude::DataFrame;

/// Rows kept in a sample artifact: enough to see the pattern, small enough for the UI's preview.
pub(super) const SAMPLE_ROWS: usize = 1000;

/// The counts as `(key, value)`: rows in, scored and skipped, and the skipped rows by column and by
/// reason, with keys made safe for any column name.
pub(super) fn count_metrics(c: &ScoreCounts) -> Vec<(String, f64)> {
    let mut out = vec![
        ("rows_in".to_string(), c.rows_in as f64),
        ("rows_scored".to_string(), c.scored as f64),
        ("rows_skipped".to_string(), c.skipped as f64),
    ];
    for (column, n) in &c.skipped_by_column {
        out.push((metric_key("rows_skipped.column.", column), *n as f64));
    }
    for (reason, n) in &c.skipped_by_reason {
        out.push((metric_key("rows_skipped.reason.", reason), *n as f64));
    }
    out
}

/// Uploads the first [`SAMPLE_ROWS`] rows of `frame` as CSV to `artifact` (a path in the run's
/// artifacts), which the web UI previews as a table. An empty frame uploads nothing.
pub(super) fn upload_sample(
    client: &TrackingClient,
    run: &protocol::Run,
    frame: &DataFrame,
    artifact: &str,
) -> anyhow::Result<()> {
    if frame.height() == 0 {
        return Ok(());
    }
    let sample = frame.slice(0, SAMPLE_ROWS);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("sample.csv");
    let mut writer = TableWriter::create(&path, sample.schema())?;
    writer.write(&sample)?;
    writer.finish()?;
    client.upload_artifact(&TrackingClient::run_artifact_path(run, artifact)?, &path)?;
    Ok(())
}
