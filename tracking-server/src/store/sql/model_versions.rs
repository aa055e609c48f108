//! Model versions: create, stage transitions (with archiving), aliases, tags, search, and the
//! history of who moved a version where.

use super::experiments::page_overflow;
use super::registry::{
    attribute_clause, decorate_versions, fetch_version, model_not_found, push_page, record_event,
    require_model, tag_clause, touch_model, version_from_row, VERSION_COLUMNS,
};
use super::{now_ms, SqlBuf, SqlStore};
use crate::search::Entity;
use crate::store::ModelVersionStore;
use crate::store::{NewModelVersion, RegistrySearch};
use crate::store::{Page, StoreError, StoreResult};
use protocol::{KeyValue, ModelVersion, ModelVersionEvent};
use sqlx::{AnyConnection, Row};

async fn upsert_version_tag(
    conn: &mut AnyConnection,
    name: &str,
    version: i64,
    tag: &KeyValue,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO model_version_tags (name, version, key, value) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value",
    )
    .bind(name)
    .bind(version)
    .bind(tag.key.as_str())
    .bind(tag.value.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl ModelVersionStore for SqlStore {
    async fn create_model_version(&self, v: NewModelVersion) -> StoreResult<ModelVersion> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query("UPDATE registered_models SET next_version = next_version + 1, last_updated_time = $1 WHERE name = $2 RETURNING next_version - 1")
            .bind(now_ms())
            .bind(v.name.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| model_not_found(&v.name))?;
        let version: i64 = row.try_get(0)?;
        let now = now_ms();
        sqlx::query(
            "INSERT INTO model_versions (name, version, creation_time, last_updated_time, description, \
             current_stage, source, run_id, run_link, status, model_id) \
             VALUES ($1, $2, $3, $3, $4, 'None', $5, $6, $7, 'READY', $8)",
        )
        .bind(v.name.as_str())
        .bind(version)
        .bind(now)
        .bind(v.description.as_deref())
        .bind(v.source.as_str())
        .bind(v.run_id.as_deref())
        .bind(v.run_link.as_deref())
        .bind(v.model_id.as_deref())
        .execute(&mut *tx)
        .await?;
        for tag in &v.tags {
            upsert_version_tag(&mut tx, &v.name, version, tag).await?;
        }
        record_event(
            &mut tx,
            &v.name,
            version,
            "created",
            None,
            Some("None"),
            &v.actor,
        )
        .await?;
        let created = fetch_version(&mut tx, &v.name, version).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn get_model_version(&self, name: &str, version: i64) -> StoreResult<ModelVersion> {
        let mut conn = self.read.acquire().await?;
        fetch_version(&mut conn, name, version).await
    }

    async fn update_model_version(
        &self,
        name: &str,
        version: i64,
        description: Option<&str>,
    ) -> StoreResult<ModelVersion> {
        let mut tx = self.write.begin().await?;
        fetch_version(&mut tx, name, version).await?;
        sqlx::query("UPDATE model_versions SET description = COALESCE($1, description), last_updated_time = $2 WHERE name = $3 AND version = $4")
            .bind(description)
            .bind(now_ms())
            .bind(name)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        let v = fetch_version(&mut tx, name, version).await?;
        tx.commit().await?;
        Ok(v)
    }

    async fn transition_stage(
        &self,
        name: &str,
        version: i64,
        stage: &str,
        archive_existing: bool,
        actor: &str,
    ) -> StoreResult<ModelVersion> {
        let mut tx = self.write.begin().await?;
        let current = fetch_version(&mut tx, name, version).await?;
        let now = now_ms();
        if archive_existing {
            let others = sqlx::query("SELECT version FROM model_versions WHERE name = $1 AND current_stage = $2 AND version != $3")
                .bind(name)
                .bind(stage)
                .bind(version)
                .fetch_all(&mut *tx)
                .await?;
            for row in others {
                let other: i64 = row.try_get(0)?;
                sqlx::query("UPDATE model_versions SET current_stage = 'Archived', last_updated_time = $1 WHERE name = $2 AND version = $3")
                    .bind(now)
                    .bind(name)
                    .bind(other)
                    .execute(&mut *tx)
                    .await?;
                record_event(
                    &mut tx,
                    name,
                    other,
                    "stage",
                    Some(stage),
                    Some("Archived"),
                    actor,
                )
                .await?;
            }
        }
        sqlx::query("UPDATE model_versions SET current_stage = $1, last_updated_time = $2 WHERE name = $3 AND version = $4")
            .bind(stage)
            .bind(now)
            .bind(name)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        record_event(
            &mut tx,
            name,
            version,
            "stage",
            Some(&current.current_stage),
            Some(stage),
            actor,
        )
        .await?;
        touch_model(&mut tx, name).await?;
        let v = fetch_version(&mut tx, name, version).await?;
        tx.commit().await?;
        Ok(v)
    }

    async fn delete_model_version(&self, name: &str, version: i64) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        fetch_version(&mut tx, name, version).await?;
        sqlx::query("DELETE FROM registered_model_aliases WHERE name = $1 AND version = $2")
            .bind(name)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM model_versions WHERE name = $1 AND version = $2")
            .bind(name)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        touch_model(&mut tx, name).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn search_model_versions(
        &self,
        search: &RegistrySearch,
    ) -> StoreResult<Page<ModelVersion>> {
        let mut sql = SqlBuf::new(&format!(
            "SELECT {VERSION_COLUMNS} FROM model_versions v WHERE 1 = 1"
        ));
        for clause in &search.filter {
            sql.push(" AND ");
            match (clause.entity, clause.key.as_str()) {
                (Entity::Tag, _) => tag_clause(
                    &mut sql,
                    self,
                    "model_version_tags",
                    "t.name = v.name AND t.version = v.version",
                    clause,
                ),
                (_, "run_id") => attribute_clause(&mut sql, self, "v.run_id", clause),
                (_, "source_path") => attribute_clause(&mut sql, self, "v.source", clause),
                (_, "version_number") => attribute_clause(&mut sql, self, "v.version", clause),
                _ => attribute_clause(&mut sql, self, "v.name", clause),
            }
        }
        sql.push(" ORDER BY ");
        if search.order_by.is_empty() {
            sql.push("v.last_updated_time DESC, ");
        }
        for ob in &search.order_by {
            let column = match ob.key.as_str() {
                "version_number" => "v.version",
                "creation_timestamp" => "v.creation_time",
                "last_updated_timestamp" | "timestamp" => "v.last_updated_time",
                _ => "v.name",
            };
            sql.push(column)
                .push(if ob.ascending { " ASC, " } else { " DESC, " });
        }
        sql.push("v.name ASC, v.version DESC");
        push_page(&mut sql, search);
        let mut conn = self.read.acquire().await?;
        let mut items = sql
            .fetch_all(&mut conn)
            .await?
            .iter()
            .map(version_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let next_offset = page_overflow(&mut items, search.max_results, search.offset);
        decorate_versions(&mut conn, &mut items).await?;
        Ok(Page { items, next_offset })
    }

    async fn set_model_version_tag(
        &self,
        name: &str,
        version: i64,
        tag: &KeyValue,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        fetch_version(&mut tx, name, version).await?;
        upsert_version_tag(&mut tx, name, version, tag).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_model_version_tag(
        &self,
        name: &str,
        version: i64,
        key: &str,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        fetch_version(&mut tx, name, version).await?;
        sqlx::query("DELETE FROM model_version_tags WHERE name = $1 AND version = $2 AND key = $3")
            .bind(name)
            .bind(version)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_alias(
        &self,
        name: &str,
        alias: &str,
        version: i64,
        actor: &str,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        fetch_version(&mut tx, name, version).await?;
        let previous: Option<i64> = sqlx::query(
            "SELECT version FROM registered_model_aliases WHERE name = $1 AND alias = $2",
        )
        .bind(name)
        .bind(alias)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?;
        sqlx::query(
            "INSERT INTO registered_model_aliases (name, alias, version) VALUES ($1, $2, $3) \
             ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version",
        )
        .bind(name)
        .bind(alias)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        if let Some(prev) = previous.filter(|p| *p != version) {
            record_event(
                &mut tx,
                name,
                prev,
                "alias_deleted",
                Some(alias),
                None,
                actor,
            )
            .await?;
        }
        record_event(
            &mut tx,
            name,
            version,
            "alias_set",
            None,
            Some(alias),
            actor,
        )
        .await?;
        touch_model(&mut tx, name).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_alias(&self, name: &str, alias: &str, actor: &str) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        require_model(&mut tx, name).await?;
        let row = sqlx::query(
            "DELETE FROM registered_model_aliases WHERE name = $1 AND alias = $2 RETURNING version",
        )
        .bind(name)
        .bind(alias)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = row {
            record_event(
                &mut tx,
                name,
                row.try_get(0)?,
                "alias_deleted",
                Some(alias),
                None,
                actor,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn get_version_by_alias(&self, name: &str, alias: &str) -> StoreResult<ModelVersion> {
        let mut conn = self.read.acquire().await?;
        require_model(&mut conn, name).await?;
        let row = sqlx::query(
            "SELECT version FROM registered_model_aliases WHERE name = $1 AND alias = $2",
        )
        .bind(name)
        .bind(alias)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::Invalid(format!("Registered model alias {alias} not found.")))?;
        fetch_version(&mut conn, name, row.try_get(0)?).await
    }

    async fn model_version_history(
        &self,
        name: &str,
        version: i64,
    ) -> StoreResult<Vec<ModelVersionEvent>> {
        let mut conn = self.read.acquire().await?;
        let rows = sqlx::query(
            "SELECT kind, from_value, to_value, actor, timestamp FROM model_version_events \
             WHERE name = $1 AND version = $2 ORDER BY timestamp, event_id",
        )
        .bind(name)
        .bind(version)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ModelVersionEvent {
                    kind: r.try_get(0)?,
                    from_value: r.try_get(1)?,
                    to_value: r.try_get(2)?,
                    actor: r.try_get(3)?,
                    timestamp: r.try_get(4)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }
}
