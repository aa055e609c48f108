//! Defaults that several flags share, named once so that `server`, `server user` and `gc` find the
//! same store unless told otherwise.

/// The store `mlflow server` uses by default, relative to the working directory.
pub const BACKEND_STORE_URI: &str = "sqlite:///mlruns.db";

/// Where the artifact proxy keeps files by default (MLflow's `./mlartifacts`).
pub const ARTIFACTS_DESTINATION: &str = "./mlartifacts";

/// The experiment of `mltrack score`'s runs when none is named.
pub const SCORING_EXPERIMENT: &str = "scoring";
