//! Wire types only (serde): what MLflow's REST API sends and receives. No axum, no SQL.

pub mod entities;
pub mod json;
pub mod registry;
pub mod tracking;

pub use entities::*;
pub use registry::*;
pub use tracking::*;
