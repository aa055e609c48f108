//! `mltrack import`'s writes: multi-row upserts, one transaction per chunk of runs. Histories go
//! into the same series and points tables as `log-batch` writes, but a chunk's points in a few
//! statements of thousands of rows rather than three statements per run.

use super::logged_models::insert_model_metric;
use super::metric_writes::upsert_latest;
use super::runs::record_inputs;
use super::{stored_value, Arg, Dialect, SqlBuf, SqlStore, IN_CHUNK};
use crate::store::import::{
    ImportExperiment, ImportLoggedModel, ImportRegisteredModel, ImportRun, ImportStore,
};
use crate::store::{StoreError, StoreResult};
use protocol::{Dataset, KeyValue, Metric};
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;

/// Rows of `(owner columns…, key, value)` upserted into `table`, a statement per chunk.
async fn upsert_key_values(
    conn: &mut AnyConnection,
    table: &str,
    owner_columns: &[&str],
    rows: &[(Vec<Arg>, &KeyValue)],
) -> StoreResult<()> {
    let conflict = owner_columns.join(", ");
    // SQLite allows 32,766 bind parameters per statement: stay well under it.
    let per_statement = (IN_CHUNK * 3) / (owner_columns.len() + 2);
    for chunk in rows.chunks(per_statement.max(1)) {
        let mut sql = SqlBuf::new(&format!(
            "INSERT INTO {table} ({conflict}, key, value) VALUES "
        ));
        for (i, (owner, kv)) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            for arg in owner {
                sql.bind(arg.clone()).push(", ");
            }
            sql.bind(Arg::Str(kv.key.clone()))
                .push(", ")
                .bind(Arg::Str(kv.value.clone()))
                .push(")");
        }
        sql.push(&format!(
            " ON CONFLICT ({conflict}, key) DO UPDATE SET value = excluded.value"
        ));
        sql.execute(&mut *conn).await?;
    }
    Ok(())
}

fn opt_i64(v: Option<i64>) -> Arg {
    v.map_or(Arg::NullI64, Arg::I64)
}

async fn write_runs(conn: &mut AnyConnection, runs: &[ImportRun]) -> StoreResult<()> {
    for chunk in runs.chunks(IN_CHUNK / 10) {
        let mut sql = SqlBuf::new(
            "INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time, end_time, \
             artifact_uri, lifecycle_stage, deleted_time) VALUES ",
        );
        for (i, r) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            let args = [
                Arg::Str(r.run_uuid.clone()),
                Arg::I64(r.experiment_id),
                Arg::Str(r.name.clone()),
                Arg::Str(r.user_id.clone()),
                Arg::Str(r.status.clone()),
                Arg::I64(r.start_time),
                opt_i64(r.end_time),
                Arg::Str(r.artifact_uri.clone()),
                Arg::Str(r.lifecycle_stage.clone()),
                opt_i64(r.deleted_time),
            ];
            sql.bind_list(args).push(")");
        }
        sql.push(
            " ON CONFLICT (run_uuid) DO UPDATE SET experiment_id = excluded.experiment_id, \
             name = excluded.name, user_id = excluded.user_id, status = excluded.status, \
             start_time = excluded.start_time, end_time = excluded.end_time, \
             artifact_uri = excluded.artifact_uri, lifecycle_stage = excluded.lifecycle_stage, \
             deleted_time = excluded.deleted_time",
        );
        sql.execute(&mut *conn).await?;
    }
    let run_owner = |r: &ImportRun| vec![Arg::Str(r.run_uuid.clone())];
    let rows: Vec<_> = runs
        .iter()
        .flat_map(|r| r.params.iter().map(move |p| (run_owner(r), p)))
        .collect();
    upsert_key_values(conn, "params", &["run_uuid"], &rows).await?;
    let rows: Vec<_> = runs
        .iter()
        .flat_map(|r| r.tags.iter().map(move |t| (run_owner(r), t)))
        .collect();
    upsert_key_values(conn, "tags", &["run_uuid"], &rows).await?;
    write_metrics(conn, runs).await?;
    for r in runs {
        write_inputs(conn, r).await?;
    }
    Ok(())
}

/// Series (missing ones only, so PostgreSQL's sequence is not advanced by a re-import), then the
/// points by series id, then each series' latest point by MLflow's (step, timestamp, value) order.
async fn write_metrics(conn: &mut AnyConnection, runs: &[ImportRun]) -> StoreResult<()> {
    // Each series with its first timestamp, which SQLite's points count from (migration 0009).
    let mut series: HashMap<(&str, &str), i64> = HashMap::new();
    for r in runs {
        for m in &r.metrics {
            series
                .entry((r.run_uuid.as_str(), m.key.as_str()))
                .and_modify(|t| *t = (*t).min(m.timestamp))
                .or_insert(m.timestamp);
        }
    }
    let mut series: Vec<((&str, &str), i64)> = series.into_iter().collect();
    series.sort_unstable();
    if series.is_empty() {
        return Ok(());
    }
    let sqlite = Dialect::of(conn) == Dialect::Sqlite;
    for chunk in series.chunks(IN_CHUNK) {
        let mut sql = SqlBuf::new("WITH v (run_uuid, key, base) AS (VALUES ");
        for (i, ((run, key), base)) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" })
                .bind(Arg::Str((*run).to_string()))
                .push(", ")
                .bind(Arg::Str((*key).to_string()))
                .push(", ")
                .bind(Arg::I64(*base))
                .push(")");
        }
        sql.push(if sqlite {
            ") INSERT INTO metric_series (run_uuid, key, base_timestamp) \
             SELECT v.run_uuid, v.key, v.base FROM v"
        } else {
            ") INSERT INTO metric_series (run_uuid, key) SELECT v.run_uuid, v.key FROM v"
        })
        .push(
            " WHERE NOT EXISTS (SELECT 1 FROM metric_series s WHERE s.run_uuid = v.run_uuid \
             AND s.key = v.key) ON CONFLICT DO NOTHING",
        );
        sql.execute(&mut *conn).await?;
    }
    // Series id and base timestamp (0 on PostgreSQL, whose points keep absolute timestamps).
    let mut ids: HashMap<(String, String), (i64, i64)> = HashMap::with_capacity(series.len());
    for chunk in runs.chunks(IN_CHUNK) {
        let mut sql = SqlBuf::new(if sqlite {
            "SELECT run_uuid, key, series_id, base_timestamp FROM metric_series WHERE run_uuid IN ("
        } else {
            "SELECT run_uuid, key, series_id, 0 FROM metric_series WHERE run_uuid IN ("
        });
        sql.bind_list(chunk.iter().map(|r| Arg::Str(r.run_uuid.clone())))
            .push(")");
        for row in sql.fetch_all(&mut *conn).await? {
            let key = (row.try_get(0)?, row.try_get(1)?);
            ids.insert(key, (row.try_get(2)?, row.try_get(3)?));
        }
    }
    let id_of = |run: &ImportRun, m: &Metric| -> StoreResult<(i64, i64)> {
        ids.get(&(run.run_uuid.clone(), m.key.clone()))
            .copied()
            .ok_or_else(|| StoreError::Corrupt(format!("no series for {} {}", run.run_uuid, m.key)))
    };
    // 5 values a point; 5,000 points stay under SQLite's 32,766 parameters.
    let points: Vec<((i64, i64), &Metric)> = runs
        .iter()
        .flat_map(|r| r.metrics.iter().map(move |m| (r, m)))
        .map(|(r, m)| Ok((id_of(r, m)?, m)))
        .collect::<StoreResult<_>>()?;
    for chunk in points.chunks(5 * IN_CHUNK) {
        let mut sql = SqlBuf::new(if sqlite {
            "INSERT INTO metric_points (series_id, ts_offset, step, value, is_nan) VALUES "
        } else {
            "INSERT INTO metric_points (series_id, timestamp, step, value, is_nan) VALUES "
        });
        for (i, ((id, base), m)) in chunk.iter().enumerate() {
            let (value, is_nan) = stored_value(m);
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.bind_list([
                Arg::I64(*id),
                Arg::I64(m.timestamp - base),
                Arg::I64(m.step),
                Arg::F64(value),
                Arg::I64(is_nan),
            ])
            .push(")");
        }
        sql.push(" ON CONFLICT DO NOTHING");
        sql.execute(&mut *conn).await?;
    }
    let mut latest: HashMap<(&str, &str), &Metric> = HashMap::new();
    for r in runs {
        for m in &r.metrics {
            let order = |x: &Metric| (x.step, x.timestamp, stored_value(x).0);
            let slot = latest
                .entry((r.run_uuid.as_str(), m.key.as_str()))
                .or_insert(m);
            if order(m) > order(slot) {
                *slot = m;
            }
        }
    }
    let latest: Vec<(&str, &Metric)> = latest.into_iter().map(|((run, _), m)| (run, m)).collect();
    upsert_latest(conn, &latest).await
}

async fn write_inputs(conn: &mut AnyConnection, r: &ImportRun) -> StoreResult<()> {
    let datasets: Vec<(Dataset, String, Vec<KeyValue>)> = r
        .inputs
        .iter()
        .map(|i| (i.dataset.clone(), i.dataset_uuid.clone(), i.tags.clone()))
        .collect();
    record_inputs(
        conn,
        &r.run_uuid,
        r.experiment_id,
        &datasets,
        &r.model_inputs,
    )
    .await?;
    for (model_id, step) in &r.model_outputs {
        sqlx::query(
            "INSERT INTO run_outputs (run_uuid, model_id, step) VALUES ($1, $2, $3) \
             ON CONFLICT (run_uuid, model_id) DO UPDATE SET step = excluded.step",
        )
        .bind(r.run_uuid.as_str())
        .bind(model_id.as_str())
        .bind(*step)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn write_logged_model(conn: &mut AnyConnection, m: &ImportLoggedModel) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, creation_time, \
         last_updated_time, status, model_type, source_run_id, status_message, lifecycle_stage) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (model_id) DO UPDATE SET \
         experiment_id = excluded.experiment_id, name = excluded.name, \
         artifact_location = excluded.artifact_location, creation_time = excluded.creation_time, \
         last_updated_time = excluded.last_updated_time, status = excluded.status, \
         model_type = excluded.model_type, source_run_id = excluded.source_run_id, \
         status_message = excluded.status_message, lifecycle_stage = excluded.lifecycle_stage",
    )
    .bind(m.model_id.as_str())
    .bind(m.experiment_id)
    .bind(m.name.as_str())
    .bind(m.artifact_location.as_str())
    .bind(m.creation_time)
    .bind(m.last_updated_time)
    .bind(m.status.as_str())
    .bind(m.model_type.as_deref())
    .bind(m.source_run_id.as_deref())
    .bind(m.status_message.as_deref())
    .bind(m.lifecycle_stage.as_str())
    .execute(&mut *conn)
    .await?;
    let owner = || vec![Arg::Str(m.model_id.clone())];
    let rows: Vec<_> = m.tags.iter().map(|t| (owner(), t)).collect();
    upsert_key_values(conn, "logged_model_tags", &["model_id"], &rows).await?;
    let rows: Vec<_> = m.params.iter().map(|p| (owner(), p)).collect();
    upsert_key_values(conn, "logged_model_params", &["model_id"], &rows).await?;
    for metric in &m.metrics {
        let run_id = metric.run_id.as_deref().unwrap_or_default();
        insert_model_metric(&mut *conn, &m.model_id, run_id, m.experiment_id, metric).await?;
    }
    Ok(())
}

async fn write_registered_model(
    conn: &mut AnyConnection,
    m: &ImportRegisteredModel,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO registered_models (name, creation_time, last_updated_time, description, \
         next_version) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO UPDATE SET \
         creation_time = excluded.creation_time, last_updated_time = excluded.last_updated_time, \
         description = excluded.description, next_version = CASE WHEN \
         excluded.next_version > registered_models.next_version THEN excluded.next_version \
         ELSE registered_models.next_version END",
    )
    .bind(m.name.as_str())
    .bind(m.creation_time)
    .bind(m.last_updated_time)
    .bind(m.description.as_deref())
    .bind(m.max_version + 1)
    .execute(&mut *conn)
    .await?;
    let owner = || vec![Arg::Str(m.name.clone())];
    let rows: Vec<_> = m.tags.iter().map(|t| (owner(), t)).collect();
    upsert_key_values(conn, "registered_model_tags", &["name"], &rows).await?;
    for v in &m.versions {
        sqlx::query(
            "INSERT INTO model_versions (name, version, creation_time, last_updated_time, \
             description, user_id, current_stage, source, run_id, run_link, status, status_message, \
             model_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (name, version) DO UPDATE SET creation_time = excluded.creation_time, \
             last_updated_time = excluded.last_updated_time, description = excluded.description, \
             user_id = excluded.user_id, current_stage = excluded.current_stage, \
             source = excluded.source, run_id = excluded.run_id, run_link = excluded.run_link, \
             status = excluded.status, status_message = excluded.status_message, \
             model_id = excluded.model_id",
        )
        .bind(m.name.as_str())
        .bind(v.version)
        .bind(v.creation_time)
        .bind(v.last_updated_time)
        .bind(v.description.as_deref())
        .bind(v.user_id.as_deref())
        .bind(v.current_stage.as_str())
        .bind(v.source.as_str())
        .bind(v.run_id.as_deref())
        .bind(v.run_link.as_deref())
        .bind(v.status.as_str())
        .bind(v.status_message.as_deref())
        .bind(v.model_id.as_deref())
        .execute(&mut *conn)
        .await?;
        let owner = || vec![Arg::Str(m.name.clone()), Arg::I64(v.version)];
        let rows: Vec<_> = v.tags.iter().map(|t| (owner(), t)).collect();
        upsert_key_values(conn, "model_version_tags", &["name", "version"], &rows).await?;
    }
    for (alias, version) in &m.aliases {
        sqlx::query(
            "INSERT INTO registered_model_aliases (name, alias, version) VALUES ($1, $2, $3) \
             ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version",
        )
        .bind(m.name.as_str())
        .bind(alias.as_str())
        .bind(*version)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Refused when the id or the name is taken by a different experiment: the ids could not be kept.
async fn write_experiment(conn: &mut AnyConnection, e: &ImportExperiment) -> StoreResult<()> {
    let by_id = sqlx::query("SELECT name FROM experiments WHERE experiment_id = $1")
        .bind(e.experiment_id)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(row) = by_id {
        let name: String = row.try_get(0)?;
        if name != e.name {
            return Err(StoreError::AlreadyExists(format!(
                "experiment id {} is `{name}` in this store but `{}` in the source; the import \
                 keeps MLflow's ids, so import into a new store",
                e.experiment_id, e.name
            )));
        }
    }
    let by_name = sqlx::query("SELECT experiment_id FROM experiments WHERE name = $1")
        .bind(e.name.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(row) = by_name {
        let id: i64 = row.try_get(0)?;
        if id != e.experiment_id {
            return Err(StoreError::AlreadyExists(format!(
                "experiment `{}` has id {id} in this store but {} in the source; the import \
                 keeps MLflow's ids, so import into a new store",
                e.name, e.experiment_id
            )));
        }
    }
    sqlx::query(
        "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, \
         creation_time, last_update_time) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (experiment_id) DO UPDATE SET artifact_location = excluded.artifact_location, \
         lifecycle_stage = excluded.lifecycle_stage, creation_time = excluded.creation_time, \
         last_update_time = excluded.last_update_time",
    )
    .bind(e.experiment_id)
    .bind(e.name.as_str())
    .bind(e.artifact_location.as_str())
    .bind(e.lifecycle_stage.as_str())
    .bind(e.creation_time)
    .bind(e.last_update_time)
    .execute(&mut *conn)
    .await?;
    let rows: Vec<_> = e
        .tags
        .iter()
        .map(|t| (vec![Arg::I64(e.experiment_id)], t))
        .collect();
    upsert_key_values(conn, "experiment_tags", &["experiment_id"], &rows).await?;
    Ok(())
}

#[async_trait::async_trait]
impl ImportStore for SqlStore {
    async fn import_experiments(&self, experiments: &[ImportExperiment]) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        for e in experiments {
            write_experiment(&mut tx, e).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn import_runs(&self, runs: &[ImportRun]) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        write_runs(&mut tx, runs).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn import_logged_models(&self, models: &[ImportLoggedModel]) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        for m in models {
            write_logged_model(&mut tx, m).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn import_registered_model(&self, m: &ImportRegisteredModel) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        write_registered_model(&mut tx, m).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn finish_import(&self) -> StoreResult<()> {
        if self.dialect == Dialect::Postgres {
            sqlx::query(
                "SELECT setval(pg_get_serial_sequence('experiments', 'experiment_id'), \
                 GREATEST((SELECT MAX(experiment_id) FROM experiments), 1))",
            )
            .execute(&self.write)
            .await?;
        }
        Ok(())
    }
}
