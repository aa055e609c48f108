//! The `mltrack` command line: clap types only, plus the dispatch to `commands::*`.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use tracking_server::config::env_vars;

/// mltrack: an MLflow-compatible tracking server and ML lifecycle tools in one small binary.
#[derive(Debug, Parser)]
#[command(name = "mltrack", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the tracking server (MLflow REST API, artifact proxy) on SQLite or PostgreSQL.
    Server(ServerArgs),
}

/// Flags are named like `mlflow server`'s, and each also reads an `MLTRACK_*` environment variable.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Address to listen on.
    #[arg(long, env = env_vars::HOST, default_value = "127.0.0.1")]
    pub host: String,

    /// Port to listen on (0 picks a free one and prints it).
    #[arg(long, env = env_vars::PORT, default_value_t = 5000)]
    pub port: u16,

    /// Where runs are stored: `sqlite:///relative.db`, `sqlite:////absolute/path.db` or
    /// `postgresql://user:password@host:port/database`.
    #[arg(long, env = env_vars::BACKEND_STORE_URI, default_value = "sqlite:///mlruns.db")]
    pub backend_store_uri: String,

    /// Artifact root for new experiments. Defaults to `mlflow-artifacts:/` (the server's proxy) when
    /// serving artifacts; a `file:///…` root makes clients write there themselves.
    #[arg(long, env = env_vars::DEFAULT_ARTIFACT_ROOT)]
    pub default_artifact_root: Option<String>,

    /// Directory behind the `mlflow-artifacts:/` proxy.
    #[arg(long, env = env_vars::ARTIFACTS_DESTINATION, default_value = "./mlartifacts")]
    pub artifacts_destination: PathBuf,

    /// Serve artifacts through the proxy (the default).
    #[arg(long, env = env_vars::SERVE_ARTIFACTS, overrides_with = "no_serve_artifacts")]
    pub serve_artifacts: bool,

    /// Do not serve artifacts: the proxy answers 503 and clients use the artifact root directly.
    #[arg(long, overrides_with = "serve_artifacts")]
    pub no_serve_artifacts: bool,
}

/// Parses arguments, runs the command, and maps the outcome to an exit code: 0 ok, 1 the user's
/// mistake or a failed command, 2 for usage errors (clap's own).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::telemetry::init();
    let result = match cli.command {
        Command::Server(args) => crate::commands::server::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
