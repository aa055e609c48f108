//! Each command's settings: its flags combined with the environment, resolved once before the
//! command runs. The precedence is the same everywhere (flag, then environment variable, then
//! default) and is written once, in [`Environment`]; commands take these structs and never read
//! the environment themselves, so what a command does follows from its settings alone. The
//! `server`, `server user` and `gc` flags that mirror an `MLTRACK_*` or `MLFLOW_*` variable read it
//! through clap's `env` instead, so that `--help` shows each variable beside its flag; the
//! precedence is the same.
//!
//! Mistakes that only show once flags are combined are reported here: usage errors (exit 2) when
//! they are about the command line alone, failures (exit 1) when the environment is involved
//! (a `--run-id` without a tracking server may be a missing `MLFLOW_TRACKING_URI`).

pub mod defaults;
mod drift;
mod environment;
mod gc;
mod import;
mod import_spark;
mod monitor;
mod score;
mod server;
mod train;
mod user;

pub use self::drift::{CompareSettings, DriftLog, DriftSettings, ProfileSettings, Webhook};
pub use environment::{Environment, LogSettings};
pub use gc::GcSettings;
pub use import::ImportSettings;
pub use import_spark::ImportSparkSettings;
pub use monitor::{Mail, MonitorSettings, SmtpServer};
pub use score::ScoreSettings;
pub use server::server_config;
pub use train::TrainSettings;
pub use user::{Password, UserAdd, UserRemove, UserSettings};
