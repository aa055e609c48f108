//! End-to-end tests across crates, through the `mltrack` binary.

mod drift_cli;
mod gold_monitoring;
mod load;
mod ops_cli;
mod python_client;
mod s3;
mod score_cli;
mod train_cli;
mod ui;
mod webhooks;
