//! MLflow's REST wire contract, shared by `tracking-server` (which answers it) and `client` (which
//! speaks it), so the two cannot drift apart.
//!
//! - [`entities`], [`tracking`], [`registry`]: the messages of MLflow's `service.proto` and
//!   `model_registry.proto` in their proto3-JSON form (serde only; no HTTP, no SQL).
//! - [`json`]: the JSON dialect — numbers as strings or numbers, `"NaN"`/`"Infinity"` as floats.
//! - [`paths`]: endpoint paths, spelled once.
//! - [`limits`]: MLflow's length and batch limits.
//! - [`monitor`]: what `mltrack monitor` records per batch, for the UI's monitoring page.
//! - [`names`]: the rules a run id, an entity key or an experiment name must meet, as validated
//!   newtypes, with MLflow's error wording (its tests match the messages).

pub mod entities;
pub mod json;
pub mod limits;
pub mod monitor;
pub mod names;
pub mod paths;
pub mod registry;
pub mod tags;
pub mod tracking;

pub use entities::*;
pub use registry::*;
pub use tracking::*;
