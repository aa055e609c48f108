//! A webhook receiver on 127.0.0.1 for the tests: records every POST and checks its signature with
//! the recipe in MLflow's webhook docs (`verify_mlflow_signature`), timestamp freshness included.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub path: String,
    pub delivery_id: String,
    pub timestamp: String,
    pub signature: Option<String>,
    pub body: String,
    /// The signature verified with the receiver's secret (false when absent).
    pub verified: bool,
}

impl Received {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

#[derive(Default)]
struct Inner {
    log: Vec<Received>,
    /// Statuses to answer next, in order; 200 once empty.
    plan: VecDeque<(u16, Option<&'static str>)>,
}

pub(crate) struct Receiver {
    pub port: u16,
    secret: String,
    inner: Arc<Mutex<Inner>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// MLflow's documented verification: `v1,` prefix, HMAC-SHA256 over `{id}.{timestamp}.{payload}`,
/// base64, constant-time compare; and a timestamp at most five minutes old.
pub(crate) fn verify(
    secret: &str,
    delivery_id: &str,
    timestamp: &str,
    payload: &str,
    sig: &str,
) -> bool {
    let Some(given) = sig.strip_prefix("v1,") else {
        return false;
    };
    let fresh = timestamp.parse::<u64>().is_ok_and(|ts| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        now >= ts && now - ts <= 300
    });
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{delivery_id}.{timestamp}.{payload}").as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let same = subtle_eq(expected.as_bytes(), given.as_bytes());
    fresh && same
}

fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Receiver {
    /// Listens on `port` (0: a free one) and verifies signatures with `secret`.
    pub(crate) async fn start(port: u16, secret: &str) -> Self {
        Self::start_with(port, secret, Arc::default()).await
    }

    async fn start_with(port: u16, secret: &str, inner: Arc<Mutex<Inner>>) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = (inner.clone(), secret.to_string());
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let (inner, secret) = state.clone();
            async move { record(&inner, &secret, &uri, &headers, &body) }
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            port,
            secret: secret.to_string(),
            inner,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The next answers, in order (then 200s).
    pub(crate) fn plan(&self, answers: &[(u16, Option<&'static str>)]) {
        self.inner
            .lock()
            .unwrap()
            .plan
            .extend(answers.iter().copied());
    }

    pub(crate) fn log(&self) -> Vec<Received> {
        self.inner.lock().unwrap().log.clone()
    }

    /// Stops listening (the port is then refused), keeping the log.
    pub(crate) async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Listens again on the same port with the same log.
    pub(crate) async fn resume(self) -> Self {
        Self::start_with(self.port, &self.secret.clone(), self.inner.clone()).await
    }

    /// Waits until `n` requests arrived (panics after `timeout`).
    pub(crate) async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let log = self.log();
            if log.len() >= n {
                return log;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {n} webhook requests; got {}",
                log.len()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

fn record(
    inner: &Mutex<Inner>,
    secret: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> axum::response::Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let body = String::from_utf8_lossy(body).into_owned();
    let delivery_id = header("x-mlflow-delivery-id").unwrap_or_default();
    let timestamp = header("x-mlflow-timestamp").unwrap_or_default();
    let signature = header("x-mlflow-signature");
    let verified = signature
        .as_deref()
        .is_some_and(|s| verify(secret, &delivery_id, &timestamp, &body, s));
    let mut inner = inner.lock().unwrap();
    let (status, retry_after) = inner.plan.pop_front().unwrap_or((200, None));
    inner.log.push(Received {
        path: uri.path().to_string(),
        delivery_id,
        timestamp,
        signature,
        body,
        verified,
    });
    let mut response = (
        StatusCode::from_u16(status).unwrap(),
        format!("{{\"answered\": {status}}}"),
    )
        .into_response();
    if let Some(ra) = retry_after {
        response
            .headers_mut()
            .insert("retry-after", ra.parse().unwrap());
    }
    response
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
