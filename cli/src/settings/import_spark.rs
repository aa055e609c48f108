//! `mltrack model import-spark`'s settings.

use super::environment::Environment;
use crate::cli::{ImportSparkArgs, StageArg};
use anyhow::bail;
use std::path::PathBuf;

#[derive(Debug)]
pub struct ImportSparkSettings {
    pub dir: PathBuf,
    pub out: PathBuf,
    pub register: Option<String>,
    /// The registry stage, spelt as MLflow spells it.
    pub stage: Option<&'static str>,
    pub experiment: String,
    pub tracking_uri: Option<String>,
}

impl ImportSparkSettings {
    pub fn resolve(args: ImportSparkArgs, env: &Environment) -> anyhow::Result<Self> {
        let tracking_uri = env.tracking_uri(args.tracking_uri);
        if tracking_uri.is_none() && args.register.is_some() {
            // The server may come from the environment, so this is a failure (1), not a usage error.
            bail!("`--register` needs a tracking server: pass `--tracking-uri` or set MLFLOW_TRACKING_URI");
        }
        Ok(ImportSparkSettings {
            dir: args.dir,
            out: args.out,
            register: args.register,
            stage: args.stage.map(StageArg::name),
            experiment: args.experiment,
            tracking_uri,
        })
    }
}
