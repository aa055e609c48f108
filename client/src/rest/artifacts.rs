//! Artifacts through the server's `mlflow-artifacts` proxy, streamed both ways.

use super::{ClientError, ClientResult, TrackingClient};
use protocol::{FileInfo, ListArtifactsResponse, Run};
use serde_json::Value;
use std::path::Path;

impl TrackingClient {
    // ---- artifacts (through the server's proxy) ----------------------------------------------

    fn proxy_url(&self, path: &str) -> String {
        protocol::paths::artifact_url(&self.base, path)
    }

    /// The proxy path of a run's artifact, or an error if the run stores artifacts elsewhere.
    pub fn run_artifact_path(run: &Run, rel: &str) -> ClientResult<String> {
        let root = run
            .info
            .artifact_uri
            .strip_prefix("mlflow-artifacts:")
            .ok_or_else(|| ClientError::Protocol {
                url: run.info.artifact_uri.clone(),
                message: "the run's artifacts are not served by the tracking server's proxy".into(),
            })?;
        let root = root.trim_start_matches('/').trim_end_matches('/');
        Ok(if rel.is_empty() {
            root.to_string()
        } else {
            format!("{root}/{}", rel.trim_start_matches('/'))
        })
    }

    /// Streams a local file to the proxy.
    pub fn upload_artifact(&self, proxy_path: &str, file: &Path) -> ClientResult<()> {
        let url = self.proxy_url(proxy_path);
        let response = self.send(
            || match std::fs::File::open(file) {
                Ok(f) => self.http.put(&url).body(f),
                Err(_) => self.http.put(&url).body(Vec::new()),
            },
            &url,
        )?;
        Self::decode::<Value>(&url, response)?;
        Ok(())
    }

    /// Uploads a local directory tree under `proxy_dir`.
    pub fn upload_dir(&self, proxy_dir: &str, dir: &Path) -> ClientResult<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let target = format!("{}/{name}", proxy_dir.trim_end_matches('/'));
            if entry.file_type()?.is_dir() {
                self.upload_dir(&target, &entry.path())?;
            } else {
                self.upload_artifact(&target, &entry.path())?;
            }
        }
        Ok(())
    }

    pub fn list_artifacts(&self, proxy_dir: &str) -> ClientResult<Vec<FileInfo>> {
        let url = protocol::paths::artifact_url(&self.base, "");
        let response = self.send(|| self.http.get(&url).query(&[("path", proxy_dir)]), &url)?;
        let r: ListArtifactsResponse = Self::decode(&url, response)?;
        Ok(r.files)
    }

    /// Streams one artifact to a local file.
    pub fn download_artifact(&self, proxy_path: &str, dest: &Path) -> ClientResult<u64> {
        let url = self.proxy_url(proxy_path);
        let mut response = self.send(|| self.http.get(&url), &url)?;
        if !response.status().is_success() {
            return Self::decode::<Value>(&url, response).map(|_| 0);
        }
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut file = std::fs::File::create(dest)?;
        let n = response
            .copy_to(&mut file)
            .map_err(|e| ClientError::Transport {
                url: url.clone(),
                source: e,
            })?;
        Ok(n)
    }

    /// Downloads a directory tree from the proxy into `dest`.
    pub fn download_dir(&self, proxy_dir: &str, dest: &Path) -> ClientResult<()> {
        std::fs::create_dir_all(dest)?;
        for f in self.list_artifacts(proxy_dir)? {
            let child = format!("{}/{}", proxy_dir.trim_end_matches('/'), f.path);
            if f.is_dir {
                self.download_dir(&child, &dest.join(&f.path))?;
            } else {
                self.download_artifact(&child, &dest.join(&f.path))?;
            }
        }
        Ok(())
    }

    pub fn health(&self) -> ClientResult<bool> {
        let url = format!("{}/health", self.base);
        let r = self.send(|| self.http.get(&url), &url)?;
        Ok(r.status().is_success())
    }
}
