//! Registered models and model versions: CRUD, stages, aliases, and their history.

use super::experiments::page_overflow;
use super::{is_unique_violation, now_ms, Arg, SqlBuf, SqlStore};
use crate::search::{Clause, Comparator, Entity, FilterValue};
use crate::store::registry::RegistrySearch;
use crate::store::RegistryStore;
use crate::store::{Page, StoreError, StoreResult};
use protocol::{KeyValue, ModelVersion, RegisteredModel, RegisteredModelAlias};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;

pub(super) const VERSION_COLUMNS: &str = "v.name, v.version, v.creation_time, v.last_updated_time, v.description, \
     v.user_id, v.current_stage, v.source, v.run_id, v.run_link, v.status, v.status_message, v.model_id";

pub(super) fn model_not_found(name: &str) -> StoreError {
    StoreError::NotFound(format!("Registered Model with name={name} not found"))
}

fn version_not_found(name: &str, version: i64) -> StoreError {
    StoreError::NotFound(format!(
        "Model Version (name={name}, version={version}) not found"
    ))
}

pub(super) fn version_from_row(row: &AnyRow) -> Result<ModelVersion, sqlx::Error> {
    Ok(ModelVersion {
        name: row.try_get(0)?,
        version: row.try_get::<i64, _>(1)?.to_string(),
        creation_timestamp: row.try_get(2)?,
        last_updated_timestamp: row.try_get(3)?,
        description: row.try_get(4)?,
        user_id: row.try_get(5)?,
        current_stage: row.try_get(6)?,
        source: row.try_get(7)?,
        run_id: row.try_get(8)?,
        run_link: row.try_get(9)?,
        status: row.try_get(10)?,
        status_message: row.try_get(11)?,
        tags: Vec::new(),
        aliases: Vec::new(),
        model_id: row.try_get(12)?,
    })
}

/// Adds tags and aliases to versions already read (one query each per chunk of models).
pub(super) async fn decorate_versions(
    conn: &mut AnyConnection,
    versions: &mut [ModelVersion],
) -> Result<(), sqlx::Error> {
    if versions.is_empty() {
        return Ok(());
    }
    let mut names: Vec<String> = versions.iter().map(|v| v.name.clone()).collect();
    names.sort();
    names.dedup();
    let mut tags: HashMap<(String, i64), Vec<KeyValue>> = HashMap::new();
    let mut aliases: HashMap<(String, i64), Vec<String>> = HashMap::new();
    for chunk in names.chunks(super::IN_CHUNK) {
        let mut sql =
            SqlBuf::new("SELECT name, version, key, value FROM model_version_tags WHERE name IN (");
        sql.bind_list(chunk.iter().map(|n| Arg::Str(n.clone())))
            .push(") ORDER BY key");
        for row in sql.fetch_all(&mut *conn).await? {
            tags.entry((row.try_get(0)?, row.try_get(1)?))
                .or_default()
                .push(KeyValue {
                    key: row.try_get(2)?,
                    value: row.try_get(3)?,
                });
        }
        let mut sql = SqlBuf::new(
            "SELECT name, version, alias FROM registered_model_aliases WHERE name IN (",
        );
        sql.bind_list(chunk.iter().map(|n| Arg::Str(n.clone())))
            .push(") ORDER BY alias");
        for row in sql.fetch_all(&mut *conn).await? {
            aliases
                .entry((row.try_get(0)?, row.try_get(1)?))
                .or_default()
                .push(row.try_get(2)?);
        }
    }
    for v in versions {
        let key = (v.name.clone(), v.version.parse().unwrap_or(0));
        v.tags = tags.remove(&key).unwrap_or_default();
        v.aliases = aliases.remove(&key).unwrap_or_default();
    }
    Ok(())
}

pub(super) async fn fetch_version(
    conn: &mut AnyConnection,
    name: &str,
    version: i64,
) -> StoreResult<ModelVersion> {
    let row = sqlx::query(&format!(
        "SELECT {VERSION_COLUMNS} FROM model_versions v WHERE v.name = $1 AND v.version = $2"
    ))
    .bind(name)
    .bind(version)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| version_not_found(name, version))?;
    let mut v = vec![version_from_row(&row)?];
    decorate_versions(conn, &mut v).await?;
    Ok(v.remove(0))
}

/// Reads registered models by name, in the given order, with tags, aliases and latest versions.
async fn load_models(
    conn: &mut AnyConnection,
    names: &[String],
) -> StoreResult<Vec<RegisteredModel>> {
    let mut out = Vec::with_capacity(names.len());
    for chunk in names.chunks(super::IN_CHUNK) {
        let list = || chunk.iter().map(|n| Arg::Str(n.clone()));
        let mut sql = SqlBuf::new(
            "SELECT name, creation_time, last_updated_time, description, user_id FROM registered_models WHERE name IN (",
        );
        sql.bind_list(list()).push(")");
        let mut models: HashMap<String, RegisteredModel> = HashMap::new();
        for row in sql.fetch_all(&mut *conn).await? {
            let name: String = row.try_get(0)?;
            models.insert(
                name.clone(),
                RegisteredModel {
                    name,
                    creation_timestamp: row.try_get(1)?,
                    last_updated_timestamp: row.try_get(2)?,
                    description: row.try_get(3)?,
                    user_id: row.try_get(4)?,
                    latest_versions: Vec::new(),
                    tags: Vec::new(),
                    aliases: Vec::new(),
                },
            );
        }
        let mut sql =
            SqlBuf::new("SELECT name, key, value FROM registered_model_tags WHERE name IN (");
        sql.bind_list(list()).push(") ORDER BY key");
        for row in sql.fetch_all(&mut *conn).await? {
            if let Some(m) = models.get_mut(&row.try_get::<String, _>(0)?) {
                m.tags.push(KeyValue {
                    key: row.try_get(1)?,
                    value: row.try_get(2)?,
                });
            }
        }
        let mut sql = SqlBuf::new(
            "SELECT name, alias, version FROM registered_model_aliases WHERE name IN (",
        );
        sql.bind_list(list()).push(") ORDER BY alias");
        for row in sql.fetch_all(&mut *conn).await? {
            if let Some(m) = models.get_mut(&row.try_get::<String, _>(0)?) {
                m.aliases.push(RegisteredModelAlias {
                    alias: row.try_get(1)?,
                    version: row.try_get::<i64, _>(2)?.to_string(),
                });
            }
        }
        // The newest version in each stage.
        let mut sql = SqlBuf::new(&format!(
            "SELECT {VERSION_COLUMNS} FROM model_versions v WHERE v.name IN ("
        ));
        sql.bind_list(list()).push(
            ") AND v.version = (SELECT MAX(w.version) FROM model_versions w WHERE w.name = v.name \
             AND w.current_stage = v.current_stage) ORDER BY v.version",
        );
        let mut latest = sql
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(version_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        decorate_versions(conn, &mut latest).await?;
        for v in latest {
            if let Some(m) = models.get_mut(&v.name) {
                m.latest_versions.push(v);
            }
        }
        out.extend(chunk.iter().filter_map(|n| models.remove(n)));
    }
    Ok(out)
}

/// One registered model with its tags, aliases and latest versions.
async fn load_model(conn: &mut AnyConnection, name: &str) -> StoreResult<RegisteredModel> {
    load_models(conn, &[name.to_string()])
        .await?
        .pop()
        .ok_or_else(|| model_not_found(name))
}

pub(super) async fn require_model(conn: &mut AnyConnection, name: &str) -> StoreResult<()> {
    sqlx::query("SELECT 1 FROM registered_models WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?
        .map(|_| ())
        .ok_or_else(|| model_not_found(name))
}

pub(super) async fn record_event(
    conn: &mut AnyConnection,
    name: &str,
    version: i64,
    kind: &str,
    from: Option<&str>,
    to: Option<&str>,
    actor: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO model_version_events (name, version, kind, from_value, to_value, actor, timestamp) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(name)
    .bind(version)
    .bind(kind)
    .bind(from)
    .bind(to)
    .bind(actor)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn touch_model(conn: &mut AnyConnection, name: &str) -> StoreResult<()> {
    sqlx::query("UPDATE registered_models SET last_updated_time = $1 WHERE name = $2")
        .bind(now_ms())
        .bind(name)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// `tags.k != 'v'` also matches models without the tag: the 3.x client appends
/// ``tag.`mlflow.prompt.is_prompt` != 'true'`` to every search, which must keep ordinary models.
pub(super) fn tag_clause(
    sql: &mut SqlBuf,
    store: &SqlStore,
    table: &str,
    owner: &str,
    clause: &Clause,
) {
    let FilterValue::Str(value) = &clause.value else {
        sql.push("1 = 0");
        return;
    };
    let (exists, cmp) = match clause.comparator {
        Comparator::Ne => ("NOT EXISTS", Comparator::Eq),
        c => ("EXISTS", c),
    };
    sql.push(exists)
        .push(" (SELECT 1 FROM ")
        .push(table)
        .push(" t WHERE ")
        .push(owner);
    sql.push(" AND t.key = ")
        .bind(Arg::Str(clause.key.clone()))
        .push(" AND ");
    match cmp {
        Comparator::Like => store.dialect.like(sql, "t.value", value),
        Comparator::ILike => store.dialect.ilike(sql, "t.value", value),
        _ => {
            sql.push("t.value = ").bind(Arg::Str(value.clone()));
        }
    }
    sql.push(")");
}

/// `column <op> value` for registry attributes (strings, numbers, IN lists).
pub(super) fn attribute_clause(sql: &mut SqlBuf, store: &SqlStore, column: &str, clause: &Clause) {
    match (&clause.comparator, &clause.value) {
        (Comparator::Like, FilterValue::Str(s)) => store.dialect.like(sql, column, s),
        (Comparator::ILike, FilterValue::Str(s)) => store.dialect.ilike(sql, column, s),
        (Comparator::In | Comparator::NotIn, FilterValue::List(items)) if !items.is_empty() => {
            sql.push(column)
                .push(if clause.comparator == Comparator::In {
                    " IN ("
                } else {
                    " NOT IN ("
                });
            sql.bind_list(items.iter().map(|s| Arg::Str(s.clone())))
                .push(")");
        }
        (op, FilterValue::Num(n)) => {
            sql.push(column)
                .push(&format!(" {} ", op.as_str()))
                .bind(Arg::F64(*n));
        }
        (op @ (Comparator::Eq | Comparator::Ne), FilterValue::Str(s)) => {
            sql.push(column)
                .push(&format!(" {} ", op.as_str()))
                .bind(Arg::Str(s.clone()));
        }
        _ => {
            sql.push("1 = 0");
        }
    }
}

pub(super) fn push_page(sql: &mut SqlBuf, search: &RegistrySearch) {
    let limit = i64::try_from(search.max_results.saturating_add(1)).unwrap_or(i64::MAX);
    sql.push(" LIMIT ").bind(Arg::I64(limit));
    sql.push(" OFFSET ")
        .bind(Arg::I64(i64::try_from(search.offset).unwrap_or(i64::MAX)));
}

async fn upsert_model_tag(conn: &mut AnyConnection, name: &str, tag: &KeyValue) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO registered_model_tags (name, key, value) VALUES ($1, $2, $3) \
         ON CONFLICT (name, key) DO UPDATE SET value = excluded.value",
    )
    .bind(name)
    .bind(tag.key.as_str())
    .bind(tag.value.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl RegistryStore for SqlStore {
    async fn create_registered_model(
        &self,
        name: &str,
        description: Option<&str>,
        tags: &[KeyValue],
    ) -> StoreResult<RegisteredModel> {
        let mut tx = self.write.begin().await?;
        let now = now_ms();
        let inserted = sqlx::query(
            "INSERT INTO registered_models (name, creation_time, last_updated_time, description) VALUES ($1, $2, $2, $3)",
        )
        .bind(name)
        .bind(now)
        .bind(description)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::AlreadyExists(format!(
                    "Registered Model (name={name}) already exists."
                )))
            }
            other => other?,
        };
        for tag in tags {
            upsert_model_tag(&mut tx, name, tag).await?;
        }
        let model = load_model(&mut tx, name).await?;
        tx.commit().await?;
        Ok(model)
    }

    async fn get_registered_model(&self, name: &str) -> StoreResult<RegisteredModel> {
        let mut conn = self.read.acquire().await?;
        load_model(&mut conn, name).await
    }

    async fn rename_registered_model(
        &self,
        name: &str,
        new_name: &str,
    ) -> StoreResult<RegisteredModel> {
        let mut tx = self.write.begin().await?;
        require_model(&mut tx, name).await?;
        let renamed = sqlx::query(
            "UPDATE registered_models SET name = $1, last_updated_time = $2 WHERE name = $3",
        )
        .bind(new_name)
        .bind(now_ms())
        .bind(name)
        .execute(&mut *tx)
        .await;
        match renamed {
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::AlreadyExists(format!(
                    "Registered Model (name={new_name}) already exists."
                )))
            }
            other => other?,
        };
        sqlx::query("UPDATE model_version_events SET name = $1 WHERE name = $2")
            .bind(new_name)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        let model = load_model(&mut tx, new_name).await?;
        tx.commit().await?;
        Ok(model)
    }

    async fn update_registered_model(
        &self,
        name: &str,
        description: Option<&str>,
    ) -> StoreResult<RegisteredModel> {
        let mut tx = self.write.begin().await?;
        require_model(&mut tx, name).await?;
        if let Some(d) = description {
            sqlx::query("UPDATE registered_models SET description = $1 WHERE name = $2")
                .bind(d)
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        touch_model(&mut tx, name).await?;
        let model = load_model(&mut tx, name).await?;
        tx.commit().await?;
        Ok(model)
    }

    async fn delete_registered_model(&self, name: &str) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        require_model(&mut tx, name).await?;
        sqlx::query("DELETE FROM registered_models WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn search_registered_models(
        &self,
        search: &RegistrySearch,
    ) -> StoreResult<Page<RegisteredModel>> {
        let mut sql = SqlBuf::new("SELECT m.name FROM registered_models m WHERE 1 = 1");
        for clause in &search.filter {
            sql.push(" AND ");
            match clause.entity {
                Entity::Tag => tag_clause(
                    &mut sql,
                    self,
                    "registered_model_tags",
                    "t.name = m.name",
                    clause,
                ),
                _ => attribute_clause(&mut sql, self, "m.name", clause),
            }
        }
        sql.push(" ORDER BY ");
        for ob in &search.order_by {
            let column = match ob.key.as_str() {
                "creation_timestamp" => "m.creation_time",
                "last_updated_timestamp" | "timestamp" => "m.last_updated_time",
                _ => "m.name",
            };
            sql.push(column)
                .push(if ob.ascending { " ASC, " } else { " DESC, " });
        }
        sql.push("m.name ASC");
        push_page(&mut sql, search);
        let mut conn = self.read.acquire().await?;
        let mut names: Vec<String> = sql
            .fetch_all(&mut conn)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        let next_offset = page_overflow(&mut names, search.max_results, search.offset);
        let items = load_models(&mut conn, &names).await?;
        Ok(Page { items, next_offset })
    }

    async fn get_latest_versions(
        &self,
        name: &str,
        stages: &[String],
    ) -> StoreResult<Vec<ModelVersion>> {
        let model = self.get_registered_model(name).await?;
        let mut versions = model.latest_versions;
        if !stages.is_empty() {
            versions.retain(|v| {
                stages
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(&v.current_stage))
            });
        }
        Ok(versions)
    }

    async fn set_registered_model_tag(&self, name: &str, tag: &KeyValue) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        require_model(&mut tx, name).await?;
        upsert_model_tag(&mut tx, name, tag).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_registered_model_tag(&self, name: &str, key: &str) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        require_model(&mut tx, name).await?;
        sqlx::query("DELETE FROM registered_model_tags WHERE name = $1 AND key = $2")
            .bind(name)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
