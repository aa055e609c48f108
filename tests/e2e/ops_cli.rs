//! Operations through the `mltrack` binary: users and `--auth` with the unmodified `mlflow` client,
//! draining on SIGTERM, and `mltrack gc`.

use e2e::{mltrack_bin, pytest_with_env, Server};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::process::{Command, Output};
use std::time::Duration;

fn mltrack(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(mltrack_bin())
        .args(args)
        .envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .output()
        .expect("mltrack runs")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// A Python snippet with the mlflow client; returns (success, stdout + stderr).
fn mlflow_script(url: &str, script: &str, env: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(e2e::python())
        .args(["-c", script])
        .env("MLFLOW_TRACKING_URI", url)
        .env("MLFLOW_DISABLE_TELEMETRY", "true")
        .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_mlflow_client_works_unchanged_with_auth_on() {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("sqlite:///{}", dir.path().join("auth.db").display());
    let store = ["--backend-store-uri", uri.as_str()];

    ok(&mltrack(
        &[
            &["server", "user", "add", "alice", "--password-env", "PW"],
            &store[..],
        ]
        .concat(),
        &[("PW", "s3cret pass")],
    ));
    let token = ok(&mltrack(
        &[
            &["server", "user", "add", "viewer", "--token", "--read-only"],
            &store[..],
        ]
        .concat(),
        &[],
    ));
    let token = token.trim().to_string();
    assert!(token.starts_with("mlt_"), "{token}");
    // Names are unique; secrets never come from the command line.
    let again = mltrack(
        &[
            &["server", "user", "add", "alice", "--password-env", "PW"],
            &store[..],
        ]
        .concat(),
        &[("PW", "x")],
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert!(!mltrack(
        &[&["server", "user", "add", "bob"], &store[..]].concat(),
        &[]
    )
    .status
    .success());

    let server = Server::start(Some(&uri), &["--auth"]);

    // The whole acceptance suite, with the client's own credential variables.
    let (passed, output) = pytest_with_env(
        &server.url,
        "",
        &[
            ("MLFLOW_TRACKING_USERNAME", "alice"),
            ("MLFLOW_TRACKING_PASSWORD", "s3cret pass"),
        ],
    );
    println!("{output}");
    assert!(
        passed,
        "the mlflow client suite failed with auth on:\n{output}"
    );

    // A read-only token reads, and its writes are refused with PERMISSION_DENIED.
    let (passed, output) = mlflow_script(
        &server.url,
        r#"
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
c = MlflowClient()
print("experiments", len(c.search_experiments()))
try:
    c.create_experiment("viewer-was-here")
    raise SystemExit("write allowed")
except MlflowException as e:
    print("refused", e.error_code)
"#,
        &[("MLFLOW_TRACKING_TOKEN", &token)],
    );
    assert!(passed, "{output}");
    assert!(output.contains("refused PERMISSION_DENIED"), "{output}");

    // Without credentials, or with wrong ones, the client gets 401 at once.
    for env in [
        vec![],
        vec![
            ("MLFLOW_TRACKING_USERNAME", "alice"),
            ("MLFLOW_TRACKING_PASSWORD", "wrong"),
        ],
    ] {
        let (passed, output) = mlflow_script(
            &server.url,
            "import mlflow; mlflow.search_experiments()",
            &env,
        );
        assert!(!passed);
        assert!(
            output.contains("UNAUTHENTICATED") || output.contains("401"),
            "{output}"
        );
    }

    // Removing a user: later logins fail (a running server notices within the cache TTL).
    ok(&mltrack(
        &[&["server", "user", "remove", "viewer"], &store[..]].concat(),
        &[],
    ));
    assert!(!mltrack(
        &[&["server", "user", "remove", "viewer"], &store[..]].concat(),
        &[]
    )
    .status
    .success());
}

/// The web UI's edit forms are POSTs under the same auth layer as the API: a read-only user's
/// edit is refused with `PERMISSION_DENIED` and changes nothing, an editor's goes through.
#[test]
fn the_ui_refuses_edits_from_a_read_only_user() {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("sqlite:///{}", dir.path().join("auth.db").display());
    let store = ["--backend-store-uri", uri.as_str()];
    ok(&mltrack(
        &[
            &["server", "user", "add", "alice", "--password-env", "PW"],
            &store[..],
        ]
        .concat(),
        &[("PW", "s3cret pass")],
    ));
    let token = ok(&mltrack(
        &[
            &["server", "user", "add", "viewer", "--token", "--read-only"],
            &store[..],
        ]
        .concat(),
        &[],
    ));
    let server = Server::start(Some(&uri), &["--auth"]);
    let script = r#"
import os, requests
from mlflow import MlflowClient
url = os.environ["MLFLOW_TRACKING_URI"]
c = MlflowClient()
run = c.create_run(c.create_experiment("ui-auth"), run_name="before").info.run_id
c.create_registered_model("ui-auth-model")
c.create_model_version("ui-auth-model", f"runs:/{run}/model", run_id=run)
viewer = {"Authorization": "Bearer " + os.environ["VIEWER"]}
editor = ("alice", "s3cret pass")
writes = [
    (f"/runs/{run}/rename", {"new_name": "after"}),
    (f"/runs/{run}/delete", {}),
    ("/models/ui-auth-model/versions/1/aliases", {"alias": "champion"}),
    ("/models/ui-auth-model/versions/1/delete", {}),
]
for path, form in writes:
    r = requests.post(url + path, data=form, headers=viewer, allow_redirects=False)
    assert r.status_code == 403 and "read-only" in r.text, (path, r.status_code, r.text)
assert c.get_run(run).info.run_name == "before"
assert c.get_run(run).info.lifecycle_stage == "active"
assert c.get_registered_model("ui-auth-model").aliases == {}
r = requests.post(url + writes[0][0], data=writes[0][1], auth=editor, allow_redirects=False)
assert r.status_code == 303, (r.status_code, r.text)
assert c.get_run(run).info.run_name == "after"
print("ui writes: read-only refused, editor allowed")
"#;
    let (passed, output) = mlflow_script(
        &server.url,
        script,
        &[
            ("MLFLOW_TRACKING_USERNAME", "alice"),
            ("MLFLOW_TRACKING_PASSWORD", "s3cret pass"),
            ("VIEWER", token.trim()),
        ],
    );
    assert!(passed, "{output}");
    assert!(
        output.contains("read-only refused, editor allowed"),
        "{output}"
    );
}

#[test]
fn sigterm_drains_a_request_in_flight() {
    let mut server = Server::start(None, &[]);
    let addr = server.url.trim_start_matches("http://").to_string();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        conn,
        "PUT /api/2.0/mlflow-artifacts/artifacts/0/r/artifacts/slow.bin HTTP/1.1\r\n\
         Host: {addr}\r\nContent-Length: 2000\r\n\r\n"
    )
    .unwrap();
    conn.write_all(&[1u8; 1000]).unwrap();
    std::thread::sleep(Duration::from_millis(300));

    server.signal("TERM");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        server.wait_for_exit(Duration::ZERO).is_none(),
        "the server exited with a request in flight"
    );
    conn.write_all(&[2u8; 1000]).unwrap();
    let mut answer = String::new();
    let _ = conn.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let status = server
        .wait_for_exit(Duration::from_secs(10))
        .expect("the server exits once drained");
    assert!(status.success(), "{status}");
    let stored = server.dir.path().join("mlartifacts/0/r/artifacts/slow.bin");
    assert_eq!(std::fs::read(stored).unwrap().len(), 2000);
}

#[test]
fn gc_purges_what_was_deleted() {
    let server = Server::start(None, &[]);
    let http = reqwest::blocking::Client::new();
    let post = |path: &str, body: Value| -> Value {
        let r = http
            .post(format!("{}/api/2.0/mlflow/{path}", server.url))
            .json(&body)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().unwrap()
    };
    let run = post("runs/create", json!({"experiment_id": "0"}));
    let run = run["run"]["info"]["run_id"].as_str().unwrap().to_string();
    let artifact = server
        .dir
        .path()
        .join(format!("mlartifacts/0/{run}/artifacts/model.bin"));
    let r = http
        .put(format!(
            "{}/api/2.0/mlflow-artifacts/artifacts/0/{run}/artifacts/model.bin",
            server.url
        ))
        .body(vec![0u8; 4096])
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(artifact.exists());
    post("runs/delete", json!({"run_id": run}));

    let store = format!(
        "sqlite:///{}",
        server.dir.path().join("mlruns.db").display()
    );
    let dest = server.dir.path().join("mlartifacts");
    let dest = dest.to_str().unwrap();
    let bad = mltrack(
        &["gc", "--backend-store-uri", &store, "--older-than", "2x"],
        &[],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid --older-than"));
    let young = ok(&mltrack(
        &[
            "gc",
            "--backend-store-uri",
            &store,
            "--artifacts-destination",
            dest,
            "--older-than",
            "1d",
        ],
        &[],
    ));
    assert_eq!(young, "");
    let out = ok(&mltrack(
        &[
            "gc",
            "--backend-store-uri",
            &store,
            "--artifacts-destination",
            dest,
        ],
        &[],
    ));
    assert_eq!(out, format!("run {run}\n"));
    assert!(!artifact.exists());
    let r = http
        .get(format!(
            "{}/api/2.0/mlflow/runs/get?run_id={run}",
            server.url
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[test]
fn json_logs_carry_the_request_id_route_and_status() {
    let server = Server::start_with_env(
        None,
        &[],
        &[
            ("MLTRACK_LOG", "info,tracking_server::ops=debug"),
            ("MLTRACK_LOG_FORMAT", "json"),
        ],
    );
    let r = reqwest::blocking::Client::new()
        .get(format!(
            "{}/api/2.0/mlflow/runs/get?run_id=nope",
            server.url
        ))
        .header("x-request-id", "req-from-client-7")
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["x-request-id"], "req-from-client-7");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let line = loop {
        let found = server
            .logs()
            .into_iter()
            .find(|l| l.contains("req-from-client-7") && l.contains("answered"));
        if let Some(line) = found {
            break line;
        }
        assert!(std::time::Instant::now() < deadline, "{:?}", server.logs());
        std::thread::sleep(Duration::from_millis(50));
    };
    let v: Value = serde_json::from_str(&line).unwrap();
    let span = &v["span"];
    assert_eq!(span["request_id"], "req-from-client-7", "{line}");
    assert_eq!(span["route"], "/api/2.0/mlflow/runs/get", "{line}");
    assert_eq!(span["method"], "GET", "{line}");
    assert_eq!(v["fields"]["message"], "answered", "{line}");
}
