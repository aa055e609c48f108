//! The `mltrack` command: argument types (`cli`), one module per subcommand (`commands`), and the
//! dispatch that maps each outcome to an exit code.

pub mod cli;
pub mod commands;
mod telemetry;
