//! Building and running the server: bind first (so port 0 works in tests), then serve until a
//! shutdown signal, letting requests in flight finish.

use crate::artifacts::ArtifactStore;
use crate::config::ServerConfig;
use crate::routes::{router, AppState};
use crate::store::{RegistryStore, SqlStore, TrackingStore};
use anyhow::Context;
use axum::Router;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tower_http::trace::TraceLayer;

pub struct Application {
    listener: tokio::net::TcpListener,
    app: Router,
    port: u16,
}

impl Application {
    pub async fn build(config: ServerConfig) -> anyhow::Result<Self> {
        let store = SqlStore::connect(&config.backend_store_uri)
            .await
            .with_context(|| {
                format!(
                    "cannot open backend store `{}`",
                    redact(&config.backend_store_uri)
                )
            })?;
        let store = Arc::new(store);
        let registry: Arc<dyn RegistryStore> = store.clone();
        let store: Arc<dyn TrackingStore> = store;
        let root = config.artifact_root();
        store
            .ensure_default_experiment(&format!("{root}/0"))
            .await?;
        let artifacts = if config.serve_artifacts {
            let store = ArtifactStore::open(&config.artifacts_destination).with_context(|| {
                format!(
                    "cannot open artifacts destination `{}`",
                    config.artifacts_destination.display()
                )
            })?;
            Some(Arc::new(store))
        } else {
            None
        };
        let listener = tokio::net::TcpListener::bind((config.host.as_str(), config.port))
            .await
            .with_context(|| format!("cannot listen on {}:{}", config.host, config.port))?;
        let port = listener.local_addr()?.port();
        let state = AppState {
            store,
            registry,
            artifacts,
            config: Arc::new(config),
        };
        let app = router(state).layer(TraceLayer::new_for_http());
        Ok(Self {
            listener,
            app,
            port,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until `shutdown` resolves, then drains open requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        // Peer addresses feed the registry's "who moved this version" history.
        let service = self
            .app
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(self.listener, service)
            .with_graceful_shutdown(shutdown)
            .await?;
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
