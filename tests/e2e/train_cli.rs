//! `mltrack train` against a running `mltrack server`: nested trial runs, the best model logged and
//! registered in Production, and the registered files predicting exactly as the local model does.

use client::rest::TrackingClient;
use e2e::{mltrack_bin, Server};
use protocol::ViewType;
use std::process::Command;

#[test]
fn train_registers_a_model_that_downloads_and_predicts_identically() {
    let server = Server::start(None, &[]);
    let work = tempfile::tempdir().unwrap();
    let local = work.path().join("model");
    let out = Command::new(mltrack_bin())
        .env(model_core::dataset::GOLD_DATA_ENV, e2e::gold_data())
        .args([
            "train",
            "--max-evals",
            "3",
            "--parallelism",
            "2",
            "--experiment",
            "price-e2e",
        ])
        .args([
            "--register",
            "airbnb-price",
            "--stage",
            "Production",
            "--tracking-uri",
            &server.url,
            "--out",
        ])
        .arg(&local)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{stderr}\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.contains("registered `airbnb-price` version 1 in stage Production"),
        "{stderr}"
    );

    let c = TrackingClient::new(&server.url).unwrap();
    let exp = c
        .get_experiment_by_name("price-e2e")
        .unwrap()
        .unwrap()
        .experiment_id;
    let runs = c
        .search_runs(&[&exp], "", &[], ViewType::ActiveOnly, 100, None)
        .unwrap()
        .items;
    let parent = runs
        .iter()
        .find(|r| r.info.run_name == "price-model-search")
        .expect("parent run");
    let children: Vec<_> = runs
        .iter()
        .filter(|r| {
            r.data
                .tags
                .iter()
                .any(|t| t.key == "mlflow.parentRunId" && t.value == parent.info.run_id)
        })
        .collect();
    assert_eq!(children.len(), 3, "one nested run per trial");
    assert!(children
        .iter()
        .all(|r| r.data.metrics.iter().any(|m| m.key == "val_rmse")));
    let test_rmse = parent
        .data
        .metrics
        .iter()
        .find(|m| m.key == "test_rmse")
        .unwrap()
        .value;
    assert!(test_rmse.is_finite() && test_rmse > 0.0);

    let version = c
        .resolve_model_uri("models:/airbnb-price/Production")
        .unwrap();
    assert_eq!(version.run_id.as_deref(), Some(parent.info.run_id.as_str()));
    let uri = c
        .get_download_uri("airbnb-price", &version.version)
        .unwrap();
    let downloaded = work.path().join("downloaded");
    c.download_dir(uri.strip_prefix("mlflow-artifacts:/").unwrap(), &downloaded)
        .unwrap();

    let gold = model_core::dataset::load_gold(&e2e::gold_data(), false).unwrap();
    let a = model_core::package::load(&local)
        .unwrap()
        .predict(&gold.table)
        .unwrap();
    let b = model_core::package::load(&downloaded)
        .unwrap()
        .predict(&gold.table)
        .unwrap();
    assert_eq!(a.values.len() + a.skipped.len(), gold.table.n_rows());
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a.values), bits(&b.values));
    let files = c
        .list_artifacts(&TrackingClient::run_artifact_path(parent, "search").unwrap())
        .unwrap();
    assert!(files.iter().any(|f| f.path == "loss.svg"));
}

#[test]
fn train_without_a_server_writes_the_model_and_says_so() {
    let work = tempfile::tempdir().unwrap();
    // The default gold data is found from the working directory, which is not the repository
    // here, so the test says where the data is (as a user outside a checkout would).
    let out = Command::new(mltrack_bin())
        .current_dir(work.path())
        .env_remove("MLFLOW_TRACKING_URI")
        .env(model_core::dataset::GOLD_DATA_ENV, e2e::gold_data())
        .args(["train", "--max-evals", "2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("no tracking server"), "{stderr}");
    assert!(work.path().join("mltrack-model/MLmodel").exists());
    assert!(work.path().join("mltrack-model/pipeline.json").exists());
}

#[test]
fn train_refuses_bad_input_with_one_line() {
    let work = tempfile::tempdir().unwrap();
    let csv = work.path().join("bad.csv");
    std::fs::write(&csv, "a,b\n1,2\n").unwrap();
    let out = Command::new(mltrack_bin())
        .args(["train", "--max-evals", "2", "--data"])
        .arg(&csv)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.csv") || err.contains("price"), "{err}");
    let out = Command::new(mltrack_bin())
        .args(["train", "--register", "m"])
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--register"));
}
