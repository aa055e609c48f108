//! Server settings, resolved once from flags and environment by the CLI and handed in whole.

pub use crate::webhooks::WebhookConfig;
pub use regex::Regex;
use std::path::PathBuf;

/// Names of the environment variables each `mltrack server` flag also reads.
pub mod env_vars {
    pub const HOST: &str = "MLTRACK_HOST";
    pub const PORT: &str = "MLTRACK_PORT";
    pub const BACKEND_STORE_URI: &str = "MLTRACK_BACKEND_STORE_URI";
    pub const DEFAULT_ARTIFACT_ROOT: &str = "MLTRACK_DEFAULT_ARTIFACT_ROOT";
    pub const ARTIFACTS_DESTINATION: &str = "MLTRACK_ARTIFACTS_DESTINATION";
    pub const SERVE_ARTIFACTS: &str = "MLTRACK_SERVE_ARTIFACTS";
    pub const AUTH: &str = "MLTRACK_AUTH";
    pub const MAX_UPLOAD_BYTES: &str = "MLTRACK_MAX_UPLOAD_BYTES";
    /// MLflow's own name, so a deployment's existing setting carries over unchanged.
    pub const SOURCE_VALIDATION_REGEX: &str = "MLFLOW_CREATE_MODEL_VERSION_SOURCE_VALIDATION_REGEX";
    // Webhook settings MLflow has are read from MLflow's own variables, so an MLflow deployment's
    // environment carries over; the others are mltrack's.
    pub const WEBHOOK_SECRET_ENCRYPTION_KEY: &str = "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY";
    pub const WEBHOOK_SECRET_KEY_FILE: &str = "MLTRACK_WEBHOOK_SECRET_KEY_FILE";
    pub const WEBHOOK_ALLOWED_SCHEMES: &str = "MLFLOW_WEBHOOK_ALLOWED_SCHEMES";
    pub const WEBHOOK_ALLOW_PRIVATE_IPS: &str = "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS";
    pub const WEBHOOK_TIMEOUT: &str = "MLFLOW_WEBHOOK_REQUEST_TIMEOUT";
    pub const WEBHOOK_MAX_RETRIES: &str = "MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES";
    pub const WEBHOOK_WORKERS: &str = "MLFLOW_WEBHOOK_DELIVERY_MAX_WORKERS";
    pub const WEBHOOK_MAX_BACKOFF: &str = "MLTRACK_WEBHOOK_MAX_BACKOFF";
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub host: String,
    /// 0 picks a free port (tests); the bound port is reported by `Application::port`.
    pub port: u16,
    pub backend_store_uri: String,
    /// Where new experiments put artifacts; `None` means MLflow's default for the serving mode.
    pub default_artifact_root: Option<String>,
    /// The directory behind the `mlflow-artifacts:/` proxy.
    pub artifacts_destination: PathBuf,
    pub serve_artifacts: bool,
    /// Refuse requests without valid credentials (users from `mltrack server user add`).
    pub auth: bool,
    /// Largest artifact upload accepted; larger ones get 413 and leave nothing behind.
    pub max_upload_bytes: Option<u64>,
    /// Model version sources must match this (searched, as Python's `re.search`), as MLflow's
    /// `MLFLOW_CREATE_MODEL_VERSION_SOURCE_VALIDATION_REGEX`.
    pub model_version_source_regex: Option<regex::Regex>,
    pub webhooks: WebhookConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 5000,
            backend_store_uri: "sqlite:///mlruns.db".into(),
            default_artifact_root: None,
            artifacts_destination: PathBuf::from("./mlartifacts"),
            serve_artifacts: true,
            auth: false,
            max_upload_bytes: None,
            model_version_source_regex: None,
            webhooks: WebhookConfig::default(),
        }
    }
}

impl ServerConfig {
    /// The artifact root new experiments get: as MLflow, `mlflow-artifacts:/` when the proxy serves
    /// artifacts, else a local `./mlruns` (as a `file://` URI, so it is unambiguous to clients).
    /// Relative local roots are made absolute, as MLflow does.
    pub fn artifact_root(&self) -> String {
        match &self.default_artifact_root {
            Some(root) => absolutize_local_uri(root),
            None if self.serve_artifacts => "mlflow-artifacts:".into(),
            None => absolutize_local_uri("./mlruns"),
        }
    }
}

fn absolutize_local_uri(root: &str) -> String {
    if root.contains("://") || root.starts_with("mlflow-artifacts:") {
        return root.trim_end_matches('/').to_string();
    }
    let path = root.strip_prefix("file:").unwrap_or(root);
    let abs = std::path::absolute(path).unwrap_or_else(|_| PathBuf::from(path));
    format!("file://{}", abs.display())
        .trim_end_matches('/')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_root_is_the_proxy_when_serving() {
        let c = ServerConfig::default();
        assert_eq!(format!("{}/0", c.artifact_root()), "mlflow-artifacts:/0");
        let c = ServerConfig {
            serve_artifacts: false,
            ..ServerConfig::default()
        };
        assert!(c.artifact_root().starts_with("file:///"));
        let c = ServerConfig {
            default_artifact_root: Some("file:///data/art/".into()),
            ..c
        };
        assert_eq!(c.artifact_root(), "file:///data/art");
    }
}
