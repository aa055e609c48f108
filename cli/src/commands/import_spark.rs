//! `mltrack model import-spark DIR`: a Spark ML `PipelineModel` packaged as an mltrack model
//! (`MLmodel` with the `mltrack`, `python_function` and `spark` flavors), then logged to a run and
//! registered when asked.
//!
//! The pipeline is read and checked in full first (an unsupported stage, a truncated directory or a
//! newer format fails here, before anything is written). The package is built in a staging
//! directory beside `--out` and renamed into place; its `sparkml/` is Spark's own files, copied.

use crate::settings::ImportSparkSettings;
use crate::tracked_run::TrackedRun;
use anyhow::{bail, Context};
use client::rest::TrackingClient;
use model_core::package::{self, SaveOptions};
use protocol::KeyValue;
use std::fmt::Write as _;
use std::path::Path;

pub(crate) fn run(s: &ImportSparkSettings) -> anyhow::Result<()> {
    if !s.dir.is_dir() {
        bail!("Spark model directory `{}` does not exist", s.dir.display());
    }
    if s.out.exists() {
        bail!(
            "`{}` already exists: choose another `--out`",
            s.out.display()
        );
    }
    let pipeline = model_core::spark::read::load(&s.dir)?;
    let parent = s
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create `{}`", parent.display()))?;
    let staging = tempfile::tempdir_in(parent)
        .with_context(|| format!("cannot write in `{}`", parent.display()))?;
    let tracked = s
        .tracking_uri
        .as_deref()
        .filter(|_| s.register.is_some())
        .map(|uri| -> anyhow::Result<TrackedRun> {
            let client = TrackingClient::new(uri)?;
            TrackedRun::create(client, &s.experiment, "import-spark", "model import-spark")
        })
        .transpose()?;
    package::save(
        &pipeline,
        staging.path(),
        &SaveOptions {
            run_id: tracked.as_ref().map(|r| r.id().to_string()),
            artifact_path: Some("model".into()),
        },
    )?;
    let sparkml = staging.path().join(model_core::spark::MODEL_DATA);
    std::fs::remove_dir_all(&sparkml)
        .with_context(|| format!("cannot replace `{}`", sparkml.display()))?;
    copy_dir(&s.dir, &sparkml)?;
    let staged = staging.keep();
    std::fs::rename(&staged, &s.out)
        .with_context(|| format!("cannot write `{}`", s.out.display()))?;
    eprintln!(
        "Spark pipeline `{}` ({} trees, {} features) packaged in `{}`",
        s.dir.display(),
        pipeline.forest().trees().len(),
        pipeline.forest().feature_names().len(),
        s.out.display()
    );
    let Some(run) = tracked else {
        return Ok(());
    };
    let result = register(&run, s, &pipeline);
    run.finish(result)
}

fn register(
    run: &TrackedRun,
    s: &ImportSparkSettings,
    pipeline: &model_core::pipeline::PricePipeline,
) -> anyhow::Result<()> {
    let c = run.client();
    let params = [
        KeyValue::new("spark_model_dir", s.dir.display().to_string()),
        KeyValue::new("num_trees", pipeline.forest().trees().len().to_string()),
        KeyValue::new("handleInvalid", pipeline.handle_invalid().to_string()),
        KeyValue::new("labelCol", pipeline.label()),
    ];
    c.log_batch(run.id(), &[], &params, &[])?;
    let info = c.get_run(run.id())?;
    let path = TrackingClient::run_artifact_path(&info, "model")?;
    c.upload_dir(&path, &s.out)?;
    let Some(name) = &s.register else {
        return Ok(());
    };
    let model = c.ensure_registered_model(name)?;
    let version = c.create_model_version(
        &model.name,
        &format!("mlflow-artifacts:/{path}"),
        Some(run.id()),
    )?;
    let mut line = format!("registered `{name}` version {}", version.version);
    if let Some(stage) = s.stage {
        c.transition_stage(name, &version.version, stage, true)?;
        let _ = write!(line, " in stage {stage}");
    }
    eprintln!("{line}");
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create `{}`", to.display()))?;
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read `{}`", from.display()))?
    {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), &dest)
                .with_context(|| format!("cannot copy `{}`", entry.path().display()))?;
        }
    }
    Ok(())
}
