//! End-to-end tests across crates, through the `mltrack` binary.

mod drift_cli;
mod load;
mod ops_cli;
mod python_client;
mod s3;
mod train_cli;
