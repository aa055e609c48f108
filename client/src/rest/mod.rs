//! A typed, blocking client for the MLflow REST API (any MLflow-compatible server, mltrack included).
//!
//! Blocking because its callers (`mltrack train`, `score`, `drift`) are batch jobs that log between
//! CPU-bound steps; an async client would only add a runtime to each of them. Retries happen only
//! where a retry can help: 429, 503 and connection failures, with exponential backoff honouring
//! `Retry-After`. A 4xx is the caller's mistake and is returned at once as [`ClientError::Api`].

use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;
mod artifacts;
mod registry;
mod tracking;

pub const TRACKING_URI_ENV: &str = "MLFLOW_TRACKING_URI";

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with MLflow's error JSON.
    #[error("{code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error("cannot reach the tracking server at {url}: {source}")]
    Transport { url: String, source: reqwest::Error },
    #[error("unexpected answer from {url}: {message}")]
    Protocol { url: String, message: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl ClientError {
    /// The MLflow error code, if the server sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => Some(code),
            _ => None,
        }
    }
    pub fn is_not_found(&self) -> bool {
        self.code() == Some("RESOURCE_DOES_NOT_EXIST")
    }
}

pub type ClientResult<T> = Result<T, ClientError>;

/// One page of a search, with the token for the next one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TrackingClient {
    base: String,
    http: Client,
    max_retries: u32,
}

impl TrackingClient {
    /// `base` is the tracking URI, e.g. `http://127.0.0.1:5000`.
    pub fn new(base: &str) -> ClientResult<Self> {
        let http = Client::builder()
            .timeout(Duration::from_mins(2))
            .user_agent(concat!("mltrack-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Transport {
                url: base.to_string(),
                source: e,
            })?;
        Ok(Self {
            base: base.trim_end_matches('/').to_string(),
            http,
            max_retries: 5,
        })
    }

    /// From `MLFLOW_TRACKING_URI`, if it is set to an http(s) URI.
    pub fn from_env() -> Option<ClientResult<Self>> {
        let uri = std::env::var(TRACKING_URI_ENV)
            .ok()
            .filter(|u| u.starts_with("http"))?;
        Some(Self::new(&uri))
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn with_max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    fn send(&self, build: impl Fn() -> RequestBuilder, url: &str) -> ClientResult<Response> {
        let mut attempt = 0;
        loop {
            let outcome = build().send();
            let retry_after = match &outcome {
                Ok(r)
                    if matches!(
                        r.status(),
                        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
                    ) =>
                {
                    Some(
                        r.headers()
                            .get("retry-after")
                            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok()),
                    )
                }
                Err(e) if e.is_connect() || e.is_timeout() => Some(None),
                _ => None,
            };
            match retry_after {
                Some(after) if attempt < self.max_retries => {
                    let backoff = after.map_or_else(
                        || Duration::from_millis(200 * 2u64.pow(attempt)),
                        Duration::from_secs,
                    );
                    std::thread::sleep(backoff.min(Duration::from_secs(30)));
                    attempt += 1;
                }
                _ => {
                    return outcome.map_err(|e| ClientError::Transport {
                        url: url.to_string(),
                        source: e,
                    })
                }
            }
        }
    }

    fn decode<T: DeserializeOwned>(url: &str, response: Response) -> ClientResult<T> {
        let status = response.status();
        let text = response.text().map_err(|e| ClientError::Transport {
            url: url.to_string(),
            source: e,
        })?;
        if !status.is_success() {
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            return Err(ClientError::Api {
                status: status.as_u16(),
                code: body["error_code"].as_str().unwrap_or("UNKNOWN").to_string(),
                message: body["message"]
                    .as_str()
                    .map_or_else(|| text.clone(), str::to_string),
            });
        }
        let text = if text.trim().is_empty() {
            "{}"
        } else {
            text.as_str()
        };
        serde_json::from_str(text).map_err(|e| ClientError::Protocol {
            url: url.to_string(),
            message: e.to_string(),
        })
    }

    /// Calls `/api/2.0/mlflow/<endpoint>`: GET with the request as query string, else a JSON body.
    pub fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        method: Method,
        endpoint: &str,
        request: &Req,
    ) -> ClientResult<Resp> {
        let url = protocol::paths::api_url(&self.base, endpoint);
        let response = if method == Method::GET {
            let query = to_query(&serde_json::to_value(request).unwrap_or(Value::Null));
            self.send(|| self.http.get(&url).query(&query), &url)?
        } else {
            self.send(
                || self.http.request(method.clone(), &url).json(request),
                &url,
            )?
        };
        Self::decode(&url, response)
    }
}

pub use protocol::tags::now_ms;

/// A JSON object as query pairs: arrays become repeated keys, nulls are dropped.
fn to_query(v: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Value::Object(map) = v {
        for (k, v) in map {
            match v {
                Value::Null => {}
                Value::Array(items) => out.extend(items.iter().map(|i| (k.clone(), scalar(i)))),
                other => out.push((k.clone(), scalar(other))),
            }
        }
    }
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
