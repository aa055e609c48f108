//! `mltrack score`'s settings.

use super::defaults::SCORING_EXPERIMENT;
use super::environment::Environment;
use crate::cli::{HandleInvalidArg, ScoreArgs};
use crate::exit::UsageError;
use crate::tracked_run::RunTarget;
use anyhow::bail;
use model_core::indexer::HandleInvalid;
use std::path::{Path, PathBuf};

const COMMAND: &[&str] = &["score"];

#[derive(Debug)]
pub struct ScoreSettings {
    /// The model as the user gave it (URI or directory).
    pub model: String,
    pub input: PathBuf,
    pub output: PathBuf,
    /// Where unscorable rows go (`--skipped`, or beside the output).
    pub skipped: PathBuf,
    pub handle_invalid: HandleInvalid,
    /// As typed, for the run's parameters.
    pub handle_invalid_name: &'static str,
    pub batch_rows: usize,
    pub tracking_uri: Option<String>,
    /// Where to log the scoring run; `None` with `--no-log` or without a tracking server.
    pub log: Option<RunTarget>,
    pub model_cache: PathBuf,
}

impl ScoreSettings {
    pub fn resolve(args: ScoreArgs, env: &Environment) -> anyhow::Result<Self> {
        let skipped = args
            .skipped
            .clone()
            .unwrap_or_else(|| default_skipped_path(&args.output));
        for out in [&args.output, &skipped] {
            if same_file(out, &args.input) {
                return Err(UsageError::new(
                    COMMAND,
                    format!(
                        "`{}` is the input: choose another output path",
                        out.display()
                    ),
                )
                .into());
            }
        }
        if args.output == skipped {
            return Err(UsageError::new(
                COMMAND,
                format!(
                    "`--output` and `--skipped` are the same file `{}`",
                    args.output.display()
                ),
            )
            .into());
        }
        let tracking_uri = env.tracking_uri(args.tracking_uri);
        let log = match (&tracking_uri, args.no_log, args.run_id, args.experiment) {
            (None, _, None, None) | (_, true, _, _) => None,
            // Whether there is a server depends on the environment too, so this is a failure of
            // the command (1), not a usage error.
            (None, _, _, _) => bail!("`--run-id` and `--experiment` need a tracking server: pass `--tracking-uri` or set MLFLOW_TRACKING_URI"),
            (Some(_), false, Some(id), _) => Some(RunTarget::Existing(id)),
            (Some(_), false, None, experiment) => Some(RunTarget::NewIn(
                experiment.unwrap_or_else(|| SCORING_EXPERIMENT.to_string()),
            )),
        };
        Ok(ScoreSettings {
            model: args.model,
            input: args.input,
            output: args.output,
            skipped,
            handle_invalid: match args.handle_invalid {
                HandleInvalidArg::Skip => HandleInvalid::Skip,
                HandleInvalidArg::Keep => HandleInvalid::Keep,
                HandleInvalidArg::Error => HandleInvalid::Error,
            },
            handle_invalid_name: args.handle_invalid.name(),
            batch_rows: args.batch_rows,
            tracking_uri,
            log,
            model_cache: env.model_cache(args.model_cache),
        })
    }
}

/// `out.parquet` → `out.skipped.parquet`.
fn default_skipped_path(output: &Path) -> PathBuf {
    let stem = output
        .file_stem()
        .map_or_else(|| "scored".into(), |s| s.to_string_lossy().into_owned());
    let name = match output.extension() {
        Some(ext) => format!("{stem}.skipped.{}", ext.to_string_lossy()),
        None => format!("{stem}.skipped"),
    };
    output.with_file_name(name)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
