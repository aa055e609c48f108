//! Building and running the server: bind first (so port 0 works in tests), then serve until a
//! shutdown signal, letting requests in flight finish.

use crate::artifacts::ArtifactStore;
use crate::auth::Authenticator;
use crate::config::ServerConfig;
use crate::routes::{router, AppState};
use crate::store::auth::AuthStore;
use crate::store::webhooks::WebhookStore;
use crate::store::{RegistryStore, SqlStore, TrackingStore};
use crate::webhooks::Webhooks;
use anyhow::Context;
use axum::Router;
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

/// Opens the store and the artifact directory and assembles what handlers share; the router
/// itself is `routes::router(state)`. Public so tests can drive the router without a socket.
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
    let registry: Arc<dyn RegistryStore> = store.clone();
    let webhook_store: Arc<dyn WebhookStore> = store.clone();
    let webhooks = Webhooks::new(webhook_store, config.webhooks.clone())?;
    let store: Arc<dyn TrackingStore> = store;
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
        registry,
        artifacts,
        config: Arc::new(config),
        auth,
        metrics: Arc::default(),
        webhooks: Arc::new(webhooks),
    })
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
        let app = router(state);
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
