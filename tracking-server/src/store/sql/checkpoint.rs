//! WAL checkpoints on SQLite, moved off the single writer's path.
//!
//! By default the connection that commits past 1,000 WAL pages copies them into the database file
//! and waits for the disk to sync them, inside its commit. With every write going through one
//! connection, that stalled all writers: a 500-metric batch dirties hundreds of pages, so a
//! checkpoint ran every few commits and log-batch throughput fell by a third. Here the writer never
//! checkpoints (`wal_autocheckpoint = 0`); this task does, once a second:
//! - `PASSIVE` checkpoints on a read connection, which copy and sync while writers carry on. Up to
//!   [`READ_ROUNDS`] of them, each copying what was committed during the last, until a round finds
//!   fewer than [`CAUGHT_UP_FRAMES`] new frames;
//! - a last `PASSIVE` one on the writer's connection, between transactions, which copies the few
//!   frames left. With every frame copied, the next commit rewinds the log to its start, so the WAL
//!   file stays at about one second of writes. The next metric batch runs it right after its
//!   commit ([`CatchUp`]); if none comes within [`CLAIM_WAIT`], this task takes the write pool
//!   for it;
//! - a `TRUNCATE` one, also on the write connection, if the log has grown past
//!   [`TRUNCATE_FROM_FRAMES`] anyway (a reader held it), or if nothing was written since the last
//!   tick, so an idle server leaves no WAL behind.
//!
//! Checkpoints that need the writer's lock run on its connection so that they wait for the
//! transaction in flight instead of leaving that transaction's snapshot stale (which SQLite answers
//! with an immediate "database is locked"). Measured with 20 clients logging 500-metric batches:
//! 64–79 requests/s with SQLite's own checkpoints, 113–115 with these (BENCHMARKS.md). Taking the
//! write pool for the last one made it wait behind every queued batch, and the writer then copied
//! the 4,000–11,000 frames committed meanwhile: a fifth of its time (`perf`).

use sqlx::{AnyPool, Row};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const PERIOD: Duration = Duration::from_secs(1);

/// 131,072 pages: the log file is cut back at 512 MiB (4 KiB pages) or 1 GiB (8 KiB). Under a
/// steady load of 500-metric batches a second of writes is about 240 MiB (30,000 frames), and the
/// log rewinds every second: truncating it then as well cost the writer 3 % of its time.
const TRUNCATE_FROM_FRAMES: i64 = 131_072;

/// Read-side checkpoint rounds per tick at most.
const READ_ROUNDS: usize = 4;

/// A round that found fewer new frames than this (about a dozen 500-metric batches) ends them.
const CAUGHT_UP_FRAMES: i64 = 2_000;

/// How long the last checkpoint waits for a metric batch to run it.
const CLAIM_WAIT: Duration = Duration::from_millis(100);

/// The writer's share of a tick: set when the read rounds are done, taken by the first metric
/// batch to commit after that (see [`super::metric_writer`]) or, failing one, by this task.
#[derive(Clone, Default)]
pub(super) struct CatchUp(Arc<AtomicBool>);

impl CatchUp {
    /// True once per request: the caller then runs [`CATCH_UP`] on the writer's connection.
    pub(super) fn take(&self) -> bool {
        self.0.swap(false, Ordering::AcqRel)
    }

    fn request(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// The writer's checkpoint, between two transactions.
pub(super) const CATCH_UP: &str = "PRAGMA wal_checkpoint(PASSIVE)";

/// Aborts the checkpoint task when the store is dropped.
pub(super) struct CheckpointTask(tokio::task::AbortHandle);

impl Drop for CheckpointTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub(super) fn spawn(read: AnyPool, write: AnyPool, catch_up: CatchUp) -> CheckpointTask {
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(PERIOD);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_frames = 0;
        loop {
            tick.tick().await;
            if let Err(e) = checkpoint(&read, &write, &catch_up, &mut last_frames).await {
                // A busy database or a full disk: the next tick tries again.
                tracing::debug!(error = %e, "WAL checkpoint skipped");
            }
        }
    });
    CheckpointTask(task.abort_handle())
}

async fn checkpoint(
    read: &AnyPool,
    write: &AnyPool,
    catch_up: &CatchUp,
    last_frames: &mut i64,
) -> Result<(), sqlx::Error> {
    // Rounds on a read connection while writers carry on, each copying what the last one left.
    let mut seen = -1;
    for _ in 0..READ_ROUNDS {
        let row = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(read)
            .await?;
        let log: i64 = row.try_get(1)?;
        let caught_up = log >= seen && log - seen < CAUGHT_UP_FRAMES;
        seen = log;
        if caught_up {
            break;
        }
    }
    if seen <= 0 {
        return Ok(());
    }
    catch_up.request();
    tokio::time::sleep(CLAIM_WAIT).await;
    if catch_up.take() {
        sqlx::query(CATCH_UP).execute(write).await?;
    }
    let log_frames = seen;
    // Past the limit, or idle since the last tick with a log left over: rewind and shrink the file.
    let idle = log_frames > 0 && log_frames == *last_frames;
    *last_frames = log_frames;
    if log_frames >= TRUNCATE_FROM_FRAMES || idle {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(write)
            .await?;
        *last_frames = 0;
    }
    Ok(())
}
