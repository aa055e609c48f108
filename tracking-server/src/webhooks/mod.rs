//! Registry webhooks (MLflow 3.3+): HTTP POSTs to subscribed URLs when the model registry changes.
//!
//! The wire contract is MLflow's: the REST endpoints (`routes::webhooks`), the event names
//! (`events`), the request bodies (`payload`) and the signature headers (`send`), so a receiver
//! written for MLflow verifies mltrack's deliveries. What mltrack adds:
//!
//! * a stage transition is an event too (`model_version_stage.transitioned`);
//! * deliveries are rows in the store, written when the event happens (`trigger`), and sent by a
//!   background worker that retries with exponential backoff (`worker`). They survive a receiver
//!   outage and a server restart, and several servers on one PostgreSQL database share the queue;
//! * a signing secret is stored encrypted (`crypto`) and never appears in an answer or a log.

mod config;
pub mod crypto;
pub mod events;
pub mod payload;
pub mod send;
pub mod url;
pub mod worker;

use crate::error::{ApiError, ApiResult};
use crate::store::webhooks::{NewDelivery, WebhookRecord, WebhookStore};
pub use config::WebhookConfig;
use crypto::SecretCipher;
use events::Event;
use payload::PyJson;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// What the webhook routes, the registry trigger and the delivery worker share.
pub struct Webhooks {
    store: Arc<dyn WebhookStore>,
    cipher: Option<SecretCipher>,
    config: WebhookConfig,
    policy: url::UrlPolicy,
    http: reqwest::Client,
    /// Woken when deliveries are queued, so the first attempt does not wait for the next poll.
    wake: Notify,
    /// Prefix of this process's claim tokens.
    owner: String,
}

/// `test_webhook`'s answer (`WebhookTestResult`).
#[derive(Debug, Clone, PartialEq)]
pub struct TestResult {
    pub success: bool,
    pub response_status: Option<u16>,
    pub response_body: Option<String>,
    pub error_message: Option<String>,
}

impl Webhooks {
    pub fn new(store: Arc<dyn WebhookStore>, config: WebhookConfig) -> anyhow::Result<Self> {
        let cipher = config
            .encryption_key
            .as_ref()
            .map(SecretCipher::new)
            .transpose()?;
        let policy = url::UrlPolicy {
            allowed_schemes: config.allowed_schemes.clone(),
            allow_private_ips: config.allow_private_ips,
        };
        let http = send::client(&policy, config.timeout)?;
        Ok(Self {
            store,
            cipher,
            config,
            policy,
            http,
            wake: Notify::new(),
            owner: uuid::Uuid::new_v4().simple().to_string(),
        })
    }

    pub fn store(&self) -> &dyn WebhookStore {
        self.store.as_ref()
    }

    pub fn url_policy(&self) -> &url::UrlPolicy {
        &self.policy
    }

    /// The stored form of a signing secret. Without a key the secret could not be read back after
    /// a restart, so it is refused rather than kept in a form that would silently stop working.
    pub fn seal_secret(&self, secret: &str) -> ApiResult<String> {
        match &self.cipher {
            Some(cipher) => Ok(cipher.encrypt(secret)),
            None => Err(ApiError::invalid(
                "Cannot store the webhook secret: this server has no key to encrypt it with. Start \
                 the server with MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY set to a Fernet key, or with \
                 --webhook-secret-key-file.",
            )),
        }
    }

    /// The secret to sign with: `Ok(None)` for a webhook without one; `Err` when the stored token
    /// cannot be read with this server's key (never sent unsigned in that case).
    fn open_secret(&self, token: Option<&str>) -> Result<Option<String>, String> {
        let Some(token) = token else { return Ok(None) };
        let cipher = self.cipher.as_ref().ok_or_else(|| {
            "the webhook has a secret but this server has no encryption key to read it".to_string()
        })?;
        cipher.decrypt(token).map(Some).ok_or_else(|| {
            "the webhook's secret cannot be decrypted with this server's encryption key".to_string()
        })
    }

    /// Queues one delivery of `event` per webhook in `webhook_ids` and wakes the worker.
    pub async fn enqueue(&self, event: Event, data: &PyJson, webhook_ids: &[String]) {
        if webhook_ids.is_empty() {
            return;
        }
        let body = payload::envelope(event, data, now_micros());
        let deliveries: Vec<NewDelivery> = webhook_ids
            .iter()
            .map(|id| NewDelivery {
                delivery_id: uuid::Uuid::new_v4().to_string(),
                webhook_id: id.clone(),
                event,
                payload: body.clone(),
            })
            .collect();
        match self.store.enqueue_deliveries(&deliveries).await {
            Ok(()) => self.wake.notify_one(),
            // The registry change itself has happened; failing the request would make the client
            // retry it. As in MLflow, a delivery that cannot be queued is logged and dropped.
            Err(e) => tracing::error!(
                %event,
                webhooks = webhook_ids.len(),
                error = %crate::error::ApiError::from(e).message,
                "could not queue webhook deliveries"
            ),
        }
    }

    /// `test_webhook`: sends the example payload of `event` (default: the webhook's first event)
    /// right away, retrying as MLflow's session does, and reports what the receiver answered.
    pub async fn test(&self, webhook: &WebhookRecord, event: Option<Event>) -> TestResult {
        let failed = |message: String| TestResult {
            success: false,
            response_status: None,
            response_body: None,
            error_message: Some(format!("Failed to test webhook: {message}")),
        };
        let Some(event) = event.or_else(|| webhook.events.first().copied()) else {
            return failed("ValueError('the webhook has no events')".into());
        };
        let secret = match self.open_secret(webhook.secret_token.as_deref()) {
            Ok(s) => s,
            Err(e) => {
                return failed(format!(
                    "InvalidToken({})",
                    crate::search::pyrepr::py_str(&e)
                ))
            }
        };
        let body = payload::envelope(event, &payload::example(event), now_micros());
        let delivery_id = uuid::Uuid::new_v4().to_string();
        let retries = self.config.max_retries.min(TEST_RETRIES);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = send::post(
                &self.http,
                &self.policy,
                &webhook.url,
                &body,
                &delivery_id,
                secret.as_deref(),
            )
            .await;
            let again = attempt <= retries
                && match &sent {
                    Ok(answer) => answer.retryable(),
                    Err(send::SendError::Transport { .. }) => true,
                    Err(send::SendError::Refused(_)) => false,
                };
            if again {
                let wait = match &sent {
                    Ok(answer) => answer.retry_after,
                    Err(_) => None,
                };
                tokio::time::sleep(self.backoff(i64::from(attempt), wait)).await;
                continue;
            }
            return match sent {
                Ok(answer) => TestResult {
                    success: answer.status < 400,
                    response_status: Some(answer.status),
                    response_body: Some(answer.body),
                    error_message: None,
                },
                Err(e) => failed(e.python_repr()),
            };
        }
    }

    /// The wait after the `attempt`-th failed attempt: 1 s, 2 s, 4 s, … up to the configured
    /// maximum, a `Retry-After` honoured up to that maximum too, plus up to 10% jitter so that
    /// deliveries that failed together do not all come back at once.
    fn backoff(&self, attempt: i64, retry_after: Option<Duration>) -> Duration {
        let exponent = u32::try_from(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX)
            .min(30);
        let base = Duration::from_secs(1u64 << exponent);
        let wait = base
            .max(retry_after.unwrap_or_default())
            .min(self.config.max_backoff);
        let jitter = wait.mul_f64(rand::random::<f64>() * 0.1);
        wait + jitter
    }
}

/// Whether a request path is one of the webhook endpoints. They all need `edit` permission under
/// `--auth`, reads included: a webhook URL can carry the receiver's credentials (Slack's do).
pub fn is_webhook_path(path: &str) -> bool {
    [protocol::paths::API, protocol::paths::AJAX_API]
        .iter()
        .filter_map(|prefix| path.strip_prefix(prefix))
        .any(|rest| rest == "/webhooks" || rest.starts_with("/webhooks/"))
}

/// `test_webhook` retries as often as MLflow's default session (`MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES`
/// = 3), however patient the queue is configured to be.
const TEST_RETRIES: u32 = 3;

/// Microseconds since the epoch (payload timestamps carry them, as Python's `isoformat()` does).
pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}
