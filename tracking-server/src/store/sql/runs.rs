//! Runs: lifecycle, params/tags/metrics writes (all-or-nothing per request), inputs, search.

use super::experiments::require_active_experiment;
use super::run_info::{fetch_run, require_active_run};
use super::runs_read::{load_runs, search_page};
use super::{now_ms, run_not_found, stored_value, Arg, SqlBuf, SqlStore, IN_CHUNK};
use crate::store::{Batch, NewRun, Page, RunSearch, RunStore, RunUpdate, StoreError, StoreResult};
use protocol::{Dataset, DatasetInputRecord, KeyValue, Metric, Run, RunInfo};
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;

pub(super) use protocol::tags::RUN_NAME as RUN_NAME_TAG;

async fn upsert_tag(conn: &mut AnyConnection, run_id: &str, tag: &KeyValue) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO tags (run_uuid, key, value) VALUES ($1, $2, $3) \
         ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value",
    )
    .bind(run_id)
    .bind(tag.key.as_str())
    .bind(tag.value.as_str())
    .execute(&mut *conn)
    .await?;
    if tag.key == RUN_NAME_TAG {
        sqlx::query("UPDATE runs SET name = $1 WHERE run_uuid = $2")
            .bind(tag.value.as_str())
            .bind(run_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Params are immutable: the same value again is fine, a different one is refused before any write.
async fn insert_params(
    conn: &mut AnyConnection,
    run_id: &str,
    params: &[KeyValue],
) -> StoreResult<()> {
    if params.is_empty() {
        return Ok(());
    }
    let mut sql = SqlBuf::new("SELECT key, value FROM params WHERE run_uuid = ");
    sql.bind(Arg::Str(run_id.to_string())).push(" AND key IN (");
    sql.bind_list(params.iter().map(|p| Arg::Str(p.key.clone())))
        .push(")");
    let existing: HashMap<String, String> = sql
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()?;
    for p in params {
        if let Some(old) = existing.get(&p.key) {
            if *old != p.value {
                return Err(StoreError::InvalidState(format!(
                    "Changing param values is not allowed. Param with key='{}' was already logged \
                     with value='{old}' for run ID='{run_id}'. Attempted logging new value '{}'.",
                    p.key, p.value
                )));
            }
        }
    }
    let new: Vec<&KeyValue> = params
        .iter()
        .filter(|p| !existing.contains_key(&p.key))
        .collect();
    if new.is_empty() {
        return Ok(());
    }
    let mut sql = SqlBuf::new("INSERT INTO params (run_uuid, key, value) VALUES ");
    for (i, p) in new.iter().enumerate() {
        sql.push(if i == 0 { "(" } else { ", (" });
        sql.bind(Arg::Str(run_id.to_string())).push(", ");
        sql.bind(Arg::Str(p.key.clone()))
            .push(", ")
            .bind(Arg::Str(p.value.clone()))
            .push(")");
    }
    sql.execute(&mut *conn).await?;
    Ok(())
}

/// Appends history rows (exact repeats are dropped by the primary key) and moves each key's latest
/// value forward when the new point has a larger (step, timestamp, value).
async fn insert_metrics(
    conn: &mut AnyConnection,
    run_id: &str,
    metrics: &[Metric],
) -> StoreResult<()> {
    // The batch's series first (each key once; only the missing ones, so PostgreSQL's sequence is
    // not advanced for keys that exist), then its points joined to their series ids.
    let mut keys: Vec<&str> = metrics.iter().map(|m| m.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    for chunk in keys.chunks(IN_CHUNK) {
        let mut sql = SqlBuf::new("WITH v (key) AS (VALUES ");
        for (i, key) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" })
                .bind(Arg::Str((*key).to_string()))
                .push(")");
        }
        sql.push(") INSERT INTO metric_series (run_uuid, key) SELECT ")
            .bind(Arg::Str(run_id.to_string()))
            .push(", v.key FROM v WHERE NOT EXISTS (SELECT 1 FROM metric_series s WHERE s.run_uuid = ")
            .bind(Arg::Str(run_id.to_string()))
            .push(" AND s.key = v.key) ON CONFLICT DO NOTHING");
        sql.execute(&mut *conn).await?;
    }
    for chunk in metrics.chunks(IN_CHUNK) {
        let mut sql = SqlBuf::new("WITH v (key, timestamp, step, value, is_nan) AS (VALUES ");
        for (i, m) in chunk.iter().enumerate() {
            let (value, is_nan) = stored_value(m);
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.bind(Arg::Str(m.key.clone())).push(", ");
            sql.bind(Arg::I64(m.timestamp))
                .push(", ")
                .bind(Arg::I64(m.step))
                .push(", ");
            sql.bind(Arg::F64(value))
                .push(", ")
                .bind(Arg::I64(is_nan))
                .push(")");
        }
        // `WHERE true`: SQLite needs a WHERE before an upsert clause on INSERT … SELECT.
        sql.push(
            ") INSERT INTO metric_points (series_id, timestamp, step, value, is_nan) \
             SELECT s.series_id, v.timestamp, v.step, v.value, v.is_nan FROM v \
             JOIN metric_series s ON s.key = v.key AND s.run_uuid = ",
        )
        .bind(Arg::Str(run_id.to_string()))
        .push(" WHERE true ON CONFLICT DO NOTHING");
        sql.execute(&mut *conn).await?;
    }
    // The latest point per key within this batch, by MLflow's (step, timestamp, value) order.
    let mut latest: HashMap<&str, &Metric> = HashMap::new();
    for m in metrics {
        let key = |x: &Metric| (x.step, x.timestamp, stored_value(x).0);
        match latest.get(m.key.as_str()) {
            Some(cur) if key(cur) >= key(m) => {}
            _ => {
                latest.insert(m.key.as_str(), m);
            }
        }
    }
    let latest: Vec<(&str, &Metric)> = latest.into_values().map(|m| (run_id, m)).collect();
    upsert_latest(conn, &latest).await
}

/// Moves each (run, key)'s latest value forward when the new point has a larger (step,
/// timestamp, value), MLflow's order.
pub(super) async fn upsert_latest(
    conn: &mut AnyConnection,
    latest: &[(&str, &Metric)],
) -> StoreResult<()> {
    for chunk in latest.chunks(IN_CHUNK) {
        let mut sql = SqlBuf::new(
            "INSERT INTO latest_metrics (run_uuid, key, value, is_nan, timestamp, step) VALUES ",
        );
        for (i, (run_id, m)) in chunk.iter().enumerate() {
            let (value, is_nan) = stored_value(m);
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.bind_list([
                Arg::Str((*run_id).to_string()),
                Arg::Str(m.key.clone()),
                Arg::F64(value),
                Arg::I64(is_nan),
                Arg::I64(m.timestamp),
                Arg::I64(m.step),
            ])
            .push(")");
        }
        sql.push(
            " ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value, is_nan = excluded.is_nan, \
             timestamp = excluded.timestamp, step = excluded.step \
             WHERE (excluded.step, excluded.timestamp, excluded.value) >= \
             (latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)",
        );
        sql.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Links a run to its datasets (each given with the id to store it under if the experiment does not
/// hold one of that name and digest yet) with the inputs' tags, and to the logged models it took as
/// inputs. Both `log-inputs` and `mltrack import` record inputs this way.
pub(super) async fn record_inputs(
    conn: &mut AnyConnection,
    run_id: &str,
    experiment_id: i64,
    datasets: &[(Dataset, String, Vec<KeyValue>)],
    models: &[String],
) -> StoreResult<()> {
    for (d, new_uuid, tags) in datasets {
        let existing = sqlx::query(
            "SELECT dataset_uuid FROM datasets WHERE experiment_id = $1 AND name = $2 AND digest = $3",
        )
        .bind(experiment_id)
        .bind(d.name.as_str())
        .bind(d.digest.as_str())
        .fetch_optional(&mut *conn)
        .await?;
        let dataset_uuid = if let Some(row) = existing {
            row.try_get::<String, _>(0)?
        } else {
            sqlx::query(
                "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, source_type, \
                 source, schema, profile) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(new_uuid.as_str())
            .bind(experiment_id)
            .bind(d.name.as_str())
            .bind(d.digest.as_str())
            .bind(d.source_type.as_str())
            .bind(d.source.as_str())
            .bind(d.schema.as_deref())
            .bind(d.profile.as_deref())
            .execute(&mut *conn)
            .await?;
            new_uuid.clone()
        };
        sqlx::query(
            "INSERT INTO run_inputs (run_uuid, dataset_uuid) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(run_id)
        .bind(dataset_uuid.as_str())
        .execute(&mut *conn)
        .await?;
        for tag in tags {
            sqlx::query(
                "INSERT INTO input_tags (run_uuid, dataset_uuid, key, value) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (run_uuid, dataset_uuid, key) DO UPDATE SET value = excluded.value",
            )
            .bind(run_id)
            .bind(dataset_uuid.as_str())
            .bind(tag.key.as_str())
            .bind(tag.value.as_str())
            .execute(&mut *conn)
            .await?;
        }
    }
    // As MLflow, a model input is recorded as named; the model may live on another server.
    for model_id in models {
        sqlx::query(
            "INSERT INTO run_model_inputs (run_uuid, model_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(run_id)
        .bind(model_id.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl RunStore for SqlStore {
    async fn create_run(&self, run: NewRun) -> StoreResult<Run> {
        let mut tx = self.write.begin().await?;
        let exp = require_active_experiment(&mut tx, run.experiment_id).await?;
        let run_id = uuid::Uuid::new_v4().simple().to_string();
        let artifact_uri = format!(
            "{}/{run_id}/artifacts",
            exp.artifact_location.trim_end_matches('/')
        );
        sqlx::query(
            "INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time, \
             artifact_uri, lifecycle_stage) VALUES ($1, $2, $3, $4, 'RUNNING', $5, $6, 'active')",
        )
        .bind(run_id.as_str())
        .bind(run.experiment_id)
        .bind(run.run_name.as_str())
        .bind(run.user_id.as_str())
        .bind(run.start_time)
        .bind(artifact_uri.as_str())
        .execute(&mut *tx)
        .await?;
        let mut tags = run.tags;
        tags.retain(|t| t.key != RUN_NAME_TAG);
        tags.push(KeyValue::new(RUN_NAME_TAG, run.run_name.clone()));
        for tag in &tags {
            upsert_tag(&mut tx, &run_id, tag).await?;
        }
        let info = fetch_run(&mut tx, &run_id).await?.into_info();
        let mut runs = load_runs(&mut tx, vec![info]).await?;
        tx.commit().await?;
        runs.pop().ok_or_else(|| run_not_found(&run_id))
    }

    async fn get_run(&self, run_id: &str) -> StoreResult<Run> {
        let mut conn = self.read.acquire().await?;
        let info = fetch_run(&mut conn, run_id).await?.into_info();
        let mut runs = load_runs(&mut conn, vec![info]).await?;
        runs.pop().ok_or_else(|| run_not_found(run_id))
    }

    async fn update_run(&self, run_id: &str, update: RunUpdate) -> StoreResult<RunInfo> {
        let mut tx = self.write.begin().await?;
        let info = fetch_run(&mut tx, run_id).await?;
        let status = update.status.unwrap_or(info.status);
        let end_time = update.end_time.or(info.end_time);
        sqlx::query("UPDATE runs SET status = $1, end_time = $2 WHERE run_uuid = $3")
            .bind(status.as_str())
            .bind(end_time)
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        if let Some(name) = update.run_name.filter(|n| !n.is_empty()) {
            upsert_tag(&mut tx, run_id, &KeyValue::new(RUN_NAME_TAG, name)).await?;
        }
        let info = fetch_run(&mut tx, run_id).await?.into_info();
        tx.commit().await?;
        Ok(info)
    }

    async fn set_run_deleted(&self, run_id: &str, deleted: bool) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        let info = fetch_run(&mut tx, run_id).await?;
        if !deleted {
            let exp = super::experiments::fetch_experiment(&mut tx, info.experiment_id).await?;
            if exp.is_some_and(|e| e.lifecycle_stage != "active") {
                return Err(StoreError::InvalidState(format!(
                    "Cannot restore run {run_id}: its experiment {} is deleted. Restore the \
                     experiment first.",
                    info.experiment_id
                )));
            }
        }
        let (stage, deleted_time) = if deleted {
            ("deleted", Some(now_ms()))
        } else {
            ("active", None)
        };
        sqlx::query("UPDATE runs SET lifecycle_stage = $1, deleted_time = $2 WHERE run_uuid = $3")
            .bind(stage)
            .bind(deleted_time)
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn log_batch(&self, run_id: &str, batch: Batch) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        let info = require_active_run(&mut tx, run_id).await?;
        insert_params(&mut tx, run_id, &batch.params).await?;
        insert_metrics(&mut tx, run_id, &batch.metrics).await?;
        if batch.metrics.iter().any(|m| m.model_id.is_some()) {
            super::logged_models::insert_model_metrics(
                &mut tx,
                run_id,
                info.experiment_id,
                &batch.metrics,
            )
            .await?;
        }
        for tag in &batch.tags {
            upsert_tag(&mut tx, run_id, tag).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn delete_tag(&self, run_id: &str, key: &str) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        require_active_run(&mut tx, run_id).await?;
        let done = sqlx::query("DELETE FROM tags WHERE run_uuid = $1 AND key = $2")
            .bind(run_id)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!(
                "No tag with name: {key} in run with id {run_id}"
            )));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn log_inputs(
        &self,
        run_id: &str,
        inputs: Vec<DatasetInputRecord>,
        models: &[String],
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        let info = require_active_run(&mut tx, run_id).await?;
        let inputs: Vec<(Dataset, String, Vec<KeyValue>)> = inputs
            .into_iter()
            .map(|i| (i.dataset, uuid::Uuid::new_v4().simple().to_string(), i.tags))
            .collect();
        record_inputs(&mut tx, run_id, info.experiment_id, &inputs, models).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn search_runs(&self, search: &RunSearch) -> StoreResult<Page<Run>> {
        search_page(self, search).await
    }
}
