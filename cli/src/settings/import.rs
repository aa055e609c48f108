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
    pub artifacts: Artifacts,
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
                Target::Proxy(
                    ArtifactStore::open_destination(&args.artifacts_destination).with_context(
                        || {
                            format!(
                                "cannot open --artifacts-destination `{}`",
                                args.artifacts_destination.display()
                            )
                        },
                    )?,
                )
            } else {
                Target::Directory(args.artifacts_destination)
            }
        } else if let Some(path) = root.strip_prefix("file://") {
            Target::Directory(PathBuf::from(path))
        } else {
            anyhow::ensure!(
                mode == ArtifactMode::Link,
                "--artifacts copy needs mltrack to serve artifacts or a local \
                 --default-artifact-root (not `{root}`); use --artifacts link"
            );
            Target::Directory(PathBuf::new())
        };
        Ok(Self {
            from: args.from,
            backend_store_uri: args.backend_store_uri,
            artifacts: Artifacts {
                mode,
                source_destination: args.from_artifacts_destination,
                root,
                target,
            },
        })
    }
}
