//! mltrack's tracking server: the MLflow tracking REST API (experiments, runs, params, metrics, tags,
//! dataset inputs, artifacts through the `mlflow-artifacts` proxy) over SQLite or PostgreSQL.
//!
//! It also serves the web UI (`ui`): server-rendered pages at `/` for experiments, runs, charts,
//! artifacts and the model registry, compiled into the binary.
//!
//! The unmodified Python `mlflow` client works against it with `MLFLOW_TRACKING_URI=http://host:port`.
//! The wire contract is MLflow's (`protocol`), the rules are MLflow's (`validation`, `search`), and the
//! store keeps a latest-metric table so searches never read metric history.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use tracking_server::{config::ServerConfig, startup::Application};
//! let app = Application::build(ServerConfig { port: 0, ..ServerConfig::default() }).await?;
//! println!("listening on {}", app.port());
//! app.run_until_stopped().await
//! # }
//! ```

pub mod artifact_source;
pub mod artifacts;
#[cfg(feature = "s3")]
pub mod artifacts_object;
pub mod auth;
pub mod calendar;
pub mod config;
pub mod error;
pub mod extract;
pub mod ops;
pub mod routes;
pub mod search;
pub mod service;
pub mod startup;
pub mod state;
pub mod store;
pub mod ui;
pub mod uri;
pub mod validation;
pub mod webhooks;
