//! One module per `mltrack` subcommand.

pub mod drift;
pub mod gc;
mod loss_plot;
mod metric_keys;
pub mod model_source;
pub mod score;
pub mod server;
pub mod train;
pub mod user;
