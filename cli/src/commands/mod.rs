//! One module per `mltrack` subcommand. Each takes its resolved settings (`crate::settings`), never
//! the raw arguments or the environment.

pub(crate) mod drift;
pub(crate) mod gc;
pub(crate) mod import;
pub(crate) mod import_spark;
mod loss_plot;
mod metric_keys;
mod model_source;
pub(crate) mod monitor;
mod reference;
pub(crate) mod score;
mod score_log;
pub(crate) mod server;
pub(crate) mod train;
pub(crate) mod user;
mod webhook;
