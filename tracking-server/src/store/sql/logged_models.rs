//! MLflow 3 logged models: every `log_model` of a 3.x client creates one, uploads its files under
//! `<experiment artifact root>/models/<model_id>/artifacts`, then finalizes it.

use super::experiments::{page_overflow, require_active_experiment};
use super::{now_ms, Arg, SqlBuf, SqlStore};
use crate::search::{Comparator, Entity, FilterValue};
use crate::store::LoggedModelStore;
use crate::store::{LoggedModelSearch, NewLoggedModel};
use crate::store::{Page, StoreError, StoreResult};
use protocol::{KeyValue, LoggedModel, LoggedModelData, LoggedModelInfo, Metric};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

const COLUMNS: &str = "l.model_id, l.experiment_id, l.name, l.artifact_location, l.creation_time, \
     l.last_updated_time, l.status, l.model_type, l.source_run_id, l.status_message";

/// ` AND (m.dataset_name = … [AND m.dataset_digest = …] OR …)` for a metric row aliased `m`.
fn push_datasets(sql: &mut SqlBuf, datasets: &[(String, Option<String>)]) {
    if datasets.is_empty() {
        return;
    }
    sql.push(" AND (");
    for (i, (name, digest)) in datasets.iter().enumerate() {
        sql.push(if i == 0 {
            "(m.dataset_name = "
        } else {
            " OR (m.dataset_name = "
        })
        .bind(Arg::Str(name.clone()));
        if let Some(digest) = digest {
            sql.push(" AND m.dataset_digest = ")
                .bind(Arg::Str(digest.clone()));
        }
        sql.push(")");
    }
    sql.push(")");
}

fn not_found(model_id: &str) -> StoreError {
    StoreError::NotFound(format!("Logged model with ID '{model_id}' not found."))
}

fn info_from_row(row: &AnyRow) -> Result<LoggedModelInfo, sqlx::Error> {
    Ok(LoggedModelInfo {
        model_id: row.try_get(0)?,
        experiment_id: row.try_get::<i64, _>(1)?.to_string(),
        name: row.try_get(2)?,
        artifact_uri: row.try_get(3)?,
        creation_timestamp_ms: row.try_get(4)?,
        last_updated_timestamp_ms: row.try_get(5)?,
        status: row.try_get(6)?,
        model_type: row.try_get(7)?,
        source_run_id: row.try_get(8)?,
        status_message: row.try_get(9)?,
        tags: Vec::new(),
    })
}

async fn load(
    conn: &mut AnyConnection,
    infos: Vec<LoggedModelInfo>,
) -> StoreResult<Vec<LoggedModel>> {
    let mut out = Vec::with_capacity(infos.len());
    for mut info in infos {
        let tags = sqlx::query(
            "SELECT key, value FROM logged_model_tags WHERE model_id = $1 ORDER BY key",
        )
        .bind(info.model_id.as_str())
        .fetch_all(&mut *conn)
        .await?;
        info.tags = tags
            .iter()
            .map(|r| {
                Ok(KeyValue {
                    key: r.try_get(0)?,
                    value: r.try_get(1)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        let params = sqlx::query(
            "SELECT key, value FROM logged_model_params WHERE model_id = $1 ORDER BY key",
        )
        .bind(info.model_id.as_str())
        .fetch_all(&mut *conn)
        .await?;
        let params = params
            .iter()
            .map(|r| {
                Ok(KeyValue {
                    key: r.try_get(0)?,
                    value: r.try_get(1)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        let metrics = load_metrics(&mut *conn, &info.model_id).await?;
        out.push(LoggedModel {
            info,
            data: LoggedModelData { params, metrics },
        });
    }
    Ok(out)
}

/// The model's metrics in the order they were logged, each with its run and dataset.
async fn load_metrics(conn: &mut AnyConnection, model_id: &str) -> StoreResult<Vec<Metric>> {
    let rows = sqlx::query(
        "SELECT key, value, is_nan, timestamp, step, run_uuid, dataset_name, dataset_digest \
         FROM logged_model_metrics WHERE model_id = $1 ORDER BY id",
    )
    .bind(model_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let is_nan: i64 = r.try_get(2)?;
            Ok(Metric {
                key: r.try_get(0)?,
                value: if is_nan == 1 { f64::NAN } else { r.try_get(1)? },
                timestamp: r.try_get(3)?,
                step: r.try_get(4)?,
                run_id: Some(r.try_get(5)?),
                model_id: Some(model_id.to_string()),
                dataset_name: r.try_get(6)?,
                dataset_digest: r.try_get(7)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// Records the batch's metrics that name a logged model with that model, inside the batch's
/// transaction; a model this server does not know fails the whole batch.
pub(super) async fn insert_model_metrics(
    conn: &mut AnyConnection,
    run_id: &str,
    experiment_id: i64,
    metrics: &[Metric],
) -> StoreResult<()> {
    let mut known: Vec<&str> = Vec::new();
    for m in metrics {
        let Some(model_id) = m.model_id.as_deref() else {
            continue;
        };
        if !known.contains(&model_id) {
            fetch(&mut *conn, model_id, false).await?;
            known.push(model_id);
        }
        insert_model_metric(&mut *conn, model_id, run_id, experiment_id, m).await?;
    }
    Ok(())
}

/// One point of a logged model's metric (a repeat of a stored point is dropped, as MLflow's
/// primary key does).
pub(super) async fn insert_model_metric(
    conn: &mut AnyConnection,
    model_id: &str,
    run_id: &str,
    experiment_id: i64,
    m: &Metric,
) -> StoreResult<()> {
    let (value, is_nan) = super::stored_value(m);
    sqlx::query(
        "INSERT INTO logged_model_metrics (model_id, key, timestamp, step, value, is_nan, \
         run_uuid, experiment_id, dataset_name, dataset_digest) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
    )
    .bind(model_id)
    .bind(m.key.as_str())
    .bind(m.timestamp)
    .bind(m.step)
    .bind(value)
    .bind(is_nan)
    .bind(run_id)
    .bind(experiment_id)
    .bind(m.dataset_name.as_deref())
    .bind(m.dataset_digest.as_deref())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn fetch(
    conn: &mut AnyConnection,
    model_id: &str,
    allow_deleted: bool,
) -> StoreResult<LoggedModel> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, l.lifecycle_stage FROM logged_models l WHERE l.model_id = $1"
    ))
    .bind(model_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| not_found(model_id))?;
    let stage: String = row.try_get(10)?;
    if stage != "active" && !allow_deleted {
        return Err(not_found(model_id));
    }
    Ok(load(conn, vec![info_from_row(&row)?]).await?.remove(0))
}

async fn upsert(
    conn: &mut AnyConnection,
    table: &str,
    model_id: &str,
    kv: &KeyValue,
) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO {table} (model_id, key, value) VALUES ($1, $2, $3) \
         ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value"
    ))
    .bind(model_id)
    .bind(kv.key.as_str())
    .bind(kv.value.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl SqlStore {
    /// Upserts key-value pairs of an existing logged model in one transaction.
    async fn upsert_all(&self, table: &str, model_id: &str, pairs: &[KeyValue]) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        fetch(&mut tx, model_id, false).await?;
        for kv in pairs {
            upsert(&mut tx, table, model_id, kv).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl LoggedModelStore for SqlStore {
    async fn create_logged_model(
        &self,
        m: NewLoggedModel,
        _artifact_root: &str,
    ) -> StoreResult<LoggedModel> {
        let mut tx = self.write.begin().await?;
        let exp = require_active_experiment(&mut tx, m.experiment_id).await?;
        let model_id = format!("m-{}", uuid::Uuid::new_v4().simple());
        let location = format!(
            "{}/models/{model_id}/artifacts",
            exp.artifact_location.trim_end_matches('/')
        );
        let now = now_ms();
        sqlx::query(
            "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, creation_time, \
             last_updated_time, status, model_type, source_run_id) VALUES ($1, $2, $3, $4, $5, $5, \
             'LOGGED_MODEL_PENDING', $6, $7)",
        )
        .bind(model_id.as_str())
        .bind(m.experiment_id)
        .bind(m.name.as_str())
        .bind(location.as_str())
        .bind(now)
        .bind(m.model_type.as_deref())
        .bind(m.source_run_id.as_deref())
        .execute(&mut *tx)
        .await?;
        for t in &m.tags {
            upsert(&mut tx, "logged_model_tags", &model_id, t).await?;
        }
        for p in &m.params {
            upsert(&mut tx, "logged_model_params", &model_id, p).await?;
        }
        let model = fetch(&mut tx, &model_id, false).await?;
        tx.commit().await?;
        Ok(model)
    }

    async fn get_logged_model(
        &self,
        model_id: &str,
        allow_deleted: bool,
    ) -> StoreResult<LoggedModel> {
        let mut conn = self.read.acquire().await?;
        fetch(&mut conn, model_id, allow_deleted).await
    }

    async fn finalize_logged_model(
        &self,
        model_id: &str,
        status: &str,
    ) -> StoreResult<LoggedModel> {
        let mut tx = self.write.begin().await?;
        fetch(&mut tx, model_id, false).await?;
        sqlx::query(
            "UPDATE logged_models SET status = $1, last_updated_time = $2 WHERE model_id = $3",
        )
        .bind(status)
        .bind(now_ms())
        .bind(model_id)
        .execute(&mut *tx)
        .await?;
        let model = fetch(&mut tx, model_id, false).await?;
        tx.commit().await?;
        Ok(model)
    }

    async fn delete_logged_model(&self, model_id: &str) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        fetch(&mut tx, model_id, false).await?;
        sqlx::query("UPDATE logged_models SET lifecycle_stage = 'deleted', last_updated_time = $1 WHERE model_id = $2")
            .bind(now_ms())
            .bind(model_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn search_logged_models(
        &self,
        search: &LoggedModelSearch,
    ) -> StoreResult<Page<LoggedModel>> {
        let mut sql = SqlBuf::new(&format!(
            "SELECT {COLUMNS} FROM logged_models l WHERE l.lifecycle_stage = 'active'"
        ));
        if !search.experiment_ids.is_empty() {
            sql.push(" AND l.experiment_id IN (");
            sql.bind_list(search.experiment_ids.iter().map(|id| Arg::I64(*id)))
                .push(")");
        }
        let has_metric_filter = search.filter.iter().any(|c| c.entity == Entity::Metric);
        for clause in &search.filter {
            sql.push(" AND ");
            if let FilterValue::Num(n) = clause.value {
                // A metric matches when any of its values (on the datasets asked for) does, as in
                // MLflow; the timestamps are columns.
                let op = clause.comparator.as_str();
                if clause.entity == Entity::Metric {
                    sql.push("EXISTS (SELECT 1 FROM logged_model_metrics m WHERE m.model_id = l.model_id AND m.key = ")
                        .bind(Arg::Str(clause.key.clone()))
                        .push(&format!(" AND m.is_nan = 0 AND m.value {op} "))
                        .bind(Arg::F64(n));
                    push_datasets(&mut sql, &search.datasets);
                    sql.push(")");
                } else {
                    let column = if clause.key == "creation_timestamp" {
                        "l.creation_time"
                    } else {
                        "l.last_updated_time"
                    };
                    sql.push(&format!("{column} {op} ")).bind(Arg::F64(n));
                }
                continue;
            }
            let FilterValue::Str(value) = &clause.value else {
                sql.push("1 = 1");
                continue;
            };
            // Statuses are stored by their proto names; MLflow's entity names them shorter
            // (`status = 'READY'`, which its file store matches).
            let value = &match (clause.entity, clause.key.as_str(), value.as_str()) {
                (Entity::Attribute, "status", "READY") => "LOGGED_MODEL_READY".to_string(),
                (Entity::Attribute, "status", "PENDING") => "LOGGED_MODEL_PENDING".to_string(),
                (Entity::Attribute, "status", "FAILED") => "LOGGED_MODEL_UPLOAD_FAILED".to_string(),
                (Entity::Attribute, "status", "UNSPECIFIED") => {
                    "LOGGED_MODEL_STATUS_UNSPECIFIED".to_string()
                }
                _ => value.clone(),
            };
            let column = match (clause.entity, clause.key.as_str()) {
                (Entity::Tag | Entity::Param, _) => None,
                (_, "model_id") => Some("l.model_id"),
                (_, "source_run_id") => Some("l.source_run_id"),
                (_, "status") => Some("l.status"),
                (_, "model_type") => Some("l.model_type"),
                _ => Some("l.name"),
            };
            let target = if let Some(c) = column {
                c.to_string()
            } else {
                let table = if clause.entity == Entity::Param {
                    "logged_model_params"
                } else {
                    "logged_model_tags"
                };
                sql.push(&format!(
                    "EXISTS (SELECT 1 FROM {table} t WHERE t.model_id = l.model_id AND t.key = "
                ));
                sql.bind(Arg::Str(clause.key.clone())).push(" AND ");
                "t.value".to_string()
            };
            match clause.comparator {
                Comparator::Like => self.dialect.like(&mut sql, &target, value),
                Comparator::ILike => self.dialect.ilike(&mut sql, &target, value),
                Comparator::Ne => {
                    sql.push(&target).push(" != ").bind(Arg::Str(value.clone()));
                }
                _ => {
                    sql.push(&target).push(" = ").bind(Arg::Str(value.clone()));
                }
            }
            if column.is_none() {
                sql.push(")");
            }
        }
        // Without a metric filter, a model matches the datasets when it has a metric computed on
        // one of them.
        if !search.datasets.is_empty() && !has_metric_filter {
            sql.push(
                " AND EXISTS (SELECT 1 FROM logged_model_metrics m WHERE m.model_id = l.model_id",
            );
            push_datasets(&mut sql, &search.datasets);
            sql.push(")");
        }
        sql.push(" ORDER BY l.creation_time DESC, l.model_id ASC");
        sql.push(" LIMIT ").bind(Arg::I64(
            i64::try_from(search.max_results.saturating_add(1)).unwrap_or(i64::MAX),
        ));
        sql.push(" OFFSET ")
            .bind(Arg::I64(i64::try_from(search.offset).unwrap_or(i64::MAX)));
        let mut conn = self.read.acquire().await?;
        let mut infos = sql
            .fetch_all(&mut conn)
            .await?
            .iter()
            .map(info_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let next_offset = page_overflow(&mut infos, search.max_results, search.offset);
        let items = load(&mut conn, infos).await?;
        Ok(Page { items, next_offset })
    }

    async fn set_logged_model_tags(&self, model_id: &str, tags: &[KeyValue]) -> StoreResult<()> {
        self.upsert_all("logged_model_tags", model_id, tags).await
    }

    async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        fetch(&mut tx, model_id, false).await?;
        let done = sqlx::query("DELETE FROM logged_model_tags WHERE model_id = $1 AND key = $2")
            .bind(model_id)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!(
                "No tag with key '{key}' found for logged model '{model_id}'."
            )));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn log_logged_model_params(
        &self,
        model_id: &str,
        params: &[KeyValue],
    ) -> StoreResult<()> {
        self.upsert_all("logged_model_params", model_id, params)
            .await
    }

    async fn log_outputs(&self, run_id: &str, models: &[(String, i64)]) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        super::run_info::require_active_run(&mut tx, run_id).await?;
        for (model_id, step) in models {
            fetch(&mut tx, model_id, false).await?;
            sqlx::query("INSERT INTO run_outputs (run_uuid, model_id, step) VALUES ($1, $2, $3) ON CONFLICT (run_uuid, model_id) DO UPDATE SET step = excluded.step")
                .bind(run_id)
                .bind(model_id.as_str())
                .bind(*step)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
