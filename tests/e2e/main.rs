//! End-to-end tests across crates, through the `mltrack` binary.

// Test and benchmark fixtures index rows and build values from small counts.
#![allow(
    clippy::cast_possible_wrap,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

mod drift_cli;
mod drift_multivariate;
mod gold_monitoring;
mod import;
mod load;
mod monitor_cli;
mod monitor_season;
mod monitor_watch;
mod ops_cli;
mod pyfunc;
mod python_client;
mod s3;
mod score_cli;
mod spark;
mod train_cli;
mod ui;
mod webhooks;
