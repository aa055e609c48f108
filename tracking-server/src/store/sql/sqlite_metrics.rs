//! Metric writes on SQLite: a batch's statements as one multi-statement text, and each series' id
//! and base timestamp kept in memory.
//!
//! Why one text: sqlx runs it on the connection's own thread, statement after statement, binding
//! `?` placeholders in order across them, and answers the rows of all of them; sent one by one,
//! each statement waited for a tokio worker to poll the request before the next one left, while
//! the single writer connection sat idle. [`super::metric_writer`] adds the transaction to the text.
//! Points go to `metric_points_recent`, from where [`super::point_merge`] moves them in bulk.
//!
//! Why a cache: a run's series are created once and deleted only with the run, so their ids and
//! base timestamps never change. Known, a batch's points are inserted by series id, without the
//! 500 text lookups of `(run_uuid, key)` that creating-if-missing and joining costs. The cache is
//! filled only from committed rows; an entry of a purged run is never read, because every write
//! checks first that its run exists and is active.

use super::run_info::check_active;
use super::{
    latest_points, push_latest_row, run_not_found, stored_value, Arg, SqlBuf, IN_CHUNK,
    LATEST_UPDATE,
};
use crate::store::StoreResult;
use protocol::Metric;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;
use std::sync::Mutex;

/// A series' row id and the timestamp its points' offsets count from (migration 0009).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Series {
    id: i64,
    base: i64,
}

/// Series of recently written runs, by run and key. Cleared whole when it reaches
/// [`SeriesCache::CAPACITY`] series (~10 MB); runs still logging fill it again on their next batch.
#[derive(Default)]
pub(super) struct SeriesCache(Mutex<Known>);

#[derive(Default)]
struct Known {
    runs: HashMap<String, HashMap<String, Series>>,
    series: usize,
}

impl SeriesCache {
    const CAPACITY: usize = 100_000;

    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The series of all `keys`, or `None` if any is unknown.
    fn get(&self, run_id: &str, keys: &[&str]) -> Option<HashMap<String, Series>> {
        let known = self.known();
        let run = known.runs.get(run_id)?;
        keys.iter()
            .map(|k| run.get(*k).map(|s| ((*k).to_string(), *s)))
            .collect()
    }
}

/// What a call reads back, tagged by its first column.
const RUN_ROW: &str = "run";
const SERIES_ROW: &str = "series";

/// Series a batch created or found, for [`SeriesCache::remember`] once its transaction commits.
#[must_use]
pub(super) struct SeenSeries {
    run_id: String,
    series: Vec<(String, Series)>,
}

impl SeenSeries {
    pub(super) fn none(run_id: &str) -> Self {
        Self {
            run_id: run_id.to_string(),
            series: Vec::new(),
        }
    }
}

impl SeriesCache {
    /// Keeps what a committed batch learnt. Called only after the commit: a rolled-back series' id
    /// may be given to another run's series later.
    pub(super) fn remember(&self, seen: SeenSeries) {
        if seen.series.is_empty() {
            return;
        }
        let mut known = self.known();
        if known.series + seen.series.len() > Self::CAPACITY {
            *known = Known::default();
        }
        let Known {
            runs,
            series: count,
        } = &mut *known;
        let run = runs.entry(seen.run_id).or_default();
        for (key, s) in seen.series {
            if run.insert(key, s).is_none() {
                *count += 1;
            }
        }
    }
}

/// Writes a batch's points and latest values in one call on `conn`, in the caller's transaction.
pub(super) async fn write_metrics(
    conn: &mut AnyConnection,
    cache: &SeriesCache,
    run_id: &str,
    metrics: &[Metric],
) -> StoreResult<SeenSeries> {
    if metrics.is_empty() {
        return Ok(SeenSeries::none(run_id));
    }
    let rows = statements(cache, run_id, metrics, false)
        .fetch_all(&mut *conn)
        .await?;
    Ok(read_rows(&rows, run_id)?.1)
}

/// A batch's statements. With `check`, the first reads the run's lifecycle stage and every write
/// is guarded by the run being active (see [`read_rows`]).
pub(super) fn statements(
    cache: &SeriesCache,
    run_id: &str,
    metrics: &[Metric],
    check: bool,
) -> SqlBuf {
    let mut keys: Vec<&str> = metrics.iter().map(|m| m.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut sql = SqlBuf::new("");
    let guard = if check {
        sql.push(&format!(
            "SELECT '{RUN_ROW}', lifecycle_stage FROM runs WHERE run_uuid = "
        ))
        .bind(Arg::Str(run_id.to_string()))
        .push(";\n");
        Some(run_id)
    } else {
        None
    };
    if !metrics.is_empty() {
        match cache.get(run_id, &keys) {
            Some(series) => push_points_by_id(&mut sql, &series, metrics, guard),
            None => push_series_and_points(&mut sql, run_id, &keys, metrics, guard),
        }
        push_latest(&mut sql, run_id, &latest_points(metrics), guard);
    }
    sql
}

/// The run's stage if the call checked it (else `None`), and the series read back.
pub(super) fn read_rows(
    rows: &[AnyRow],
    run_id: &str,
) -> StoreResult<(Option<String>, SeenSeries)> {
    let mut stage = None;
    let mut seen = SeenSeries::none(run_id);
    for row in rows {
        let tag: String = row.try_get(0)?;
        if tag == RUN_ROW {
            stage = Some(row.try_get(1)?);
        } else if tag == SERIES_ROW {
            let series = Series {
                id: row.try_get(2)?,
                base: row.try_get(3)?,
            };
            seen.series.push((row.try_get(1)?, series));
        }
    }
    Ok((stage, seen))
}

/// MLflow's error for a write to a run whose stage a call read (`None`: no such run).
pub(super) fn require_active(run_id: &str, stage: Option<&str>) -> StoreResult<()> {
    check_active(run_id, stage.ok_or_else(|| run_not_found(run_id))?)
}

/// `WHERE` of a statement that writes only to an active run (when the call checks the run).
fn push_guard(sql: &mut SqlBuf, guard: Option<&str>) {
    match guard {
        Some(run_id) => {
            sql.push(
                " WHERE EXISTS (SELECT 1 FROM runs WHERE lifecycle_stage = 'active' AND run_uuid = ",
            )
            .bind(Arg::Str(run_id.to_string()))
            .push(")");
        }
        // SQLite needs a WHERE before an upsert clause on INSERT … SELECT.
        None => {
            sql.push(" WHERE true");
        }
    }
}

/// `AND` the point is not in `metric_points` already (it is then in one table or the other, once:
/// see migrations/sqlite/0010). Reads the page the point would go to, without writing it.
fn not_merged([series, offset, step, value, is_nan]: [&str; 5]) -> String {
    format!(
        " AND NOT EXISTS (SELECT 1 FROM metric_points m WHERE m.series_id = {series} \
         AND m.ts_offset = {offset} AND m.step = {step} AND m.value = {value} \
         AND m.is_nan = {is_nan})"
    )
}

/// Points of series known by id: one plain insert (repeated points skipped, as MLflow keeps one).
fn push_points_by_id(
    sql: &mut SqlBuf,
    series: &HashMap<String, Series>,
    metrics: &[Metric],
    guard: Option<&str>,
) {
    for chunk in metrics.chunks(IN_CHUNK) {
        sql.push("INSERT OR IGNORE INTO metric_points_recent (series_id, ts_offset, step, value, is_nan) SELECT * FROM (VALUES ");
        for (i, m) in chunk.iter().enumerate() {
            let s = series[&m.key];
            let (value, is_nan) = stored_value(m);
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.bind_list([
                Arg::I64(s.id),
                Arg::I64(m.timestamp - s.base),
                Arg::I64(m.step),
                Arg::F64(value),
                Arg::I64(is_nan),
            ])
            .push(")");
        }
        sql.push(") v");
        push_guard(sql, guard);
        sql.push(&not_merged([
            "v.column1",
            "v.column2",
            "v.column3",
            "v.column4",
            "v.column5",
        ]));
        sql.push(";\n");
    }
}

/// The run's missing series (each based at its key's first timestamp in this batch), the points
/// joined to their series by key, and then the batch's series rows read back for the cache.
fn push_series_and_points(
    sql: &mut SqlBuf,
    run_id: &str,
    keys: &[&str],
    metrics: &[Metric],
    guard: Option<&str>,
) {
    let mut base: HashMap<&str, i64> = HashMap::with_capacity(keys.len());
    for m in metrics {
        base.entry(m.key.as_str())
            .and_modify(|t| *t = (*t).min(m.timestamp))
            .or_insert(m.timestamp);
    }
    for chunk in keys.chunks(IN_CHUNK) {
        sql.push("INSERT INTO metric_series (run_uuid, key, base_timestamp) SELECT ")
            .bind(Arg::Str(run_id.to_string()))
            .push(", v.column1, v.column2 FROM (VALUES ");
        for (i, key) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" })
                .bind(Arg::Str((*key).to_string()))
                .push(", ")
                .bind(Arg::I64(base[key]))
                .push(")");
        }
        sql.push(") v");
        push_guard(sql, guard);
        sql.push(" ON CONFLICT DO NOTHING;\n");
    }
    for chunk in metrics.chunks(IN_CHUNK) {
        sql.push("WITH v (key, timestamp, step, value, is_nan) AS (VALUES ");
        for (i, m) in chunk.iter().enumerate() {
            let (value, is_nan) = stored_value(m);
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.bind_list([
                Arg::Str(m.key.clone()),
                Arg::I64(m.timestamp),
                Arg::I64(m.step),
                Arg::F64(value),
                Arg::I64(is_nan),
            ])
            .push(")");
        }
        sql.push(
            ") INSERT OR IGNORE INTO metric_points_recent (series_id, ts_offset, step, value, is_nan) \
             SELECT s.series_id, v.timestamp - s.base_timestamp, v.step, v.value, v.is_nan FROM v \
             JOIN metric_series s ON s.key = v.key AND s.run_uuid = ",
        )
        .bind(Arg::Str(run_id.to_string()));
        push_guard(sql, guard);
        sql.push(&not_merged([
            "s.series_id",
            "v.timestamp - s.base_timestamp",
            "v.step",
            "v.value",
            "v.is_nan",
        ]));
        sql.push(";\n");
    }
    for chunk in keys.chunks(IN_CHUNK) {
        sql.push(&format!(
            "SELECT '{SERIES_ROW}', key, series_id, base_timestamp FROM metric_series \
             WHERE run_uuid = "
        ))
        .bind(Arg::Str(run_id.to_string()))
        .push(" AND key IN (")
        .bind_list(chunk.iter().map(|k| Arg::Str((*k).to_string())))
        .push(");\n");
    }
}

/// Each key's latest value moved forward when the batch's point is newer (see [`LATEST_UPDATE`]).
fn push_latest(sql: &mut SqlBuf, run_id: &str, latest: &[&Metric], guard: Option<&str>) {
    for chunk in latest.chunks(IN_CHUNK) {
        sql.push(
            "INSERT INTO latest_metrics (run_uuid, key, value, is_nan, timestamp, step) \
             SELECT * FROM (VALUES ",
        );
        for (i, m) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            push_latest_row(sql, run_id, m);
        }
        sql.push(")");
        push_guard(sql, guard);
        sql.push(LATEST_UPDATE).push(";\n");
    }
}

#[cfg(test)]
mod tests {
    use super::super::SqlStore;
    use crate::store::{Batch, MetricStore, RunStore};
    use protocol::Metric;
    use sqlx::{Connection, Executor};

    fn point(key: &str, timestamp: i64, step: i64, value: f64) -> Metric {
        Metric {
            key: key.into(),
            value,
            timestamp,
            step,
            ..Metric::default()
        }
    }

    /// A store written before migration 0009 keeps its histories, and takes new points in them.
    #[tokio::test]
    async fn a_store_from_before_offsets_keeps_and_extends_its_histories() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let url = format!("sqlite://{}?mode=rwc", path.display());
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            let mut old = sqlx::migrate!("../migrations/sqlite");
            old.migrations = std::borrow::Cow::Owned(old.migrations[..8].to_vec());
            old.run(&mut conn).await.unwrap();
            conn.execute(
                "INSERT INTO experiments (experiment_id, name, artifact_location, creation_time, \
                 last_update_time) VALUES (0, 'Default', 'file:///a', 1, 1);
                 INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time, \
                 artifact_uri) VALUES ('r1', 0, 'old', 'u', 'RUNNING', 1, 'file:///a');
                 INSERT INTO metric_series (run_uuid, key) VALUES ('r1', 'loss');
                 INSERT INTO metric_points (series_id, timestamp, step, value, is_nan) VALUES \
                 (1, 1700000000000, 0, 0.5, 0), (1, 1700000001000, 1, 0.25, 0);
                 INSERT INTO latest_metrics VALUES ('r1', 'loss', 0.25, 0, 1700000001000, 1);",
            )
            .await
            .unwrap();
        }
        let store = SqlStore::connect(&format!("sqlite:///{}", path.display()))
            .await
            .unwrap();
        let batch = Batch {
            metrics: vec![
                point("loss", 1_700_000_002_000, 2, 0.125),
                point("acc", 1_700_000_002_000, 2, 0.9),
                point("acc", 1_700_000_003_000, 3, 0.95),
            ],
            params: vec![],
            tags: vec![],
        };
        store.log_batch("r1", batch).await.unwrap();
        let loss = store.metric_history("r1", "loss", 0, None).await.unwrap();
        let got: Vec<(i64, i64, f64)> = loss
            .items
            .iter()
            .map(|m| (m.timestamp, m.step, m.value))
            .collect();
        assert_eq!(
            got,
            [
                (1_700_000_000_000, 0, 0.5),
                (1_700_000_001_000, 1, 0.25),
                (1_700_000_002_000, 2, 0.125)
            ]
        );
        let acc = store.metric_history("r1", "acc", 0, None).await.unwrap();
        assert_eq!(acc.items.len(), 2);
        assert_eq!(acc.items[1].timestamp, 1_700_000_003_000);
        // The old series counts from 0 (its points keep absolute timestamps); the new one from its
        // first point, whose offset is 0.
        let stored: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT s.key, s.base_timestamp, p.ts_offset FROM (SELECT * FROM metric_points \
             UNION ALL SELECT * FROM metric_points_recent) p \
             JOIN metric_series s USING (series_id) ORDER BY s.key, p.step",
        )
        .fetch_all(&store.read)
        .await
        .unwrap();
        assert_eq!(stored[0], ("acc".to_string(), 1_700_000_002_000, 0));
        assert_eq!(stored[1], ("acc".to_string(), 1_700_000_002_000, 1000));
        assert_eq!(stored[4], ("loss".to_string(), 0, 1_700_000_002_000));
    }
}
