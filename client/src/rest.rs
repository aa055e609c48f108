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
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use tracking_server::protocol::{
    CreateExperimentResponse, DownloadUriResponse, Experiment, ExperimentResponse, FileInfo,
    KeyValue, ListArtifactsResponse, Metric, MetricsResponse, ModelVersion, ModelVersionResponse,
    ModelVersionsResponse, RegisteredModel, RegisteredModelResponse, Run, RunInfo, RunResponse,
    RunStatus, SearchExperimentsResponse, SearchRunsResponse, UpdateRunResponse, ViewType,
};

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
            .timeout(Duration::from_secs(120))
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
        let url = format!("{}/api/2.0/mlflow/{endpoint}", self.base);
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

    // ---- experiments -------------------------------------------------------------------------

    pub fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[KeyValue],
    ) -> ClientResult<String> {
        let r: CreateExperimentResponse = self.call(
            Method::POST,
            "experiments/create",
            &json!({"name": name, "artifact_location": artifact_location, "tags": tags}),
        )?;
        Ok(r.experiment_id)
    }

    pub fn get_experiment(&self, id: &str) -> ClientResult<Experiment> {
        let r: ExperimentResponse = self.call(
            Method::GET,
            "experiments/get",
            &json!({"experiment_id": id}),
        )?;
        Ok(r.experiment)
    }

    /// `None` when no experiment has that name (the server's 404).
    pub fn get_experiment_by_name(&self, name: &str) -> ClientResult<Option<Experiment>> {
        match self.call::<_, ExperimentResponse>(
            Method::GET,
            "experiments/get-by-name",
            &json!({"experiment_name": name}),
        ) {
            Ok(r) => Ok(Some(r.experiment)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The id of the experiment named `name`, creating it if needed (as `mlflow.set_experiment`).
    pub fn get_or_create_experiment(&self, name: &str) -> ClientResult<String> {
        if let Some(exp) = self.get_experiment_by_name(name)? {
            return Ok(exp.experiment_id);
        }
        match self.create_experiment(name, None, &[]) {
            Err(e) if e.code() == Some("RESOURCE_ALREADY_EXISTS") => self
                .get_experiment_by_name(name)?
                .map(|e| e.experiment_id)
                .ok_or(e),
            other => other,
        }
    }

    pub fn search_experiments(
        &self,
        filter: Option<&str>,
        max_results: i64,
        page_token: Option<&str>,
    ) -> ClientResult<Page<Experiment>> {
        let r: SearchExperimentsResponse = self.call(
            Method::POST,
            "experiments/search",
            &json!({"filter": filter, "max_results": max_results, "page_token": page_token}),
        )?;
        Ok(Page {
            items: r.experiments,
            next_page_token: r.next_page_token,
        })
    }

    pub fn rename_experiment(&self, id: &str, new_name: &str) -> ClientResult<()> {
        self.call::<_, Value>(
            Method::POST,
            "experiments/update",
            &json!({"experiment_id": id, "new_name": new_name}),
        )?;
        Ok(())
    }

    pub fn delete_experiment(&self, id: &str) -> ClientResult<()> {
        self.call::<_, Value>(
            Method::POST,
            "experiments/delete",
            &json!({"experiment_id": id}),
        )?;
        Ok(())
    }

    pub fn restore_experiment(&self, id: &str) -> ClientResult<()> {
        self.call::<_, Value>(
            Method::POST,
            "experiments/restore",
            &json!({"experiment_id": id}),
        )?;
        Ok(())
    }

    pub fn set_experiment_tag(&self, id: &str, key: &str, value: &str) -> ClientResult<()> {
        self.call::<_, Value>(
            Method::POST,
            "experiments/set-experiment-tag",
            &json!({"experiment_id": id, "key": key, "value": value}),
        )?;
        Ok(())
    }

    pub fn delete_experiment_tag(&self, id: &str, key: &str) -> ClientResult<()> {
        self.call::<_, Value>(
            Method::POST,
            "experiments/delete-experiment-tag",
            &json!({"experiment_id": id, "key": key}),
        )?;
        Ok(())
    }

    // ---- runs --------------------------------------------------------------------------------

    pub fn create_run(
        &self,
        experiment_id: &str,
        run_name: Option<&str>,
        tags: &[KeyValue],
    ) -> ClientResult<Run> {
        let r: RunResponse = self.call(
            Method::POST,
            "runs/create",
            &json!({
                "experiment_id": experiment_id,
                "run_name": run_name,
                "start_time": now_ms(),
                "user_id": std::env::var("USER").unwrap_or_default(),
                "tags": tags,
            }),
        )?;
        Ok(r.run)
    }

    pub fn get_run(&self, run_id: &str) -> ClientResult<Run> {
        let r: RunResponse = self.call(Method::GET, "runs/get", &json!({"run_id": run_id}))?;
        Ok(r.run)
    }

    pub fn update_run(
        &self,
        run_id: &str,
        status: RunStatus,
        end_time: Option<i64>,
    ) -> ClientResult<RunInfo> {
        let r: UpdateRunResponse = self.call(
            Method::POST,
            "runs/update",
            &json!({"run_id": run_id, "status": status, "end_time": end_time}),
        )?;
        Ok(r.run_info)
    }

    /// Marks a run finished (or failed) now.
    pub fn end_run(&self, run_id: &str, status: RunStatus) -> ClientResult<RunInfo> {
        self.update_run(run_id, status, Some(now_ms()))
    }

    pub fn delete_run(&self, run_id: &str) -> ClientResult<()> {
        self.call::<_, Value>(Method::POST, "runs/delete", &json!({"run_id": run_id}))?;
        Ok(())
    }

    pub fn restore_run(&self, run_id: &str) -> ClientResult<()> {
        self.call::<_, Value>(Method::POST, "runs/restore", &json!({"run_id": run_id}))?;
        Ok(())
    }

    pub fn search_runs(
        &self,
        experiment_ids: &[&str],
        filter: &str,
        order_by: &[&str],
        view: ViewType,
        max_results: i64,
        page_token: Option<&str>,
    ) -> ClientResult<Page<Run>> {
        let r: SearchRunsResponse = self.call(
            Method::POST,
            "runs/search",
            &json!({
                "experiment_ids": experiment_ids, "filter": filter, "order_by": order_by,
                "run_view_type": view, "max_results": max_results, "page_token": page_token,
            }),
        )?;
        Ok(Page {
            items: r.runs,
            next_page_token: r.next_page_token,
        })
    }

    pub fn log_metric(&self, run_id: &str, key: &str, value: f64, step: i64) -> ClientResult<()> {
        let value = if value.is_finite() {
            json!(value)
        } else {
            json!(value.to_string().replace("inf", "Infinity"))
        };
        self.call::<_, Value>(
            Method::POST,
            "runs/log-metric",
            &json!({"run_id": run_id, "key": key, "value": value, "timestamp": now_ms(), "step": step}),
        )?;
        Ok(())
    }

    pub fn log_param(&self, run_id: &str, key: &str, value: &str) -> ClientResult<()> {
        self.call::<_, Value>(
            Method::POST,
            "runs/log-parameter",
            &json!({"run_id": run_id, "key": key, "value": value}),
        )?;
        Ok(())
    }

    pub fn set_tag(&self, run_id: &str, key: &str, value: &str) -> ClientResult<()> {
        self.call::<_, Value>(
            Method::POST,
            "runs/set-tag",
            &json!({"run_id": run_id, "key": key, "value": value}),
        )?;
        Ok(())
    }

    pub fn delete_tag(&self, run_id: &str, key: &str) -> ClientResult<()> {
        self.call::<_, Value>(
            Method::POST,
            "runs/delete-tag",
            &json!({"run_id": run_id, "key": key}),
        )?;
        Ok(())
    }

    /// Logs in chunks within the server's batch limits (1000 metrics, 100 params, 100 tags).
    pub fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[KeyValue],
        tags: &[KeyValue],
    ) -> ClientResult<()> {
        for chunk in params.chunks(100) {
            self.call::<_, Value>(
                Method::POST,
                "runs/log-batch",
                &json!({"run_id": run_id, "params": chunk}),
            )?;
        }
        for chunk in tags.chunks(100) {
            self.call::<_, Value>(
                Method::POST,
                "runs/log-batch",
                &json!({"run_id": run_id, "tags": chunk}),
            )?;
        }
        for chunk in metrics.chunks(1000) {
            self.call::<_, Value>(
                Method::POST,
                "runs/log-batch",
                &json!({"run_id": run_id, "metrics": chunk}),
            )?;
        }
        Ok(())
    }

    pub fn log_inputs(&self, run_id: &str, datasets: &Value) -> ClientResult<()> {
        self.call::<_, Value>(
            Method::POST,
            "runs/log-inputs",
            &json!({"run_id": run_id, "datasets": datasets}),
        )?;
        Ok(())
    }

    /// The whole history of one metric, following page tokens.
    pub fn get_metric_history(&self, run_id: &str, key: &str) -> ClientResult<Vec<Metric>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let r: MetricsResponse = self.call(
                Method::GET,
                "metrics/get-history",
                &json!({"run_id": run_id, "metric_key": key, "max_results": 25000, "page_token": token}),
            )?;
            out.extend(r.metrics);
            match r.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }

    /// Down-sampled history of one metric for several runs (`get-history-bulk-interval`).
    pub fn get_metric_history_sampled(
        &self,
        run_ids: &[&str],
        key: &str,
        max_results: i64,
    ) -> ClientResult<Vec<Metric>> {
        let r: MetricsResponse = self.call(
            Method::GET,
            "metrics/get-history-bulk-interval",
            &json!({"run_ids": run_ids, "metric_key": key, "max_results": max_results}),
        )?;
        Ok(r.metrics)
    }

    // ---- model registry ----------------------------------------------------------------------

    /// Creates the registered model, or returns the existing one (as `register_model` does).
    pub fn ensure_registered_model(&self, name: &str) -> ClientResult<RegisteredModel> {
        match self.call::<_, RegisteredModelResponse>(
            Method::POST,
            "registered-models/create",
            &json!({"name": name}),
        ) {
            Ok(r) => Ok(r.registered_model),
            Err(e) if e.code() == Some("RESOURCE_ALREADY_EXISTS") => {
                self.get_registered_model(name)
            }
            Err(e) => Err(e),
        }
    }

    pub fn get_registered_model(&self, name: &str) -> ClientResult<RegisteredModel> {
        let r: RegisteredModelResponse =
            self.call(Method::GET, "registered-models/get", &json!({"name": name}))?;
        Ok(r.registered_model)
    }

    pub fn create_model_version(
        &self,
        name: &str,
        source: &str,
        run_id: Option<&str>,
    ) -> ClientResult<ModelVersion> {
        let r: ModelVersionResponse = self.call(
            Method::POST,
            "model-versions/create",
            &json!({"name": name, "source": source, "run_id": run_id}),
        )?;
        Ok(r.model_version)
    }

    pub fn get_model_version(&self, name: &str, version: &str) -> ClientResult<ModelVersion> {
        let r: ModelVersionResponse = self.call(
            Method::GET,
            "model-versions/get",
            &json!({"name": name, "version": version}),
        )?;
        Ok(r.model_version)
    }

    pub fn transition_stage(
        &self,
        name: &str,
        version: &str,
        stage: &str,
        archive_existing: bool,
    ) -> ClientResult<ModelVersion> {
        let r: ModelVersionResponse = self.call(
            Method::POST,
            "model-versions/transition-stage",
            &json!({"name": name, "version": version, "stage": stage, "archive_existing_versions": archive_existing}),
        )?;
        Ok(r.model_version)
    }

    pub fn set_alias(&self, name: &str, alias: &str, version: &str) -> ClientResult<()> {
        self.call::<_, Value>(
            Method::POST,
            "registered-models/alias",
            &json!({"name": name, "alias": alias, "version": version}),
        )?;
        Ok(())
    }

    pub fn get_version_by_alias(&self, name: &str, alias: &str) -> ClientResult<ModelVersion> {
        let r: ModelVersionResponse = self.call(
            Method::GET,
            "registered-models/alias",
            &json!({"name": name, "alias": alias}),
        )?;
        Ok(r.model_version)
    }

    /// The newest version in each of `stages` (every stage when empty).
    pub fn get_latest_versions(
        &self,
        name: &str,
        stages: &[&str],
    ) -> ClientResult<Vec<ModelVersion>> {
        let r: ModelVersionsResponse = self.call(
            Method::POST,
            "registered-models/get-latest-versions",
            &json!({"name": name, "stages": stages}),
        )?;
        Ok(r.model_versions)
    }

    pub fn get_download_uri(&self, name: &str, version: &str) -> ClientResult<String> {
        let r: DownloadUriResponse = self.call(
            Method::GET,
            "model-versions/get-download-uri",
            &json!({"name": name, "version": version}),
        )?;
        Ok(r.artifact_uri)
    }

    /// Resolves `models:/name/<version|stage>` or `models:/name@alias` to a version.
    pub fn resolve_model_uri(&self, uri: &str) -> ClientResult<ModelVersion> {
        let bad = || ClientError::Protocol {
            url: uri.to_string(),
            message: "expected models:/<name>/<version or stage> or models:/<name>@<alias>".into(),
        };
        let rest = uri.strip_prefix("models:/").ok_or_else(bad)?;
        if let Some((name, alias)) = rest.split_once('@') {
            return self.get_version_by_alias(name, alias);
        }
        let (name, which) = rest.rsplit_once('/').ok_or_else(bad)?;
        if which.chars().all(|c| c.is_ascii_digit()) {
            return self.get_model_version(name, which);
        }
        self.get_latest_versions(name, &[which])?
            .into_iter()
            .next()
            .ok_or_else(|| ClientError::Api {
                status: 404,
                code: "RESOURCE_DOES_NOT_EXIST".into(),
                message: format!("no version of model '{name}' is in stage '{which}'"),
            })
    }

    // ---- artifacts (through the server's proxy) ----------------------------------------------

    fn proxy_url(&self, path: &str) -> String {
        format!(
            "{}/api/2.0/mlflow-artifacts/artifacts/{}",
            self.base,
            path.trim_start_matches('/')
        )
    }

    /// The proxy path of a run's artifact, or an error if the run stores artifacts elsewhere.
    pub fn run_artifact_path(run: &Run, rel: &str) -> ClientResult<String> {
        let root = run
            .info
            .artifact_uri
            .strip_prefix("mlflow-artifacts:")
            .ok_or_else(|| ClientError::Protocol {
                url: run.info.artifact_uri.clone(),
                message: "the run's artifacts are not served by the tracking server's proxy".into(),
            })?;
        let root = root.trim_start_matches('/').trim_end_matches('/');
        Ok(if rel.is_empty() {
            root.to_string()
        } else {
            format!("{root}/{}", rel.trim_start_matches('/'))
        })
    }

    /// Streams a local file to the proxy.
    pub fn upload_artifact(&self, proxy_path: &str, file: &Path) -> ClientResult<()> {
        let url = self.proxy_url(proxy_path);
        let response = self.send(
            || match std::fs::File::open(file) {
                Ok(f) => self.http.put(&url).body(f),
                Err(_) => self.http.put(&url).body(Vec::new()),
            },
            &url,
        )?;
        Self::decode::<Value>(&url, response)?;
        Ok(())
    }

    /// Uploads a local directory tree under `proxy_dir`.
    pub fn upload_dir(&self, proxy_dir: &str, dir: &Path) -> ClientResult<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let target = format!("{}/{name}", proxy_dir.trim_end_matches('/'));
            if entry.file_type()?.is_dir() {
                self.upload_dir(&target, &entry.path())?;
            } else {
                self.upload_artifact(&target, &entry.path())?;
            }
        }
        Ok(())
    }

    pub fn list_artifacts(&self, proxy_dir: &str) -> ClientResult<Vec<FileInfo>> {
        let url = format!("{}/api/2.0/mlflow-artifacts/artifacts", self.base);
        let response = self.send(|| self.http.get(&url).query(&[("path", proxy_dir)]), &url)?;
        let r: ListArtifactsResponse = Self::decode(&url, response)?;
        Ok(r.files)
    }

    /// Streams one artifact to a local file.
    pub fn download_artifact(&self, proxy_path: &str, dest: &Path) -> ClientResult<u64> {
        let url = self.proxy_url(proxy_path);
        let mut response = self.send(|| self.http.get(&url), &url)?;
        if !response.status().is_success() {
            return Self::decode::<Value>(&url, response).map(|_| 0);
        }
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut file = std::fs::File::create(dest)?;
        let n = response
            .copy_to(&mut file)
            .map_err(|e| ClientError::Transport {
                url: url.clone(),
                source: e,
            })?;
        Ok(n)
    }

    /// Downloads a directory tree from the proxy into `dest`.
    pub fn download_dir(&self, proxy_dir: &str, dest: &Path) -> ClientResult<()> {
        std::fs::create_dir_all(dest)?;
        for f in self.list_artifacts(proxy_dir)? {
            let child = format!("{}/{}", proxy_dir.trim_end_matches('/'), f.path);
            if f.is_dir {
                self.download_dir(&child, &dest.join(&f.path))?;
            } else {
                self.download_artifact(&child, &dest.join(&f.path))?;
            }
        }
        Ok(())
    }

    pub fn health(&self) -> ClientResult<bool> {
        let url = format!("{}/health", self.base);
        let r = self.send(|| self.http.get(&url), &url)?;
        Ok(r.status().is_success())
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

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
