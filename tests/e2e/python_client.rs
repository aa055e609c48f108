//! The unmodified Python `mlflow` client against `mltrack server`, on SQLite and PostgreSQL.

use e2e::{pytest, Server};

fn run_suite(server: &Server) {
    let (ok, output) = pytest(&server.url, "");
    println!("{output}");
    assert!(
        ok,
        "the mlflow client suite failed against {}:\n{output}",
        server.url
    );
}

/// Runs a Python snippet with the `mlflow` client pointed at the server.
fn client_script(server: &Server, script: &str) -> std::process::Output {
    std::process::Command::new(e2e::python())
        .args(["-c", script])
        .env("MLFLOW_TRACKING_URI", &server.url)
        .env("MLFLOW_DISABLE_TELEMETRY", "true")
        .output()
        .unwrap()
}

#[test]
fn mlflow_client_suite_on_sqlite() {
    let server = Server::start(None, &[]);
    run_suite(&server);
}

#[test]
fn mlflow_client_suite_on_postgres() {
    let Some(db) = e2e::pg_database_or_skip() else {
        return;
    };
    let server = Server::start(Some(&db), &[]);
    run_suite(&server);
}

/// `--default-artifact-root file:///…` with `--no-serve-artifacts`: the client writes artifacts to that
/// directory itself (as with `mlflow server`), and the proxy refuses with 503.
#[test]
fn a_local_artifact_root_is_written_by_the_client() {
    let root = tempfile::tempdir().unwrap();
    let root_uri = format!("file://{}", root.path().display());
    let server = Server::start(
        None,
        &["--default-artifact-root", &root_uri, "--no-serve-artifacts"],
    );
    let script = r#"
import mlflow, os, sys, tempfile
mlflow.set_experiment("local-root")
with mlflow.start_run() as run:
    p = os.path.join(tempfile.mkdtemp(), "note.txt")
    open(p, "w").write("kept locally")
    mlflow.log_artifact(p, artifact_path="notes")
print(run.info.artifact_uri)
"#;
    let out = client_script(&server, script);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let artifact_uri = stdout.lines().last().unwrap_or("").trim().to_string();
    assert!(artifact_uri.starts_with(&root_uri), "{artifact_uri}");
    let file =
        std::path::Path::new(artifact_uri.trim_start_matches("file://")).join("notes/note.txt");
    assert_eq!(std::fs::read_to_string(file).unwrap(), "kept locally");
    let probe = std::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("{}/api/2.0/mlflow-artifacts/artifacts?path=x", server.url),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&probe.stdout), "503");
}

/// `MLFLOW_CREATE_MODEL_VERSION_SOURCE_VALIDATION_REGEX`, read under MLflow's own name: a source
/// that does not match is refused with MLflow's message and nothing is written; one that does
/// match registers.
#[test]
fn the_source_validation_regex_refuses_other_sources() {
    let server = Server::start_with_env(
        None,
        &[],
        &[(
            "MLFLOW_CREATE_MODEL_VERSION_SOURCE_VALIDATION_REGEX",
            r"^mlflow-artifacts:/.*$",
        )],
    );
    let script = r#"
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
client = MlflowClient()
client.create_registered_model("guarded")
with pytest.raises(MlflowException, match="Invalid model version source: 's3://path/to/model'"):
    client.create_model_version("guarded", source="s3://path/to/model")
assert client.search_model_versions("name = 'guarded'") == []
run = client.create_run(client.create_experiment("regex"))
assert run.info.artifact_uri.startswith("mlflow-artifacts:/")
mv = client.create_model_version("guarded", source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id)
assert mv.version == "1"
print("ok")
"#;
    let out = client_script(&server, script);
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("ok"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A regex that does not compile stops the server at start with one line naming the flag.
#[test]
fn a_bad_source_regex_is_a_startup_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(e2e::mltrack_bin())
        .current_dir(dir.path())
        .args([
            "server",
            "--port",
            "0",
            "--model-version-source-regex",
            "(unclosed",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--model-version-source-regex") && stderr.contains("(unclosed"),
        "{stderr}"
    );
    assert!(!dir.path().join("mlruns.db").exists(), "nothing is created");
}
