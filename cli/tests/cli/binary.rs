//! The `mltrack` binary as a user runs it, and the Rust client against it.

use client::rest::TrackingClient;
use protocol::{KeyValue, Metric, RunStatus, ViewType};
use std::process::Command;
use std::time::Duration;

use crate::common::{start_server, BIN};

#[test]
fn help_lists_the_server_and_its_flags() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("server"));
    let out = Command::new(BIN)
        .args(["server", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--host",
        "--port",
        "--backend-store-uri",
        "--default-artifact-root",
        "--artifacts-destination",
        "--no-serve-artifacts",
        "MLTRACK_BACKEND_STORE_URI",
    ] {
        assert!(text.contains(flag), "missing {flag} in:\n{text}");
    }
}

/// Spark's seeds are 64-bit signed; a larger `--seed` is refused at the flag, not replaced.
#[test]
fn a_seed_beyond_i64_is_refused_not_replaced() {
    let out = Command::new(BIN)
        .args(["train", "--seed", "9223372036854775808"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--seed") && err.contains("9223372036854775808"),
        "{err}"
    );
}

#[test]
fn bad_flags_and_bad_stores_fail_with_one_line() {
    let out = Command::new(BIN)
        .args(["server", "--port", "many"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--port"));

    let out = Command::new(BIN)
        .args(["server", "--backend-store-uri", "mysql://x/y"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("mysql://x/y") && err.lines().filter(|l| l.starts_with("error")).count() == 1,
        "{err}"
    );

    let out = Command::new(BIN)
        .args([
            "server",
            "--backend-store-uri",
            "sqlite:////no/such/dir/x.db",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/dir"));
}

#[test]
fn the_rust_client_round_trips_through_the_binary() {
    let server = start_server();
    let c = TrackingClient::new(&server.url).unwrap();
    assert!(c.health().unwrap());
    assert!(
        server.dir.path().join("mlruns.db").exists(),
        "default store is ./mlruns.db"
    );

    let exp = c.get_or_create_experiment("rust-client").unwrap();
    assert_eq!(c.get_or_create_experiment("rust-client").unwrap(), exp);
    let run = c
        .create_run(&exp, Some("r1"), &[KeyValue::new("team", "ml")])
        .unwrap();
    let id = run.info.run_id.clone();
    c.log_param(&id, "alpha", "0.1").unwrap();
    let err = c.log_param(&id, "alpha", "0.2").unwrap_err();
    assert_eq!(err.code(), Some("INVALID_PARAMETER_VALUE"));
    let history: Vec<Metric> = (0..1500)
        .map(|i| Metric {
            key: "loss".into(),
            value: 1.0 / f64::from(i + 1),
            timestamp: i64::from(i),
            step: i64::from(i),
            run_id: None,
            ..Default::default()
        })
        .collect();
    c.log_batch(&id, &history, &[], &[]).unwrap();
    c.log_metric(&id, "nan", f64::NAN, 0).unwrap();
    let back = c.get_metric_history(&id, "loss").unwrap();
    assert_eq!(back.len(), 1500);
    assert_eq!(back[10].value, history[10].value);
    assert!(c
        .get_run(&id)
        .unwrap()
        .data
        .metrics
        .iter()
        .any(|m| m.key == "nan" && m.value.is_nan()));

    let file = server.dir.path().join("report.txt");
    std::fs::write(&file, "drift: none").unwrap();
    let path = TrackingClient::run_artifact_path(&run, "reports/report.txt").unwrap();
    c.upload_artifact(&path, &file).unwrap();
    let listed = c
        .list_artifacts(&TrackingClient::run_artifact_path(&run, "reports").unwrap())
        .unwrap();
    assert_eq!(listed[0].path, "report.txt");
    let dest = server.dir.path().join("down/r.txt");
    c.download_artifact(&path, &dest).unwrap();
    assert_eq!(std::fs::read_to_string(dest).unwrap(), "drift: none");

    let model = TrackingClient::run_artifact_path(&run, "reports").unwrap();
    c.ensure_registered_model("report-model").unwrap();
    c.ensure_registered_model("report-model").unwrap();
    let v1 = c
        .create_model_version(
            "report-model",
            &format!("mlflow-artifacts:/{model}"),
            Some(&id),
        )
        .unwrap();
    let v2 = c
        .create_model_version(
            "report-model",
            &format!("mlflow-artifacts:/{model}"),
            Some(&id),
        )
        .unwrap();
    assert_eq!(
        (v1.version.as_str(), v2.version.as_str(), v1.status.as_str()),
        ("1", "2", "READY")
    );
    c.transition_stage("report-model", "1", "production", false)
        .unwrap();
    c.set_alias("report-model", "champion", "2").unwrap();
    assert_eq!(
        c.resolve_model_uri("models:/report-model/Production")
            .unwrap()
            .version,
        "1"
    );
    assert_eq!(
        c.resolve_model_uri("models:/report-model@champion")
            .unwrap()
            .version,
        "2"
    );
    assert_eq!(
        c.resolve_model_uri("models:/report-model/2")
            .unwrap()
            .current_stage,
        "None"
    );
    assert!(c
        .resolve_model_uri("models:/report-model/Staging")
        .unwrap_err()
        .is_not_found());
    assert_eq!(
        c.get_download_uri("report-model", "1").unwrap(),
        format!("mlflow-artifacts:/{model}")
    );

    c.end_run(&id, RunStatus::Finished).unwrap();
    let page = c
        .search_runs(
            &[&exp],
            "params.alpha = '0.1'",
            &["metrics.loss ASC"],
            ViewType::ActiveOnly,
            10,
            None,
        )
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].info.status, RunStatus::Finished);
    assert!(c.get_experiment_by_name("absent").unwrap().is_none());
    let missing = c.get_run("0123456789abcdef0123456789abcdef").unwrap_err();
    assert!(missing.is_not_found());
}

#[test]
fn an_unreachable_server_is_a_transport_error_not_a_hang() {
    let c = TrackingClient::new("http://127.0.0.1:9")
        .unwrap()
        .with_max_retries(1);
    let started = std::time::Instant::now();
    let err = c.get_experiment("0").unwrap_err();
    assert!(err.to_string().contains("cannot reach"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
}
