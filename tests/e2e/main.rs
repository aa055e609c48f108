//! End-to-end tests across crates, through the `mltrack` binary.

mod drift_cli;
mod gold_monitoring;
mod python_client;
mod score_cli;
mod train_cli;
mod ui;
