//! `mltrack import`'s settings: the source, mltrack's store, and where artifacts go, resolved the
//! way `mltrack server` resolves its own flags so that the imported URIs are the ones it serves.

use crate::cli::{ImportArgs, ImportArtifacts};
use anyhow::Context;
use mlflow_import::artifacts::{ArtifactMode, Artifacts, Target};
use std::path::PathBuf;
use tracking_server::artifacts::ArtifactStore;
use tracking_server::config::ServerConfig;

pub struct ImportSettings {
    pub from: String,
    pub backend_store_uri: String,
    mode: ArtifactMode,
    source_destination: PathBuf,
    root: String,
    target: Destination,
}

/// Where copied artifacts go, opened only by [`ImportSettings::open_artifacts`]: opening the
/// proxy's destination creates its directory, which a refused import must not leave behind.
enum Destination {
    Proxy(PathBuf),
    Directory(PathBuf),
}

impl ImportSettings {
    pub fn resolve(args: ImportArgs) -> anyhow::Result<Self> {
        let config = ServerConfig {
            backend_store_uri: args.backend_store_uri.clone(),
            default_artifact_root: args.default_artifact_root,
            artifacts_destination: args.artifacts_destination.clone(),
            serve_artifacts: !args.no_serve_artifacts,
            ..ServerConfig::default()
        };
        let root = config.artifact_root();
        let mode = match args.artifacts {
            ImportArtifacts::Copy => ArtifactMode::Copy,
            ImportArtifacts::Link => ArtifactMode::Link,
        };
        let target = if root.starts_with("mlflow-artifacts:") {
            if mode == ArtifactMode::Copy {
                Destination::Proxy(args.artifacts_destination)
            } else {
                Destination::Directory(args.artifacts_destination)
            }
        } else if let Some(path) = root.strip_prefix("file://") {
            Destination::Directory(PathBuf::from(path))
        } else {
            anyhow::ensure!(
                mode == ArtifactMode::Link,
                "--artifacts copy needs mltrack to serve artifacts or a local \
                 --default-artifact-root (not `{root}`); use --artifacts link"
            );
            Destination::Directory(PathBuf::new())
        };
        Ok(Self {
            from: args.from,
            backend_store_uri: args.backend_store_uri,
            mode,
            source_destination: args.from_artifacts_destination,
            root,
            target,
        })
    }

    /// The artifact settings, the proxy's destination opened (and created if missing). Called once
    /// the source has been opened, so that a missing source leaves nothing behind.
    pub fn open_artifacts(&self) -> anyhow::Result<Artifacts> {
        let target = match &self.target {
            Destination::Proxy(path) => {
                Target::Proxy(ArtifactStore::open_destination(path).with_context(|| {
                    format!("cannot open --artifacts-destination `{}`", path.display())
                })?)
            }
            Destination::Directory(path) => Target::Directory(path.clone()),
        };
        Ok(Artifacts {
            mode: self.mode,
            source_destination: self.source_destination.clone(),
            root: self.root.clone(),
            target,
        })
    }
}
