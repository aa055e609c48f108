//! `mltrack server`'s settings: the flags (which clap already merged with their `MLTRACK_*` and
//! `MLFLOW_*` variables) and the webhook secret key, as the server's `ServerConfig`.

use super::environment::Environment;
use crate::cli::ServerArgs;
use anyhow::Context;
use std::path::Path;
use std::time::Duration;
use tracking_server::config::{env_vars, ServerConfig, WebhookConfig};
use tracking_server::webhooks::crypto::EncryptionKey;

/// The server's configuration. The `user` subcommand is not a server setting: the caller
/// dispatches it before resolving this.
pub fn server_config(args: ServerArgs, env: &Environment) -> anyhow::Result<ServerConfig> {
    Ok(ServerConfig {
        host: args.host,
        port: args.port,
        backend_store_uri: args.backend_store_uri,
        default_artifact_root: args.default_artifact_root,
        artifacts_destination: args.artifacts_destination,
        serve_artifacts: !args.no_serve_artifacts,
        auth: args.auth,
        max_upload_bytes: args.max_upload_bytes,
        model_version_source_regex: args.model_version_source_regex,
        webhooks: WebhookConfig {
            encryption_key: webhook_key(
                env.webhook_secret_key(),
                args.webhook_secret_key_file.as_deref(),
            )?,
            allowed_schemes: args
                .webhook_allowed_schemes
                .iter()
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect(),
            allow_private_ips: args.webhook_allow_private_ips,
            timeout: Duration::from_secs(args.webhook_timeout.max(1)),
            max_retries: args.webhook_max_retries,
            max_backoff: args.webhook_max_backoff,
            workers: args.webhook_workers.max(1),
        },
    })
}

/// The webhook secret key: from MLflow's environment variable or from a key file, never both (which
/// one would win is a guess an operator should not have to make).
fn webhook_key(
    from_env: Option<String>,
    file: Option<&Path>,
) -> anyhow::Result<Option<EncryptionKey>> {
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
