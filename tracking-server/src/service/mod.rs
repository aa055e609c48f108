//! Rules shared by the REST API and the web UI, so the two front ends cannot decide differently:
//! each function validates its input the way MLflow does and calls the store. Handlers and UI pages
//! parse their own request shapes and render their own answers; what happens in between is here.

pub mod experiments;
pub mod registry;
pub mod runs;
