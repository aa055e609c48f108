//! One module per `mltrack` subcommand.

pub mod drift;
mod loss_plot;
pub mod server;
pub mod train;
