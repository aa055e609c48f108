//! Spawns the server on port 0 with a fresh store, and speaks JSON to it.

use serde_json::{json, Value};
use sqlx::Connection;
use tracking_server::config::ServerConfig;
use tracking_server::startup::Application;

pub(crate) const API: &str = "/api/2.0/mlflow";

#[derive(Clone, Copy, Debug)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// Declares one test per backend: `backend_tests!(name, |app| async move { … });`.
#[macro_export]
macro_rules! backend_tests {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite)
                    .await
                    .unwrap();
                ($body)(app).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(app) =
                    $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await
                else {
                    $crate::helpers::skip_postgres();
                    return;
                };
                ($body)(app).await;
            }
        }
    };
}

/// A PostgreSQL variant that cannot run here (see [`skip`]).
pub(crate) fn skip_postgres() {
    skip("PostgreSQL (MLTRACK_TEST_PG_URL is not set)");
}

/// A test that cannot run here for want of `what`: a failure under `CI=true`; elsewhere said on
/// stderr and appended to `$MLTRACK_SKIP_LOG`, which `.ci/run` counts at the end of the run.
pub(crate) fn skip(what: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "{test}: {what} is required under CI"
    );
    eprintln!("skipped: {test}: {what}");
    if let Some(log) = std::env::var_os("MLTRACK_SKIP_LOG") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let _ = writeln!(f, "api {test}: {what}");
        }
    }
}

pub(crate) struct TestApp {
    pub url: String,
    pub http: reqwest::Client,
    pub config: ServerConfig,
    pub dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

/// A fresh, empty PostgreSQL database on the server named by `MLTRACK_TEST_PG_URL`.
pub(crate) async fn fresh_pg_database() -> Option<String> {
    let admin = std::env::var("MLTRACK_TEST_PG_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    let name = format!("mltrack_test_{}", uuid_like());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect to MLTRACK_TEST_PG_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    Some(format!("{base}/{name}"))
}

/// Settings for a server on a fresh store inside `dir`; `None` when PostgreSQL is not configured.
pub(crate) async fn test_config(backend: Backend, dir: &tempfile::TempDir) -> Option<ServerConfig> {
    let backend_store_uri = match backend {
        Backend::Sqlite => format!("sqlite:///{}", dir.path().join("mlruns.db").display()),
        Backend::Postgres => fresh_pg_database().await?,
    };
    Some(ServerConfig {
        host: "127.0.0.1".into(),
        port: 0,
        backend_store_uri,
        artifacts_destination: dir.path().join("mlartifacts"),
        ..ServerConfig::default()
    })
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{:x}{:x}", nanos, std::process::id())
}

impl TestApp {
    pub(crate) async fn spawn(backend: Backend) -> Option<Self> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// `spawn` with settings changed by `configure` (auth, upload limit…).
    pub(crate) async fn spawn_with(
        backend: Backend,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(backend, &dir).await?;
        configure(&mut config);
        Some(Self::start(config, dir).await)
    }

    pub(crate) async fn start(config: ServerConfig, dir: tempfile::TempDir) -> Self {
        let app = Application::build(config.clone())
            .await
            .expect("server builds");
        let url = format!("http://127.0.0.1:{}", app.port());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            app.run_until(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Self {
            url,
            http: reqwest::Client::new(),
            config,
            dir,
            shutdown: Some(tx),
            handle: Some(handle),
        }
    }

    /// Stops the server and starts a new one on the same store and artifact directory.
    pub(crate) async fn restart(mut self) -> Self {
        self.stop().await;
        let config = ServerConfig {
            port: 0,
            ..self.config.clone()
        };
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        Self::start(config, dir).await
    }

    pub(crate) async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }

    pub(crate) async fn post(&self, endpoint: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{API}/{endpoint}", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        Self::answer(r).await
    }

    pub(crate) async fn get(&self, endpoint: &str, query: &[(&str, &str)]) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{API}/{endpoint}", self.url))
            .query(query)
            .send()
            .await
            .unwrap();
        Self::answer(r).await
    }

    /// The body of a GET of `path` (a web UI page, an artifact), as text.
    pub(crate) async fn text(&self, path: &str) -> String {
        self.http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub(crate) async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> (u16, Value) {
        let r = self
            .http
            .request(method, format!("{}{path}", self.url))
            .header("content-type", content_type)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        Self::answer(r).await
    }

    pub(crate) async fn answer(r: reqwest::Response) -> (u16, Value) {
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// POSTs and asserts a 200; returns the body.
    pub(crate) async fn ok(&self, endpoint: &str, body: Value) -> Value {
        let (status, v) = self.post(endpoint, body.clone()).await;
        assert_eq!(status, 200, "{endpoint} {body} -> {v}");
        v
    }

    /// POSTs and asserts the MLflow error code and its status.
    pub(crate) async fn fails(
        &self,
        endpoint: &str,
        body: Value,
        status: u16,
        code: &str,
    ) -> String {
        let (got, v) = self.post(endpoint, body.clone()).await;
        assert_eq!(
            (got, v["error_code"].as_str().unwrap_or("")),
            (status, code),
            "{endpoint} {body} -> {v}"
        );
        v["message"].as_str().unwrap_or("").to_string()
    }

    pub(crate) async fn create_experiment(&self, name: &str) -> String {
        self.ok("experiments/create", json!({"name": name})).await["experiment_id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub(crate) async fn create_run(&self, experiment_id: &str) -> String {
        let v = self
            .ok(
                "runs/create",
                json!({"experiment_id": experiment_id, "start_time": 1000, "user_id": "u"}),
            )
            .await;
        v["run"]["info"]["run_id"].as_str().unwrap().to_string()
    }

    pub(crate) async fn run(&self, run_id: &str) -> Value {
        let (status, v) = self.get("runs/get", &[("run_id", run_id)]).await;
        assert_eq!(status, 200, "{v}");
        v["run"].clone()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// `[{key, value}]` → sorted `(key, value)` pairs, for order-insensitive comparison.
pub(crate) fn pairs(v: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v
        .as_array()
        .map(|a| {
            a.iter()
                .map(|kv| {
                    (
                        kv["key"].as_str().unwrap().to_string(),
                        kv["value"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}
