//! `mltrack server`.

use crate::cli::{ServerArgs, ServerCommand};
use anyhow::Context;
use std::path::Path;
use std::time::Duration;
use tracking_server::config::{env_vars, ServerConfig, WebhookConfig};
use tracking_server::startup::{redact, Application};
use tracking_server::webhooks::crypto::EncryptionKey;

fn regex_arg(pattern: &str) -> anyhow::Result<tracking_server::config::Regex> {
    tracking_server::config::Regex::new(pattern).map_err(|e| {
        anyhow::anyhow!(
            "--model-version-source-regex `{pattern}` is not a valid regular expression: {e}"
        )
    })
}

pub fn run(args: ServerArgs) -> anyhow::Result<()> {
    if let Some(ServerCommand::User(command)) = args.command {
        return crate::commands::user::run(command);
    }
    let config = ServerConfig {
        host: args.host,
        port: args.port,
        backend_store_uri: args.backend_store_uri,
        default_artifact_root: args.default_artifact_root,
        artifacts_destination: args.artifacts_destination,
        serve_artifacts: !args.no_serve_artifacts,
        auth: args.auth,
        max_upload_bytes: args.max_upload_bytes,
        model_version_source_regex: args
            .model_version_source_regex
            .as_deref()
            .map(regex_arg)
            .transpose()?,
        webhooks: WebhookConfig {
            encryption_key: webhook_key(args.webhook_secret_key_file.as_deref())?,
            allowed_schemes: args
                .webhook_allowed_schemes
                .iter()
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect(),
            allow_private_ips: args.webhook_allow_private_ips,
            timeout: Duration::from_secs(args.webhook_timeout.max(1)),
            max_retries: args.webhook_max_retries,
            max_backoff: Duration::try_from_secs_f64(args.webhook_max_backoff)
                .ok()
                .filter(|d| !d.is_zero())
                .context("--webhook-max-backoff must be a positive number of seconds")?,
            workers: args.webhook_workers.max(1),
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let store = redact(&config.backend_store_uri);
        let root = config.artifact_root();
        let host = config.host.clone();
        let auth = if config.auth { "on" } else { "off" };
        let app = Application::build(config).await?;
        tracing::info!(
            "mltrack {} listening on http://{host}:{} (store {store}, artifact root {root}/, auth {auth})",
            env!("CARGO_PKG_VERSION"),
            app.port()
        );
        app.run_until_stopped().await
    })
}

/// The webhook secret key: from MLflow's environment variable or from a key file, never both (which
/// one would win is a guess an operator should not have to make).
fn webhook_key(file: Option<&Path>) -> anyhow::Result<Option<EncryptionKey>> {
    let from_env = std::env::var(env_vars::WEBHOOK_SECRET_ENCRYPTION_KEY)
        .ok()
        .filter(|k| !k.trim().is_empty());
    match (from_env, file) {
        (Some(_), Some(_)) => anyhow::bail!(
            "both {} and --webhook-secret-key-file give a webhook secret key: keep one",
            env_vars::WEBHOOK_SECRET_ENCRYPTION_KEY
        ),
        (Some(key), None) => Ok(Some(EncryptionKey::new(key))),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!("cannot read the webhook secret key file {}", path.display())
            })?;
            let key = EncryptionKey::new(text);
            anyhow::ensure!(
                !key.expose().is_empty(),
                "the webhook secret key file {} is empty",
                path.display()
            );
            warn_if_readable_by_others(path);
            Ok(Some(key))
        }
        (None, None) => Ok(None),
    }
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                "the webhook secret key file {} can be read by other users (chmod 600 it)",
                path.display()
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}
