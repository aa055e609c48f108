//! The unmodified Python `mlflow` client against `mltrack server`, on SQLite and PostgreSQL.

use e2e::{fresh_pg_database, pytest, Server};

fn run_suite(server: &Server) {
    let (ok, output) = pytest(&server.url, "");
    println!("{output}");
    assert!(
        ok,
        "the mlflow client suite failed against {}:\n{output}",
        server.url
    );
}

#[test]
fn mlflow_client_suite_on_sqlite() {
    let server = Server::start(None, &[]);
    run_suite(&server);
}

#[test]
fn mlflow_client_suite_on_postgres() {
    let Some(db) = fresh_pg_database() else {
        eprintln!("skipped: MLTRACK_TEST_PG_URL is not set");
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
    let out = std::process::Command::new(e2e::python())
        .args(["-c", script])
        .env("MLFLOW_TRACKING_URI", &server.url)
        .env("MLFLOW_DISABLE_TELEMETRY", "true")
        .output()
        .unwrap();
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
