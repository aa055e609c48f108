//! `mltrack server` (with its `user` subcommands) and `mltrack gc`: the flags that act on a store
//! and its artifacts rather than on data. Each flag also reads its `MLTRACK_*` variable.

use super::parse::{positive_seconds, regex};
use crate::settings::defaults;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::Duration;
use tracking_server::config::{env_vars, Regex};

/// Flags are named like `mlflow server`'s, and each also reads an `MLTRACK_*` environment variable.
#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // on/off flags of `mlflow server`, one field each
pub struct ServerArgs {
    #[command(subcommand)]
    pub command: Option<ServerCommand>,

    /// Address to listen on.
    #[arg(long, env = env_vars::HOST, default_value = "127.0.0.1")]
    pub host: String,

    /// Port to listen on (0 picks a free one and prints it).
    #[arg(long, env = env_vars::PORT, default_value_t = 5000)]
    pub port: u16,

    /// Where runs are stored: `sqlite:///relative.db`, `sqlite:////absolute/path.db` or
    /// `postgresql://user:password@host:port/database`.
    #[arg(long, env = env_vars::BACKEND_STORE_URI, default_value = defaults::BACKEND_STORE_URI)]
    pub backend_store_uri: String,

    /// Artifact root for new experiments. Defaults to `mlflow-artifacts:/` (the server's proxy) when
    /// serving artifacts; a `file:///…` root makes clients write there themselves.
    #[arg(long, env = env_vars::DEFAULT_ARTIFACT_ROOT)]
    pub default_artifact_root: Option<String>,

    /// Where the `mlflow-artifacts:/` proxy keeps artifacts: a directory, or `s3://bucket/prefix`
    /// (credentials and endpoint from `AWS_*` variables, e.g. `AWS_ENDPOINT_URL`).
    #[arg(long, env = env_vars::ARTIFACTS_DESTINATION, default_value = defaults::ARTIFACTS_DESTINATION)]
    pub artifacts_destination: PathBuf,

    /// Serve artifacts through the proxy (the default).
    #[arg(long, env = env_vars::SERVE_ARTIFACTS, overrides_with = "no_serve_artifacts")]
    pub serve_artifacts: bool,

    /// Do not serve artifacts: the proxy answers 503 and clients use the artifact root directly.
    #[arg(long, overrides_with = "serve_artifacts")]
    pub no_serve_artifacts: bool,

    /// Require credentials on every route but `/health`: HTTP Basic (`MLFLOW_TRACKING_USERNAME` and
    /// `MLFLOW_TRACKING_PASSWORD`) or a bearer token (`MLFLOW_TRACKING_TOKEN`) of a user made with
    /// `mltrack server user add`.
    #[arg(long, env = env_vars::AUTH)]
    pub auth: bool,

    /// Largest artifact upload accepted, in bytes; larger ones get 413 and leave nothing behind
    /// [default: no limit].
    #[arg(long, env = env_vars::MAX_UPLOAD_BYTES, value_name = "BYTES")]
    pub max_upload_bytes: Option<u64>,

    /// Refuse model versions whose source does not match this regular expression (searched
    /// anywhere in the source, e.g. `^mlflow-artifacts:/`), with MLflow's error.
    #[arg(
        long,
        env = env_vars::SOURCE_VALIDATION_REGEX,
        value_name = "REGEX",
        value_parser = regex
    )]
    pub model_version_source_regex: Option<Regex>,
    /// A file holding the Fernet key that encrypts webhook signing secrets in the store. The other
    /// way to give the key is MLflow's `MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY` environment variable
    /// (there is no flag for the key itself: command lines are visible to other users). Without a
    /// key, a webhook can have no secret.
    #[arg(
        long,
        env = env_vars::WEBHOOK_SECRET_KEY_FILE,
        value_name = "PATH",
        help_heading = "Webhooks"
    )]
    pub webhook_secret_key_file: Option<PathBuf>,

    /// URL schemes a webhook may use, comma-separated.
    #[arg(
        long,
        env = env_vars::WEBHOOK_ALLOWED_SCHEMES,
        value_delimiter = ',',
        default_value = "https",
        value_name = "SCHEMES",
        help_heading = "Webhooks"
    )]
    pub webhook_allowed_schemes: Vec<String>,

    /// Let webhooks point at loopback, private and link-local addresses (for local development:
    /// otherwise a webhook could probe the server's own network).
    #[arg(long, env = env_vars::WEBHOOK_ALLOW_PRIVATE_IPS, help_heading = "Webhooks")]
    pub webhook_allow_private_ips: bool,

    /// How long one delivery attempt may take, in seconds.
    #[arg(
        long,
        env = env_vars::WEBHOOK_TIMEOUT,
        default_value_t = 30,
        value_name = "SECONDS",
        help_heading = "Webhooks"
    )]
    pub webhook_timeout: u64,

    /// Retries of a delivery that got no answer, a 408, a 429 or a 5xx, before it is given up.
    #[arg(
        long,
        env = env_vars::WEBHOOK_MAX_RETRIES,
        default_value_t = 15,
        value_name = "N",
        help_heading = "Webhooks"
    )]
    pub webhook_max_retries: u32,

    /// The longest wait between two attempts, in seconds (fractions allowed). Waits double from 1 s
    /// up to this; with the defaults a delivery is retried for about four hours.
    #[arg(
        long,
        env = env_vars::WEBHOOK_MAX_BACKOFF,
        default_value = "3600",
        value_parser = positive_seconds,
        value_name = "SECONDS",
        help_heading = "Webhooks"
    )]
    pub webhook_max_backoff: Duration,

    /// Deliveries in flight at once (per server).
    #[arg(
        long,
        env = env_vars::WEBHOOK_WORKERS,
        default_value_t = 10,
        value_name = "N",
        help_heading = "Webhooks"
    )]
    pub webhook_workers: usize,
}

#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Manage the users `--auth` lets in.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user with a password, a token, or both; prints a generated token once.
    Add(UserAddArgs),
    /// Remove a user and their tokens (servers notice within 30 seconds).
    Remove(UserRemoveArgs),
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("secret").required(true).multiple(true))]
pub struct UserAddArgs {
    /// The user name (`MLFLOW_TRACKING_USERNAME` on the client).
    pub name: String,
    /// Read the password from the first line of standard input.
    #[arg(long, group = "secret", conflicts_with = "password_env")]
    pub password_stdin: bool,
    /// Read the password from this environment variable.
    #[arg(long, group = "secret", value_name = "VAR")]
    pub password_env: Option<String>,
    /// Generate an API token and print it (once: only its hash is stored).
    #[arg(long, group = "secret")]
    pub token: bool,
    /// Allow reads only: searches and gets, no writes (403 `PERMISSION_DENIED`).
    #[arg(long)]
    pub read_only: bool,
    /// The store the server uses.
    #[arg(long, env = env_vars::BACKEND_STORE_URI, default_value = defaults::BACKEND_STORE_URI)]
    pub backend_store_uri: String,
}

#[derive(Debug, Args)]
pub struct UserRemoveArgs {
    /// The user to remove.
    pub name: String,
    /// The store the server uses.
    #[arg(long, env = env_vars::BACKEND_STORE_URI, default_value = defaults::BACKEND_STORE_URI)]
    pub backend_store_uri: String,
}

/// Deletes rows and artifacts for good; the server may keep running.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// The store the server uses.
    #[arg(long, env = env_vars::BACKEND_STORE_URI, default_value = defaults::BACKEND_STORE_URI)]
    pub backend_store_uri: String,
    /// Where the proxy keeps artifacts: the server's directory or `s3://bucket/prefix`.
    #[arg(long, env = env_vars::ARTIFACTS_DESTINATION, default_value = defaults::ARTIFACTS_DESTINATION)]
    pub artifacts_destination: PathBuf,
    /// Only what was deleted at least this long ago: `#d#h#m#s`, as `mlflow gc` (e.g. `30d`,
    /// `1d2h`, `90s`) [default: everything deleted].
    #[arg(long, value_name = "AGE")]
    pub older_than: Option<String>,
    /// Only these runs (comma-separated); each must be deleted.
    #[arg(long, value_delimiter = ',')]
    pub run_ids: Vec<String>,
    /// Only these experiments and their runs (comma-separated); each must be deleted.
    #[arg(long, value_delimiter = ',')]
    pub experiment_ids: Vec<i64>,
}

/// How `mltrack import` treats artifacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportArtifacts {
    /// Copy them into mltrack's store (its `--artifacts-destination`, or a local
    /// `--default-artifact-root`); runs, models and model versions point there afterwards.
    Copy,
    /// Leave them where they are; every URI stays as MLflow had it. For `mlflow-artifacts:/` URIs,
    /// serve mltrack with the MLflow server's `--artifacts-destination`.
    Link,
}

/// Brings an MLflow store over, keeping its ids; running it again changes nothing.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The MLflow store: `sqlite:///mlflow.db`, `postgresql://user:password@host:port/db` (its
    /// `--backend-store-uri`), or a file store directory such as `./mlruns`.
    #[arg(long, value_name = "URI")]
    pub from: String,
    /// Copy artifacts into mltrack's store, or leave them where they are.
    #[arg(long, value_enum, default_value = "copy")]
    pub artifacts: ImportArtifacts,
    /// The MLflow server's `--artifacts-destination`: where the files behind its
    /// `mlflow-artifacts:/` URIs are.
    #[arg(long, value_name = "DIR", default_value = "./mlartifacts")]
    pub from_artifacts_destination: PathBuf,
    /// mltrack's store, as `mltrack server` is given it.
    #[arg(long, env = env_vars::BACKEND_STORE_URI, default_value = defaults::BACKEND_STORE_URI)]
    pub backend_store_uri: String,
    /// mltrack's `--default-artifact-root`, if the server is given one.
    #[arg(long, env = env_vars::DEFAULT_ARTIFACT_ROOT)]
    pub default_artifact_root: Option<String>,
    /// Where mltrack's `mlflow-artifacts:/` proxy keeps artifacts (a directory or `s3://…`).
    #[arg(long, env = env_vars::ARTIFACTS_DESTINATION, default_value = defaults::ARTIFACTS_DESTINATION)]
    pub artifacts_destination: PathBuf,
    /// mltrack runs with `--no-serve-artifacts` (artifacts then go to the default artifact root).
    #[arg(long)]
    pub no_serve_artifacts: bool,
}
