//! API tests: the real router on a real socket, on SQLite and (when `MLTRACK_TEST_PG_URL` is set) on
//! PostgreSQL. Each test gets a fresh database.

// Test and benchmark fixtures index rows and build values from small counts.
#![allow(
    clippy::cast_possible_wrap,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

mod helpers;

mod artifacts;
mod auth;
mod errors;
mod experiments;
mod faults;
mod fuzz;
mod metric_writes;
mod ops;
mod paths;
mod persistence;
mod registry;
mod runs;
mod search;
mod search_scale;
mod ui;
mod webhook_delivery;
mod webhook_receiver;
mod webhooks;
