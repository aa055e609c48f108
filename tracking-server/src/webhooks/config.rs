//! How webhooks behave on this server, from `mltrack server`'s flags.

use super::crypto::EncryptionKey;
use std::time::Duration;

/// Registry webhooks: where they may point, the key their secrets are stored under, and how
/// deliveries are retried (see `webhooks::worker` for the policy).
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Encrypts signing secrets at rest; without it, webhooks cannot have a secret.
    pub encryption_key: Option<EncryptionKey>,
    /// URL schemes a webhook may use (MLflow's default: only `https`).
    pub allowed_schemes: Vec<String>,
    /// Allow URLs on loopback, private and link-local addresses (local development only).
    pub allow_private_ips: bool,
    /// One attempt's limit, connection to last byte.
    pub timeout: Duration,
    /// Retries after the first attempt before a delivery is given up.
    pub max_retries: u32,
    /// The longest wait between two attempts (the backoff doubles from 1 s up to this).
    pub max_backoff: Duration,
    /// Deliveries in flight at once, per server.
    pub workers: usize,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            encryption_key: None,
            allowed_schemes: vec!["https".into()],
            allow_private_ips: false,
            timeout: Duration::from_secs(30),
            max_retries: 15,
            max_backoff: Duration::from_hours(1),
            workers: 10,
        }
    }
}
