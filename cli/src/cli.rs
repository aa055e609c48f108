//! The `mltrack` command line: clap types only. What the flags mean once combined with the
//! environment is `settings`' job, and running a command is `commands`'; this module depends on
//! neither, so that the argument types can be read (and documented) on their own.

mod parse;
mod server;

pub use server::{
    GcArgs, ImportArgs, ImportArtifacts, ServerArgs, ServerCommand, UserAddArgs, UserCommand,
    UserRemoveArgs,
};

use crate::exit::EXIT_STATUS_HELP;
use clap::{Args, Parser, Subcommand, ValueEnum};
use parse::{at_least_one, auc};
use std::path::PathBuf;

/// mltrack: an MLflow-compatible tracking server and ML lifecycle tools in one small binary.
#[derive(Debug, Parser)]
#[command(
    name = "mltrack",
    version,
    propagate_version = true,
    after_help = EXIT_STATUS_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the tracking server (MLflow REST API, artifact proxy) on SQLite or PostgreSQL.
    Server(ServerArgs),
    /// Data and prediction drift between a reference and current data, with Evidently's tests.
    Drift(Box<DriftArgs>),
    /// Train the Airbnb price model: TPE search, nested runs per trial, the best model packaged and
    /// (optionally) registered.
    Train(TrainArgs),
    /// Score a parquet or CSV file with a registered or local model; rows the model cannot score go
    /// to a skipped file with the reason, and a scoring run records the counts.
    Score(ScoreArgs),
    /// The daily monitoring loop, one pass (for cron): for each new dated batch, check expectations,
    /// score with the model, save predictions, compute data and prediction drift, log a run, alert.
    #[command(after_help = MONITOR_EXIT_HELP)]
    Monitor(Box<MonitorArgs>),
    /// Models made elsewhere: `model import-spark DIR` packages (and registers) a Spark ML
    /// `PipelineModel`.
    Model(ModelArgs),
    /// Permanently delete runs and experiments in the `deleted` stage, with their artifacts (like
    /// `mlflow gc`).
    Gc(GcArgs),
    /// Move an MLflow store over (SQLite, PostgreSQL or a `./mlruns` file store): experiments, runs
    /// with full metric histories, datasets, logged models, the registry and artifacts, keeping
    /// MLflow's ids so `runs:/` and `models:/` URIs keep working. Safe to run again: it resumes an
    /// interrupted import and imports nothing twice.
    Import(ImportArgs),
}

const MONITOR_EXIT_HELP: &str = "\
Exit status:
  0  every new batch was processed and none drifted (also: no new batch)
  3  dataset, prediction or multivariate drift in at least one batch (whatever else happened)
  1  no drift, but a batch failed (a `fail` expectation, unreadable data, a missing column) or a
     processed batch's content changed since (reported, not scored again); the other batches are
     still processed
  2  usage error";

#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// The model: `models:/NAME/STAGE`, `models:/NAME/VERSION`, `models:/NAME@ALIAS`, a local
    /// model directory, or a Spark ML `PipelineModel` directory.
    #[arg(long)]
    pub model: String,
    /// A batch (parquet file, Spark folder, `.csv`), or a folder of batches with a date
    /// (YYYY-MM-DD) in each name, processed in date order.
    #[arg(long)]
    pub input: PathBuf,
    /// Output folder: `predictions/date=…/`, `quarantine/date=…/`, `skipped/date=…/`,
    /// `reports/date=…/` and, without a tracking server, `monitor-state.json`.
    #[arg(long)]
    pub out: PathBuf,
    /// Expectations (TOML) checked on each batch before scoring [default: the model's
    /// `expectations.toml`, learned by `train` from its training rows].
    #[arg(long)]
    pub expect: Option<PathBuf>,
    /// Drift reference (data, or a profile `.json`) [default: the model's `reference_profile.json`].
    #[arg(long)]
    pub reference: Option<PathBuf>,
    /// The date of a single batch whose name has none (YYYY-MM-DD); not with `--watch`, which
    /// reads dates from the names of the batches that land.
    #[arg(long, conflicts_with = "watch")]
    pub date: Option<String>,
    /// Experiment of the monitoring runs [default: `monitoring/<model name>`].
    #[arg(long)]
    pub experiment: Option<String>,
    /// POST a JSON alert here when a batch drifts or fails a `fail` expectation.
    #[arg(long)]
    pub webhook: Option<String>,
    /// Retries of a failed webhook POST, with exponential backoff.
    #[arg(long, default_value_t = 3, requires = "webhook")]
    pub webhook_retries: u32,
    /// Tracking server (default: `MLFLOW_TRACKING_URI`); needed for `models:/` URIs. Without one,
    /// nothing is logged and processed batches are recorded in `OUT/monitor-state.json`.
    #[arg(long)]
    pub tracking_uri: Option<String>,
    /// Where downloaded models are cached [default: `MLTRACK_MODEL_CACHE`, else ~/.cache/mltrack/models].
    #[arg(long)]
    pub model_cache: Option<PathBuf>,
    /// Keep running: poll `--input` and process each batch once its size and modification time held
    /// for two polls (a Spark folder also needs its `_SUCCESS`); SIGTERM or Ctrl-C stops after the
    /// batch in hand.
    #[arg(long)]
    pub watch: bool,
    /// Time between polls with `--watch`: `30s`, `5m`, `1h` [default: 60s].
    #[arg(long, requires = "watch")]
    pub interval: Option<String>,
    /// Mail alerts through this server: `smtp://host:port` (STARTTLS when offered) or
    /// `smtps://user@host:port` (TLS from the start).
    #[arg(long, requires = "mail_to")]
    pub smtp_url: Option<String>,
    /// Environment variable holding the SMTP password, read when `--smtp-url` names a user.
    #[arg(long, default_value = "MLTRACK_SMTP_PASSWORD", requires = "smtp_url")]
    pub smtp_password_env: String,
    /// Sender of alert mails [default: mltrack@<hostname>].
    #[arg(long, requires = "smtp_url")]
    pub mail_from: Option<String>,
    /// Recipient of alert mails (repeat for several).
    #[arg(long, requires = "smtp_url")]
    pub mail_to: Vec<String>,
    #[command(flatten)]
    pub multivariate: MultivariateArgs,
}

/// The multivariate (domain classifier) drift test, shared by `drift` and `monitor`.
#[derive(Debug, Args)]
pub struct MultivariateArgs {
    /// Multivariate drift when the domain classifier's held-out ROC AUC is above this.
    #[arg(long, default_value_t = 0.55, value_name = "AUC", value_parser = auc)]
    pub multivariate_threshold: f64,
    /// Skip the multivariate test: alert on column drift and prediction drift only.
    #[arg(long, conflicts_with = "multivariate_threshold")]
    pub no_multivariate: bool,
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// The model: `models:/NAME/STAGE`, `models:/NAME/VERSION`, `models:/NAME@ALIAS`,
    /// `runs:/RUN_ID/PATH`, a local model directory, or a Spark ML `PipelineModel` directory.
    #[arg(long)]
    pub model: String,
    /// Rows to score: parquet (file or directory of part files) or CSV (by its `.csv` extension).
    #[arg(long)]
    pub input: PathBuf,
    /// Where to write the scored rows (input columns plus `prediction`); `.csv` for CSV, else parquet.
    #[arg(long)]
    pub output: PathBuf,
    /// Where to write the rows the model could not score, with `row`, `reason`, `column` and `value`
    /// [default: beside the output, `<output stem>.skipped.<ext>`].
    #[arg(long)]
    pub skipped: Option<PathBuf>,
    /// Null or unseen categories and null/NaN numbers: skip the row (to the skipped file), keep it
    /// (Spark's extra bucket), or stop with an error.
    #[arg(long, value_enum, default_value_t = HandleInvalidArg::Skip)]
    pub handle_invalid: HandleInvalidArg,
    /// Rows per batch; memory grows with it, not with the input.
    #[arg(long, default_value_t = 100_000, value_parser = at_least_one)]
    pub batch_rows: usize,
    /// Log the scoring run to this experiment (created if needed) [default: scoring].
    #[arg(long, conflicts_with = "run_id")]
    pub experiment: Option<String>,
    /// Log the scoring to this existing run instead of a new one.
    #[arg(long)]
    pub run_id: Option<String>,
    /// Do not log a scoring run, even with a tracking server.
    #[arg(long, conflicts_with_all = ["run_id", "experiment"])]
    pub no_log: bool,
    /// Tracking server (default: `MLFLOW_TRACKING_URI`); needed for `models:/` and `runs:/` URIs.
    #[arg(long)]
    pub tracking_uri: Option<String>,
    /// Where downloaded models are cached [default: `MLTRACK_MODEL_CACHE`, else ~/.cache/mltrack/models].
    #[arg(long)]
    pub model_cache: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Gold data, parquet (file or directory) or CSV [default: `MLTRACK_GOLD_DATA` or ../shared/data/…].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Experiment for the search's runs (created if needed).
    #[arg(long, default_value = "airbnb-price")]
    pub experiment: String,
    /// Number of trials.
    #[arg(long, default_value_t = 32, value_parser = at_least_one)]
    pub max_evals: usize,
    /// Trials evaluated at once (0: one per core).
    #[arg(long, default_value_t = 2)]
    pub parallelism: usize,
    /// Register the best model under this name.
    #[arg(long)]
    pub register: Option<String>,
    /// Move the registered version to this stage, archiving the versions there.
    #[arg(long, requires = "register", value_enum)]
    pub stage: Option<StageArg>,
    /// Seed of the split and the search (Spark's seeds are 64-bit signed: 0 to 9223372036854775807).
    #[arg(long, default_value_t = 42, value_parser = clap::value_parser!(u64).range(..=i64::MAX as u64))]
    pub seed: u64,
    /// Search algorithm.
    #[arg(long, value_enum, default_value_t = AlgorithmArg::Tpe)]
    pub algorithm: AlgorithmArg,
    /// Where to write the MLflow model directory.
    #[arg(long, default_value = "mltrack-model")]
    pub out: PathBuf,
    /// Tracking server (default: `MLFLOW_TRACKING_URI`; without one, nothing is logged).
    #[arg(long)]
    pub tracking_uri: Option<String>,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DriftArgs {
    #[command(subcommand)]
    pub command: Option<DriftCommand>,
    #[command(flatten)]
    pub run: DriftRunArgs,
}

#[derive(Debug, Subcommand)]
pub enum DriftCommand {
    /// Save what the tests need from a reference once, to reuse it for every new batch.
    Profile(DriftProfileArgs),
}

#[derive(Debug, Args)]
pub struct DriftProfileArgs {
    /// Reference data: a parquet file, a folder of parquet part files (as Spark or polars write
    /// them), or a `.csv` file.
    #[arg(long)]
    pub reference: PathBuf,
    /// Where to write the profile (JSON).
    #[arg(long)]
    pub out: PathBuf,
    /// Columns to treat as numerical (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub numerical: Vec<String>,
    /// Columns to treat as categorical (comma-separated); read from CSV as text, so `02134` stays
    /// `02134`.
    #[arg(long, value_delimiter = ',')]
    pub categorical: Vec<String>,
}

/// Undeclared columns: text is categorical, numbers are numerical.
#[derive(Debug, Args)]
pub struct DriftRunArgs {
    /// Reference data: a parquet file, a folder of parquet part files (as Spark or polars write
    /// them), or a `.csv` file; or a profile (`.json`) saved by `mltrack drift profile`.
    #[arg(long)]
    pub reference: Option<PathBuf>,
    /// Current data: a parquet file, a folder of parquet part files, or a `.csv` file.
    #[arg(long)]
    pub current: Option<PathBuf>,
    /// Columns to treat as numerical (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub numerical: Vec<String>,
    /// Columns to treat as categorical (comma-separated); read from CSV as text, so `02134` stays
    /// `02134`.
    #[arg(long, value_delimiter = ',')]
    pub categorical: Vec<String>,
    /// The model's prediction column (prediction drift; counted among the columns, as Evidently).
    #[arg(long)]
    pub prediction: Option<String>,
    /// Test for all columns, or `COLUMN=METHOD` for one: ks, chisquare, z, wasserstein, jensenshannon,
    /// psi, `kl_div`, hellinger. Repeatable.
    #[arg(long, value_name = "[COLUMN=]METHOD")]
    pub stattest: Vec<String>,
    /// Test for every numerical column.
    #[arg(long, value_name = "METHOD")]
    pub num_stattest: Option<String>,
    /// Test for every categorical column.
    #[arg(long, value_name = "METHOD")]
    pub cat_stattest: Option<String>,
    /// Threshold for all columns, or `COLUMN=VALUE` for one. Repeatable.
    #[arg(long, value_name = "[COLUMN=]VALUE")]
    pub threshold: Vec<String>,
    /// Threshold for every numerical column.
    #[arg(long, value_name = "VALUE")]
    pub num_threshold: Option<f64>,
    /// Threshold for every categorical column.
    #[arg(long, value_name = "VALUE")]
    pub cat_threshold: Option<f64>,
    /// Dataset drift when this share of columns drifted.
    #[arg(long, default_value_t = 0.5)]
    pub drift_share: f64,
    /// Multiple-testing correction for p-value tests.
    #[arg(long, value_enum, default_value_t = CorrectionArg::None)]
    pub correction: CorrectionArg,
    #[command(flatten)]
    pub multivariate: MultivariateArgs,
    /// Write the JSON report here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the self-contained HTML report here.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Exit with status 3 when dataset, prediction or multivariate drift is detected.
    #[arg(long)]
    pub fail_on_drift: bool,
    /// POST the JSON report to this URL (timeout 10 s, retried with backoff; never loses the report).
    #[arg(long)]
    pub webhook: Option<String>,
    /// Webhook retries after the first attempt.
    #[arg(long, default_value_t = 3)]
    pub webhook_retries: u32,
    /// Log the report, flags and scores to this existing run.
    #[arg(long, conflicts_with = "experiment")]
    pub run_id: Option<String>,
    /// Log to a new run in this experiment (created if needed).
    #[arg(long)]
    pub experiment: Option<String>,
    /// Tracking server (default: `MLFLOW_TRACKING_URI`).
    #[arg(long)]
    pub tracking_uri: Option<String>,
}

#[derive(Debug, Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    pub command: ModelCommand,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Package a Spark ML `PipelineModel` directory (`StringIndexer`, `VectorAssembler` and a
    /// random forest, GBT or decision tree regression model, as `PipelineModel.save` wrote it) as an
    /// mltrack model, and register it when asked. The Spark files are kept as they are (`sparkml/`).
    ImportSpark(ImportSparkArgs),
}

#[derive(Debug, Args)]
pub struct ImportSparkArgs {
    /// The Spark `PipelineModel` directory (the one with `metadata/` and `stages/`).
    pub dir: PathBuf,
    /// Where to write the packaged model directory (must not exist yet).
    #[arg(long, default_value = "mltrack-spark-model")]
    pub out: PathBuf,
    /// Register the packaged model under this name (needs a tracking server).
    #[arg(long)]
    pub register: Option<String>,
    /// Move the registered version to this stage.
    #[arg(long, value_enum, requires = "register")]
    pub stage: Option<StageArg>,
    /// The experiment of the run that holds the model's files.
    #[arg(long, default_value = "spark-imports")]
    pub experiment: String,
    /// Tracking server (default: `MLFLOW_TRACKING_URI`); needed for `--register`.
    #[arg(long)]
    pub tracking_uri: Option<String>,
}

// The choices below have no doc comments on their variants on purpose: clap would then print each
// flag's help as a list of values, and the flags' own help already says what each value does.

/// What `score` does with rows the model cannot score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HandleInvalidArg {
    Skip,
    Keep,
    Error,
}

/// `train`'s search algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AlgorithmArg {
    Tpe,
    Random,
}

/// The registry stages a trained model may be moved to, spelt as MLflow spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StageArg {
    #[value(name = "Staging")]
    Staging,
    #[value(name = "Production")]
    Production,
}

/// `drift`'s multiple-testing correction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CorrectionArg {
    None,
    Bonferroni,
    Fdr,
}

// The values as typed, for run parameters and the registry; a test checks them against clap's.

impl HandleInvalidArg {
    pub fn name(self) -> &'static str {
        match self {
            HandleInvalidArg::Skip => "skip",
            HandleInvalidArg::Keep => "keep",
            HandleInvalidArg::Error => "error",
        }
    }
}

impl AlgorithmArg {
    pub fn name(self) -> &'static str {
        match self {
            AlgorithmArg::Tpe => "tpe",
            AlgorithmArg::Random => "random",
        }
    }
}

impl StageArg {
    pub fn name(self) -> &'static str {
        match self {
            StageArg::Staging => "Staging",
            StageArg::Production => "Production",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_arguments_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn names_are_the_values_clap_accepts() {
        let name = |v: Option<clap::builder::PossibleValue>| v.unwrap().get_name().to_string();
        for v in HandleInvalidArg::value_variants() {
            assert_eq!(v.name(), name(v.to_possible_value()));
        }
        for v in AlgorithmArg::value_variants() {
            assert_eq!(v.name(), name(v.to_possible_value()));
        }
        for v in StageArg::value_variants() {
            assert_eq!(v.name(), name(v.to_possible_value()));
        }
    }
}
