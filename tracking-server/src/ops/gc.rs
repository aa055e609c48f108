//! `mltrack gc`: permanently deletes runs and experiments in the `deleted` stage, with their
//! artifacts, as `mlflow gc` does. Soft deletion is all the API offers (MLflow semantics); this is
//! the operator's tool for reclaiming space, run while the server is up or down.
//!
//! Artifacts go first and rows second: if deleting files fails, the run stays in the database and
//! the next `gc` retries it, instead of leaving files no row points to.

use crate::artifacts::ArtifactStore;
use crate::store::{DeletedRun, SqlStore};
use anyhow::Context;
use std::time::Duration;

#[derive(Debug, Clone, Default)]
pub struct GcOptions {
    /// Only what was deleted at least this long ago.
    pub older_than: Duration,
    /// Only these runs (each must be deleted); empty: every deleted run.
    pub run_ids: Vec<String>,
    /// Only these experiments and their runs (each must be deleted); empty: every deleted one.
    pub experiment_ids: Vec<i64>,
}

#[derive(Debug, Default)]
pub struct GcReport {
    pub runs: Vec<String>,
    pub experiments: Vec<i64>,
    /// Artifact locations left alone because they are not under this server's control
    /// (`s3://…` written by clients directly, for example).
    pub skipped_artifacts: Vec<String>,
}

pub async fn collect(
    store: &SqlStore,
    artifacts: Option<&ArtifactStore>,
    options: &GcOptions,
) -> anyhow::Result<GcReport> {
    let older_than = i64::try_from(options.older_than.as_millis()).unwrap_or(i64::MAX);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let cutoff = now.saturating_sub(older_than);
    let mut report = GcReport::default();
    // Named experiments must be deleted themselves before their runs go.
    let experiments = if options.run_ids.is_empty() {
        store
            .deleted_experiments(cutoff, &options.experiment_ids)
            .await?
    } else {
        Vec::new()
    };
    let runs = store
        .deleted_runs(cutoff, &options.run_ids, &options.experiment_ids)
        .await?;
    for run in &runs {
        purge_run(store, artifacts, run, &mut report).await?;
    }
    for exp in experiments {
        for location in &exp.model_artifact_locations {
            delete_location(artifacts, location, &mut report).await?;
        }
        if store.purge_experiment(exp.experiment_id).await? {
            if let Some(root) = artifacts.and_then(ArtifactStore::local_root) {
                // Only if empty: the experiment's directory may hold files gc does not own.
                let _ = tokio::fs::remove_dir(root.join(exp.experiment_id.to_string())).await;
            }
            report.experiments.push(exp.experiment_id);
        }
    }
    Ok(report)
}

async fn purge_run(
    store: &SqlStore,
    artifacts: Option<&ArtifactStore>,
    run: &DeletedRun,
    report: &mut GcReport,
) -> anyhow::Result<()> {
    delete_location(artifacts, &run.artifact_uri, report)
        .await
        .with_context(|| format!("could not delete the artifacts of run `{}`", run.run_id))?;
    if let (Some(a), Some(rest)) = (
        artifacts,
        run.artifact_uri.strip_prefix("mlflow-artifacts:"),
    ) {
        // `<exp>/<run>/artifacts` lives in `<exp>/<run>`; remove that too once empty (on disk:
        // an object store has no directories, and `resolve` refuses).
        if let Some((run_dir, _)) = rest.trim_matches('/').rsplit_once('/') {
            if let Ok(dir) = a.resolve(run_dir) {
                let _ = tokio::fs::remove_dir(dir).await;
            }
        }
    }
    store.purge_run(&run.run_id).await?;
    tracing::info!(run_id = %run.run_id, experiment_id = run.experiment_id, "run purged");
    report.runs.push(run.run_id.clone());
    Ok(())
}

/// Deletes what an artifact URI points to, when it is the proxy's or a local directory.
async fn delete_location(
    artifacts: Option<&ArtifactStore>,
    uri: &str,
    report: &mut GcReport,
) -> anyhow::Result<()> {
    if let Some(rest) = uri.strip_prefix("mlflow-artifacts:") {
        let rest = rest.trim_start_matches('/');
        // Purging the row without the files would orphan them for good: refuse instead.
        let a = artifacts.context(
            "the artifacts are behind the proxy but --artifacts-destination does not exist \
             (point it at the server's directory)",
        )?;
        if !rest.trim_matches('/').is_empty() {
            a.delete(rest)
                .await
                .map_err(|e| anyhow::anyhow!(e.message))?;
        }
    } else if let Some(path) = uri.strip_prefix("file://") {
        match tokio::fs::remove_dir_all(path).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot delete `{path}`")),
        }
    } else {
        report.skipped_artifacts.push(uri.to_string());
    }
    Ok(())
}
