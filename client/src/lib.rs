//! A typed Rust client for the MLflow REST API, for mltrack or any MLflow-compatible server.
//!
//! ```no_run
//! use client::rest::TrackingClient;
//! let c = TrackingClient::new("http://127.0.0.1:5000")?;
//! let exp = c.get_or_create_experiment("demo")?;
//! let run = c.create_run(&exp, Some("first"), &[])?;
//! c.log_metric(&run.info.run_id, "rmse", 0.5, 0)?;
//! # Ok::<(), client::rest::ClientError>(())
//! ```

pub mod rest;
