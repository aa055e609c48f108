//! Artifacts on import: copied into mltrack's store (their URIs rewritten to mltrack's layout), or
//! left where they are and referenced by their original URIs.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use tracking_server::artifacts::ArtifactStore;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtifactMode {
    /// Copy every local artifact into mltrack's store; URIs point there afterwards.
    Copy,
    /// Keep every URI as MLflow had it (the files stay where they are).
    Link,
}

/// Where copied artifacts go.
pub enum Target {
    /// mltrack serves artifacts: `mlflow-artifacts:/…` URIs, files in its `--artifacts-destination`.
    Proxy(ArtifactStore),
    /// A local `--default-artifact-root` the clients write themselves.
    Directory(PathBuf),
}

#[derive(Debug, Default, Clone, Copy)]
pub struct CopyCount {
    pub files: u64,
    pub bytes: u64,
    /// Files already there with the same size (a re-run).
    pub unchanged: u64,
}

pub struct Artifacts {
    pub mode: ArtifactMode,
    /// The directory behind the MLflow server's `mlflow-artifacts:/` proxy (its
    /// `--artifacts-destination`), for sources that used the proxy.
    pub source_destination: PathBuf,
    /// mltrack's artifact root for experiments (`mlflow-artifacts:` or `file:///…`).
    pub root: String,
    pub target: Target,
}

/// The part of an `mlflow-artifacts:` URI after the scheme (and host, if any).
fn proxy_path(uri: &str) -> Option<&str> {
    let rest = uri.strip_prefix("mlflow-artifacts:")?;
    let rest = match rest.strip_prefix("//") {
        Some(with_host) => with_host.find('/').map_or("", |i| &with_host[i..]),
        None => rest,
    };
    Some(rest.trim_start_matches('/'))
}

impl Artifacts {
    /// The local directory behind a source URI; `None` for remote stores (S3, GCS, …), which are
    /// always left where they are.
    pub fn source_dir(&self, uri: &str) -> Option<PathBuf> {
        if let Some(rel) = proxy_path(uri) {
            return Some(self.source_destination.join(rel));
        }
        if let Some(path) = uri.strip_prefix("file://") {
            return Some(PathBuf::from(path));
        }
        if let Some(path) = uri.strip_prefix("file:") {
            return Some(PathBuf::from(path));
        }
        if uri.contains("://") || uri.is_empty() {
            return None;
        }
        Some(PathBuf::from(uri))
    }

    /// An experiment's location in mltrack after the import.
    pub fn experiment_location(&self, experiment_id: i64, original: &str) -> String {
        match self.mode {
            ArtifactMode::Link => original.to_string(),
            ArtifactMode::Copy => format!("{}/{experiment_id}", self.root.trim_end_matches('/')),
        }
    }

    /// The new URI of something stored under an experiment's location (a run's `artifact_uri`, a
    /// logged model's location): the same path below the new location, or `fallback` (relative to
    /// it) when MLflow had put it elsewhere.
    pub fn relocate(&self, uri: &str, old_base: &str, new_base: &str, fallback: &str) -> String {
        if self.mode == ArtifactMode::Link || self.source_dir(uri).is_none() {
            return uri.to_string();
        }
        let old_base = old_base.trim_end_matches('/');
        let new_base = new_base.trim_end_matches('/');
        match uri.strip_prefix(old_base) {
            Some(tail) if !old_base.is_empty() && (tail.is_empty() || tail.starts_with('/')) => {
                format!("{new_base}{tail}")
            }
            _ => format!("{new_base}/{fallback}"),
        }
    }

    /// Copies the tree behind `from` (a source URI) to `to` (an mltrack URI). A missing source
    /// directory copies nothing (a run that never logged an artifact has none).
    pub async fn copy_tree(&self, from: &str, to: &str) -> Result<CopyCount> {
        let mut count = CopyCount::default();
        if self.mode == ArtifactMode::Link || from == to {
            return Ok(count);
        }
        let Some(src) = self.source_dir(from) else {
            return Ok(count);
        };
        if !src.is_dir() {
            return Ok(count);
        }
        let mut stack = vec![src.clone()];
        while let Some(dir) = stack.pop() {
            for entry in
                std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?
            {
                let path = entry?.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let rel = path
                    .strip_prefix(&src)
                    .unwrap_or(&path)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                let size = std::fs::metadata(&path)?.len();
                if self.copy_file(&path, size, to, &rel).await? {
                    count.files += 1;
                    count.bytes += size;
                } else {
                    count.unchanged += 1;
                }
            }
        }
        Ok(count)
    }

    /// Copies one file unless the target already has a file of that size; true when copied.
    async fn copy_file(&self, path: &Path, size: u64, to: &str, rel: &str) -> Result<bool> {
        match &self.target {
            Target::Proxy(store) => {
                let target_rel = format!(
                    "{}/{rel}",
                    proxy_path(to)
                        .with_context(|| format!("`{to}` is not an mlflow-artifacts URI"))?
                );
                if let Some(root) = store.local_root() {
                    if std::fs::metadata(root.join(&target_rel)).is_ok_and(|m| m.len() == size) {
                        return Ok(false);
                    }
                }
                let file = tokio::fs::File::open(path)
                    .await
                    .with_context(|| format!("cannot read {}", path.display()))?;
                store
                    .put(&target_rel, tokio_util::io::ReaderStream::new(file))
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot store artifact {target_rel}: {e}"))?;
                Ok(true)
            }
            Target::Directory(_) => {
                let base = self
                    .source_dir(to)
                    .with_context(|| format!("`{to}` is not a local artifact location"))?;
                let dest = base.join(rel);
                if std::fs::metadata(&dest).is_ok_and(|m| m.len() == size) {
                    return Ok(false);
                }
                if let Some(parent) = dest.parent() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("cannot create {}", parent.display()))?;
                }
                std::fs::copy(path, &dest).with_context(|| {
                    format!("cannot copy {} to {}", path.display(), dest.display())
                })?;
                Ok(true)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy_to_proxy() -> Artifacts {
        Artifacts {
            mode: ArtifactMode::Copy,
            source_destination: PathBuf::from("/srv/mlartifacts"),
            root: "mlflow-artifacts:".into(),
            target: Target::Directory(PathBuf::from("/unused")),
        }
    }

    #[test]
    fn source_uris_resolve_to_local_directories_or_nothing() {
        let a = copy_to_proxy();
        assert_eq!(
            a.source_dir("mlflow-artifacts:/1/abc/artifacts"),
            Some(PathBuf::from("/srv/mlartifacts/1/abc/artifacts"))
        );
        assert_eq!(
            a.source_dir("mlflow-artifacts://host:5000/1/abc"),
            Some(PathBuf::from("/srv/mlartifacts/1/abc"))
        );
        assert_eq!(
            a.source_dir("file:///data/x"),
            Some(PathBuf::from("/data/x"))
        );
        assert_eq!(a.source_dir("/data/x"), Some(PathBuf::from("/data/x")));
        assert_eq!(a.source_dir("s3://bucket/x"), None);
    }

    #[test]
    fn run_uris_move_below_the_new_experiment_location() {
        let a = copy_to_proxy();
        let new = a.experiment_location(7, "/old/7");
        assert_eq!(new, "mlflow-artifacts:/7");
        assert_eq!(
            a.relocate("/old/7/r1/artifacts", "/old/7", &new, "r1/artifacts"),
            "mlflow-artifacts:/7/r1/artifacts"
        );
        // A run placed elsewhere by its client gets the default layout.
        assert_eq!(
            a.relocate("/elsewhere/r1", "/old/7", &new, "r1/artifacts"),
            "mlflow-artifacts:/7/r1/artifacts"
        );
        // `/old/77` is not below `/old/7`.
        assert_eq!(
            a.relocate("/old/77/r1", "/old/7", &new, "r1/artifacts"),
            "mlflow-artifacts:/7/r1/artifacts"
        );
        // Remote artifacts stay where they are.
        assert_eq!(
            a.relocate("s3://b/7/r1/artifacts", "s3://b/7", &new, "r1/artifacts"),
            "s3://b/7/r1/artifacts"
        );
        let link = Artifacts {
            mode: ArtifactMode::Link,
            ..a
        };
        assert_eq!(link.experiment_location(7, "/old/7"), "/old/7");
        assert_eq!(
            link.relocate("/old/7/r1", "/old/7", "/x", "r1"),
            "/old/7/r1"
        );
    }
}
