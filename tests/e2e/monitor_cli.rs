//! `mltrack monitor` as cron runs it: ten daily batches of gold-shaped data (drifting from day 7, a
//! day that breaks a `fail` expectation), a model registered by `mltrack train` with the reference
//! profile it saves, a live `mltrack server` holding one monitoring run per batch; then the same job
//! again (nothing new), a rewritten batch (reported, not scored), a new one (picked up). And the same
//! loop without a server, with its state file and bad batches that fail alone.

use client::rest::TrackingClient;
use e2e::tables::{gold_like, write_parquet, write_spark_folder};
use e2e::{mltrack_bin, runs_in, Server};
use polars::prelude::*;
use protocol::RunStatus;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::mpsc;

const EXPECTATIONS: &str = r#"
[[expect]]
name = "price_is_a_number"
column = "price"
type = "number"
policy = "fail"

[[expect]]
name = "bedrooms_not_negative"
column = "bedrooms"
min = 0
policy = "fail"

[[expect]]
name = "beds_sane"
column = "beds"
max = 20
policy = "drop"

[[expect]]
name = "room_type_known"
column = "room_type"
in = ["t", "f", "Apartment", "House", "Mission", "Real Bed", "94110"]
policy = "warn"
"#;

pub(crate) fn monitor(args: &[&str], cache: &Path) -> Output {
    monitor_env(args, cache, &[])
}

/// `mltrack monitor` with extra environment variables (a mail password, trusted certificates).
pub(crate) fn monitor_env(args: &[&str], cache: &Path, env: &[(&str, &str)]) -> Output {
    Command::new(mltrack_bin())
        .arg("monitor")
        .args(args)
        .env("MLTRACK_MODEL_CACHE", cache)
        .env("MLTRACK_LOG", "warn")
        .env_remove("MLFLOW_TRACKING_URI")
        .envs(env.iter().copied())
        .output()
        .expect("mltrack runs")
}

pub(crate) fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub(crate) fn replace_f64(df: &mut DataFrame, column: &str, f: impl Fn(usize, f64) -> f64) {
    let values: Vec<f64> = df
        .column(column)
        .unwrap()
        .cast(&DataType::Float64)
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, v)| f(i, v.unwrap()))
        .collect();
    df.with_column(Column::new(column.into(), values)).unwrap();
}

pub(crate) fn replace_str(
    df: &mut DataFrame,
    column: &str,
    rows: impl Fn(usize) -> bool,
    value: &str,
) {
    let values: Vec<Option<String>> = df
        .column(column)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, v)| {
            if rows(i) {
                Some(value.to_string())
            } else {
                v.map(str::to_string)
            }
        })
        .collect();
    df.with_column(Column::new(column.into(), values)).unwrap();
}

/// Training data whose price follows `accommodates`, so that a shift of `accommodates` moves the
/// model's predictions (prediction drift), not only the inputs.
pub(crate) fn training_data(path: &Path) {
    let mut df = gold_like(600, 1, 0.0);
    let accommodates: Vec<f64> = df
        .column("accommodates")
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .map(Option::unwrap)
        .collect();
    replace_f64(&mut df, "price", |i, _| {
        accommodates[i] * 10.0 + (i % 7) as f64
    });
    write_parquet(&df, path);
}

/// Day `day` (1-based) of December 2026: 120 rows; from day 7 `accommodates` and
/// `review_scores_rating` shift and new neighbourhoods appear.
pub(crate) fn batch(day: u32) -> DataFrame {
    let mut df = gold_like(120, 100 + u64::from(day), 0.0);
    if day >= 7 {
        replace_f64(&mut df, "accommodates", |_, v| v + 40.0);
        replace_f64(&mut df, "review_scores_rating", |_, v| v + 60.0);
        replace_str(
            &mut df,
            "neighbourhood_cleansed",
            |i| i % 10 == 0,
            "Treasure Island",
        );
    }
    if day == 3 {
        replace_f64(&mut df, "beds", |i, v| if i < 2 { 99.0 } else { v });
    }
    if day == 9 {
        replace_f64(&mut df, "bedrooms", |i, v| if i == 5 { -3.0 } else { v });
    }
    df
}

pub(crate) fn date(day: u32) -> String {
    format!("2026-12-{day:02}")
}

/// An HTTP endpoint that accepts any number of POSTs and hands their bodies over.
fn webhook_sink() -> (String, mpsc::Receiver<serde_json::Value>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
            if tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
                return;
            }
        }
    });
    (url, rx)
}

fn metric(run: &protocol::Run, key: &str) -> Option<f64> {
    run.data
        .metrics
        .iter()
        .find(|m| m.key == key)
        .map(|m| m.value)
}

pub(crate) fn tag<'a>(run: &'a protocol::Run, key: &str) -> Option<&'a str> {
    run.data
        .tags
        .iter()
        .find(|t| t.key == key)
        .map(|t| t.value.as_str())
}

fn rows(path: &Path) -> DataFrame {
    table_reader::read_table(path, &[]).unwrap()
}

pub(crate) fn partition(out: &Path, what: &str, day: u32) -> PathBuf {
    out.join(what)
        .join(format!("date={}", date(day)))
        .join("part-0.parquet")
}

#[test]
fn monitor_processes_each_daily_batch_once_against_a_tracking_server() {
    let server = Server::start(None, &[]);
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let cache = w.join("cache");
    let train_data = w.join("train.parquet");
    training_data(&train_data);
    let train = Command::new(mltrack_bin())
        .args([
            "train",
            "--data",
            train_data.to_str().unwrap(),
            "--max-evals",
            "1",
        ])
        .args([
            "--register",
            "monitored",
            "--stage",
            "Production",
            "--tracking-uri",
            &server.url,
        ])
        .args(["--out", w.join("model").to_str().unwrap()])
        .env("MLTRACK_LOG", "warn")
        .output()
        .unwrap();
    assert!(train.status.success(), "{:?}", text(&train));
    assert!(
        w.join("model/reference_profile.json").is_file(),
        "train saves the reference profile"
    );
    // Integer columns of the training file stay integers in the profile (numpy bins them apart).
    let profile: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.join("model/reference_profile.json")).unwrap())
            .unwrap();
    let kind = |name: &str| {
        profile["columns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .map_or_else(
                || panic!("no column {name} in the profile"),
                |c| c["kind"].clone(),
            )
    };
    assert_eq!(kind("minimum_nights"), "int");
    assert_ne!(kind("bedrooms"), "int");

    let gold = w.join("gold");
    std::fs::create_dir(&gold).unwrap();
    for day in 1..=10 {
        let df = batch(day);
        match day {
            4 => CsvWriter::new(
                std::fs::File::create(gold.join(format!("{}.csv", date(4)))).unwrap(),
            )
            .finish(&mut df.clone())
            .unwrap(),
            5 => write_spark_folder(&df, &gold.join(date(5)), &[60, 0, 60]),
            _ => write_parquet(&df, &gold.join(format!("{}.parquet", date(day)))),
        }
    }
    std::fs::write(gold.join("README.txt"), "not a batch").unwrap();
    let rules = w.join("expect.toml");
    std::fs::write(&rules, EXPECTATIONS).unwrap();
    let out = w.join("out");
    let (hook, alerts) = webhook_sink();
    let args = [
        "--model",
        "models:/monitored/Production",
        "--input",
        gold.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--expect",
        rules.to_str().unwrap(),
        "--tracking-uri",
        &server.url,
        "--webhook",
        &hook,
    ];
    let first = monitor(&args, &cache);
    let (stdout, stderr) = text(&first);
    assert_eq!(
        first.status.code(),
        Some(3),
        "drift from day 7\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("10 new batches (1 failed,"), "{stdout}");
    assert!(
        stderr.contains("`README.txt`"),
        "an undated file is named: {stderr}"
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("2026-12-")).count(),
        10,
        "{stdout}"
    );
    let day9 = stdout
        .lines()
        .find(|l| l.starts_with("2026-12-09"))
        .unwrap();
    assert!(
        day9.contains("FAILED") && day9.contains("bedrooms_not_negative"),
        "{day9}"
    );

    let c = TrackingClient::new(&server.url).unwrap();
    let runs = runs_in(&c, "monitoring/monitored", "");
    assert_eq!(runs.len(), 10);
    let run_of = |day: u32| {
        runs.iter()
            .find(|r| tag(r, "mltrack.monitor.date") == Some(date(day).as_str()))
            .unwrap_or_else(|| panic!("no run for day {day}"))
    };
    for day in 1..=10 {
        let run = run_of(day);
        assert_eq!(tag(run, "mltrack.monitor.sha256").map(str::len), Some(64));
        assert_eq!(metric(run, "rows_in"), Some(120.0), "day {day}");
        if day == 9 {
            assert_eq!(run.info.status, RunStatus::Failed);
            assert!(tag(run, "mltrack.error")
                .unwrap()
                .contains("bedrooms_not_negative"));
            assert_eq!(
                metric(run, "expectation_violations.bedrooms_not_negative"),
                Some(1.0)
            );
            assert_eq!(metric(run, "rows_scored"), None, "nothing scored");
            for what in ["predictions", "quarantine", "skipped", "reports"] {
                assert!(
                    !out.join(what).join("date=2026-12-09").exists(),
                    "{what} written for day 9"
                );
            }
            continue;
        }
        assert_eq!(
            run.info.status,
            RunStatus::Finished,
            "day {day}: {:?}",
            tag(run, "mltrack.error")
        );
        let predictions = rows(&partition(&out, "predictions", day));
        assert_eq!(
            Some(predictions.height() as f64),
            metric(run, "rows_scored")
        );
        assert!(predictions.column("prediction").is_ok());
        assert!(
            metric(run, "drift_share").is_some() && metric(run, "prediction_drift_score").is_some()
        );
        assert!(out
            .join(format!("reports/date={}/drift_report.html", date(day)))
            .is_file());
        let drifted = metric(run, "drifted_columns").unwrap();
        if day >= 7 {
            assert!(drifted >= 2.0, "day {day}: {drifted}");
            assert_eq!(metric(run, "prediction_drift"), Some(1.0), "day {day}");
            assert_eq!(
                metric(run, "rows_skipped.reason.unseen_category"),
                Some(12.0)
            );
        } else {
            assert_eq!(metric(run, "prediction_drift"), Some(0.0), "day {day}");
            assert_eq!(metric(run, "rows_skipped"), Some(0.0));
        }
    }
    // Day 3: two rows quarantined under the rule's name, with their value.
    let day3 = run_of(3);
    assert_eq!(metric(day3, "rows_quarantined"), Some(2.0));
    assert_eq!(metric(day3, "rows_quarantined.beds_sane"), Some(2.0));
    assert_eq!(metric(day3, "rows_scored"), Some(118.0));
    let quarantined = rows(&partition(&out, "quarantine", 3));
    assert_eq!(quarantined.height(), 2);
    let names: Vec<_> = quarantined
        .column("expectation")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .map(str::to_string)
        .collect();
    assert_eq!(names, ["beds_sane", "beds_sane"]);
    let files = c
        .list_artifacts(&TrackingClient::run_artifact_path(day3, "monitor").unwrap())
        .unwrap();
    assert!(
        files
            .iter()
            .any(|f| f.path.ends_with("quarantined_sample.csv")),
        "{files:?}"
    );
    let files = c
        .list_artifacts(&TrackingClient::run_artifact_path(run_of(8), "drift").unwrap())
        .unwrap();
    assert_eq!(files.len(), 2, "drift report HTML and JSON: {files:?}");
    assert!(rows(&partition(&out, "skipped", 8))
        .column("reason")
        .is_ok());
    // Alerts: days 7, 8 and 10 drifted, day 9 failed.
    let alerts: Vec<serde_json::Value> = alerts.try_iter().collect();
    let mut dates: Vec<&str> = alerts
        .iter()
        .map(|a| a["batch_date"].as_str().unwrap())
        .collect();
    dates.sort_unstable();
    assert_eq!(
        dates,
        ["2026-12-07", "2026-12-08", "2026-12-09", "2026-12-10"]
    );
    let a7 = alerts
        .iter()
        .find(|a| a["batch_date"] == "2026-12-07")
        .unwrap();
    assert_eq!(a7["model"], "monitored");
    assert_eq!(a7["version"], "1");
    assert_eq!(a7["run_id"].as_str(), Some(run_of(7).info.run_id.as_str()));
    assert!(a7["drifted_columns"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["column"] == "accommodates"));
    assert_eq!(a7["rows_skipped"], 12);

    // Again: nothing new.
    let again = monitor(&args, &cache);
    let (stdout, stderr) = text(&again);
    assert_eq!(again.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("0 new batches"), "{stdout}");
    assert_eq!(runs_in(&c, "monitoring/monitored", "").len(), 10);

    // A rewritten batch is reported and left alone; a new one is picked up.
    write_parquet(&gold_like(120, 555, 0.0), &gold.join("2026-12-02.parquet"));
    write_parquet(&batch(1), &gold.join("2026-12-11.parquet"));
    let third = monitor(&args, &cache);
    let (stdout, stderr) = text(&third);
    assert_eq!(
        third.status.code(),
        Some(1),
        "the changed batch\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("1 new batch (0 failed, 0 with drift), 9 already processed, 1 changed"),
        "{stdout}"
    );
    let warning: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("2026-12-02.parquet"))
        .collect();
    assert_eq!(warning.len(), 1, "{stderr}");
    assert!(
        warning[0].starts_with("warning:") && warning[0].contains("changed"),
        "{stderr}"
    );
    assert!(partition(&out, "predictions", 11).is_file());
    assert_eq!(runs_in(&c, "monitoring/monitored", "").len(), 11);
}

#[test]
fn without_a_server_the_state_file_keeps_the_books_and_bad_batches_fail_alone() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let cache = w.join("cache");
    let train_data = w.join("train.parquet");
    training_data(&train_data);
    let model = w.join("model");
    let train = Command::new(mltrack_bin())
        .args([
            "train",
            "--data",
            train_data.to_str().unwrap(),
            "--max-evals",
            "1",
        ])
        .args(["--out", model.to_str().unwrap()])
        .env("MLTRACK_LOG", "warn")
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .unwrap();
    assert!(train.status.success(), "{:?}", text(&train));
    // Train learns expectations from its rows; monitor applies them when not given `--expect`.
    let learned = std::fs::read_to_string(model.join("expectations.toml")).unwrap();
    for rule in [
        "name = \"bedrooms_is_a_number\"",
        "name = \"bedrooms_in_training_range\"",
        "name = \"room_type_seen_in_training\"",
    ] {
        assert!(learned.contains(rule), "{rule} in:\n{learned}");
    }
    let gold = w.join("gold");
    std::fs::create_dir(&gold).unwrap();
    for day in 1..=2 {
        write_parquet(&batch(day), &gold.join(format!("{}.parquet", date(day))));
    }
    let out = w.join("out");
    let args = [
        "--model",
        model.to_str().unwrap(),
        "--input",
        gold.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    let first = monitor(&args, &cache);
    let (stdout, stderr) = text(&first);
    assert_eq!(first.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("2 new batches (0 failed, 0 with drift)"),
        "{stdout}"
    );
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("monitor-state.json")).unwrap()).unwrap();
    assert_eq!(state["batches"]["2026-12-01.parquet"]["status"], "FINISHED");
    assert_eq!(
        state["batches"]["2026-12-02.parquet"]["sha256"]
            .as_str()
            .map(str::len),
        Some(64)
    );

    let again = monitor(&args, &cache);
    assert_eq!(again.status.code(), Some(0));
    assert!(text(&again).0.contains("0 new batches"));

    // An unreadable file, a batch without a column the model needs, then a good one.
    std::fs::write(gold.join("2026-12-03.parquet"), "this is not parquet").unwrap();
    write_parquet(
        &batch(4).drop("bedrooms").unwrap(),
        &gold.join("2026-12-04.parquet"),
    );
    write_parquet(&batch(5), &gold.join("2026-12-05.parquet"));
    let bad = monitor(&args, &cache);
    let (stdout, stderr) = text(&bad);
    assert_eq!(bad.status.code(), Some(1), "{stdout}\n{stderr}");
    let line = |day: &str| {
        stdout
            .lines()
            .filter(|l| l.starts_with(day))
            .collect::<Vec<_>>()
    };
    assert_eq!(line("2026-12-03").len(), 1);
    assert!(
        line("2026-12-03")[0].contains("FAILED")
            && line("2026-12-03")[0].contains("2026-12-03.parquet"),
        "{stdout}"
    );
    assert!(
        line("2026-12-04")[0].contains("FAILED") && line("2026-12-04")[0].contains("bedrooms"),
        "{stdout}"
    );
    assert!(!line("2026-12-05")[0].contains("FAILED"), "{stdout}");
    assert!(partition(&out, "predictions", 5).is_file());
    assert!(!partition(&out, "predictions", 4).exists());
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("monitor-state.json")).unwrap()).unwrap();
    assert_eq!(state["batches"]["2026-12-03.parquet"]["status"], "FAILED");
    assert_eq!(state["batches"]["2026-12-05.parquet"]["status"], "FINISHED");

    // A model without a saved profile needs `--reference`.
    std::fs::remove_file(model.join("reference_profile.json")).unwrap();
    write_parquet(&batch(6), &gold.join("2026-12-06.parquet"));
    let none = monitor(&args, &cache);
    let (_, stderr) = text(&none);
    assert_eq!(none.status.code(), Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("reference_profile.json") && stderr.contains("--reference"),
        "{stderr}"
    );
    let with = monitor(
        &[&args[..], &["--reference", train_data.to_str().unwrap()]].concat(),
        &cache,
    );
    let (stdout, stderr) = text(&with);
    assert_eq!(with.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("1 new batch (0 failed"), "{stdout}");

    // A column of the wrong type: text where the model reads numbers.
    let mut typed = batch(7);
    let words: Vec<String> = (0..typed.height()).map(|i| format!("{i} rooms")).collect();
    typed
        .with_column(Column::new("bedrooms".into(), words))
        .unwrap();
    write_parquet(&typed, &gold.join("2026-12-07.parquet"));
    write_parquet(&batch(8), &gold.join("2026-12-08.parquet"));
    let wrong = monitor(
        &[&args[..], &["--reference", train_data.to_str().unwrap()]].concat(),
        &cache,
    );
    let (stdout, stderr) = text(&wrong);
    // Day 8 drifts (the shift starts on day 7), and drift outranks a failure in the exit status.
    assert_eq!(wrong.status.code(), Some(3), "{stdout}\n{stderr}");
    let day7: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("2026-12-07"))
        .collect();
    assert_eq!(day7.len(), 1, "{stdout}");
    assert!(
        day7[0].contains("FAILED") && day7[0].contains("expectation `bedrooms_is_a_number` failed"),
        "the learned type rule names the column: {stdout}"
    );
    assert!(
        !partition(&out, "predictions", 7).exists(),
        "nothing written for day 7"
    );
    assert!(
        partition(&out, "predictions", 8).is_file(),
        "the next day still runs"
    );
}
