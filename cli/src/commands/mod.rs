//! One module per `mltrack` subcommand. Each takes its resolved settings (`crate::settings`), never
//! the raw arguments or the environment.

pub mod drift;
pub mod gc;
mod loss_plot;
mod metric_keys;
mod model_source;
pub mod score;
pub mod server;
pub mod train;
pub mod user;
