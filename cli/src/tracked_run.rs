//! The run a command logs to (`train`, `score`, `drift`), with one ownership rule: a run the command
//! created is the command's, and is always ended (FINISHED on success, FAILED on an error, a panic
//! or an early return); a run it was given with `--run-id` is the caller's, who may log more to it
//! afterwards, and is never ended here.

use anyhow::Context;
use client::rest::TrackingClient;
use protocol::limits::MAX_RUN_TAG_VALUE_LENGTH;
use protocol::{KeyValue, Run, RunStatus};

/// Where a command is asked to log, before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunTarget {
    /// An existing run, given by the caller (`--run-id`).
    Existing(String),
    /// A new run in this experiment (created if needed).
    NewIn(String),
}

/// The tag that says why a run failed, so that the UI shows it beside the run.
pub const ERROR_TAG: &str = protocol::tags::ERROR;

/// A run being logged to; see the module's ownership rule.
#[derive(Debug)]
pub struct TrackedRun {
    client: TrackingClient,
    run: Run,
    created: bool,
    /// Set once the run's outcome is recorded, so that `Drop` leaves it alone.
    done: bool,
}

impl TrackedRun {
    /// The caller's run, after checking that it exists (so that a typo fails before any work).
    pub fn adopt(client: TrackingClient, run_id: &str) -> anyhow::Result<Self> {
        let run = client
            .get_run(run_id)
            .with_context(|| format!("cannot log to run `{run_id}`"))?;
        Ok(TrackedRun {
            client,
            run,
            created: false,
            done: false,
        })
    }

    /// A new run named `name` in `experiment` (created if needed), tagged with the command that
    /// made it.
    pub fn create(
        client: TrackingClient,
        experiment: &str,
        name: &str,
        command: &str,
    ) -> anyhow::Result<Self> {
        Self::create_with_tags(client, experiment, name, command, &[])
    }

    /// [`create`](Self::create) with more tags, set in the same request so that the run is never
    /// seen without them (`monitor` finds a batch's run by its tags).
    pub fn create_with_tags(
        client: TrackingClient,
        experiment: &str,
        name: &str,
        command: &str,
        tags: &[KeyValue],
    ) -> anyhow::Result<Self> {
        let experiment_id = client
            .get_or_create_experiment(experiment)
            .with_context(|| {
                format!(
                    "cannot use experiment `{experiment}` on {}",
                    client.base_url()
                )
            })?;
        let run = client.create_run(
            &experiment_id,
            Some(name),
            &[&[KeyValue::new("mltrack.command", command)], tags].concat(),
        )?;
        Ok(TrackedRun {
            client,
            run,
            created: true,
            done: false,
        })
    }

    /// [`adopt`](Self::adopt) or [`create`](Self::create), as `target` says.
    pub fn open(
        client: TrackingClient,
        target: &RunTarget,
        name: &str,
        command: &str,
    ) -> anyhow::Result<Self> {
        match target {
            RunTarget::Existing(id) => Self::adopt(client, id),
            RunTarget::NewIn(experiment) => Self::create(client, experiment, name, command),
        }
    }

    pub fn id(&self) -> &str {
        &self.run.info.run_id
    }

    pub fn experiment_id(&self) -> &str {
        &self.run.info.experiment_id
    }

    pub fn client(&self) -> &TrackingClient {
        &self.client
    }

    /// Whether this command created the run (and so ends it).
    pub fn created(&self) -> bool {
        self.created
    }

    /// Records the command's outcome and hands it back. On success a created run is ended
    /// FINISHED (a failure to do so is the command's failure: the run would stay RUNNING). On an
    /// error, the run gets the error as its [`ERROR_TAG`] and a created run is ended FAILED, both
    /// best effort: the command's own error is the one to report.
    pub fn finish<T>(mut self, outcome: anyhow::Result<T>) -> anyhow::Result<T> {
        self.done = true;
        match outcome {
            Ok(value) => {
                if self.created {
                    self.client
                        .end_run(self.id(), RunStatus::Finished)
                        .with_context(|| format!("cannot end run {}", self.id()))?;
                }
                Ok(value)
            }
            Err(e) => {
                let why: String = format!("{e:#}")
                    .chars()
                    .take(MAX_RUN_TAG_VALUE_LENGTH)
                    .collect();
                let _ = self.client.set_tag(self.id(), ERROR_TAG, &why);
                if self.created {
                    let _ = self.client.end_run(self.id(), RunStatus::Failed);
                }
                Err(e)
            }
        }
    }
}

impl Drop for TrackedRun {
    /// A created run left without an outcome (an early `?`, a panic) is FAILED rather than left
    /// RUNNING forever.
    fn drop(&mut self) {
        if self.created && !self.done {
            let _ = self.client.end_run(self.id(), RunStatus::Failed);
        }
    }
}
