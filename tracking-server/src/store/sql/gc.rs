//! Permanent deletion for `mltrack gc`: the rows of runs and experiments in the `deleted` stage.
//! Artifacts are the caller's job (`ops::gc`), done first, so a failure there leaves the rows in
//! place and the next `gc` tries again.

use super::{Arg, SqlBuf, SqlStore};
use crate::store::{StoreError, StoreResult};
use sqlx::Row;

/// A soft-deleted run about to be purged.
#[derive(Debug, Clone)]
pub struct DeletedRun {
    pub run_id: String,
    pub experiment_id: i64,
    pub artifact_uri: String,
}

/// A soft-deleted experiment about to be purged, with its logged models' artifact locations.
#[derive(Debug, Clone)]
pub struct DeletedExperiment {
    pub experiment_id: i64,
    pub model_artifact_locations: Vec<String>,
}

impl SqlStore {
    /// Deleted runs whose deletion is at or before `cutoff_ms`, limited to `run_ids` and to the
    /// runs of `experiment_ids` when given. A named run that is missing or still active is an error,
    /// as in `mlflow gc`.
    pub async fn deleted_runs(
        &self,
        cutoff_ms: i64,
        run_ids: &[String],
        experiment_ids: &[i64],
    ) -> StoreResult<Vec<DeletedRun>> {
        let mut conn = self.read.acquire().await?;
        let mut sql = SqlBuf::new(
            "SELECT run_uuid, experiment_id, artifact_uri, lifecycle_stage, deleted_time FROM runs WHERE ",
        );
        if run_ids.is_empty() {
            sql.push("lifecycle_stage = 'deleted'");
        } else {
            sql.push("run_uuid IN (")
                .bind_list(run_ids.iter().map(|r| Arg::Str(r.clone())))
                .push(")");
        }
        if !experiment_ids.is_empty() {
            sql.push(" AND experiment_id IN (")
                .bind_list(experiment_ids.iter().map(|e| Arg::I64(*e)))
                .push(")");
        }
        sql.push(" ORDER BY run_uuid");
        let rows = sql.fetch_all(&mut conn).await?;
        if rows.len() < run_ids.len() {
            let found: Vec<String> = rows
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
            if let Some(missing) = run_ids.iter().find(|id| !found.contains(id)) {
                return Err(super::run_not_found(missing));
            }
        }
        let mut out = Vec::new();
        for row in rows {
            let run_id: String = row.try_get(0)?;
            let stage: String = row.try_get(3)?;
            let deleted_time: Option<i64> = row.try_get(4)?;
            if stage != "deleted" {
                return Err(StoreError::InvalidState(format!(
                    "Run {run_id} is not in the `deleted` lifecycle stage. Only deleted runs can be \
                     permanently deleted."
                )));
            }
            if deleted_time.is_some_and(|t| t > cutoff_ms) {
                continue;
            }
            out.push(DeletedRun {
                run_id,
                experiment_id: row.try_get(1)?,
                artifact_uri: row.try_get(2)?,
            });
        }
        Ok(out)
    }

    /// Deletes a run's rows; params, tags, metrics and inputs follow by `ON DELETE CASCADE`.
    pub async fn purge_run(&self, run_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM runs WHERE run_uuid = $1 AND lifecycle_stage = 'deleted'")
            .bind(run_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Deleted experiments last changed at or before `cutoff_ms` (limited to `ids` when given).
    pub async fn deleted_experiments(
        &self,
        cutoff_ms: i64,
        ids: &[i64],
    ) -> StoreResult<Vec<DeletedExperiment>> {
        let mut conn = self.read.acquire().await?;
        let mut sql = SqlBuf::new(
            "SELECT experiment_id, lifecycle_stage, last_update_time FROM experiments WHERE ",
        );
        if ids.is_empty() {
            sql.push("lifecycle_stage = 'deleted'");
        } else {
            sql.push("experiment_id IN (")
                .bind_list(ids.iter().map(|e| Arg::I64(*e)))
                .push(")");
        }
        let mut out = Vec::new();
        for row in sql.fetch_all(&mut conn).await? {
            let id: i64 = row.try_get(0)?;
            let stage: String = row.try_get(1)?;
            if stage != "deleted" {
                return Err(StoreError::InvalidState(format!(
                    "Experiment {id} is not in the `deleted` lifecycle stage. Only deleted \
                     experiments can be permanently deleted."
                )));
            }
            if row.try_get::<i64, _>(2)? > cutoff_ms {
                continue;
            }
            let models =
                sqlx::query("SELECT artifact_location FROM logged_models WHERE experiment_id = $1")
                    .bind(id)
                    .fetch_all(&mut *conn)
                    .await?
                    .iter()
                    .map(|r| r.try_get(0))
                    .collect::<Result<Vec<String>, _>>()?;
            out.push(DeletedExperiment {
                experiment_id: id,
                model_artifact_locations: models,
            });
        }
        if let Some(missing) = ids
            .iter()
            .find(|id| !out.iter().any(|e| e.experiment_id == **id))
        {
            // Either unknown or deleted too recently; only the former is an error.
            let exists = sqlx::query("SELECT 1 FROM experiments WHERE experiment_id = $1")
                .bind(*missing)
                .fetch_optional(&mut *conn)
                .await?
                .is_some();
            if !exists {
                return Err(super::experiment_not_found(*missing));
            }
        }
        Ok(out)
    }

    /// Deletes a deleted experiment that has no runs left, with its datasets and logged models;
    /// `false` if runs remain (they were deleted too recently to purge).
    pub async fn purge_experiment(&self, id: i64) -> StoreResult<bool> {
        let mut tx = self.write.begin().await?;
        let runs_left = sqlx::query("SELECT 1 FROM runs WHERE experiment_id = $1 LIMIT 1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if runs_left {
            return Ok(false);
        }
        for table in ["datasets", "logged_models", "experiment_tags"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE experiment_id = $1"))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "DELETE FROM experiments WHERE experiment_id = $1 AND lifecycle_stage = 'deleted'",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
