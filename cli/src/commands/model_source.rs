//! Where a model comes from: `models:/…` and `runs:/…` URIs resolved through the tracking server and
//! downloaded through its artifact proxy into a local cache, or a local model directory.
//!
//! A registered version's files never change, so a download is cached by server, name, version and
//! source (the source is in the key because a re-created server database reuses version numbers for
//! different models). Downloads land in a temporary directory that is renamed into place, so an
//! interrupted download is never mistaken for a model.

use anyhow::{bail, Context};
use client::rest::TrackingClient;
use model_core::pipeline::PricePipeline;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

/// A loaded model and where it came from.
pub(super) struct ResolvedModel {
    pub pipeline: PricePipeline,
    /// The URI or path as the user gave it.
    pub uri: String,
    /// Registered name and version, for `models:/` URIs.
    pub name: Option<String>,
    pub version: Option<String>,
    /// The run that produced the model, when known.
    pub run_id: Option<String>,
    /// The local directory the model was loaded from.
    pub dir: PathBuf,
    /// Whether the files came from the cache rather than a fresh download.
    pub cached: bool,
}

/// Resolves and loads `uri`. `client` is needed for `models:/` and `runs:/` URIs.
pub(super) fn resolve(
    uri: &str,
    client: Option<&TrackingClient>,
    cache: &Path,
) -> anyhow::Result<ResolvedModel> {
    let remote = uri.starts_with("models:/") || uri.starts_with("runs:/");
    if !remote {
        let dir = PathBuf::from(uri.strip_prefix("file://").unwrap_or(uri));
        if !dir.is_dir() {
            bail!("model `{uri}` is neither a models:/ or runs:/ URI nor a model directory");
        }
        let pipeline = model_core::package::load(&dir)?;
        return Ok(ResolvedModel {
            pipeline,
            uri: uri.to_string(),
            name: None,
            version: None,
            run_id: None,
            dir,
            cached: false,
        });
    }
    let Some(client) = client else {
        bail!("model `{uri}` needs a tracking server: pass `--tracking-uri` or set MLFLOW_TRACKING_URI");
    };
    let (name, version, run_id, artifact_uri) = if uri.starts_with("models:/") {
        let v = client
            .resolve_model_uri(uri)
            .with_context(|| format!("cannot resolve model `{uri}`"))?;
        let artifact_uri = client
            .get_download_uri(&v.name, &v.version)
            .with_context(|| format!("cannot find the files of model `{uri}`"))?;
        let run_id = v.run_id.clone().filter(|r| !r.is_empty());
        (Some(v.name), Some(v.version), run_id, artifact_uri)
    } else {
        let rest = &uri["runs:/".len()..];
        let (run_id, path) = rest.split_once('/').unwrap_or((rest, ""));
        if run_id.is_empty() || path.is_empty() {
            bail!("model `{uri}`: expected runs:/<run_id>/<artifact path>");
        }
        let run = client
            .get_run(run_id)
            .with_context(|| format!("cannot resolve model `{uri}`"))?;
        let root = run.info.artifact_uri.trim_end_matches('/');
        (
            None,
            None,
            Some(run_id.to_string()),
            format!("{root}/{path}"),
        )
    };
    let key = cache_key(
        client.base_url(),
        name.as_deref(),
        version.as_deref(),
        &artifact_uri,
    );
    let dir = cache.join(&key);
    let cached = dir.join("MLmodel").is_file();
    if !cached {
        download(client, &artifact_uri, &dir)
            .with_context(|| format!("cannot download model `{uri}` from {artifact_uri}"))?;
    }
    let pipeline = model_core::package::load(&dir)?;
    Ok(ResolvedModel {
        pipeline,
        uri: uri.to_string(),
        name,
        version,
        run_id,
        dir,
        cached,
    })
}

/// `<name>/<version>-<hash>` for registered models, `runs/<hash>` otherwise; the hash covers the
/// server and the files' location.
fn cache_key(
    server: &str,
    name: Option<&str>,
    version: Option<&str>,
    artifact_uri: &str,
) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (server, artifact_uri).hash(&mut h);
    let hash = format!("{:016x}", h.finish());
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    match (name, version) {
        (Some(n), Some(v)) => format!("{}/{}-{hash}", safe(n), safe(v)),
        _ => format!("runs/{hash}"),
    }
}

fn download(client: &TrackingClient, artifact_uri: &str, dest: &Path) -> anyhow::Result<()> {
    let parent = dest.parent().context("cache path has no parent")?;
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create the model cache `{}`", parent.display()))?;
    let staging = tempfile::tempdir_in(parent)
        .with_context(|| format!("cannot write to the model cache `{}`", parent.display()))?;
    if let Some(local) = artifact_uri.strip_prefix("file://") {
        copy_dir(Path::new(local), staging.path())?;
    } else if let Some(path) = artifact_uri.strip_prefix("mlflow-artifacts:") {
        client.download_dir(path.trim_start_matches('/'), staging.path())?;
    } else {
        bail!("artifact location `{artifact_uri}` is not served by the tracking server's proxy");
    }
    if !staging.path().join("MLmodel").is_file() {
        bail!("`{artifact_uri}` has no MLmodel file: it is not a model directory");
    }
    let staged = staging.keep();
    if let Err(e) = std::fs::rename(&staged, dest) {
        let _ = std::fs::remove_dir_all(&staged);
        // Another process cached the same model first: theirs is as good as ours.
        if !dest.join("MLmodel").is_file() {
            return Err(e)
                .with_context(|| format!("cannot fill the model cache `{}`", dest.display()));
        }
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read `{}`", from.display()))?
    {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
