//! Artifacts in an object store (`--artifacts-destination s3://bucket/prefix`) through the
//! `object_store` crate, streamed both ways.
//!
//! Uploads up to [`SINGLE_PUT_LIMIT`] are one atomic PUT; bigger ones stream as a multipart upload,
//! which S3 makes visible only when completed and which is aborted on any failure, so a broken
//! upload never leaves a partial object. Credentials and endpoint come from the usual `AWS_*`
//! environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
//! `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP` for a local S3-compatible server).
//!
//! Object stores have no directories: a "directory" is a key prefix, listed with a `/` delimiter.

use crate::error::{ApiError, ApiResult, ErrorCode};
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use protocol::FileInfo;
use std::sync::Arc;

/// Bodies up to this size are buffered and stored with one PUT (S3's minimum part size).
const SINGLE_PUT_LIMIT: usize = 5 * 1024 * 1024;
/// Parts uploaded at once for a multipart upload.
const PART_CONCURRENCY: usize = 4;

pub struct ObjectArtifacts {
    store: Arc<dyn ObjectStore>,
    prefix: Vec<String>,
    url: String,
}

impl ObjectArtifacts {
    /// `s3://bucket[/prefix]`, configured from the environment.
    pub fn open(url: &str) -> anyhow::Result<Self> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| {
            anyhow::anyhow!("unsupported object store URL `{url}`: expected s3://bucket/prefix")
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        anyhow::ensure!(!bucket.is_empty(), "`{url}` names no bucket");
        let store = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()?;
        Ok(Self {
            store: Arc::new(store),
            prefix: segments(prefix).map(str::to_string).collect(),
            url: url.trim_end_matches('/').to_string(),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The key of `rel` (already checked for traversal) under the prefix.
    fn key(&self, rel: &str) -> ObjectPath {
        self.prefix
            .iter()
            .map(String::as_str)
            .chain(segments(rel))
            .collect()
    }

    pub async fn put<S, E>(&self, rel: &str, mut body: S, limit: Option<u64>) -> ApiResult<u64>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let key = self.key(rel);
        let too_big = |n: u64| limit.is_some_and(|l| n > l);
        let mut head: Vec<Bytes> = Vec::new();
        let mut written = 0u64;
        // Small bodies: buffer, then one atomic PUT.
        while written < SINGLE_PUT_LIMIT as u64 {
            match body.next().await {
                None => {
                    self.store
                        .put(&key, head.into_iter().collect::<PutPayload>())
                        .await
                        .map_err(|e| store_error("store", rel, &e))?;
                    return Ok(written);
                }
                Some(Err(e)) => {
                    return Err(ApiError::bad_request(format!("Upload interrupted: {e}")))
                }
                Some(Ok(chunk)) => {
                    written += chunk.len() as u64;
                    if too_big(written) {
                        return Err(crate::error::ApiError::upload_too_large(limit.unwrap_or(0)));
                    }
                    head.push(chunk);
                }
            }
        }
        // Large bodies: a multipart upload, aborted on any failure.
        let upload = self
            .store
            .put_multipart(&key)
            .await
            .map_err(|e| store_error("start upload of", rel, &e))?;
        let mut writer = WriteMultipart::new(upload);
        for chunk in head {
            writer.put(chunk);
        }
        let outcome: ApiResult<()> = async {
            while let Some(chunk) = body.next().await {
                let chunk =
                    chunk.map_err(|e| ApiError::bad_request(format!("Upload interrupted: {e}")))?;
                written += chunk.len() as u64;
                if too_big(written) {
                    return Err(crate::error::ApiError::upload_too_large(limit.unwrap_or(0)));
                }
                writer
                    .wait_for_capacity(PART_CONCURRENCY)
                    .await
                    .map_err(|e| store_error("upload", rel, &e))?;
                writer.put(chunk);
            }
            Ok(())
        }
        .await;
        match outcome {
            Ok(()) => {
                writer
                    .finish()
                    .await
                    .map_err(|e| store_error("complete upload of", rel, &e))?;
                Ok(written)
            }
            Err(e) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(%rel, error = %abort, "could not abort a multipart upload");
                }
                Err(e)
            }
        }
    }

    /// The object's bytes as a stream, and its length.
    pub async fn get(
        &self,
        rel: &str,
    ) -> ApiResult<(BoxStream<'static, std::io::Result<Bytes>>, u64)> {
        let result = self.store.get(&self.key(rel)).await.map_err(|e| match e {
            object_store::Error::NotFound { .. } => {
                ApiError::not_found(format!("No such artifact: '{rel}'"))
            }
            e => store_error("read", rel, &e),
        })?;
        let len = result.meta.size;
        let stream = result.into_stream().map_err(std::io::Error::other).boxed();
        Ok((stream, len))
    }

    /// One level of `rel`, named by `name_of(basename)`, sorted.
    pub async fn list(
        &self,
        rel: &str,
        name_of: impl Fn(&str) -> String,
    ) -> ApiResult<Vec<FileInfo>> {
        let dir = self.key(rel);
        let listing = self
            .store
            .list_with_delimiter(Some(&dir))
            .await
            .map_err(|e| store_error("list", rel, &e))?;
        let mut out: Vec<FileInfo> = listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(|n| (n.to_string(), true, None)))
            .chain(listing.objects.iter().filter_map(|o| {
                let size = i64::try_from(o.size).unwrap_or(i64::MAX);
                o.location
                    .filename()
                    .map(|n| (n.to_string(), false, Some(size)))
            }))
            .map(|(name, is_dir, file_size)| FileInfo {
                path: name_of(&name),
                is_dir,
                file_size,
            })
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// Deletes the object at `rel` and everything under `rel/`.
    pub async fn delete(&self, rel: &str) -> ApiResult<()> {
        let key = self.key(rel);
        match self.store.delete(&key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(store_error("delete", rel, &e)),
        }
        let under = self
            .store
            .list(Some(&key))
            .map_ok(|meta| meta.location)
            .boxed();
        let mut deleted = self.store.delete_stream(under);
        while let Some(result) = deleted.next().await {
            match result {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(store_error("delete", rel, &e)),
            }
        }
        Ok(())
    }
}

/// Path segments that name something: no empty ones, no `.`.
fn segments(rel: &str) -> impl Iterator<Item = &str> {
    rel.split('/').filter(|s| !s.is_empty() && *s != ".")
}

/// The object store failing is the server's trouble and usually passing (a network error, a
/// throttled request): 503, which the client retries after `Retry-After`.
fn store_error(action: &str, rel: &str, e: &object_store::Error) -> ApiError {
    tracing::warn!(error = %e, %rel, "object store {action} failed");
    ApiError::new(
        ErrorCode::TemporarilyUnavailable,
        format!("Could not {action} '{rel}' in the artifact store: {e}"),
    )
}
