//! One POST to a webhook URL, signed as MLflow signs it.
//!
//! Headers: `X-MLflow-Delivery-Id` (the same on every attempt of a delivery, so a receiver can drop
//! a duplicate), `X-MLflow-Timestamp` (Unix seconds of this attempt, so a receiver's freshness check
//! passes on a late retry) and, with a secret, `X-MLflow-Signature: v1,<base64 HMAC-SHA256 of
//! "{delivery_id}.{timestamp}.{body}">` (`mlflow/webhooks/delivery.py`).

use super::url::{self, UrlError, UrlPolicy};
use crate::error::ApiError;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

pub const SIGNATURE_HEADER: &str = "X-MLflow-Signature";
pub const TIMESTAMP_HEADER: &str = "X-MLflow-Timestamp";
pub const DELIVERY_ID_HEADER: &str = "X-MLflow-Delivery-Id";

/// Response bodies are kept (for `test_webhook`'s answer) up to this size.
const MAX_RESPONSE_BODY: usize = 1024 * 1024;

/// `v1,<base64>`, MLflow's `_generate_hmac_signature`.
pub fn signature(secret: &str, delivery_id: &str, timestamp: &str, body: &str) -> String {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key");
    mac.update(delivery_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let digest = mac.finalize().into_bytes();
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The HTTP client deliveries use: no redirects (a redirect could lead past the URL checks), no
/// proxies from the environment (the checked address must be the one connected to), and the
/// public-only resolver unless private addresses are allowed.
pub fn client(policy: &UrlPolicy, timeout: Duration) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("mltrack/", env!("CARGO_PKG_VERSION")));
    if !policy.allow_private_ips {
        builder = builder.dns_resolver(std::sync::Arc::new(url::PublicOnlyResolver));
    }
    Ok(builder.build()?)
}

/// What the receiver answered.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    /// `Retry-After` in seconds, when the receiver sent one.
    pub retry_after: Option<Duration>,
}

impl Answer {
    /// MLflow retries 429, 500, 502, 503 and 504; mltrack also 408 and every other 5xx.
    pub fn retryable(&self) -> bool {
        matches!(self.status, 408 | 429 | 500..=599)
    }
}

/// Why no answer came.
#[derive(Debug)]
pub enum SendError {
    /// The URL is not allowed (any more): retrying cannot help.
    Refused(ApiError),
    /// The network failed (refused, reset, timed out, DNS): worth retrying.
    Transport { kind: &'static str, message: String },
}

impl SendError {
    /// Like Python's `repr()` of the exception MLflow reports in `test_webhook`'s error message.
    pub fn python_repr(&self) -> String {
        use crate::search::pyrepr::py_str;
        match self {
            Self::Refused(e) => format!("MlflowException({})", py_str(&e.message)),
            Self::Transport { kind, message } => format!("{kind}({})", py_str(message)),
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::Refused(e) => e.message.clone(),
            Self::Transport { message, .. } => message.clone(),
        }
    }
}

/// The error and its causes, without the URL (it can carry a token, as Slack's do).
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// Checks the URL again (rules can change and DNS can move), then POSTs `body` once.
pub async fn post(
    http: &reqwest::Client,
    policy: &UrlPolicy,
    target: &str,
    body: &str,
    delivery_id: &str,
    secret: Option<&str>,
) -> Result<Answer, SendError> {
    url::validate(target, policy).await.map_err(|e| match e {
        UrlError::Invalid(e) => SendError::Refused(e),
        UrlError::Unresolved(e) => SendError::Transport {
            kind: "ConnectionError",
            message: e.message,
        },
    })?;
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .to_string();
    let mut request = http
        .post(target)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(DELIVERY_ID_HEADER, delivery_id)
        .header(TIMESTAMP_HEADER, &timestamp);
    if let Some(secret) = secret {
        request = request.header(
            SIGNATURE_HEADER,
            signature(secret, delivery_id, &timestamp, body),
        );
    }
    let transport = |e: reqwest::Error| SendError::Transport {
        kind: if e.is_timeout() {
            "ReadTimeout"
        } else {
            "ConnectionError"
        },
        message: describe(&e.without_url()),
    };
    let mut response = request
        .body(body.to_string())
        .send()
        .await
        .map_err(transport)?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        let room = MAX_RESPONSE_BODY.saturating_sub(bytes.len());
        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if room <= chunk.len() {
            break;
        }
    }
    Ok(Answer {
        status,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        retry_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The receiver recipe from MLflow's docs, computed by Python 3.11 for these inputs:
    /// `base64.b64encode(hmac.new(b"s", b"d.1.{}", hashlib.sha256).digest())`.
    #[test]
    fn signatures_match_pythons_hmac() {
        assert_eq!(
            signature("s", "d", "1", "{}"),
            "v1,IU+2+KHu4+2P4cNMuwvd3lx0u3yUZ/KaEHscpFOsm4Y="
        );
    }
}
