//! Writes of metric history points and of each metric's latest value (log-batch and the import).
//!
//! On PostgreSQL each table gets one statement whose values arrive as a handful of arrays
//! (`unnest($2::text[], $3::int8[], …)`, see [`super::pg_array`]), not one placeholder per value,
//! so each statement's text is the same whatever the batch size and sqlx converts five values, not
//! 2,500. SQLite keeps plain placeholders (it has no array type) and sends a batch's statements as
//! one call ([`super::sqlite_metrics`]).

use super::pg_array::{float_array, int_array, text_array};
use super::sqlite_metrics::{write_metrics, SeenSeries, SeriesCache};
use super::{
    latest_points, push_latest_row, stored_value, Dialect, SqlBuf, IN_CHUNK, LATEST_UPDATE,
};
use crate::store::{StoreError, StoreResult};
use protocol::Metric;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::{HashMap, HashSet};

/// How a batch's points meet points already stored with the same (series, timestamp, step, value):
/// MLflow keeps one of each, so a repeat is never an error to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Repeats {
    /// Skipped point by point (`ON CONFLICT DO NOTHING`).
    Skip,
    /// A plain insert that fails on the first repeat ([`is_repeated_point`]), for the caller to
    /// write the batch again with [`Repeats::Skip`]. PostgreSQL checks an `ON CONFLICT` insert's
    /// key twice (a probe, then the insert) and a plain insert's once (2.9 → 2.1 ms of the
    /// database's CPU for 500 points, measured alone), and repeats are rare (a client retrying).
    Fail,
}

/// The error of a [`Repeats::Fail`] insert that met a stored point.
pub(super) fn is_repeated_point(e: &StoreError) -> bool {
    matches!(e, StoreError::Db(sqlx::Error::Database(db))
        if db.code().as_deref() == Some("23505") && db.constraint() == Some("metric_points_pkey"))
}

/// Appends history rows (exact repeats dropped or failed, see [`Repeats`]) and moves each key's
/// latest value forward when the new point has a larger (step, timestamp, value).
///
/// On SQLite the series a batch met are returned, for the caller to cache once it commits (see
/// [`super::sqlite_metrics`]).
pub(super) async fn insert_metrics(
    conn: &mut AnyConnection,
    cache: &SeriesCache,
    run_id: &str,
    metrics: &[Metric],
    repeats: Repeats,
) -> StoreResult<SeenSeries> {
    if Dialect::of(conn) == Dialect::Sqlite {
        return write_metrics(conn, cache, run_id, metrics).await;
    }
    let seen = SeenSeries::none(run_id);
    if metrics.is_empty() {
        return Ok(seen);
    }
    let mut keys: Vec<&str> = metrics.iter().map(|m| m.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    let latest = latest_points(metrics);
    let ids = series_ids_pg(conn, run_id, &keys).await?;
    insert_points_pg(conn, &ids, metrics, repeats).await?;
    move_latest_pg(conn, run_id, &latest).await?;
    Ok(seen)
}

/// Statements that join a large batch's keys to a run's rows are not kept prepared
/// (`persistent(false)`): after five executions PostgreSQL would switch a prepared statement to
/// its generic plan, which cannot see the array's length and probes the `(run_uuid, key)` index
/// once per key in a nested loop (10 ms for 500 keys); planned with the array at hand it reads
/// the run's rows once and hash-joins them (3 ms), for ~0.2 ms of planning. A small batch keeps
/// them prepared: for a few keys the probes are the right plan, and planning would be most of
/// the work.
///
/// The series id of each of a run's keys, creating the missing series. Only missing keys are
/// inserted, so PostgreSQL's sequence does not advance for keys that exist.
///
/// Why ids are read first and points then inserted by id: the earlier form (an anti-joined series
/// insert, then the points joined to their series by run and key) looked each key up in the
/// `(run_uuid, key)` index twice per request; each lookup compares text under the database's
/// collation, and those lookups were the largest share of a 500-metric batch in the database.
async fn series_ids_pg(
    conn: &mut AnyConnection,
    run_id: &str,
    keys: &[&str],
) -> StoreResult<HashMap<String, i64>> {
    let small = keys.len() <= SMALL_BATCH;
    // Answered as one JSON object: 500 rows cost sqlx a row conversion each.
    let find = "SELECT COALESCE(json_object_agg(s.key, s.series_id), '{}')::text \
                FROM unnest($2::text[]) AS v (key) \
                JOIN metric_series s ON s.run_uuid = $1 AND s.key = v.key";
    let read = |row: &AnyRow, ids: &mut HashMap<String, i64>| -> StoreResult<()> {
        let text: String = row.try_get(0)?;
        let found: HashMap<String, i64> = serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt(format!("metric series ids: {e}")))?;
        ids.extend(found);
        Ok(())
    };
    let mut ids: HashMap<String, i64> = HashMap::with_capacity(keys.len());
    let row = sqlx::query(find)
        .persistent(small)
        .bind(run_id)
        .bind(text_array(keys.iter().copied()))
        .fetch_one(&mut *conn)
        .await?;
    read(&row, &mut ids)?;
    let missing: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| !ids.contains_key(*k))
        .collect();
    if missing.is_empty() {
        return Ok(ids);
    }
    let rows = sqlx::query(
        "INSERT INTO metric_series (run_uuid, key) SELECT $1, k FROM unnest($2::text[]) k \
         ON CONFLICT DO NOTHING RETURNING key, series_id",
    )
    .bind(run_id)
    .bind(text_array(missing.iter().copied()))
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        ids.insert(row.try_get(0)?, row.try_get(1)?);
    }
    // A key another request created meanwhile conflicted above (after that request committed),
    // so this statement's snapshot sees it.
    let missing: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| !ids.contains_key(*k))
        .collect();
    if !missing.is_empty() {
        let row = sqlx::query(find)
            .persistent(small)
            .bind(run_id)
            .bind(text_array(missing.iter().copied()))
            .fetch_one(&mut *conn)
            .await?;
        read(&row, &mut ids)?;
    }
    Ok(ids)
}

async fn insert_points_pg(
    conn: &mut AnyConnection,
    ids: &HashMap<String, i64>,
    metrics: &[Metric],
    repeats: Repeats,
) -> StoreResult<()> {
    let id = |m: &Metric| {
        ids.get(&m.key).copied().ok_or_else(|| {
            StoreError::Corrupt(format!("metric series of key `{}` not found", m.key))
        })
    };
    let series: Vec<i64> = metrics.iter().map(id).collect::<StoreResult<_>>()?;
    let on_conflict = match repeats {
        Repeats::Skip => " ON CONFLICT DO NOTHING",
        Repeats::Fail => "",
    };
    sqlx::query(&format!(
        "INSERT INTO metric_points (series_id, timestamp, step, value, is_nan) \
         SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::float8[], $5::int8[])\
         {on_conflict}"
    ))
    .bind(int_array(series))
    .bind(int_array(metrics.iter().map(|m| m.timestamp)))
    .bind(int_array(metrics.iter().map(|m| m.step)))
    .bind(float_array(metrics.iter().map(|m| stored_value(m).0)))
    .bind(int_array(metrics.iter().map(|m| stored_value(m).1)))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One run's latest values: an UPDATE of the keys whose stored latest point is not newer, then
/// the upsert of [`upsert_latest`] only for the other keys (new ones, or older points), usually
/// none. Upserting every key probes the key once more and takes a speculative-insertion lock per
/// row before it updates (3.3 → 1.9 ms of the database's CPU for 500 keys, measured alone).
async fn move_latest_pg(
    conn: &mut AnyConnection,
    run_id: &str,
    latest: &[&Metric],
) -> StoreResult<()> {
    if latest.is_empty() {
        return Ok(());
    }
    let small = latest.len() <= SMALL_BATCH;
    let moved = sqlx::query(
        "WITH moved AS (UPDATE latest_metrics l SET value = v.value, is_nan = v.is_nan, \
         timestamp = v.timestamp, step = v.step \
         FROM unnest($2::text[], $3::float8[], $4::int8[], $5::int8[], $6::int8[]) \
         AS v (key, value, is_nan, timestamp, step) \
         WHERE l.run_uuid = $1 AND l.key = v.key \
         AND (v.step, v.timestamp, v.value) >= (l.step, l.timestamp, l.value) RETURNING l.key) \
         SELECT CASE WHEN COUNT(*) < $7 THEN COALESCE(json_agg(key), '[]')::text END FROM moved",
    )
    .persistent(small)
    .bind(run_id)
    .bind(text_array(latest.iter().map(|m| m.key.as_str())))
    .bind(float_array(latest.iter().map(|m| stored_value(m).0)))
    .bind(int_array(latest.iter().map(|m| stored_value(m).1)))
    .bind(int_array(latest.iter().map(|m| m.timestamp)))
    .bind(int_array(latest.iter().map(|m| m.step)))
    .bind(i64::try_from(latest.len()).unwrap_or(i64::MAX))
    .fetch_one(&mut *conn)
    .await?;
    // Usually every key moved, and the keys need not travel back.
    let Some(text) = moved.try_get::<Option<String>, _>(0)? else {
        return Ok(());
    };
    let moved: HashSet<String> = serde_json::from_str(&text)
        .map_err(|e| StoreError::Corrupt(format!("moved latest metrics: {e}")))?;
    let rest: Vec<(&str, &Metric)> = latest
        .iter()
        .filter(|m| !moved.contains(&m.key))
        .map(|m| (run_id, *m))
        .collect();
    upsert_latest(conn, &rest).await
}

/// Up to this many keys a batch's lookups stay prepared statements (see [`series_ids_pg`]).
const SMALL_BATCH: usize = 50;

/// Moves each (run, key)'s latest value forward when the new point has a larger (step,
/// timestamp, value), MLflow's order. Each (run, key) must appear once.
pub(super) async fn upsert_latest(
    conn: &mut AnyConnection,
    latest: &[(&str, &Metric)],
) -> StoreResult<()> {
    if latest.is_empty() {
        return Ok(());
    }
    if Dialect::of(conn) == Dialect::Postgres {
        sqlx::query(&format!(
            "INSERT INTO latest_metrics (run_uuid, key, value, is_nan, timestamp, step) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::float8[], $4::int8[], $5::int8[], \
             $6::int8[]){LATEST_UPDATE}"
        ))
        .bind(text_array(latest.iter().map(|(run, _)| *run)))
        .bind(text_array(latest.iter().map(|(_, m)| m.key.as_str())))
        .bind(float_array(latest.iter().map(|(_, m)| stored_value(m).0)))
        .bind(int_array(latest.iter().map(|(_, m)| stored_value(m).1)))
        .bind(int_array(latest.iter().map(|(_, m)| m.timestamp)))
        .bind(int_array(latest.iter().map(|(_, m)| m.step)))
        .execute(&mut *conn)
        .await?;
        return Ok(());
    }
    for chunk in latest.chunks(IN_CHUNK) {
        let mut sql = SqlBuf::new(
            "INSERT INTO latest_metrics (run_uuid, key, value, is_nan, timestamp, step) VALUES ",
        );
        for (i, (run_id, m)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            push_latest_row(&mut sql, run_id, m);
        }
        sql.push(LATEST_UPDATE);
        sql.execute(&mut *conn).await?;
    }
    Ok(())
}
