//! The seed's monitoring job on the gold data, end to end through the `mltrack` binary: train and
//! register a Production model, score a reference half and a shifted current half with it, compare
//! them with `mltrack drift` (data and prediction drift) logged to a run, and open the logged HTML
//! report in headless Chromium with the network closed.

use client::rest::TrackingClient;
use e2e::{chromium_render, mltrack_cli, runs_in, screenshot_dir, Server};
use model_core::table_io::{TableReader, TableWriter};
use polars::prelude::*;
use std::path::Path;

fn write_parquet(df: &DataFrame, path: &Path) {
    let mut w = TableWriter::create(path, df.schema()).unwrap();
    w.write(df).unwrap();
    w.finish().unwrap();
}

/// Adds `by` to a numeric column (cast to f64).
fn shift(df: &mut DataFrame, column: &str, by: f64) {
    let values: Vec<Option<f64>> = df
        .column(column)
        .unwrap()
        .cast(&DataType::Float64)
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .map(|v| v.map(|x| x + by))
        .collect();
    df.with_column(Column::new(column.into(), values)).unwrap();
}

#[test]
fn drift_on_gold_data_scored_by_the_registered_model_is_logged_and_its_report_renders() {
    // The shift below drifts enough of the real data's columns to flag the dataset; a generated
    // table's columns react differently, so this scenario needs the real file.
    if !e2e::has_real_gold_data() {
        e2e::skip("the gold data (set MLTRACK_GOLD_DATA)");
        return;
    }
    let server = Server::start(None, &[]);
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let cache = w.join("cache");
    let train = mltrack_cli(
        &[
            "train",
            "--max-evals",
            "2",
            "--register",
            "airbnb-price",
            "--stage",
            "Production",
            "--tracking-uri",
            &server.url,
            "--out",
            w.join("model").to_str().unwrap(),
        ],
        &cache,
    );
    assert!(
        train.status.success(),
        "{}",
        String::from_utf8_lossy(&train.stderr)
    );

    // Reference = first half of the gold rows; current = second half, shifted towards bigger places.
    let mut reader = TableReader::open(&e2e::gold_data(), usize::MAX, &[]).unwrap();
    let mut gold = reader.next_batch().unwrap().unwrap();
    while let Some(more) = reader.next_batch().unwrap() {
        gold.vstack_mut(&more).unwrap();
    }
    let half = gold.height() / 2;
    let reference = gold.slice(0, half);
    let mut current = gold.slice(half as i64, gold.height() - half);
    shift(&mut current, "accommodates", 3.0);
    shift(&mut current, "bedrooms", 2.0);
    shift(&mut current, "review_scores_rating", -15.0);
    write_parquet(&reference, &w.join("reference.parquet"));
    write_parquet(&current, &w.join("current.parquet"));
    for side in ["reference", "current"] {
        let out = mltrack_cli(
            &[
                "score",
                "--model",
                "models:/airbnb-price/Production",
                "--input",
                w.join(format!("{side}.parquet")).to_str().unwrap(),
                "--output",
                w.join(format!("{side}-scored.parquet")).to_str().unwrap(),
                "--tracking-uri",
                &server.url,
                "--experiment",
                "monitoring",
            ],
            &cache,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let html = w.join("drift.html");
    let out = mltrack_cli(
        &[
            "drift",
            "--reference",
            w.join("reference-scored.parquet").to_str().unwrap(),
            "--current",
            w.join("current-scored.parquet").to_str().unwrap(),
            "--prediction",
            "prediction",
            "--html",
            html.to_str().unwrap(),
            "--fail-on-drift",
            "--experiment",
            "monitoring",
            "--tracking-uri",
            &server.url,
        ],
        &cache,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("dataset drift: DETECTED"), "{stdout}");

    // The run: flags and share as metrics, the alert tag, the report as artifacts.
    let c = TrackingClient::new(&server.url).unwrap();
    let runs = runs_in(&c, "monitoring", "tags.`mltrack.command` = 'drift'");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    let metric = |k: &str| {
        run.data
            .metrics
            .iter()
            .find(|m| m.key == k)
            .map(|m| m.value)
    };
    assert_eq!(metric("drift.dataset_drift"), Some(1.0));
    assert_eq!(metric("drift.prediction_drift"), Some(1.0));
    assert!(metric("drift.share_of_drifted_columns").unwrap() >= 0.5);
    assert!(metric("drift.score.accommodates").is_some());
    assert!(run
        .data
        .tags
        .iter()
        .any(|t| t.key == "mltrack.drift.alert" && t.value == "true"));

    // The logged HTML, fetched back through the artifact proxy, renders with no network.
    let logged = w.join("logged.html");
    c.download_artifact(
        &TrackingClient::run_artifact_path(run, "drift/drift_report.html").unwrap(),
        &logged,
    )
    .unwrap();
    assert_eq!(
        std::fs::read(&logged).unwrap(),
        std::fs::read(&html).unwrap()
    );
    // Everything above ran; only the rendering needs Chromium.
    if !e2e::chromium_or_skip() {
        return;
    }
    let png = screenshot_dir().join("gold-drift-report.png");
    let dom = chromium_render(&format!("file://{}", logged.display()), Some(&png));
    assert!(
        dom.contains("<h1>Drift report</h1>"),
        "{}",
        &dom[..dom.len().min(500)]
    );
    assert!(dom.contains("Dataset drift: <span class=\"yes\">detected</span>"));
    assert!(dom.contains("Prediction <code>prediction</code>: <span class=\"yes\">drifted</span>"));
    let charts = dom.matches("<svg").count();
    assert!(charts >= 20, "expected a chart per column, found {charts}");
    assert!(
        !dom.contains("src=\"http") && !dom.contains("href=\"http"),
        "report loads from the network"
    );
}
