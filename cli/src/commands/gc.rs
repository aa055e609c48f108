//! `mltrack gc`.

use crate::settings::GcSettings;
use anyhow::Context;
use tracking_server::artifacts::ArtifactStore;
use tracking_server::ops::gc::collect;
use tracking_server::startup::redact;
use tracking_server::store::SqlStore;

pub(crate) fn run(s: GcSettings) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let store = SqlStore::connect(&s.backend_store_uri)
            .await
            .with_context(|| {
                format!(
                    "cannot open backend store `{}`",
                    redact(&s.backend_store_uri)
                )
            })?;
        // A missing directory is not created: gc then refuses to purge runs whose artifacts it
        // cannot reach, instead of orphaning them.
        let is_url = s.artifacts_destination.to_string_lossy().contains("://");
        let artifacts = if is_url || s.artifacts_destination.is_dir() {
            Some(ArtifactStore::open_destination(&s.artifacts_destination)?)
        } else {
            None
        };
        let report = collect(&store, artifacts.as_ref(), &s.options).await?;
        for uri in &report.skipped_artifacts {
            eprintln!("warning: left artifacts at `{uri}` (not under --artifacts-destination)");
        }
        eprintln!(
            "purged {} run(s) and {} experiment(s)",
            report.runs.len(),
            report.experiments.len()
        );
        for run in &report.runs {
            println!("run {run}");
        }
        for exp in &report.experiments {
            println!("experiment {exp}");
        }
        Ok(())
    })
}
