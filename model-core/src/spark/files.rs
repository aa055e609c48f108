//! Spark's output folders: the metadata line every stage has (`DefaultParamsWriter`) and the
//! parquet part files, with the checks and errors the reader shares.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde_json::{Map, Value};

use crate::error::{ModelError, Result};

pub(super) fn bad(path: &Path, message: impl Into<String>) -> ModelError {
    ModelError::Package {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// One stage's (or the pipeline's) `DefaultParamsWriter` metadata.
pub(super) struct Metadata {
    pub(super) class: String,
    pub(super) uid: String,
    pub(super) params: Map<String, Value>,
    pub(super) defaults: Map<String, Value>,
    pub(super) all: Value,
    pub(super) path: PathBuf,
}

impl Metadata {
    /// A set param, else its default.
    pub(super) fn param(&self, name: &str) -> Option<&Value> {
        self.params.get(name).or_else(|| self.defaults.get(name))
    }

    pub(super) fn string(&self, name: &str) -> Option<&str> {
        self.param(name).and_then(Value::as_str)
    }

    pub(super) fn strings(&self, name: &str) -> Result<Option<Vec<String>>> {
        match self.param(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_string).ok_or_else(|| {
                        bad(
                            &self.path,
                            format!("param `{name}` is not a list of strings"),
                        )
                    })
                })
                .collect::<Result<Vec<_>>>()
                .map(Some),
            Some(_) => Err(bad(&self.path, format!("param `{name}` is not a list"))),
        }
    }
}

/// The visible part files of a Spark output folder (Spark and Hadoop skip `_…` and `.…` files).
fn part_files(dir: &Path, suffix: &str) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| bad(dir, format!("cannot read: {e}")))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('_') && !n.starts_with('.') && n.ends_with(suffix))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(bad(
            dir,
            "has no part file: the Spark model directory is incomplete",
        ));
    }
    Ok(files)
}

pub(super) fn read_metadata(stage: &Path) -> Result<Metadata> {
    let dir = stage.join("metadata");
    let file = part_files(&dir, "")?.remove(0);
    let text = std::fs::read_to_string(&file).map_err(|e| ModelError::Read {
        path: file.clone(),
        message: e.to_string(),
    })?;
    let line = text.lines().next().unwrap_or("");
    let all: Value = serde_json::from_str(line)
        .map_err(|e| bad(&file, format!("is not Spark ML metadata JSON: {e}")))?;
    let obj = |key: &str| {
        all.get(key)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let meta = Metadata {
        class: all
            .get("class")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        uid: all
            .get("uid")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        params: obj("paramMap"),
        defaults: obj("defaultParamMap"),
        path: file.clone(),
        all: all.clone(),
    };
    let version = all
        .get("sparkVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let major: Option<u32> = version.split('.').next().and_then(|m| m.parse().ok());
    match major {
        Some(3 | 4) => Ok(meta),
        Some(m) if m > 4 => Err(bad(
            &file,
            format!("was written by Spark {version}, a newer model format than mltrack reads (Spark 3.x and 4.x)"),
        )),
        _ => Err(bad(
            &file,
            format!("was written by Spark `{version}`; mltrack reads models of Spark 3.x and 4.x"),
        )),
    }
}

pub(super) fn read_parquet(dir: &Path) -> Result<DataFrame> {
    let mut out: Option<DataFrame> = None;
    for file in part_files(dir, ".parquet")? {
        let f = File::open(&file).map_err(|e| ModelError::Read {
            path: file.clone(),
            message: e.to_string(),
        })?;
        let df = ParquetReader::new(f)
            .finish()
            .map_err(|e| bad(&file, format!("is not readable parquet: {e}")))?;
        out = Some(match out {
            None => df,
            Some(mut acc) => {
                acc.vstack_mut(&df).map_err(|e| bad(&file, e.to_string()))?;
                acc
            }
        });
    }
    out.ok_or_else(|| bad(dir, "has no parquet part file"))
}
