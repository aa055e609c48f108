//! Registry webhooks through the unmodified Python `mlflow` client and the `mltrack` binary, on
//! SQLite and PostgreSQL: MLflow's webhook tests (`tests/python/test_client_webhooks.py`), and 100
//! deliveries queued while the receiver is down that all arrive, once each and signed, after the
//! server restarts and the receiver comes back. Secrets never show in the server's log.

use e2e::{pytest_with_env, python, workspace_root, Server};
use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tracking_server::webhooks::crypto::EncryptionKey;

const SECRET: &str = "outage-secret-0b1c9e";
/// The secrets `test_client_webhooks.py` uses.
const SUITE_SECRETS: &[&str] = &[
    "test-secret-key",
    "wrong-secret",
    "my_secret",
    "new_secret",
    "never-answer-this-secret",
];

/// The server's environment for webhooks to a receiver on 127.0.0.1, with fast retries.
fn webhook_env(key: &EncryptionKey) -> Vec<(&'static str, String)> {
    vec![
        (
            "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY",
            key.expose().to_string(),
        ),
        ("MLFLOW_WEBHOOK_ALLOWED_SCHEMES", "http,https".into()),
        ("MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS", "true".into()),
        ("MLTRACK_WEBHOOK_MAX_BACKOFF", "0.2".into()),
        ("MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES", "1000".into()),
        ("MLTRACK_LOG", "debug".into()),
    ]
}

fn start(uri: &str, env: &[(&'static str, String)]) -> Server {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Server::start_with_env(Some(uri), &[], &env)
}

fn assert_no_secret_in(logs: &[String], secrets: &[&str]) {
    assert!(!logs.is_empty());
    for line in logs {
        for s in secrets {
            assert!(
                !line.contains(s),
                "a webhook secret in the server log: {line}"
            );
        }
    }
}

fn run_suite(uri: &str) {
    let key = EncryptionKey::generate();
    let server = start(uri, &webhook_env(&key));
    let (ok, output) = pytest_with_env(
        &server.url,
        "test_client_webhooks.py",
        &[("MLTRACK_WEBHOOKS", "1")],
    );
    println!("{output}");
    assert!(
        ok,
        "the webhook suite failed against {}:\n{output}",
        server.url
    );
    assert!(output.contains(" passed"), "{output}");
    assert_no_secret_in(&server.logs(), SUITE_SECRETS);
}

#[test]
fn mlflow_webhook_suite_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    run_suite(&format!("sqlite:///{}/mlruns.db", dir.path().display()));
}

#[test]
fn mlflow_webhook_suite_on_postgres() {
    let Some(db) = e2e::pg_database_or_skip() else {
        return;
    };
    run_suite(&db);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `tests/python/webhook_receiver.py` as its own process; killed on drop.
struct Receiver(Child);

impl Receiver {
    fn start(port: u16, log: &std::path::Path) -> Self {
        let child = Command::new(python())
            .arg(workspace_root().join("tests/python/webhook_receiver.py"))
            .args([&port.to_string(), SECRET, &log.display().to_string()])
            .stdout(Stdio::null())
            .spawn()
            .expect("the receiver starts");
        Self(child)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn deliveries(server: &Server, webhook_id: &str) -> Vec<serde_json::Value> {
    let url = format!(
        "{}/api/2.0/mlflow/webhooks/{webhook_id}/deliveries?max_results=1000",
        server.url
    );
    let v: serde_json::Value = reqwest::blocking::get(url).unwrap().json().unwrap();
    v["deliveries"].as_array().cloned().unwrap_or_default()
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Through the `mlflow` client: a webhook with a secret, then 100 registered models; prints the
/// webhook's id.
const TRIGGER: &str = r#"
import sys
from mlflow import MlflowClient
client = MlflowClient()
webhook = client.create_webhook(
    name="outage", url=sys.argv[1], events=["registered_model.created"], secret=sys.argv[2]
)
for i in range(100):
    client.create_registered_model(f"outage-{i:03d}")
print(webhook.webhook_id)
"#;

fn hundred_deliveries_across_a_restart(uri: &str) {
    let key = EncryptionKey::generate();
    let env = webhook_env(&key);
    let port = free_port();
    let work = tempfile::tempdir().unwrap();
    let received = work.path().join("received.jsonl");

    // The receiver is down: every delivery fails and is queued for a retry.
    let mut first = start(uri, &env);
    let out = Command::new(python())
        .args(["-c", TRIGGER])
        .arg(format!("http://127.0.0.1:{port}/secure-webhook"))
        .arg(SECRET)
        .env("MLFLOW_TRACKING_URI", &first.url)
        .env("MLFLOW_DISABLE_TELEMETRY", "true")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let webhook_id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    wait_until("every delivery failed once", Duration::from_mins(1), || {
        let d = deliveries(&first, &webhook_id);
        d.len() == 100
            && d.iter()
                .all(|d| d["status"] == "PENDING" && d["attempts"].as_i64() >= Some(1))
    });

    // The server restarts on the same store; then the receiver comes back.
    first.signal("TERM");
    assert!(first.wait_for_exit(Duration::from_secs(30)).is_some());
    let mut logs = first.logs();
    let second = start(uri, &env);
    let _receiver = Receiver::start(port, &received);
    let lines = || -> Vec<serde_json::Value> {
        std::fs::read_to_string(&received)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    wait_until("100 deliveries arrived", Duration::from_mins(1), || {
        lines().len() >= 100
    });
    wait_until("the queue is empty", Duration::from_secs(30), || {
        deliveries(&second, &webhook_id)
            .iter()
            .all(|d| d["status"] == "DELIVERED")
    });
    std::thread::sleep(Duration::from_millis(500));
    let got = lines();
    assert_eq!(got.len(), 100, "each delivery exactly once");
    let ids: BTreeSet<&str> = got
        .iter()
        .map(|r| r["delivery_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 100);
    for r in &got {
        assert_eq!(
            (r["status_code"].as_i64(), r["verified"].as_bool()),
            (Some(200), Some(true)),
            "{r}"
        );
    }
    let names: BTreeSet<String> = got
        .iter()
        .map(|r| r["payload"]["name"].as_str().unwrap().to_string())
        .collect();
    let expected: BTreeSet<String> = (0..100).map(|i| format!("outage-{i:03}")).collect();
    assert_eq!(names, expected);
    logs.extend(second.logs());
    assert_no_secret_in(&logs, &[SECRET, key.expose()]);
}

#[test]
fn hundred_deliveries_survive_a_restart_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    hundred_deliveries_across_a_restart(&format!("sqlite:///{}/mlruns.db", dir.path().display()));
}

#[test]
fn hundred_deliveries_survive_a_restart_on_postgres() {
    let Some(db) = e2e::pg_database_or_skip() else {
        return;
    };
    hundred_deliveries_across_a_restart(&db);
}
