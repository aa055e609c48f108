//! MLflow's file store (`./mlruns`): a directory per experiment (deleted ones under `.trash`), a
//! directory per run with `meta.yaml`, one file per param and tag, one file of `timestamp value
//! step` lines per metric (keys with `/` are subdirectories), and the registry under `models/`.

use super::reader::{logged_model_status_name, run_status_name, Source, STAGE_DELETED_INTERNAL};
use super::yaml::Meta;
use anyhow::{Context, Result};
use protocol::{Dataset, KeyValue, Metric};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tracking_server::store::import::{
    ImportExperiment, ImportInput, ImportLoggedModel, ImportModelVersion, ImportRegisteredModel,
    ImportRun,
};

/// Folders of an experiment that are not runs.
const RESERVED: &[&str] = &["tags", "datasets", "models", "traces"];

pub struct FileSource {
    root: PathBuf,
    /// Experiment directories (live and trashed), found once.
    experiment_dirs: Vec<PathBuf>,
    run_dirs: HashMap<String, PathBuf>,
}

fn subdirs(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    Ok(out)
}

fn name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Every file under `dir`, keyed by its path relative to `dir` (a key with `/` is nested).
fn files_by_key(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
        for entry in
            std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                walk(base, &path, out)?;
            } else {
                let key = path
                    .strip_prefix(base)
                    .unwrap_or(&path)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((key, path));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    if dir.is_dir() {
        walk(dir, dir, &mut out)?;
    }
    out.sort();
    Ok(out)
}

/// Params and tags: one file per key holding the value as written.
fn key_values(dir: &Path) -> Result<Vec<KeyValue>> {
    files_by_key(dir)?
        .into_iter()
        .map(|(key, path)| {
            let value = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Ok(KeyValue { key, value })
        })
        .collect()
}

/// A metric file's lines: `timestamp value step` (older: without step), and for a logged model's
/// metrics `timestamp value step run_id [dataset_name dataset_digest]`. Values are Python's
/// `str(float)`: `nan`, `inf` and `-inf` included.
fn metric_lines(key: &str, path: &Path, with_run: bool) -> Result<Vec<Metric>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = || {
            format!(
                "{}:{}: malformed metric line `{line}`",
                path.display(),
                n + 1
            )
        };
        let parts: Vec<&str> = line.split_whitespace().collect();
        anyhow::ensure!(parts.len() >= 2, "{}", bad());
        let mut m = Metric {
            key: key.to_string(),
            timestamp: parts[0].parse().with_context(bad)?,
            value: parts[1].parse().with_context(bad)?,
            step: parts
                .get(2)
                .map_or(Ok(0), |s| s.parse())
                .with_context(bad)?,
            ..Metric::default()
        };
        if with_run {
            m.run_id = parts.get(3).map(ToString::to_string);
            m.dataset_name = parts.get(4).map(ToString::to_string);
            m.dataset_digest = parts.get(5).map(ToString::to_string);
        }
        out.push(m);
    }
    Ok(out)
}

fn metrics(dir: &Path, with_run: bool) -> Result<Vec<Metric>> {
    let mut out = Vec::new();
    for (key, path) in files_by_key(dir)? {
        out.extend(metric_lines(&key, &path, with_run)?);
    }
    Ok(out)
}

impl FileSource {
    pub fn open(uri: &str) -> Result<Self> {
        let root = PathBuf::from(uri.strip_prefix("file://").unwrap_or(uri));
        anyhow::ensure!(
            root.is_dir(),
            "--from `{uri}`: no such directory (expected an MLflow file store such as ./mlruns)"
        );
        let mut experiment_dirs = Vec::new();
        for dir in subdirs(&root)?
            .into_iter()
            .chain(subdirs(&root.join(".trash"))?)
        {
            if dir.join("meta.yaml").is_file() && name_of(&dir) != "models" {
                experiment_dirs.push(dir);
            }
        }
        anyhow::ensure!(
            !experiment_dirs.is_empty() || root.join("models").is_dir(),
            "--from `{uri}`: not an MLflow file store (no experiment directory with a meta.yaml)"
        );
        let mut run_dirs = HashMap::new();
        for exp in &experiment_dirs {
            for dir in subdirs(exp)? {
                if !RESERVED.contains(&name_of(&dir).as_str()) && dir.join("meta.yaml").is_file() {
                    run_dirs.insert(name_of(&dir), dir);
                }
            }
        }
        Ok(Self {
            root,
            experiment_dirs,
            run_dirs,
        })
    }

    fn run(dir: &Path) -> Result<ImportRun> {
        let meta = Meta::read(&dir.join("meta.yaml"))?;
        let tags = key_values(&dir.join("tags"))?;
        let name = meta.str("run_name").unwrap_or_else(|| {
            tags.iter()
                .find(|t| t.key == protocol::tags::RUN_NAME)
                .map(|t| t.value.clone())
                .unwrap_or_default()
        });
        let status = match meta.int("status") {
            Some(n) => run_status_name(n).to_string(),
            None => meta.str("status").unwrap_or_else(|| "RUNNING".into()),
        };
        let experiment_id = meta.int("experiment_id").unwrap_or(0);
        let mut run = ImportRun {
            run_uuid: meta
                .str("run_uuid")
                .or_else(|| meta.str("run_id"))
                .unwrap_or_else(|| name_of(dir)),
            experiment_id,
            name,
            user_id: meta.str("user_id").unwrap_or_default(),
            status,
            start_time: meta.int("start_time").unwrap_or(0),
            end_time: meta.int("end_time"),
            artifact_uri: meta.str("artifact_uri").unwrap_or_default(),
            lifecycle_stage: meta
                .str("lifecycle_stage")
                .unwrap_or_else(|| "active".into()),
            deleted_time: meta.int("deleted_time"),
            params: key_values(&dir.join("params"))?,
            tags,
            metrics: metrics(&dir.join("metrics"), false)?,
            ..ImportRun::default()
        };
        let experiment_dir = dir.parent().unwrap_or(dir);
        for input in subdirs(&dir.join("inputs"))? {
            let meta = Meta::read(&input.join("meta.yaml"))?;
            let source_id = meta.str("source_id").unwrap_or_default();
            match meta.str("source_type").as_deref() {
                Some("DATASET" | "1") => {
                    let d = Meta::read(
                        &experiment_dir
                            .join("datasets")
                            .join(&source_id)
                            .join("meta.yaml"),
                    )?;
                    run.inputs.push(ImportInput {
                        // The file store names a dataset by a hash of its name and digest, the
                        // same in every experiment; mltrack's ids are store-wide.
                        dataset_uuid: format!("{experiment_id}-{source_id}"),
                        dataset: Dataset {
                            name: d.str("name").unwrap_or_default(),
                            digest: d.str("digest").unwrap_or_default(),
                            source_type: d.str("source_type").unwrap_or_default(),
                            source: d.str("source").unwrap_or_default(),
                            schema: d.str("schema"),
                            profile: d.str("profile"),
                        },
                        tags: meta
                            .pairs("tags")
                            .into_iter()
                            .map(|(key, value)| KeyValue { key, value })
                            .collect(),
                    });
                }
                Some("MODEL" | "2") => run.model_inputs.push(source_id),
                _ => {}
            }
        }
        for output in subdirs(&dir.join("outputs"))? {
            let meta = Meta::read(&output.join("meta.yaml"))?;
            let model_id = meta.str("source_id").unwrap_or_else(|| name_of(&output));
            run.model_outputs
                .push((model_id, meta.int("step").unwrap_or(0)));
        }
        Ok(run)
    }

    fn registered_model(dir: &Path) -> Result<ImportRegisteredModel> {
        let meta = Meta::read(&dir.join("meta.yaml"))?;
        let mut model = ImportRegisteredModel {
            name: meta.str("name").unwrap_or_else(|| name_of(dir)),
            creation_time: meta.int("creation_timestamp").unwrap_or(0),
            last_updated_time: meta.int("last_updated_timestamp").unwrap_or(0),
            description: meta.str("description"),
            tags: key_values(&dir.join("tags"))?,
            aliases: meta
                .pairs("aliases")
                .into_iter()
                .filter_map(|(alias, v)| Some((alias, v.parse().ok()?)))
                .collect(),
            ..ImportRegisteredModel::default()
        };
        for vdir in subdirs(dir)? {
            let Some(number) = name_of(&vdir)
                .strip_prefix("version-")
                .and_then(|n| n.parse().ok())
            else {
                continue;
            };
            model.max_version = model.max_version.max(number);
            let v = Meta::read(&vdir.join("meta.yaml"))?;
            let stage = v.str("current_stage").unwrap_or_else(|| "None".into());
            if stage == STAGE_DELETED_INTERNAL {
                continue;
            }
            model.versions.push(ImportModelVersion {
                version: v.int("version").unwrap_or(number),
                creation_time: v.int("creation_timestamp").unwrap_or(0),
                last_updated_time: v.int("last_updated_timestamp").unwrap_or(0),
                description: v.str("description"),
                user_id: v.str("user_id"),
                current_stage: stage,
                source: v.str("source").unwrap_or_default(),
                run_id: v.str("run_id"),
                run_link: v.str("run_link"),
                status: v.str("status").unwrap_or_else(|| "READY".into()),
                status_message: v.str("status_message"),
                model_id: v.str("model_id"),
                tags: key_values(&vdir.join("tags"))?,
            });
        }
        model.versions.sort_by_key(|v| v.version);
        Ok(model)
    }
}

#[async_trait::async_trait]
impl Source for FileSource {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    async fn experiments(&mut self) -> Result<Vec<ImportExperiment>> {
        let mut out = Vec::new();
        for dir in &self.experiment_dirs {
            let meta = Meta::read(&dir.join("meta.yaml"))?;
            let id = meta
                .int("experiment_id")
                .or_else(|| name_of(dir).parse().ok())
                .with_context(|| format!("{}: no numeric experiment_id", dir.display()))?;
            out.push(ImportExperiment {
                experiment_id: id,
                name: meta.str("name").unwrap_or_default(),
                artifact_location: meta.str("artifact_location").unwrap_or_default(),
                lifecycle_stage: meta
                    .str("lifecycle_stage")
                    .unwrap_or_else(|| "active".into()),
                creation_time: meta.int("creation_time").unwrap_or(0),
                last_update_time: meta.int("last_update_time").unwrap_or(0),
                tags: key_values(&dir.join("tags"))?,
            });
        }
        out.sort_by_key(|e| e.experiment_id);
        Ok(out)
    }

    async fn run_ids(&mut self) -> Result<Vec<String>> {
        let mut ids: Vec<(&PathBuf, &String)> =
            self.run_dirs.iter().map(|(id, dir)| (dir, id)).collect();
        ids.sort();
        Ok(ids.into_iter().map(|(_, id)| id.clone()).collect())
    }

    async fn runs(&mut self, ids: &[String]) -> Result<Vec<ImportRun>> {
        ids.iter()
            .filter_map(|id| self.run_dirs.get(id))
            .map(|dir| Self::run(dir))
            .collect()
    }

    async fn logged_models(&mut self) -> Result<Vec<ImportLoggedModel>> {
        let mut out = Vec::new();
        for exp in &self.experiment_dirs {
            for dir in subdirs(&exp.join("models"))? {
                let meta = Meta::read(&dir.join("meta.yaml"))?;
                let model_id = meta.str("model_id").unwrap_or_else(|| name_of(&dir));
                let mut metrics = metrics(&dir.join("metrics"), true)?;
                for m in &mut metrics {
                    m.model_id = Some(model_id.clone());
                }
                out.push(ImportLoggedModel {
                    model_id,
                    experiment_id: meta.int("experiment_id").unwrap_or(0),
                    name: meta.str("name").unwrap_or_default(),
                    artifact_location: meta.str("artifact_location").unwrap_or_default(),
                    creation_time: meta.int("creation_timestamp").unwrap_or(0),
                    last_updated_time: meta.int("last_updated_timestamp").unwrap_or(0),
                    status: logged_model_status_name(meta.int("status").unwrap_or(0)).into(),
                    model_type: meta.str("model_type"),
                    source_run_id: meta.str("source_run_id"),
                    status_message: meta.str("status_message"),
                    lifecycle_stage: meta
                        .str("lifecycle_stage")
                        .unwrap_or_else(|| "active".into()),
                    tags: key_values(&dir.join("tags"))?,
                    params: key_values(&dir.join("params"))?,
                    metrics,
                });
            }
        }
        out.sort_by_key(|m| (m.creation_time, m.model_id.clone()));
        Ok(out)
    }

    async fn registered_models(&mut self) -> Result<Vec<ImportRegisteredModel>> {
        subdirs(&self.root.join("models"))?
            .iter()
            .filter(|d| d.join("meta.yaml").is_file())
            .map(|d| Self::registered_model(d))
            .collect()
    }

    async fn left_out(&mut self) -> Result<Vec<String>> {
        let mut traces = 0;
        for exp in &self.experiment_dirs {
            traces += subdirs(&exp.join("traces"))?.len();
        }
        Ok(if traces > 0 {
            vec![format!("{traces} traces (mltrack does not store traces)")]
        } else {
            Vec::new()
        })
    }
}
