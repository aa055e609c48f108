//! Experiments: create, read, search, rename, soft delete/restore (cascading to runs), tags.

use super::search::{compile_experiment_search, SearchSql};
use super::{experiment_not_found, is_unique_violation, now_ms, Arg, SqlBuf, SqlStore};
use crate::store::ExperimentStore;
use crate::store::{ExperimentSearch, Page, StoreError, StoreResult};
use protocol::{Experiment, KeyValue};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

const EXPERIMENT_COLUMNS: &str =
    "experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time";

fn experiment_from_row(row: &AnyRow) -> Result<Experiment, sqlx::Error> {
    Ok(Experiment {
        experiment_id: row.try_get::<i64, _>(0)?.to_string(),
        name: row.try_get(1)?,
        artifact_location: row.try_get(2)?,
        lifecycle_stage: row.try_get(3)?,
        creation_time: row.try_get(4)?,
        last_update_time: row.try_get(5)?,
        tags: Vec::new(),
    })
}

/// Attaches tags to experiments already loaded, in one query per chunk.
async fn load_experiment_tags(
    conn: &mut AnyConnection,
    experiments: &mut [Experiment],
) -> Result<(), sqlx::Error> {
    for chunk in experiments.chunks_mut(super::IN_CHUNK) {
        let mut sql = SqlBuf::new(
            "SELECT experiment_id, key, value FROM experiment_tags WHERE experiment_id IN (",
        );
        sql.bind_list(
            chunk
                .iter()
                .map(|e| Arg::I64(e.experiment_id.parse().unwrap_or(-1))),
        );
        sql.push(") ORDER BY key");
        for row in sql.fetch_all(&mut *conn).await? {
            let id: i64 = row.try_get(0)?;
            let id = id.to_string();
            if let Some(exp) = chunk.iter_mut().find(|e| e.experiment_id == id) {
                exp.tags.push(KeyValue {
                    key: row.try_get(1)?,
                    value: row.try_get(2)?,
                });
            }
        }
    }
    Ok(())
}

/// Reads one experiment inside an open transaction or connection.
pub(super) async fn fetch_experiment(
    conn: &mut AnyConnection,
    id: i64,
) -> StoreResult<Option<Experiment>> {
    let row = sqlx::query(&format!(
        "SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE experiment_id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        None => Ok(None),
        Some(row) => {
            let mut exp = vec![experiment_from_row(&row)?];
            load_experiment_tags(conn, &mut exp).await?;
            Ok(exp.pop())
        }
    }
}

/// The experiment must exist and be active (runs are created and experiments renamed only then).
pub(super) async fn require_active_experiment(
    conn: &mut AnyConnection,
    id: i64,
) -> StoreResult<Experiment> {
    let exp = fetch_experiment(conn, id)
        .await?
        .ok_or_else(|| experiment_not_found(id))?;
    if exp.lifecycle_stage != "active" {
        return Err(StoreError::InvalidState(format!(
            "The experiment {id} must be in the 'active' state. Current state is {}.",
            exp.lifecycle_stage
        )));
    }
    Ok(exp)
}

fn join_location(root: &str, id: i64) -> String {
    format!("{}/{id}", root.trim_end_matches('/'))
}

async fn upsert_experiment_tag(
    conn: &mut AnyConnection,
    id: i64,
    tag: &KeyValue,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO experiment_tags (experiment_id, key, value) VALUES ($1, $2, $3) \
         ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
    )
    .bind(id)
    .bind(tag.key.as_str())
    .bind(tag.value.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Searches fetch one row more than a page; its presence means there is a next page.
pub(super) fn page_overflow<T>(items: &mut Vec<T>, max_results: u64, offset: u64) -> Option<u64> {
    let max = usize::try_from(max_results).unwrap_or(usize::MAX);
    if items.len() > max {
        items.truncate(max);
        Some(offset + max_results)
    } else {
        None
    }
}

#[async_trait::async_trait]
impl ExperimentStore for SqlStore {
    async fn search_datasets(
        &self,
        experiment_ids: &[i64],
    ) -> StoreResult<Vec<protocol::DatasetSummary>> {
        if experiment_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = SqlBuf::new(
            "SELECT DISTINCT d.experiment_id, d.name, d.digest, t.value FROM datasets d \
             JOIN run_inputs i ON i.dataset_uuid = d.dataset_uuid \
             LEFT JOIN input_tags t ON t.run_uuid = i.run_uuid AND t.dataset_uuid = i.dataset_uuid \
             AND t.key = 'mlflow.data.context' WHERE d.experiment_id IN (",
        );
        sql.bind_list(experiment_ids.iter().map(|id| Arg::I64(*id)))
            .push(") ORDER BY d.experiment_id, d.name, d.digest LIMIT 1000");
        let mut conn = self.read.acquire().await?;
        sql.fetch_all(&mut conn)
            .await?
            .iter()
            .map(|r| {
                Ok(protocol::DatasetSummary {
                    experiment_id: r.try_get::<i64, _>(0)?.to_string(),
                    name: r.try_get(1)?,
                    digest: r.try_get(2)?,
                    context: r.try_get(3)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    async fn ensure_default_experiment(&self, location: &str) -> StoreResult<()> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, \
             creation_time, last_update_time) VALUES (0, 'Default', $1, 'active', $2, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(location)
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        artifact_root: &str,
        tags: &[KeyValue],
    ) -> StoreResult<i64> {
        let mut tx = self.write.begin().await?;
        let now = now_ms();
        let inserted = sqlx::query(
            "INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, \
             last_update_time) VALUES ($1, $2, 'active', $3, $3) RETURNING experiment_id",
        )
        .bind(name)
        .bind(artifact_location.unwrap_or(""))
        .bind(now)
        .fetch_one(&mut *tx)
        .await;
        let id: i64 = match inserted {
            Ok(row) => row.try_get(0)?,
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::AlreadyExists(format!(
                    "Experiment(name={name}) already exists. Error: UNIQUE constraint failed: \
                     experiments.name"
                )))
            }
            Err(e) => return Err(e.into()),
        };
        if artifact_location.is_none_or(str::is_empty) {
            sqlx::query("UPDATE experiments SET artifact_location = $1 WHERE experiment_id = $2")
                .bind(join_location(artifact_root, id))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        for tag in tags {
            upsert_experiment_tag(&mut tx, id, tag).await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    async fn get_experiment(&self, id: i64) -> StoreResult<Experiment> {
        let mut conn = self.read.acquire().await?;
        fetch_experiment(&mut conn, id)
            .await?
            .ok_or_else(|| experiment_not_found(id))
    }

    async fn get_experiment_by_name(&self, name: &str) -> StoreResult<Option<Experiment>> {
        let mut conn = self.read.acquire().await?;
        let row = sqlx::query(&format!(
            "SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut exp = vec![experiment_from_row(&row)?];
        load_experiment_tags(&mut conn, &mut exp).await?;
        Ok(exp.pop())
    }

    async fn search_experiments(&self, search: &ExperimentSearch) -> StoreResult<Page<Experiment>> {
        let SearchSql(sql) = compile_experiment_search(self.dialect, search, EXPERIMENT_COLUMNS);
        let mut conn = self.read.acquire().await?;
        let rows = sql.fetch_all(&mut conn).await?;
        let mut items = rows
            .iter()
            .map(experiment_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let next_offset = page_overflow(&mut items, search.max_results, search.offset);
        load_experiment_tags(&mut conn, &mut items).await?;
        Ok(Page { items, next_offset })
    }

    async fn rename_experiment(&self, id: i64, new_name: &str) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        require_active_experiment(&mut tx, id).await?;
        let result = sqlx::query(
            "UPDATE experiments SET name = $1, last_update_time = $2 WHERE experiment_id = $3",
        )
        .bind(new_name)
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await;
        match result {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::AlreadyExists(format!(
                    "Experiment(name={new_name}) already exists."
                )))
            }
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(())
    }

    async fn set_experiment_deleted(&self, id: i64, deleted: bool) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        let exp = fetch_experiment(&mut tx, id)
            .await?
            .ok_or_else(|| experiment_not_found(id))?;
        let (from, to) = if deleted {
            ("active", "deleted")
        } else {
            ("deleted", "active")
        };
        if exp.lifecycle_stage != from {
            // MLflow answers a repeated delete with "not found" and a restore of an active
            // experiment with an invalid-state error; both are client mistakes, so 4xx.
            return Err(if deleted {
                experiment_not_found(id)
            } else {
                StoreError::InvalidState(format!(
                    "Cannot restore an active experiment. Experiment {id} is already active."
                ))
            });
        }
        let now = now_ms();
        sqlx::query(
            "UPDATE experiments SET lifecycle_stage = $1, last_update_time = $2 WHERE experiment_id = $3",
        )
        .bind(to)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let deleted_time = if deleted { Some(now) } else { None };
        sqlx::query(
            "UPDATE runs SET lifecycle_stage = $1, deleted_time = $2 WHERE experiment_id = $3 \
             AND lifecycle_stage = $4",
        )
        .bind(to)
        .bind(deleted_time)
        .bind(id)
        .bind(from)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_experiment_tag(&self, id: i64, tag: &KeyValue) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        require_active_experiment(&mut tx, id).await?;
        upsert_experiment_tag(&mut tx, id, tag).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_experiment_tag(&self, id: i64, key: &str) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        require_active_experiment(&mut tx, id).await?;
        let done = sqlx::query("DELETE FROM experiment_tags WHERE experiment_id = $1 AND key = $2")
            .bind(id)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!(
                "No tag with name: {key} in experiment with id {id}"
            )));
        }
        tx.commit().await?;
        Ok(())
    }
}
