//! The artifact repository behind the `mlflow-artifacts` proxy: a directory tree on local disk, or
//! (feature `s3`) an object store, see `artifacts_object`; every method dispatches on which.
//!
//! On disk, uploads stream to a temporary file beside the target and are renamed into place only when the
//! body is complete, so a broken upload never leaves a partial file visible. Downloads stream from
//! disk. Every path is checked twice: lexically (no `..`, no absolute path, no NUL) and, after
//! resolving symlinks, that it is still under the root.

use crate::error::{ApiError, ApiResult};
use crate::validation::validate_artifact_path;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use protocol::FileInfo;
use std::io;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

pub struct ArtifactStore {
    /// The local directory; unused (empty) when `object` is set.
    root: PathBuf,
    /// `Some` for `--artifacts-destination s3://…`: every operation goes to the object store.
    #[cfg(feature = "s3")]
    object: Option<crate::artifacts_object::ObjectArtifacts>,
    max_upload_bytes: Option<u64>,
}

/// A download: the bytes as a stream, and their length.
pub type Download = (
    futures_util::stream::BoxStream<'static, io::Result<Bytes>>,
    u64,
);

impl ArtifactStore {
    /// Creates the root directory if needed.
    pub fn open(root: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(root)?;
        Ok(Self {
            root: root.canonicalize()?,
            #[cfg(feature = "s3")]
            object: None,
            max_upload_bytes: None,
        })
    }

    /// `--artifacts-destination`: a directory (created if needed) or, with the `s3` feature,
    /// `s3://bucket/prefix`.
    pub fn open_destination(destination: &Path) -> anyhow::Result<Self> {
        let text = destination.to_string_lossy();
        if text.starts_with("s3://") {
            #[cfg(feature = "s3")]
            return Ok(Self {
                root: PathBuf::new(),
                object: Some(crate::artifacts_object::ObjectArtifacts::open(&text)?),
                max_upload_bytes: None,
            });
            #[cfg(not(feature = "s3"))]
            anyhow::bail!("`{text}`: this build has no object store support (the `s3` feature)");
        }
        if text.contains("://") {
            anyhow::bail!(
                "unsupported artifacts destination `{text}`: expected a directory or s3://bucket/prefix"
            );
        }
        Ok(Self::open(destination)?)
    }

    /// The local directory behind the proxy; `None` for an object store.
    pub fn local_root(&self) -> Option<&Path> {
        #[cfg(feature = "s3")]
        if self.object.is_some() {
            return None;
        }
        Some(&self.root)
    }

    /// Where artifacts go, for logs: the directory or the object store URL.
    pub fn describe(&self) -> String {
        #[cfg(feature = "s3")]
        if let Some(o) = &self.object {
            return o.url().to_string();
        }
        self.root.display().to_string()
    }

    /// Uploads larger than `limit` are refused with 413 (`MAX_BLOCK_SIZE_EXCEEDED`).
    #[must_use]
    pub fn with_max_upload_bytes(mut self, limit: Option<u64>) -> Self {
        self.max_upload_bytes = limit;
        self
    }

    pub fn max_upload_bytes(&self) -> Option<u64> {
        self.max_upload_bytes
    }

    /// Maps a proxy path onto the disk, refusing anything that would leave the root.
    pub fn resolve(&self, rel: &str) -> ApiResult<PathBuf> {
        validate_artifact_path(rel)?;
        #[cfg(feature = "s3")]
        if let Some(o) = &self.object {
            return Err(ApiError::invalid(format!(
                "'{rel}' is in the object store {}, not on this server's disk",
                o.url()
            )));
        }
        // Empty and `.` segments name nothing; dropping them keeps `a/.` from meaning `a`'s parent
        // to `Path::parent` while the rename targets `a`.
        let path = rel
            .split('/')
            .filter(|seg| !seg.is_empty() && *seg != ".")
            .fold(self.root.clone(), |path, seg| path.join(seg));
        // Symlinks: the deepest existing ancestor must resolve inside the root.
        let mut existing = path.as_path();
        while !existing.exists() {
            match existing.parent() {
                Some(parent) => existing = parent,
                None => break,
            }
        }
        if let Ok(real) = existing.canonicalize() {
            if !real.starts_with(&self.root) {
                return Err(ApiError::invalid(format!("Invalid path: '{rel}'")));
            }
        }
        Ok(path)
    }

    /// Streams `body` into `rel`; the file appears only once fully written.
    pub async fn put<S, E>(&self, rel: &str, body: S) -> ApiResult<u64>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        if rel.is_empty() || rel.ends_with('/') {
            return Err(ApiError::invalid(format!(
                "Invalid path: '{rel}': a file name is required"
            )));
        }
        #[cfg(feature = "s3")]
        if let Some(o) = &self.object {
            validate_artifact_path(rel)?;
            if rel.split('/').all(|s| s.is_empty() || s == ".") {
                return Err(ApiError::invalid(format!(
                    "Invalid path: '{rel}': a file name is required"
                )));
            }
            return o.put(rel, body, self.max_upload_bytes).await;
        }
        let target = self.resolve(rel)?;
        if target.is_dir() {
            return Err(ApiError::invalid(format!(
                "Invalid path: '{rel}' is a directory"
            )));
        }
        let parent = target.parent().unwrap_or(&self.root).to_path_buf();
        tokio::fs::create_dir_all(&parent)
            .await
            .map_err(|e| io_error("create directory", rel, &e))?;
        let tmp = parent.join(format!(".upload-{}.tmp", uuid::Uuid::new_v4().simple()));
        let result = write_stream(&tmp, body, self.max_upload_bytes).await;
        match result {
            Ok(n) => match tokio::fs::rename(&tmp, &target).await {
                Ok(()) => Ok(n),
                Err(e) => {
                    let _ = tokio::fs::remove_file(&tmp).await;
                    Err(io_error("store", rel, &e))
                }
            },
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                Err(e)
            }
        }
    }

    /// Streams an artifact from disk or the object store.
    pub async fn download(&self, rel: &str) -> ApiResult<Download> {
        #[cfg(feature = "s3")]
        if let Some(o) = &self.object {
            validate_artifact_path(rel)?;
            return o.get(rel).await;
        }
        let (file, len) = self.open_file(rel).await?;
        let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024);
        Ok((futures_util::StreamExt::boxed(stream), len))
    }

    /// Opens a file for streaming; directories and missing files are client errors.
    pub async fn open_file(&self, rel: &str) -> ApiResult<(tokio::fs::File, u64)> {
        let path = self.resolve(rel)?;
        let meta = tokio::fs::metadata(&path)
            .await
            .map_err(|_| ApiError::not_found(format!("No such artifact: '{rel}'")))?;
        if meta.is_dir() {
            return Err(ApiError::invalid(format!(
                "Invalid path: '{rel}' is a directory"
            )));
        }
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|_| ApiError::not_found(format!("No such artifact: '{rel}'")))?;
        Ok((file, meta.len()))
    }

    /// Lists a directory with base names, as the proxy does; a missing directory or a file is empty.
    pub async fn list(&self, rel: &str) -> ApiResult<Vec<FileInfo>> {
        self.list_named(rel, std::string::ToString::to_string).await
    }

    /// Lists `rel` naming each entry with `name_of(basename)`; a missing directory is empty.
    pub async fn list_named(
        &self,
        rel: &str,
        name_of: impl Fn(&str) -> String,
    ) -> ApiResult<Vec<FileInfo>> {
        #[cfg(feature = "s3")]
        if let Some(o) = &self.object {
            validate_artifact_path(rel)?;
            return o.list(rel, name_of).await;
        }
        let dir = self.resolve(rel)?;
        list_dir(&dir, name_of).await
    }

    /// Recursive delete of a file or directory; deleting nothing is not an error.
    pub async fn delete(&self, rel: &str) -> ApiResult<()> {
        #[cfg(feature = "s3")]
        if let Some(o) = &self.object {
            validate_artifact_path(rel)?;
            if rel.split('/').all(|s| s.is_empty() || s == ".") {
                return Err(ApiError::invalid(
                    "Invalid path: refusing to delete the artifact root",
                ));
            }
            return o.delete(rel).await;
        }
        let path = self.resolve(rel)?;
        // `.`, `./.` and `` all name the root.
        if path == self.root {
            return Err(ApiError::invalid(
                "Invalid path: refusing to delete the artifact root",
            ));
        }
        let result = match tokio::fs::symlink_metadata(&path).await {
            Ok(m) if m.is_dir() => tokio::fs::remove_dir_all(&path).await,
            Ok(_) => tokio::fs::remove_file(&path).await,
            Err(_) => Ok(()),
        };
        result.map_err(|e| io_error("delete", rel, &e))
    }
}

/// Lists `dir` sorted by name, naming each entry with `name_of(basename)`; hidden upload temporaries
/// are skipped.
pub async fn list_dir(dir: &Path, name_of: impl Fn(&str) -> String) -> ApiResult<Vec<FileInfo>> {
    let mut out = Vec::new();
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return Ok(out);
    };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".upload-") {
            continue;
        }
        let Ok(meta) = entry.metadata().await else {
            continue;
        };
        out.push(FileInfo {
            path: name_of(&name),
            is_dir: meta.is_dir(),
            file_size: (!meta.is_dir()).then(|| i64::try_from(meta.len()).unwrap_or(i64::MAX)),
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

async fn write_stream<S, E>(tmp: &Path, body: S, limit: Option<u64>) -> ApiResult<u64>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut file = tokio::fs::File::create(tmp)
        .await
        .map_err(|e| io_error("create", "upload", &e))?;
    let result = copy_into(&mut file, body, limit).await;
    // Wait for tokio's background write to finish and close the descriptor before the caller
    // removes the file: a full disk gets its space back only when the last descriptor closes, and
    // dropping a tokio `File` mid-write leaves it open a little longer (an upload right after a
    // failed one then found the disk still full).
    drop(file.into_std().await);
    result
}

async fn copy_into<S, E>(
    file: &mut tokio::fs::File,
    mut body: S,
    limit: Option<u64>,
) -> ApiResult<u64>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut written = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("Upload interrupted: {e}")))?;
        if let Some(limit) = limit {
            if written + chunk.len() as u64 > limit {
                return Err(ApiError::upload_too_large(limit));
            }
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| io_error("write", "upload", &e))?;
        written += chunk.len() as u64;
    }
    file.sync_all()
        .await
        .map_err(|e| io_error("sync", "upload", &e))?;
    Ok(written)
}

/// The answer to an upload over `--max-upload-bytes`.
fn io_error(action: &str, what: &str, e: &io::Error) -> ApiError {
    // A file where the path needs a directory (or the reverse) is the client's doing.
    if matches!(
        e.kind(),
        io::ErrorKind::AlreadyExists | io::ErrorKind::NotADirectory | io::ErrorKind::IsADirectory
    ) {
        return ApiError::invalid(format!(
            "Invalid path: '{what}' conflicts with an existing file or directory"
        ));
    }
    // A full disk is the server's problem, but the client should not hammer it with retries.
    if e.raw_os_error() == Some(28) {
        return ApiError::new(
            crate::error::ErrorCode::RequestLimitExceeded,
            format!("Could not {action} '{what}': no space left on the artifact store"),
        );
    }
    ApiError::internal(format!("Could not {action} '{what}': {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_refuses_symlinks_out_of_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(dir.path()).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
        assert!(store.resolve("link/x").is_err());
        assert!(store.resolve("a/b").is_ok());
        assert!(store.resolve("../x").is_err());
    }

    #[tokio::test]
    async fn no_spelling_of_the_root_can_delete_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(dir.path()).unwrap();
        std::fs::write(dir.path().join("keep.txt"), b"x").unwrap();
        for root in ["", "/", ".", "./", "./.", "//./"] {
            assert!(store.delete(root).await.is_err(), "{root:?}");
        }
        assert!(dir.path().join("keep.txt").exists());
    }

    #[tokio::test]
    async fn a_failed_upload_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(dir.path()).unwrap();
        let body = futures_util::stream::iter(vec![
            Ok(Bytes::from_static(b"partial")),
            Err("connection reset"),
        ]);
        assert!(store.put("a/file.bin", body).await.is_err());
        assert!(store.list("a").await.unwrap().is_empty());
        let ok = futures_util::stream::iter(vec![Ok::<_, &str>(Bytes::from_static(b"whole"))]);
        assert_eq!(store.put("a/file.bin", ok).await.unwrap(), 5);
        assert_eq!(store.list("a").await.unwrap()[0].file_size, Some(5));
    }

    #[tokio::test]
    async fn an_upload_over_the_limit_is_refused_and_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(dir.path())
            .unwrap()
            .with_max_upload_bytes(Some(8));
        let body = futures_util::stream::iter(vec![
            Ok::<_, &str>(Bytes::from_static(b"12345")),
            Ok(Bytes::from_static(b"6789")),
        ]);
        let err = store.put("big.bin", body).await.unwrap_err();
        assert_eq!(err.code.status(), axum::http::StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let fits = futures_util::stream::iter(vec![Ok::<_, &str>(Bytes::from_static(b"12345678"))]);
        assert_eq!(store.put("ok.bin", fits).await.unwrap(), 8);
    }
}
