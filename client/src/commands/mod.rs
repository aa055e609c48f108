//! One module per `mltrack` subcommand.

pub mod server;
