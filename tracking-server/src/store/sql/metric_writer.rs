//! Metrics-only log-batches on SQLite, written by one task that commits the batches waiting for
//! the writer together (group commit).
//!
//! Why: SQLite has one writer connection, and log-batch throughput is bounded by how long each
//! request holds it. Measured under 20 clients sending 500-metric batches, the connection's own
//! work was ~3 ms a batch, yet it was held ~6 ms: each request, when its turn came, had to be
//! woken and polled by a tokio worker before it sent its statements, and again to hand the
//! connection on. Here the batches queue in a channel; the task takes all that are waiting (up to
//! [`GROUP_POINTS`] points), sends them as one text (`BEGIN IMMEDIATE`, each batch's statements
//! from [`sqlite_metrics`], `COMMIT`), and answers each request after the commit, so a waiting
//! batch is written as soon as the connection is free, and a group shares one commit and the
//! pages its batches have in common (the latest-value index).
//!
//! Each batch keeps its own outcome: its statements write only if its run is active, so a missing
//! or deleted run fails alone. A database error fails the group's transaction; the task then
//! writes each batch of the group on its own, so only the batch that fails again gets the error.
//! A call that fails part-way leaves its transaction open, so its connection is closed (SQLite
//! rolls back on close) instead of going back to the pool.

use super::sqlite_metrics::{self, read_rows, require_active, SeriesCache};
use super::SqlBuf;
use crate::store::{StoreError, StoreResult};
use protocol::Metric;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// A group stops growing at this many points (a ~30 ms call), so that no request waits long
/// behind a large group.
const GROUP_POINTS: usize = 10_000;

/// One request's batch waiting for the writer.
struct Job {
    run_id: String,
    metrics: Vec<Metric>,
    done: oneshot::Sender<StoreResult<()>>,
}

/// The queue to the writer task; the task stops when this is dropped.
pub(super) struct MetricWriter {
    jobs: mpsc::UnboundedSender<Job>,
    task: tokio::task::AbortHandle,
}

impl Drop for MetricWriter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MetricWriter {
    pub(super) fn spawn(pool: AnyPool, cache: Arc<SeriesCache>) -> Self {
        let (jobs, queue) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(pool, cache, queue));
        Self {
            jobs,
            task: task.abort_handle(),
        }
    }

    /// Writes the points and latest values of a run's batch, all or nothing, once committed.
    pub(super) async fn log(&self, run_id: &str, metrics: Vec<Metric>) -> StoreResult<()> {
        let (done, outcome) = oneshot::channel();
        let job = Job {
            run_id: run_id.to_string(),
            metrics,
            done,
        };
        let stopped = || StoreError::Busy("the metric writer has stopped".into());
        self.jobs.send(job).map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }
}

async fn run(pool: AnyPool, cache: Arc<SeriesCache>, mut queue: mpsc::UnboundedReceiver<Job>) {
    let mut group: Vec<Job> = Vec::new();
    while let Some(first) = queue.recv().await {
        let mut points = first.metrics.len();
        group.push(first);
        while points < GROUP_POINTS {
            let Ok(job) = queue.try_recv() else { break };
            points += job.metrics.len();
            group.push(job);
        }
        let outcomes = match write(&pool, &cache, &group).await {
            Ok(outcomes) => outcomes,
            Err(e) if group.len() == 1 => vec![Err(e)],
            Err(e) => {
                tracing::debug!(error = %e, batches = group.len(), "group commit failed; writing its batches one by one");
                let mut outcomes = Vec::with_capacity(group.len());
                for job in &group {
                    outcomes.push(
                        match write(&pool, &cache, std::slice::from_ref(job)).await {
                            Ok(mut one) => one.swap_remove(0),
                            Err(e) => Err(e),
                        },
                    );
                }
                outcomes
            }
        };
        for (job, outcome) in group.drain(..).zip(outcomes) {
            // A request that has gone away no longer waits for its answer.
            let _ = job.done.send(outcome);
        }
    }
}

/// One transaction for `jobs`: the outcome of each if it committed, or the database's error.
async fn write(
    pool: &AnyPool,
    cache: &SeriesCache,
    jobs: &[Job],
) -> StoreResult<Vec<StoreResult<()>>> {
    let mut sql = SqlBuf::new("BEGIN IMMEDIATE;\n");
    for (i, job) in jobs.iter().enumerate() {
        sql.append(sqlite_metrics::statements(
            cache,
            i,
            &job.run_id,
            &job.metrics,
            true,
        ));
    }
    sql.push("COMMIT;");
    let mut call = Call {
        conn: pool.acquire().await?,
        done: false,
    };
    let rows = sql.fetch_all(&mut call.conn).await?;
    call.done = true;
    let runs: Vec<&str> = jobs.iter().map(|j| j.run_id.as_str()).collect();
    Ok(read_rows(&rows, &runs)?
        .into_iter()
        .zip(&runs)
        .map(|((stage, seen), run_id)| {
            require_active(run_id, stage.as_deref())?;
            cache.remember(seen);
            Ok(())
        })
        .collect())
}

/// The writer's connection during a call: closed on drop unless the call completed.
struct Call {
    conn: PoolConnection<Any>,
    done: bool,
}

impl Drop for Call {
    fn drop(&mut self) {
        if !self.done {
            self.conn.close_on_drop();
        }
    }
}
