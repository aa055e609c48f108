//! Where a run's (or a logged model's) artifacts live, if this server can read them: behind its
//! artifact proxy (a directory or an object store), or in a local directory.
//!
//! The API (`/artifacts/list`, `/get-artifact`, logged-model artifacts) and the web UI read
//! artifacts through this one type, so they agree on which roots are servable. The rules are
//! MLflow's `_is_servable_proxied_run_artifact_root`: an `mlflow-artifacts:` URI, or an
//! `http(s)://…/api/2.0/mlflow-artifacts/artifacts/…` URL, is the proxy's when the proxy is on; a
//! `file:` URI or an absolute path is read from disk. Paths are checked as the API checks them
//! (`validate_artifact_path`, then the proxy store's own resolution, which refuses symlinks out of
//! its root); a local root gets the same lexical check plus a canonical-path check.

use crate::artifacts::{ArtifactStore, Download};
use crate::error::ApiError;
use crate::state::AppState;
use crate::validation::validate_artifact_path;
use protocol::FileInfo;
use std::path::PathBuf;

/// The route every proxied HTTP artifact root is anchored at.
const PROXY_ROUTE_ANCHOR: &str = "/api/2.0/mlflow-artifacts/artifacts/";

pub enum ArtifactSource {
    /// The root's path under the proxy's store.
    Proxied(String),
    Local(PathBuf),
}

/// What a path among the artifacts names.
pub enum Kind {
    Dir,
    File,
    Missing,
}

fn proxy_store(s: &AppState) -> Result<&ArtifactStore, ApiError> {
    s.artifacts
        .as_deref()
        .ok_or_else(|| ApiError::not_found("This server does not serve artifacts"))
}

impl ArtifactSource {
    /// The source behind an artifact root URI, or `None` when this server cannot read it (an
    /// object-store URI the client writes to directly, or a proxied root with the proxy off).
    pub fn of_uri(s: &AppState, uri: &str) -> Option<Self> {
        let scheme = crate::uri::scheme(uri);
        if scheme == "mlflow-artifacts" || scheme == "http" || scheme == "https" {
            s.artifacts.as_ref()?;
            let path = if scheme == "mlflow-artifacts" {
                let rest = &uri["mlflow-artifacts:".len()..];
                match rest.strip_prefix("//") {
                    Some(after) => after.find('/').map_or("", |i| &after[i..]),
                    None => rest,
                }
            } else {
                uri.split_once(PROXY_ROUTE_ANCHOR)?.1
            };
            return Some(Self::Proxied(path.trim_matches('/').to_string()));
        }
        if crate::uri::is_local_uri(uri).unwrap_or(false) {
            let path = crate::uri::local_file_uri_to_path(uri);
            if path.starts_with('/') {
                return Some(Self::Local(PathBuf::from(path.trim_end_matches('/'))));
            }
        }
        None
    }

    fn proxied_path(base: &str, rel: &str) -> Result<String, ApiError> {
        validate_artifact_path(rel)?;
        let rel = rel.trim_matches('/');
        Ok(match (base.is_empty(), rel.is_empty()) {
            (_, true) => base.to_string(),
            (true, false) => rel.to_string(),
            (false, false) => format!("{base}/{rel}"),
        })
    }

    /// The entries of directory `rel` (empty for none), named by `name_of(basename)`.
    pub async fn list_named(
        &self,
        s: &AppState,
        rel: &str,
        name_of: impl Fn(&str) -> String,
    ) -> Result<Vec<FileInfo>, ApiError> {
        match self {
            Self::Proxied(base) => {
                proxy_store(s)?
                    .list_named(&Self::proxied_path(base, rel)?, name_of)
                    .await
            }
            Self::Local(root) => crate::artifacts::list_dir(&resolve(root, rel)?, name_of).await,
        }
    }

    /// The entries of directory `rel`, named by base name.
    pub async fn list(&self, s: &AppState, rel: &str) -> Result<Vec<FileInfo>, ApiError> {
        self.list_named(s, rel, std::string::ToString::to_string)
            .await
    }

    /// Whether `rel` is a directory, a file or nothing, from its parent's listing (an object store
    /// has no other way to tell).
    pub async fn kind(&self, s: &AppState, rel: &str) -> Result<Kind, ApiError> {
        let rel = rel.trim_matches('/');
        let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        let entries = self.list(s, parent).await?;
        Ok(match entries.iter().find(|f| f.path == name) {
            Some(f) if f.is_dir => Kind::Dir,
            Some(_) => Kind::File,
            None => Kind::Missing,
        })
    }

    /// The file's bytes as a stream, and its length.
    pub async fn open(&self, s: &AppState, rel: &str) -> Result<Download, ApiError> {
        match self {
            Self::Proxied(base) => {
                proxy_store(s)?
                    .download(&Self::proxied_path(base, rel)?)
                    .await
            }
            Self::Local(root) => {
                let path = resolve(root, rel)?;
                let missing = || ApiError::not_found(format!("No such artifact: '{rel}'"));
                let meta = tokio::fs::metadata(&path).await.map_err(|_| missing())?;
                if meta.is_dir() {
                    return Err(ApiError::invalid(format!(
                        "Invalid path: '{rel}' is a directory"
                    )));
                }
                let file = tokio::fs::File::open(&path).await.map_err(|_| missing())?;
                let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024);
                Ok((futures_util::StreamExt::boxed(stream), meta.len()))
            }
        }
    }
}

/// `rel` under `root`, refusing anything that resolves outside it.
pub fn resolve(root: &std::path::Path, rel: &str) -> Result<PathBuf, ApiError> {
    validate_artifact_path(rel)?;
    let rel = rel.trim_matches('/');
    let path = if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    if let (Ok(real), Ok(real_root)) = (path.canonicalize(), root.canonicalize()) {
        if !real.starts_with(&real_root) {
            return Err(ApiError::invalid(format!("Invalid path: '{rel}'")));
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_keeps_paths_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a")).unwrap();
        assert!(resolve(dir.path(), "a").is_ok());
        assert!(resolve(dir.path(), "../etc/passwd").is_err());
        assert!(resolve(dir.path(), "/etc/passwd").is_err());
    }

    #[test]
    fn proxied_paths_join_without_stray_slashes() {
        assert_eq!(
            ArtifactSource::proxied_path("1/r/artifacts", "").unwrap(),
            "1/r/artifacts"
        );
        assert_eq!(
            ArtifactSource::proxied_path("1/r/artifacts", "a/b").unwrap(),
            "1/r/artifacts/a/b"
        );
        assert_eq!(ArtifactSource::proxied_path("", "a").unwrap(), "a");
        assert!(ArtifactSource::proxied_path("1", "../x").is_err());
    }
}
