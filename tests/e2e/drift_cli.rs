//! `mltrack drift` as a user runs it: files in, reports out, alerts by exit code and webhook, and the
//! report logged to a run on a live `mltrack server`; and its inputs, which are every input `train`
//! and `score` read (a Spark or polars folder of part files as well as one file), refused on one line
//! with nothing written when they are bad.

use e2e::tables::{gold_like, write_parquet, write_polars_folder, write_spark_folder};
use e2e::{mltrack_bin, Server};
use polars::prelude::*;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Reference: x ~ 0..100, city A/B; current: x and the prediction shifted (both drift), city unchanged.
fn write_data(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut reference = String::from("x,city,prediction\n");
    let mut current = String::from("x,city,prediction\n");
    for i in 0..400 {
        let city = if i % 3 == 0 { "A" } else { "B" };
        let _ = writeln!(reference, "{},{city},{}", i % 100, f64::from(i % 50) * 1.5);
        let _ = writeln!(
            current,
            "{},{city},{}",
            i % 100 + 60,
            f64::from(i % 50) * 1.5 + 40.0
        );
    }
    let (r, c) = (dir.join("reference.csv"), dir.join("current.csv"));
    std::fs::write(&r, reference).unwrap();
    std::fs::write(&c, current).unwrap();
    (r, c)
}

/// A one-shot HTTP endpoint that records the body it receives.
fn webhook_sink() -> (String, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .unwrap();
        String::from_utf8(body).unwrap()
    });
    (url, handle)
}

#[test]
fn drift_reports_alerts_and_logs_to_a_run() {
    let server = Server::start(None, &[]);
    let dir = tempfile::tempdir().unwrap();
    let (reference, current) = write_data(dir.path());
    let (hook, received) = webhook_sink();
    let out = Command::new(mltrack_bin())
        .args(["drift", "--reference"])
        .arg(&reference)
        .arg("--current")
        .arg(&current)
        .args(["--prediction", "prediction", "--json"])
        .arg(dir.path().join("report.json"))
        .arg("--html")
        .arg(dir.path().join("report.html"))
        .args([
            "--fail-on-drift",
            "--webhook",
            &hook,
            "--experiment",
            "drift-e2e",
            "--tracking-uri",
            &server.url,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "drift must fail the command:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("dataset drift"), "{stdout}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["columns"]["x"]["drift_detected"], true);
    assert_eq!(report["columns"]["city"]["drift_detected"], false);
    assert_eq!(report["prediction"]["drift_detected"], true);
    assert_eq!(report["dataset"]["dataset_drift"], true);
    assert_eq!(report["dataset"]["number_of_columns"], 3);
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(html.contains("<svg"), "the report draws charts");
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "the report loads nothing from the network"
    );
    let hooked: serde_json::Value = serde_json::from_str(&received.join().unwrap()).unwrap();
    assert_eq!(hooked["dataset"], report["dataset"]);

    // The run carries the flags, the alert tag and both reports.
    let c = client_for(&server.url);
    let runs = c
        .search_runs(
            &[&experiment_id(&c)],
            "tags.`mltrack.drift.alert` = 'true'",
            &[],
            protocol::ViewType::ActiveOnly,
            10,
            None,
        )
        .unwrap();
    assert_eq!(runs.items.len(), 1);
    let run = &runs.items[0];
    let metric = |k: &str| {
        run.data
            .metrics
            .iter()
            .find(|m| m.key == k)
            .map(|m| m.value)
    };
    assert_eq!(
        metric("drift.dataset_drift"),
        Some(
            report["dataset"]["dataset_drift"]
                .as_bool()
                .map_or(0.0, |b| f64::from(u8::from(b)))
        )
    );
    assert!(metric("drift.score.x").is_some());
    assert!(metric("drift.multivariate_auc").is_some_and(|auc| (0.0..=1.0).contains(&auc)));
    let files = c
        .list_artifacts(&client::rest::TrackingClient::run_artifact_path(run, "drift").unwrap())
        .unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(names, vec!["drift_report.html", "drift_report.json"]);
}

/// A run given with `--run-id` is the caller's: drift logs the report to it and leaves it running,
/// drift found or not; a run that does not exist is refused before any work.
#[test]
fn drift_logs_to_a_given_run_and_never_ends_it() {
    let server = Server::start(None, &[]);
    let dir = tempfile::tempdir().unwrap();
    let (reference, current) = write_data(dir.path());
    let c = client_for(&server.url);
    let experiment = c.get_or_create_experiment("pipeline").unwrap();
    let caller = c
        .create_run(&experiment, Some("nightly"), &[])
        .unwrap()
        .info
        .run_id;
    let drift_to = |run_id: &str| {
        Command::new(mltrack_bin())
            .args(["drift", "--reference"])
            .arg(&reference)
            .arg("--current")
            .arg(&current)
            .args(["--fail-on-drift", "--run-id", run_id])
            .args(["--tracking-uri", &server.url])
            .env("MLTRACK_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = drift_to(&caller);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let run = c.get_run(&caller).unwrap();
    assert_eq!(
        run.info.status,
        protocol::RunStatus::Running,
        "{:?}",
        run.info
    );
    assert!(run.info.end_time.is_none());
    assert!(
        run.data
            .tags
            .iter()
            .any(|t| t.key == "mltrack.drift.alert" && t.value == "true"),
        "{:?}",
        run.data.tags
    );

    let missing = "0123456789abcdef0123456789abcdef";
    let out = drift_to(missing);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(missing), "{stderr}");
}

#[test]
fn a_profile_gives_the_same_report_as_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let (reference, current) = write_data(dir.path());
    let profile = dir.path().join("profile.json");
    let status = Command::new(mltrack_bin())
        .args(["drift", "profile", "--reference"])
        .arg(&reference)
        .arg("--out")
        .arg(&profile)
        .status()
        .unwrap();
    assert!(status.success());
    let report = |reference: &std::path::Path, name: &str| {
        let out = dir.path().join(name);
        let status = Command::new(mltrack_bin())
            .args(["drift", "--reference"])
            .arg(reference)
            .arg("--current")
            .arg(&current)
            .arg("--json")
            .arg(&out)
            .status()
            .unwrap();
        assert_eq!(
            status.code(),
            Some(0),
            "without --fail-on-drift, drift is not an error"
        );
        std::fs::read_to_string(out).unwrap()
    };
    assert_eq!(report(&reference, "a.json"), report(&profile, "b.json"));
}

#[test]
fn bad_drift_input_is_one_line_and_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let (reference, _) = write_data(dir.path());
    let missing = dir.path().join("nope.csv");
    let out = Command::new(mltrack_bin())
        .args(["drift", "--reference"])
        .arg(&reference)
        .arg("--current")
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nope.csv"), "{err}");
    let out = Command::new(mltrack_bin())
        .args(["drift", "--reference"])
        .arg(&reference)
        .arg("--current")
        .arg(&reference)
        .args(["--stattest", "x=bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bogus"));
}

fn client_for(url: &str) -> client::rest::TrackingClient {
    client::rest::TrackingClient::new(url).unwrap()
}

fn experiment_id(c: &client::rest::TrackingClient) -> String {
    c.get_experiment_by_name("drift-e2e")
        .unwrap()
        .unwrap()
        .experiment_id
}

fn mltrack(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(mltrack_bin()).args(args).output().unwrap()
}

/// `mltrack drift --reference R --current C --json OUT`; returns the JSON report.
fn drift_json(reference: &Path, current: &Path, out: &Path) -> String {
    let run = mltrack(&[
        "drift".as_ref(),
        "--reference".as_ref(),
        reference.as_os_str(),
        "--current".as_ref(),
        current.as_os_str(),
        "--json".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::read_to_string(out).unwrap()
}

/// `mltrack drift profile --reference R --out OUT`; returns the profile.
fn profile_json(reference: &Path, out: &Path) -> String {
    let run = mltrack(&[
        "drift".as_ref(),
        "profile".as_ref(),
        "--reference".as_ref(),
        reference.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::read_to_string(out).unwrap()
}

#[test]
fn drift_and_profile_read_a_folder_of_part_files_exactly_as_the_same_rows_in_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let reference = gold_like(3000, 7, 0.0);
    let current = gold_like(2000, 8, 4.0);
    write_parquet(&reference, &d.join("reference.parquet"));
    write_parquet(&current, &d.join("current.parquet"));
    write_spark_folder(
        &reference,
        &d.join("reference-spark.parquet"),
        &[1200, 0, 1000, 800],
    );
    write_spark_folder(&current, &d.join("current-spark.parquet"), &[1500, 500]);
    write_polars_folder(&current, &d.join("current-polars"), 11);

    let expected = drift_json(
        &d.join("reference.parquet"),
        &d.join("current.parquet"),
        &d.join("files.json"),
    );
    let report: serde_json::Value = serde_json::from_str(&expected).unwrap();
    assert_eq!(report["dataset"]["number_of_columns"], 24);
    assert_eq!(
        report["dataset"]["dataset_drift"], true,
        "the shifted batch drifts, so the comparison below is not of two empty verdicts"
    );
    for (i, (reference, current)) in [
        ("reference-spark.parquet", "current.parquet"),
        ("reference.parquet", "current-spark.parquet"),
        ("reference-spark.parquet", "current-polars"),
    ]
    .into_iter()
    .enumerate()
    {
        let got = drift_json(
            &d.join(reference),
            &d.join(current),
            &d.join(format!("folders-{i}.json")),
        );
        assert_eq!(got, expected, "{reference} vs {current}");
    }

    let from_file = profile_json(&d.join("reference.parquet"), &d.join("profile-file.json"));
    let from_folder = profile_json(
        &d.join("reference-spark.parquet"),
        &d.join("profile-folder.json"),
    );
    assert_eq!(from_folder, from_file);
    let via_profile = drift_json(
        &d.join("profile-folder.json"),
        &d.join("current-spark.parquet"),
        &d.join("profile.json"),
    );
    assert_eq!(via_profile, expected);
}

/// The real gold data, a Spark folder; skipped (and said so) when it is absent, failed under CI.
#[test]
fn drift_and_profile_read_the_gold_data_folder() {
    let gold = model_core::dataset::gold_data_path();
    if !gold.exists() {
        e2e::skip(&format!(
            "the gold data (none at `{}`; set MLTRACK_GOLD_DATA)",
            gold.display()
        ));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The same rows in one file, read through the shared reader.
    let rows = table_reader::read_table(&gold, &[]).unwrap();
    assert_eq!(rows.height(), 7146);
    write_parquet(&rows, &d.join("gold-one-file.parquet"));

    let folder_vs_file = drift_json(&gold, &d.join("gold-one-file.parquet"), &d.join("a.json"));
    let report: serde_json::Value = serde_json::from_str(&folder_vs_file).unwrap();
    assert_eq!(report["dataset"]["dataset_drift"], false, "the same rows");
    assert_eq!(report["dataset"]["number_of_drifted_columns"], 0);
    assert!(report["columns"]["neighbourhood_cleansed"].is_object());
    let file_vs_folder = drift_json(&d.join("gold-one-file.parquet"), &gold, &d.join("b.json"));
    assert_eq!(file_vs_folder, folder_vs_file);

    let profile = profile_json(&gold, &d.join("gold-profile.json"));
    assert_eq!(
        profile,
        profile_json(
            &d.join("gold-one-file.parquet"),
            &d.join("file-profile.json")
        )
    );
    let via_profile = drift_json(&d.join("gold-profile.json"), &gold, &d.join("c.json"));
    assert_eq!(via_profile, folder_vs_file);
}

/// A bad input: the one line of `error: …` it must produce.
struct BadInput {
    path: PathBuf,
    problem: &'static str,
}

fn bad_inputs(d: &Path) -> Vec<BadInput> {
    let df = gold_like(40, 3, 0.0);
    let empty = d.join("empty-folder");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("_SUCCESS"), "").unwrap();

    let mixed = d.join("mixed.parquet");
    write_spark_folder(&df, &mixed, &[20, 20]);
    let mut other = df.slice(20, 20).drop("price").unwrap();
    other
        .with_column(Column::new("price".into(), vec!["cheap"; 20]))
        .unwrap();
    write_parquet(
        &other,
        &mixed.join("part-00001-5c3d407c-c844-4016-97ad-2edec446aa62-c000.snappy.parquet"),
    );

    let not_parquet = d.join("batch.parquet");
    std::fs::write(&not_parquet, "x,price\n1,2\n").unwrap();
    vec![
        BadInput {
            path: empty,
            problem: "the folder holds no parquet part files",
        },
        BadInput {
            path: mixed,
            problem: "its part files disagree: column `price` is str in `part-00001",
        },
        BadInput {
            path: not_parquet,
            problem: "not a parquet file",
        },
    ]
}

fn assert_one_line_error(out: &Output, bad: &BadInput) {
    assert_eq!(out.status.code(), Some(1), "{}", bad.path.display());
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "error: cannot read `{}`: {}",
        bad.path.display(),
        bad.problem
    );
    assert!(
        stderr.starts_with(&expected) && stderr.lines().count() == 1,
        "expected one line starting with\n{expected}\ngot\n{stderr}"
    );
}

#[test]
fn bad_inputs_are_one_line_exit_non_zero_and_write_nothing() {
    let server = Server::start(None, &[]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = d.join("good.parquet");
    write_parquet(&gold_like(40, 4, 0.0), &good);
    let outputs = d.join("out");
    std::fs::create_dir(&outputs).unwrap();
    let (json, html, profile) = (
        outputs.join("r.json"),
        outputs.join("r.html"),
        outputs.join("p.json"),
    );
    // A small local model, so that `score` can be shown the same inputs.
    let table = model_core::dataset::Table::from_polars(&gold_like(200, 5, 0.0))
        .unwrap()
        .0;
    let model = d.join("model");
    let fitted = model_core::pipeline::PricePipeline::fit(
        &table,
        &model_core::pipeline::PipelineParams::default(),
    )
    .unwrap();
    model_core::package::save(
        &fitted,
        &model,
        &model_core::package::SaveOptions::default(),
    )
    .unwrap();
    for bad in bad_inputs(d) {
        let (b, g) = (bad.path.as_os_str(), good.as_os_str());
        // `train` and `score` read through the same reader and say the same thing.
        let model_out = outputs.join("model");
        let train = [
            "train".as_ref(),
            "--data".as_ref(),
            b,
            "--max-evals".as_ref(),
            "1".as_ref(),
            "--out".as_ref(),
            model_out.as_os_str(),
        ];
        let scored = outputs.join("scored.parquet");
        let score = [
            "score".as_ref(),
            "--model".as_ref(),
            model.as_os_str(),
            "--input".as_ref(),
            b,
            "--output".as_ref(),
            scored.as_os_str(),
            "--no-log".as_ref(),
        ];
        for args in [&train[..], &score[..]] {
            let out = Command::new(mltrack_bin())
                .args(args)
                .env_remove("MLFLOW_TRACKING_URI")
                .env("MLTRACK_LOG", "warn")
                .output()
                .unwrap();
            assert_one_line_error(&out, &bad);
        }
        for (reference, current) in [(b, g), (g, b)] {
            let out = mltrack(&[
                "drift".as_ref(),
                "--reference".as_ref(),
                reference,
                "--current".as_ref(),
                current,
                "--json".as_ref(),
                json.as_os_str(),
                "--html".as_ref(),
                html.as_os_str(),
                "--experiment".as_ref(),
                "bad-input".as_ref(),
                "--tracking-uri".as_ref(),
                server.url.as_ref(),
            ]);
            assert_one_line_error(&out, &bad);
        }
        let out = mltrack(&[
            "drift".as_ref(),
            "profile".as_ref(),
            "--reference".as_ref(),
            b,
            "--out".as_ref(),
            profile.as_os_str(),
        ]);
        assert_one_line_error(&out, &bad);
        assert_eq!(
            std::fs::read_dir(&outputs).unwrap().count(),
            0,
            "nothing written for {}",
            bad.path.display()
        );
    }
    // No report was logged: the experiment was never even created.
    let c = client_for(&server.url);
    assert!(c.get_experiment_by_name("bad-input").unwrap().is_none());
}
