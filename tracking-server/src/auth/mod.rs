//! Authentication for `mltrack server --auth`: HTTP Basic and bearer tokens, checked in front of
//! every route except `/health`.
//!
//! Why a cache: argon2 is slow on purpose (~tens of ms per check) and the `mlflow` client sends its
//! credentials with every request, so a training loop would spend most of its time hashing. A
//! successful check is remembered for [`CACHE_TTL`] under HMAC-SHA256(per-process random key,
//! header): the map never holds a credential, only a MAC that is useless outside this process.
//! Entries are found by the MAC's first 8 bytes and then compared whole in constant time.
//!
//! Failed checks are not cached (each costs a full argon2 verification, which rate-limits guessing),
//! and a bounded number of verifications run at once, so a flood of bad credentials cannot take
//! every core. An unknown user or token id is verified against a dummy hash, so response time does
//! not reveal which user names exist. Removing a user takes effect within [`CACHE_TTL`].

pub mod credentials;

use crate::error::{ApiError, ErrorCode};
use crate::store::auth::{AuthStore, Permission, UserRecord};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use credentials::{parse_authorization, verify_secret, Credential};
use hmac::{Hmac, Mac};
use protocol::paths::{AJAX_API as AJAX_PREFIX, API as API_PREFIX};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// How long a verified credential is trusted without re-hashing.
pub const CACHE_TTL: Duration = Duration::from_secs(30);

/// Above this many entries the cache drops expired ones, then everything if still full.
const CACHE_CAPACITY: usize = 10_000;

/// Paths that answer without credentials: load-balancer and orchestrator probes cannot send any, and
/// `/health` reveals nothing but "OK".
pub const OPEN_PATHS: &[&str] = &["/health"];

/// POST endpoints that only read, so read-only users may call them.
const READ_ONLY_POSTS: &[&str] = &[
    "/experiments/search",
    "/runs/search",
    "/logged-models/search",
];

/// Who is calling, once authenticated; handlers find it in the request extensions.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: String,
    pub permission: Permission,
}

struct CacheEntry {
    mac: [u8; 32],
    principal: Principal,
    expires: Instant,
}

pub struct Authenticator {
    store: Arc<dyn AuthStore>,
    key: [u8; 32],
    cache: Mutex<HashMap<u64, CacheEntry>>,
    verifications: tokio::sync::Semaphore,
    /// Verified against when the user or token does not exist, to spend the same time.
    dummy_hash: String,
}

impl Authenticator {
    pub fn new(store: Arc<dyn AuthStore>) -> anyhow::Result<Self> {
        let slots = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Ok(Self {
            store,
            key: credentials::random_key(),
            cache: Mutex::new(HashMap::new()),
            verifications: tokio::sync::Semaphore::new(slots),
            dummy_hash: credentials::hash_secret("mltrack-dummy-password")?,
        })
    }

    /// The caller behind an `Authorization` header, or the MLflow error to answer with.
    pub async fn authenticate(&self, header: Option<&HeaderValue>) -> Result<Principal, ApiError> {
        let Some(header) = header else {
            return Err(unauthenticated("Authentication required"));
        };
        let mac = self.mac(header.as_bytes());
        if let Some(p) = self.cached(&mac) {
            return Ok(p);
        }
        let credential = parse_authorization(header.as_bytes()).ok_or_else(|| {
            unauthenticated("Malformed Authorization header: expected Basic or Bearer credentials")
        })?;
        let user = self.verify(credential).await?;
        let principal = Principal {
            user: user.name,
            permission: user.permission,
        };
        self.remember(mac, principal.clone());
        Ok(principal)
    }

    async fn verify(&self, credential: Credential) -> Result<UserRecord, ApiError> {
        let (secret, found, what) = match credential {
            Credential::Basic { user, password } => {
                let found = self.store.find_user(&user).await?;
                let found = found.and_then(|u| Some((u.password_hash.clone()?, u)));
                (password, found, "user name or password")
            }
            Credential::Token { token_id, secret } => {
                (secret, self.store.find_token(&token_id).await?, "token")
            }
        };
        let hash = found
            .as_ref()
            .map_or_else(|| self.dummy_hash.clone(), |(h, _)| h.clone());
        let _slot = self
            .verifications
            .acquire()
            .await
            .map_err(|_| ApiError::internal("authentication is shutting down"))?;
        let ok = tokio::task::spawn_blocking(move || verify_secret(&secret, &hash))
            .await
            .unwrap_or(false);
        match found {
            Some((_, user)) if ok => Ok(user),
            _ => Err(unauthenticated(format!("Invalid {what}"))),
        }
    }

    fn mac(&self, credential: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .expect("HMAC takes keys of any length");
        mac.update(credential);
        mac.finalize().into_bytes().into()
    }

    fn cached(&self, mac: &[u8; 32]) -> Option<Principal> {
        let cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = cache.get(&slot_of(mac))?;
        let same: bool = entry.mac.ct_eq(mac).into();
        (same && entry.expires > Instant::now()).then(|| entry.principal.clone())
    }

    fn remember(&self, mac: [u8; 32], principal: Principal) {
        let now = Instant::now();
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.len() >= CACHE_CAPACITY {
            cache.retain(|_, e| e.expires > now);
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(
            slot_of(&mac),
            CacheEntry {
                mac,
                principal,
                expires: now + CACHE_TTL,
            },
        );
    }
}

fn slot_of(mac: &[u8; 32]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&mac[..8]);
    u64::from_le_bytes(first)
}

fn unauthenticated(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, message)
}

/// Does this request change anything? Everything but GET/HEAD/OPTIONS does, except the searches
/// MLflow sends as POST.
pub fn needs_edit(method: &Method, path: &str) -> bool {
    if crate::webhooks::is_webhook_path(path) {
        return true;
    }
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let read_only = [API_PREFIX, AJAX_PREFIX].iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| READ_ONLY_POSTS.contains(&rest))
    });
    !read_only
}

/// Middleware: with auth on, answers 401 (with a Basic challenge, so browsers prompt) unless the
/// request carries valid credentials, and 403 when a read-only user tries to write.
pub async fn require_auth(
    State(auth): State<Option<Arc<Authenticator>>>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(auth) = auth.as_ref() else {
        return next.run(req).await;
    };
    if OPEN_PATHS.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    let principal = match auth
        .authenticate(req.headers().get(header::AUTHORIZATION))
        .await
    {
        Ok(p) => p,
        Err(e) => {
            let challenge = e.code == ErrorCode::Unauthenticated;
            let mut response = e.into_response();
            if challenge {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"mltrack\", charset=\"UTF-8\""),
                );
            }
            return response;
        }
    };
    if principal.permission == Permission::Read && needs_edit(req.method(), req.uri().path()) {
        return ApiError::new(
            ErrorCode::PermissionDenied,
            format!(
                "Permission denied: user '{}' is read-only and cannot {} {}",
                principal.user,
                req.method(),
                req.uri().path()
            ),
        )
        .into_response();
    }
    tracing::Span::current().record("user", principal.user.as_str());
    req.extensions_mut().insert(principal);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_are_reads_and_lookalike_paths_are_not() {
        assert!(!needs_edit(&Method::GET, "/api/2.0/mlflow/runs/create"));
        assert!(!needs_edit(&Method::POST, "/api/2.0/mlflow/runs/search"));
        assert!(!needs_edit(
            &Method::POST,
            "/ajax-api/2.0/mlflow/experiments/search"
        ));
        assert!(needs_edit(&Method::POST, "/api/2.0/mlflow/runs/log-batch"));
        assert!(needs_edit(
            &Method::DELETE,
            "/api/2.0/mlflow/registered-models/delete"
        ));
        // Webhook URLs can hold a receiver's token: even reading them takes `edit`.
        assert!(needs_edit(&Method::GET, "/api/2.0/mlflow/webhooks"));
        assert!(needs_edit(
            &Method::GET,
            "/ajax-api/2.0/mlflow/webhooks/abc"
        ));
        assert!(!needs_edit(&Method::GET, "/api/2.0/mlflow/webhooksfoo"));
        // An artifact named like a search endpoint is still an upload.
        assert!(needs_edit(
            &Method::PUT,
            "/api/2.0/mlflow-artifacts/artifacts/1/runs/search"
        ));
    }
}
