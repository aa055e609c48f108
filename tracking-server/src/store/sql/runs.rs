//! Runs: lifecycle, params/tags/metrics writes (all-or-nothing per request), inputs, search.

use super::experiments::require_active_experiment;
use super::metric_writes::{insert_metrics, is_repeated_point, Repeats};
use super::run_info::{fetch_run, lock_active_run, require_active_run};
use super::runs_read::{load_runs, search_page, search_page_json};
use super::{now_ms, run_not_found, Arg, Dialect, SqlBuf, SqlStore};
use crate::store::{
    Batch, NewRun, Page, RunSearch, RunStore, RunUpdate, StoreError, StoreResult, WrittenPage,
};
use protocol::{Dataset, DatasetInputRecord, KeyValue, Run, RunInfo};
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

impl SqlStore {
    /// One attempt at a log-batch, all or nothing.
    async fn log_batch_with(
        &self,
        run_id: &str,
        batch: &Batch,
        repeats: Repeats,
    ) -> StoreResult<()> {
        let model_metrics = batch.metrics.iter().any(|m| m.model_id.is_some());
        let mut tx = self.write.begin().await?;
        // The lock guards metric points (see `lock_active_run`); params and tags keep their
        // foreign keys.
        let info = if batch.metrics.is_empty() {
            require_active_run(&mut tx, run_id).await?
        } else {
            lock_active_run(&mut tx, run_id).await?
        };
        insert_params(&mut tx, run_id, &batch.params).await?;
        let seen = insert_metrics(&mut tx, &self.series, run_id, &batch.metrics, repeats).await?;
        if model_metrics {
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
        self.series.remember(seen);
        Ok(())
    }
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
        if let Some(writer) = &self.batches {
            if batch.params.is_empty()
                && batch.tags.is_empty()
                && batch.metrics.iter().all(|m| m.model_id.is_none())
            {
                // A training loop's batch: one call, its transaction and run check included.
                return writer
                    .log_metrics(&self.series, run_id, &batch.metrics)
                    .await;
            }
        }
        // PostgreSQL inserts points without an `ON CONFLICT` probe (see `Repeats`); a batch that
        // repeats a stored point is written again, whole, skipping repeats: the same outcome.
        let first = match self.dialect {
            Dialect::Postgres => Repeats::Fail,
            Dialect::Sqlite => Repeats::Skip,
        };
        match self.log_batch_with(run_id, &batch, first).await {
            Err(e) if first == Repeats::Fail && is_repeated_point(&e) => {
                self.log_batch_with(run_id, &batch, Repeats::Skip).await
            }
            done => done,
        }
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

    async fn search_runs_json(
        &self,
        search: &RunSearch,
        out: &mut Vec<u8>,
    ) -> StoreResult<WrittenPage> {
        search_page_json(self, search, out).await
    }
}
