//! Which batches were already processed, so that a daily cron run scores each batch once. With a
//! tracking server the record is the batch's monitoring run itself (its `mltrack.monitor.*` tags,
//! found again by a run search): nothing else to keep in sync, and deleting the run is how a batch
//! is processed again. Without one, the same facts go to `DIR/monitor-state.json`, written
//! atomically after each batch so that a crash never loses more than the batch in hand.

use crate::fs::write_atomically;
use anyhow::Context;
use client::rest::TrackingClient;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

// The tags a monitoring run is found by.
pub(super) use protocol::monitor::{BATCH as TAG_BATCH, DATE as TAG_DATE, SHA256 as TAG_SHA256};

/// The state file's name in the output folder.
pub(super) const STATE_FILE: &str = "monitor-state.json";
const STATE_FORMAT: &str = "mltrack-monitor-state";

/// What is known of a processed batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Processed {
    pub date: String,
    pub sha256: String,
    /// `FINISHED` or `FAILED`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
}

/// How a batch compares with the record.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Seen {
    New,
    Same,
    /// Processed before with other content (the recorded hash).
    Changed(String),
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StateFile {
    format: String,
    version: u32,
    batches: BTreeMap<String, Processed>,
}

/// Where processed batches are recorded.
pub(super) enum Ledger {
    Tracking {
        client: TrackingClient,
        experiment_id: String,
    },
    Local {
        path: PathBuf,
        batches: BTreeMap<String, Processed>,
    },
}

impl Ledger {
    /// The local ledger in `out`, empty when the file does not exist yet.
    pub(super) fn local(out: &Path) -> anyhow::Result<Self> {
        let path = out.join(STATE_FILE);
        let batches = match std::fs::read_to_string(&path) {
            Ok(text) => {
                let file: StateFile = serde_json::from_str(&text)
                    .with_context(|| format!("`{}` is not a monitor state file", path.display()))?;
                anyhow::ensure!(
                    file.format == STATE_FORMAT && file.version == 1,
                    "`{}` is not a version 1 monitor state file",
                    path.display()
                );
                file.batches
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", path.display())),
        };
        Ok(Ledger::Local { path, batches })
    }

    /// The record of the batch named `name`, if any.
    pub(super) fn lookup(&self, name: &str) -> anyhow::Result<Option<Processed>> {
        match self {
            Ledger::Local { batches, .. } => Ok(batches.get(name).cloned()),
            Ledger::Tracking {
                client,
                experiment_id,
            } => {
                // MLflow's filter strings have no escape for quotes inside a value.
                anyhow::ensure!(!name.contains('\''), "batch name `{name}` contains a quote");
                let filter = format!("tags.`{TAG_BATCH}` = '{name}'");
                let page = client.search_runs(
                    &[experiment_id],
                    &filter,
                    &["attributes.start_time DESC"],
                    protocol::ViewType::ActiveOnly,
                    1,
                    None,
                )?;
                Ok(page.items.into_iter().next().map(|run| {
                    let tag = |key: &str| {
                        run.data
                            .tags
                            .iter()
                            .find(|t| t.key == key)
                            .map(|t| t.value.clone())
                            .unwrap_or_default()
                    };
                    Processed {
                        date: tag(TAG_DATE),
                        sha256: tag(TAG_SHA256),
                        status: format!("{:?}", run.info.status).to_uppercase(),
                        run_id: Some(run.info.run_id.clone()),
                    }
                }))
            }
        }
    }

    /// Whether a batch with content `sha256` is new, already processed, or changed since.
    pub(super) fn seen(&self, name: &str, sha256: &str) -> anyhow::Result<Seen> {
        Ok(match self.lookup(name)? {
            None => Seen::New,
            Some(p) if p.sha256 == sha256 => Seen::Same,
            Some(p) => Seen::Changed(p.sha256),
        })
    }

    /// Records a processed batch. The tracking ledger needs nothing: the run's tags are the record.
    pub(super) fn record(&mut self, name: &str, processed: Processed) -> anyhow::Result<()> {
        if let Ledger::Local { path, batches } = self {
            batches.insert(name.to_string(), processed);
            let file = StateFile {
                format: STATE_FORMAT.into(),
                version: 1,
                batches: batches.clone(),
            };
            write_atomically(path, serde_json::to_string_pretty(&file)?.as_bytes())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn processed(sha: &str) -> Processed {
        Processed {
            date: "2026-12-04".into(),
            sha256: sha.into(),
            status: "FINISHED".into(),
            run_id: None,
        }
    }

    #[test]
    fn the_local_ledger_survives_a_restart_and_tells_new_same_and_changed_apart() {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::local(dir.path()).unwrap();
        assert_eq!(ledger.seen("a.parquet", "111").unwrap(), Seen::New);
        ledger.record("a.parquet", processed("111")).unwrap();
        let ledger = Ledger::local(dir.path()).unwrap();
        assert_eq!(ledger.seen("a.parquet", "111").unwrap(), Seen::Same);
        assert_eq!(
            ledger.seen("a.parquet", "222").unwrap(),
            Seen::Changed("111".into())
        );
        assert_eq!(ledger.seen("b.parquet", "111").unwrap(), Seen::New);
        let text = std::fs::read_to_string(dir.path().join(STATE_FILE)).unwrap();
        assert!(
            text.contains("\"format\": \"mltrack-monitor-state\""),
            "{text}"
        );
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left beside the state");
    }

    #[test]
    fn a_state_file_that_is_not_one_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(STATE_FILE),
            "{\"format\": \"x\", \"version\": 1, \"batches\": {}}",
        )
        .unwrap();
        let err = Ledger::local(dir.path()).err().unwrap().to_string();
        assert!(err.contains(STATE_FILE), "{err}");
        std::fs::write(dir.path().join(STATE_FILE), "not json").unwrap();
        assert!(Ledger::local(dir.path()).is_err());
    }
}
