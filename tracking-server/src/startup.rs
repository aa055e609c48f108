//! Building and running the server: bind first (so port 0 works in tests), then serve until a
//! shutdown signal, letting requests in flight finish.

use crate::artifacts::ArtifactStore;
use crate::auth::Authenticator;
use crate::config::ServerConfig;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use crate::store::auth::AuthStore;
use crate::store::webhooks::WebhookStore;
use crate::store::{SqlStore, Store};
use crate::webhooks::Webhooks;
use anyhow::Context;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::Router;
use protocol::paths;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub struct Application {
    listener: tokio::net::TcpListener,
    app: Router,
    port: u16,
    /// Its delivery worker runs while the server does.
    webhooks: Arc<Webhooks>,
}

/// Opens the store and the artifact directory and assembles what handlers share; [`app`] makes
/// the router from it. Public so tests can drive the router without a socket.
pub async fn build_state(config: ServerConfig) -> anyhow::Result<AppState> {
    let store = SqlStore::connect(&config.backend_store_uri)
        .await
        .with_context(|| {
            format!(
                "cannot open backend store `{}`",
                redact(&config.backend_store_uri)
            )
        })?;
    let store = Arc::new(store);
    let auth = if config.auth {
        let users = store.count_users().await?;
        if users == 0 {
            tracing::warn!(
                "authentication is on but no user exists: every request will get 401 \
                 (add one with `mltrack server user add`)"
            );
        }
        let auth_store: Arc<dyn AuthStore> = store.clone();
        Some(Arc::new(Authenticator::new(auth_store)?))
    } else {
        None
    };
    let webhook_store: Arc<dyn WebhookStore> = store.clone();
    let webhooks = Webhooks::new(webhook_store, config.webhooks.clone())?;
    let store: Arc<dyn Store> = store;
    let root = config.artifact_root();
    store
        .ensure_default_experiment(&format!("{root}/0"))
        .await?;
    let artifacts = if config.serve_artifacts {
        let store = ArtifactStore::open_destination(&config.artifacts_destination)
            .with_context(|| {
                format!(
                    "cannot open artifacts destination `{}`",
                    config.artifacts_destination.display()
                )
            })?
            .with_max_upload_bytes(config.max_upload_bytes);
        Some(Arc::new(store))
    } else {
        None
    };
    Ok(AppState {
        store,
        artifacts,
        config: Arc::new(config),
        auth,
        metrics: Arc::default(),
        webhooks: Arc::new(webhooks),
    })
}

/// The whole HTTP surface: the REST API under both MLflow prefixes, the artifact proxy, the web UI,
/// the operational routes, the fallbacks, and the middleware of `ops::layers` (authentication
/// included) around all of it. Public so tests can drive it without a socket.
pub fn app(state: AppState) -> Router {
    let api = crate::routes::api(&state);
    let proxy = crate::routes::artifact_proxy();
    let router = Router::new()
        .nest(paths::API, api.clone())
        .nest(paths::AJAX_API, api)
        .nest(paths::ARTIFACTS, proxy.clone())
        .nest(paths::AJAX_ARTIFACTS, proxy)
        .merge(crate::routes::root())
        .merge(crate::ui::router())
        .fallback(endpoint_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone());
    crate::ops::layers(router, state.auth.clone(), state.metrics.clone())
}

impl Application {
    pub async fn build(config: ServerConfig) -> anyhow::Result<Self> {
        let (host, port) = (config.host.clone(), config.port);
        let state = build_state(config).await?;
        let listener = tokio::net::TcpListener::bind((host.as_str(), port))
            .await
            .with_context(|| format!("cannot listen on {host}:{port}"))?;
        let port = listener.local_addr()?.port();
        let webhooks = state.webhooks.clone();
        let app = app(state);
        Ok(Self {
            listener,
            app,
            port,
            webhooks,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves (and delivers webhooks) until `shutdown` resolves, then drains open requests and
    /// gives back the deliveries in flight, for the next start (or another server) to send.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let worker = self.webhooks.start_worker();
        // Peer addresses feed the registry's "who moved this version" history.
        let service = self
            .app
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        let served = axum::serve(self.listener, service)
            .with_graceful_shutdown(shutdown)
            .await;
        worker.stop().await;
        served?;
        Ok(())
    }

    /// Serves until Ctrl-C or SIGTERM.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }
}

async fn endpoint_not_found(uri: Uri, headers: axum::http::HeaderMap) -> Response {
    // A browser asking for a page that does not exist gets the UI's 404 page; the API keeps JSON.
    let api = uri.path().starts_with("/api/") || uri.path().starts_with("/ajax-api/");
    let wants_html = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if !api && wants_html {
        return crate::ui::not_found(uri.path());
    }
    ApiError::new(
        ErrorCode::EndpointNotFound,
        format!("No API endpoint matches {}", uri.path()),
    )
    .into_response()
}

async fn method_not_allowed(method: axum::http::Method, uri: Uri) -> Response {
    let mut r = ApiError::bad_request(format!("Method {method} is not allowed for {}", uri.path()))
        .into_response();
    *r.status_mut() = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    r
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down: finishing requests in flight");
    // A hard stop if draining takes too long.
    tokio::spawn(async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        std::process::exit(0);
    });
}

/// Hides the password of a database URI in messages.
pub fn redact(uri: &str) -> String {
    match (uri.find("://"), uri.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &uri[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &uri[..scheme_end + 3], &uri[at..]),
                None => uri.to_string(),
            }
        }
        _ => uri.to_string(),
    }
}
