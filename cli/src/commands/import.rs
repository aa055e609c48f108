//! `mltrack import`: opens both stores, runs the import with a progress bar, prints what came over.

use crate::settings::ImportSettings;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use std::time::Instant;
use tracking_server::startup::redact;
use tracking_server::store::SqlStore;

pub(crate) fn run(s: &ImportSettings) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let started = Instant::now();
        let mut source = mlflow_import::source::open(&s.from).await?;
        let artifacts = s.open_artifacts()?;
        let store = SqlStore::connect(&s.backend_store_uri)
            .await
            .with_context(|| {
                format!(
                    "cannot open backend store `{}`",
                    redact(&s.backend_store_uri)
                )
            })?;
        let bar = ProgressBar::new(0).with_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} runs ({per_sec}, {eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(format!("importing {}", source.describe()));
        let progress = |done: usize, total: usize| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        };
        let summary = mlflow_import::import(source.as_mut(), &store, &artifacts, &progress).await?;
        bar.finish_and_clear();
        eprintln!(
            "imported {} into {} in {:.1} s",
            source.describe(),
            redact(&s.backend_store_uri),
            started.elapsed().as_secs_f64()
        );
        println!(
            "experiments {}\nruns {}\nparams {}\ntags {}\nmetric points {}\ndataset inputs {}\n\
             logged models {}\nregistered models {}\nmodel versions {}\naliases {}\n\
             artifact files copied {} ({} bytes), already there {}",
            summary.experiments,
            summary.runs,
            summary.params,
            summary.tags,
            summary.metric_points,
            summary.dataset_inputs,
            summary.logged_models,
            summary.registered_models,
            summary.model_versions,
            summary.aliases,
            summary.artifacts.files,
            summary.artifacts.bytes,
            summary.artifacts.unchanged,
        );
        if summary.remote_artifact_locations > 0 {
            eprintln!(
                "note: {} runs keep artifacts on a remote store (left where they are)",
                summary.remote_artifact_locations
            );
        }
        for what in &summary.left_out {
            eprintln!("not imported: {what}");
        }
        Ok(())
    })
}
