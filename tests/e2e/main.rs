//! End-to-end tests across crates, through the `mltrack` binary.

mod python_client;
