//! Metrics-only log-batches on SQLite: one call to the writer's connection per request, its
//! transaction included, run back to back by a thread of their own.
//!
//! Why: SQLite has one writer connection, and log-batch throughput is bounded by how long each
//! request holds it. Sent one by one (begin, run check, series, points, latest values, commit), each
//! statement's answer had to wait for a tokio worker to poll the request before the next statement
//! left, and the connection sat idle meanwhile. Here the request renders its whole text and binds
//! its values, then hands `BEGIN IMMEDIATE`, its statements (from [`sqlite_metrics`], each writing
//! only if the run is active) and `COMMIT` as one call to [`BatchWriter`]. A missing or deleted run
//! commits nothing and gets MLflow's error.
//!
//! [`BatchWriter`]'s thread takes the write pool's connection and runs the calls waiting for it one
//! after the other, for up to [`HOLD`] before it lets other writes in. Taking the connection from
//! the pool per request left it idle a third of the time: the next request had to be woken, then
//! wait for a tokio worker busy parsing another 500-metric body, before its call could leave. The
//! thread runs its own single-threaded runtime, so the connection's answer wakes it directly.
//!
//! Committing the batches waiting for the writer together (group commit) was measured too: a
//! task taking all waiting batches into one transaction was 6 % slower (134 against 143 req/s
//! under 20 clients). A group shares only the pages of the latest-value index; each batch's
//! points go to its own run's pages either way, and the task built each group's text while the
//! connection waited, where here each request builds its own beforehand, in parallel.
//!
//! Once a second the thread also runs the WAL checkpoint's last step, right after a commit (see
//! [`checkpoint`]): the writer then copies only the frames of the last few milliseconds. Every
//! [`point_merge::MOVE_EVERY`] batches of a run, it moves that run's recent points into the big
//! table, in a transaction of its own.
//!
//! A call that fails part-way leaves its transaction open on the connection; the connection is
//! then closed (SQLite rolls back on close) instead of going back to the pool. A call whose
//! request has gone away still runs: the client may retry it, and a batch written twice is stored
//! once.

use super::checkpoint::{self, CatchUp};
use super::point_merge::{self, Staged};
use super::sqlite_metrics::{self, read_rows, require_active, SeriesCache};
use super::SqlBuf;
use crate::store::{StoreError, StoreResult};
use protocol::Metric;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// How long the writer thread keeps the connection while calls are waiting.
const HOLD: Duration = Duration::from_millis(20);

/// Foreign keys are not checked during a burst. Every statement of a call writes only if the
/// run exists and is active, and points go only to series that the same call created or that an
/// earlier commit read back, so each reference holds by construction; the only deletes are of
/// points just moved (see [`point_merge`]), which nothing refers to. An
/// immediate foreign key also made SQLite keep a statement journal: a copy of every page a
/// multi-row insert touches, in case a later row failed the check (SQLite cannot know it will
/// not), which was a tenth of the writer's time. Switching the checks expires the connection's
/// prepared statements, so it is done per burst, not per call.
const FOREIGN_KEYS_OFF: &str = "PRAGMA foreign_keys = OFF";
const FOREIGN_KEYS_ON: &str = "PRAGMA foreign_keys = ON";

/// A rendered call and where its rows go.
struct Call {
    run_id: String,
    text: String,
    args: AnyArguments<'static>,
    reply: oneshot::Sender<Result<Vec<AnyRow>, sqlx::Error>>,
}

/// The queue of the thread that runs metric batches on the writer's connection. The thread ends
/// when the store is dropped.
pub(super) struct BatchWriter(mpsc::UnboundedSender<Call>);

impl BatchWriter {
    pub(super) fn start(pool: AnyPool, catch_up: CatchUp) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("mltrack-batch-writer".into())
            .spawn(move || runtime.block_on(run(&pool, &catch_up, rx)))?;
        Ok(Self(tx))
    }

    /// Writes the points and latest values of a run's batch, all or nothing.
    pub(super) async fn log_metrics(
        &self,
        cache: &SeriesCache,
        run_id: &str,
        metrics: &[Metric],
    ) -> StoreResult<()> {
        let mut sql = SqlBuf::new("BEGIN IMMEDIATE;\n");
        sql.append(sqlite_metrics::statements(cache, run_id, metrics, true));
        sql.push("COMMIT;");
        let (text, args) = sql.into_owned("sqlite");
        let (reply, rows) = oneshot::channel();
        self.0
            .send(Call {
                run_id: run_id.to_string(),
                text,
                args,
                reply,
            })
            .map_err(|_| stopped())?;
        let rows = rows.await.map_err(|_| stopped())??;
        let (stage, seen) = read_rows(&rows, run_id)?;
        require_active(run_id, stage.as_deref())?;
        cache.remember(seen);
        Ok(())
    }
}

/// The thread is gone only while the server shuts down.
fn stopped() -> StoreError {
    StoreError::Busy("the metric writer has stopped".into())
}

/// The writer thread's loop: a connection per burst of calls.
async fn run(pool: &AnyPool, catch_up: &CatchUp, mut calls: mpsc::UnboundedReceiver<Call>) {
    let mut staged = Staged::default();
    while let Some(first) = calls.recv().await {
        let mut conn = match pool.acquire().await {
            Ok(conn) => conn,
            Err(e) => {
                let _ = first.reply.send(Err(e));
                continue;
            }
        };
        let checks_off = sqlx::query(FOREIGN_KEYS_OFF)
            .execute(&mut *conn)
            .await
            .is_ok();
        let held = Instant::now();
        let mut next = Some(first);
        let mut failed = false;
        while let Some(call) = next.take() {
            let run_id = call.run_id.clone();
            if !run_call(&mut conn, catch_up, call).await
                || (staged.count(&run_id) && !move_points(&mut conn, &run_id).await)
            {
                failed = true;
                break;
            }
            if held.elapsed() < HOLD {
                next = calls.try_recv().ok();
            }
        }
        // A failed call's transaction may be open: SQLite rolls it back when the connection
        // closes. Other writes must find the foreign keys checked again.
        if failed
            || (checks_off
                && sqlx::query(FOREIGN_KEYS_ON)
                    .execute(&mut *conn)
                    .await
                    .is_err())
        {
            conn.close_on_drop();
        }
    }
}

/// Moves a run's recent points into the big table (see [`point_merge`]); false if it failed.
async fn move_points(conn: &mut PoolConnection<Any>, run_id: &str) -> bool {
    let (text, args) = point_merge::move_run(run_id).into_owned("sqlite");
    match sqlx::query_with(&text, args).execute(&mut **conn).await {
        Ok(_) => true,
        Err(e) => {
            // The points stay in the small table, where reads find them; the next move takes them.
            tracing::warn!(error = %e, run_id, "moving recent metric points failed");
            false
        }
    }
}

/// Runs one call; false if it failed.
async fn run_call(conn: &mut PoolConnection<Any>, catch_up: &CatchUp, call: Call) -> bool {
    let result = sqlx::query_with(&call.text, call.args)
        .fetch_all(&mut **conn)
        .await;
    let ok = result.is_ok();
    let _ = call.reply.send(result);
    if ok && catch_up.take() {
        if let Err(e) = sqlx::query(checkpoint::CATCH_UP).execute(&mut **conn).await {
            // The batch is committed; the checkpoint task tries again at its next tick.
            tracing::debug!(error = %e, "WAL checkpoint skipped");
        }
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::super::SqlStore;
    use crate::store::{Batch, ExperimentStore, NewRun, RunStore, StoreError};
    use protocol::Metric;

    fn batch(keys: usize, step: i64) -> Batch {
        Batch {
            metrics: (0..keys)
                .map(|i| Metric {
                    key: format!("m{i}"),
                    value: f64::from(u32::try_from(i).unwrap()),
                    timestamp: 1_700_000_000_000 + step,
                    step,
                    ..Metric::default()
                })
                .collect(),
            params: vec![],
            tags: vec![],
        }
    }

    /// A new SQLite store (in the returned directory) with one active run.
    async fn store_with_run() -> (tempfile::TempDir, SqlStore, String) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqlStore::connect(&format!("sqlite:///{}/s.db", dir.path().display()))
            .await
            .unwrap();
        let experiment = store
            .create_experiment("e", None, "file:///a", &[])
            .await
            .unwrap();
        let run = store
            .create_run(NewRun {
                experiment_id: experiment,
                user_id: "u".into(),
                run_name: "r".into(),
                start_time: 1,
                tags: vec![],
            })
            .await
            .unwrap()
            .info
            .run_id;
        (dir, store, run)
    }

    async fn foreign_keys(store: &SqlStore) -> i64 {
        sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&store.write)
            .await
            .unwrap()
    }

    /// Batches arriving together share a burst with checks off; the writes after it find them on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn foreign_keys_are_checked_again_after_a_burst() {
        let (_dir, store, run) = store_with_run().await;
        let writes: Vec<_> = (0..8)
            .map(|step| store.log_batch(&run, batch(50, step)))
            .collect();
        for result in futures_util::future::join_all(writes).await {
            result.unwrap();
        }
        assert_eq!(foreign_keys(&store).await, 1);
        // A missing run still commits nothing and gets MLflow's error, and checks are back on.
        let missing = store.log_batch("no-such-run", batch(3, 0)).await;
        assert!(
            matches!(missing, Err(StoreError::NotFound(_))),
            "{missing:?}"
        );
        assert_eq!(foreign_keys(&store).await, 1);
        let orphans: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT series_id FROM metric_points UNION ALL \
             SELECT series_id FROM metric_points_recent) p WHERE NOT EXISTS \
             (SELECT 1 FROM metric_series s WHERE s.series_id = p.series_id)",
        )
        .fetch_one(&store.read)
        .await
        .unwrap();
        assert_eq!(orphans, 0);
        let points: i64 = sqlx::query_scalar("SELECT count(*) FROM metrics")
            .fetch_one(&store.read)
            .await
            .unwrap();
        assert_eq!(points, 8 * 50);
    }

    async fn count(store: &SqlStore, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&store.read)
            .await
            .unwrap()
    }

    /// A run's points move into the big table every `MOVE_EVERY` batches; a point logged again
    /// after its move is still stored once, and the history reads whole and in order throughout.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn recent_points_move_in_bulk_and_stay_once() {
        use crate::store::MetricStore;
        let every = i64::from(super::point_merge::MOVE_EVERY);
        let (_dir, store, run) = store_with_run().await;
        for step in 0..=every {
            store.log_batch(&run, batch(20, step)).await.unwrap();
        }
        assert_eq!(count(&store, "metric_points").await, every * 20);
        assert_eq!(count(&store, "metric_points_recent").await, 20);
        // Step 0 again, already moved, and the last step again, still recent: both kept once.
        store.log_batch(&run, batch(20, 0)).await.unwrap();
        store.log_batch(&run, batch(20, every)).await.unwrap();
        let history = store.metric_history(&run, "m7", 0, None).await.unwrap();
        let steps: Vec<i64> = history.items.iter().map(|m| m.step).collect();
        assert_eq!(steps, (0..=every).collect::<Vec<_>>());
        assert!(history
            .items
            .iter()
            .all(|m| (m.value - 7.0).abs() < f64::EPSILON));
        assert_eq!(count(&store, "metrics").await, (every + 1) * 20);
    }
}
