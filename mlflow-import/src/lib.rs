//! `mltrack import`: an MLflow store (SQL at the alembic revisions of MLflow 2.x and 3.x, or the
//! `./mlruns` file layout) moved into mltrack's store with its ids, so `runs:/` and `models:/`
//! URIs keep working.
//!
//! Order matters for resuming: experiments first, then runs chunk by chunk (a run's artifacts are
//! copied before its rows are committed, so a run in mltrack's store has its files), then logged
//! models, then the registry. Every write is an upsert, so an interrupted import is finished by
//! running it again, and a second run over an unchanged store changes nothing.

pub mod artifacts;
pub mod source;

use anyhow::{Context, Result};
use artifacts::{Artifacts, CopyCount};
use source::Source;
use std::collections::HashMap;
use tracking_server::store::import::{ImportRun, ImportStore};

/// Runs per transaction: large enough that per-statement costs vanish, small enough that an
/// interrupted import loses little.
pub const RUNS_PER_CHUNK: usize = 250;

#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub experiments: usize,
    pub runs: usize,
    pub params: usize,
    pub tags: usize,
    pub metric_points: usize,
    pub dataset_inputs: usize,
    pub logged_models: usize,
    pub registered_models: usize,
    pub model_versions: usize,
    pub aliases: usize,
    pub artifacts: CopyCount,
    /// Artifact locations on remote stores, referenced rather than copied.
    pub remote_artifact_locations: usize,
    /// What the source holds that mltrack does not import.
    pub left_out: Vec<String>,
}

/// Progress through the runs: (done, total).
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

pub async fn import<S: ImportStore>(
    source: &mut dyn Source,
    store: &S,
    artifacts: &Artifacts,
    progress: Progress<'_>,
) -> Result<Summary> {
    let mut summary = Summary::default();
    let what = source.describe();
    let experiments = source.experiments().await?;
    // Old and new artifact location per experiment, to move runs and models below the new one.
    let mut locations: HashMap<i64, (String, String)> = HashMap::new();
    let mut experiments = experiments;
    for e in &mut experiments {
        let new = artifacts.experiment_location(e.experiment_id, &e.artifact_location);
        locations.insert(e.experiment_id, (e.artifact_location.clone(), new.clone()));
        e.artifact_location = new;
    }
    store
        .import_experiments(&experiments)
        .await
        .with_context(|| format!("cannot import the experiments of {what}"))?;
    summary.experiments = experiments.len();

    let ids = source.run_ids().await?;
    let total = ids.len();
    progress(0, total);
    // Old artifact URI → new, per run, for model versions whose source lies in a run's artifacts.
    let mut moved: HashMap<String, (String, String)> = HashMap::new();
    // While a chunk is written, the next one is read: the two databases work side by side.
    let chunks: Vec<&[String]> = ids.chunks(RUNS_PER_CHUNK).collect();
    let mut next = match chunks.first() {
        Some(first) => Some(source.runs(first).await?),
        None => None,
    };
    for i in 0..chunks.len() {
        let mut runs = next.take().unwrap_or_default();
        for run in &mut runs {
            let new = relocate_run(artifacts, &locations, run);
            if artifacts.source_dir(&run.artifact_uri).is_none() {
                summary.remote_artifact_locations += 1;
            }
            let copied = artifacts
                .copy_tree(&run.artifact_uri, &new)
                .await
                .with_context(|| format!("cannot copy the artifacts of run {}", run.run_uuid))?;
            add(&mut summary.artifacts, copied);
            if new != run.artifact_uri {
                moved.insert(
                    run.run_uuid.clone(),
                    (std::mem::take(&mut run.artifact_uri), new.clone()),
                );
            }
            run.artifact_uri = new;
            summary.params += run.params.len();
            summary.tags += run.tags.len();
            summary.metric_points += run.metrics.len();
            summary.dataset_inputs += run.inputs.len();
        }
        let read_next = async {
            match chunks.get(i + 1) {
                Some(chunk) => source.runs(chunk).await.map(Some),
                None => Ok(None),
            }
        };
        let (written, read) = tokio::join!(store.import_runs(&runs), read_next);
        written.with_context(|| format!("cannot import runs from {what}"))?;
        next = read?;
        summary.runs += runs.len();
        progress(summary.runs, total);
    }

    let mut models = source.logged_models().await?;
    let mut moved_models: HashMap<String, (String, String)> = HashMap::new();
    for m in &mut models {
        let (old_base, new_base) = locations.get(&m.experiment_id).cloned().unwrap_or_default();
        let fallback = format!("models/{}/artifacts", m.model_id);
        let new = artifacts.relocate(&m.artifact_location, &old_base, &new_base, &fallback);
        let copied = artifacts
            .copy_tree(&m.artifact_location, &new)
            .await
            .with_context(|| format!("cannot copy the artifacts of logged model {}", m.model_id))?;
        add(&mut summary.artifacts, copied);
        if new != m.artifact_location {
            moved_models.insert(
                m.model_id.clone(),
                (std::mem::take(&mut m.artifact_location), new.clone()),
            );
        }
        m.artifact_location = new;
    }
    store.import_logged_models(&models).await?;
    summary.logged_models = models.len();

    for mut m in source.registered_models().await? {
        for v in &mut m.versions {
            // A version whose files lie in a moved run's (or model's) artifacts follows them.
            let moves = v
                .run_id
                .as_ref()
                .and_then(|r| moved.get(r))
                .into_iter()
                .chain(v.model_id.as_ref().and_then(|id| moved_models.get(id)));
            for (old, new) in moves {
                if let Some(tail) = v.source.strip_prefix(old.as_str()) {
                    if tail.is_empty() || tail.starts_with('/') {
                        v.source = format!("{new}{tail}");
                        break;
                    }
                }
            }
        }
        store
            .import_registered_model(&m)
            .await
            .with_context(|| format!("cannot import registered model `{}`", m.name))?;
        summary.registered_models += 1;
        summary.model_versions += m.versions.len();
        summary.aliases += m.aliases.len();
    }
    store.finish_import().await?;
    summary.left_out = source.left_out().await?;
    Ok(summary)
}

fn relocate_run(
    artifacts: &Artifacts,
    locations: &HashMap<i64, (String, String)>,
    run: &ImportRun,
) -> String {
    let (old_base, new_base) = locations
        .get(&run.experiment_id)
        .cloned()
        .unwrap_or_default();
    let fallback = format!("{}/artifacts", run.run_uuid);
    artifacts.relocate(&run.artifact_uri, &old_base, &new_base, &fallback)
}

fn add(total: &mut CopyCount, c: CopyCount) {
    total.files += c.files;
    total.bytes += c.bytes;
    total.unchanged += c.unchanged;
}
