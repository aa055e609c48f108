//! Webhooks and their delivery queue (`WebhookStore`), for SQLite and PostgreSQL.
//!
//! Claiming is one `UPDATE … WHERE delivery_id IN (SELECT … LIMIT n) RETURNING`: on PostgreSQL the
//! inner select takes `FOR UPDATE SKIP LOCKED`, so replicas claiming at once take disjoint rows
//! without waiting on each other; SQLite has one writer, which makes the statement atomic anyway.

use super::experiments::page_overflow;
use super::{now_ms, Arg, Dialect, SqlBuf, SqlStore};
use crate::store::webhooks::{
    AttemptResult, ClaimedDelivery, DeliveryRecord, DeliveryState, NewDelivery, NewWebhook,
    WebhookRecord, WebhookStatus, WebhookStore, WebhookUpdate,
};
use crate::store::{Page, StoreError, StoreResult};
use crate::webhooks::events::Event;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;

const WEBHOOK_COLUMNS: &str = "webhook_id, name, description, url, status, secret, \
     creation_timestamp, last_updated_timestamp";

fn not_found(webhook_id: &str) -> StoreError {
    StoreError::NotFound(format!("Webhook with ID {webhook_id} not found."))
}

fn webhook_from_row(row: &AnyRow) -> Result<WebhookRecord, sqlx::Error> {
    let status: String = row.try_get(4)?;
    Ok(WebhookRecord {
        webhook_id: row.try_get(0)?,
        name: row.try_get(1)?,
        description: row.try_get(2)?,
        url: row.try_get(3)?,
        events: Vec::new(),
        // A status written by a newer server reads as disabled: nothing is sent that should not be.
        status: WebhookStatus::parse(&status).unwrap_or(WebhookStatus::Disabled),
        secret_token: row.try_get(5)?,
        creation_timestamp: row.try_get(6)?,
        last_updated_timestamp: row.try_get(7)?,
    })
}

/// Fills in each webhook's events, ordered by (entity, action) as MLflow's SQL store reads them.
async fn load_events(
    conn: &mut AnyConnection,
    webhooks: &mut [WebhookRecord],
) -> Result<(), sqlx::Error> {
    if webhooks.is_empty() {
        return Ok(());
    }
    let mut events: HashMap<String, Vec<Event>> = HashMap::new();
    for chunk in webhooks.chunks(super::IN_CHUNK) {
        let mut sql = SqlBuf::new(
            "SELECT webhook_id, entity, action FROM webhook_events WHERE webhook_id IN (",
        );
        sql.bind_list(chunk.iter().map(|w| Arg::Str(w.webhook_id.clone())))
            .push(") ORDER BY webhook_id, entity, action");
        for row in sql.fetch_all(&mut *conn).await? {
            let (entity, action): (String, String) = (row.try_get(1)?, row.try_get(2)?);
            if let Some(event) = Event::from_names(&entity, &action) {
                events.entry(row.try_get(0)?).or_default().push(event);
            }
        }
    }
    for w in webhooks {
        w.events = events.remove(&w.webhook_id).unwrap_or_default();
        // Byte order, whatever the database's collation.
        w.events
            .sort_by_key(|e| (e.entity.as_str(), e.action.as_str()));
    }
    Ok(())
}

async fn fetch_webhook(conn: &mut AnyConnection, webhook_id: &str) -> StoreResult<WebhookRecord> {
    let row = sqlx::query(&format!(
        "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE webhook_id = $1"
    ))
    .bind(webhook_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| not_found(webhook_id))?;
    let mut found = vec![webhook_from_row(&row)?];
    load_events(conn, &mut found).await?;
    Ok(found.remove(0))
}

async fn insert_events(
    conn: &mut AnyConnection,
    webhook_id: &str,
    events: &[Event],
) -> Result<(), sqlx::Error> {
    let mut sql = SqlBuf::new("INSERT INTO webhook_events (webhook_id, entity, action) VALUES ");
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push("(")
            .bind(Arg::Str(webhook_id.to_string()))
            .push(", ")
            .bind(Arg::Str(e.entity.as_str().to_string()))
            .push(", ")
            .bind(Arg::Str(e.action.as_str().to_string()))
            .push(")");
    }
    sql.execute(conn).await?;
    Ok(())
}

fn claimed_from_row(row: &AnyRow) -> Result<ClaimedDelivery, sqlx::Error> {
    let (entity, action): (String, String) = (row.try_get(2)?, row.try_get(3)?);
    Ok(ClaimedDelivery {
        delivery_id: row.try_get(0)?,
        webhook_id: row.try_get(1)?,
        event_name: format!("{entity}.{action}"),
        payload: row.try_get(4)?,
        attempts: row.try_get(5)?,
        url: String::new(),
        status: WebhookStatus::Disabled,
        secret_token: None,
    })
}

#[async_trait::async_trait]
impl WebhookStore for SqlStore {
    async fn create_webhook(&self, webhook: NewWebhook) -> StoreResult<WebhookRecord> {
        let now = now_ms();
        let webhook_id = uuid::Uuid::new_v4().to_string();
        let mut tx = self.write.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO webhooks ({WEBHOOK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"
        ))
        .bind(&webhook_id)
        .bind(&webhook.name)
        .bind(webhook.description.as_deref())
        .bind(&webhook.url)
        .bind(webhook.status.as_str())
        .bind(webhook.secret_token.as_deref())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        insert_events(&mut tx, &webhook_id, &webhook.events).await?;
        let created = fetch_webhook(&mut tx, &webhook_id).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn get_webhook(&self, webhook_id: &str) -> StoreResult<WebhookRecord> {
        let mut conn = self.read.acquire().await?;
        fetch_webhook(&mut conn, webhook_id).await
    }

    async fn list_webhooks(
        &self,
        max_results: u64,
        offset: u64,
    ) -> StoreResult<Page<WebhookRecord>> {
        let mut conn = self.read.acquire().await?;
        let rows = sqlx::query(&format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks \
             ORDER BY creation_timestamp DESC, webhook_id DESC LIMIT $1 OFFSET $2"
        ))
        .bind(i64::try_from(max_results + 1).unwrap_or(i64::MAX))
        .bind(i64::try_from(offset).unwrap_or(i64::MAX))
        .fetch_all(&mut *conn)
        .await?;
        let mut items = rows
            .iter()
            .map(webhook_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let next_offset = page_overflow(&mut items, max_results, offset);
        load_events(&mut conn, &mut items).await?;
        Ok(Page { items, next_offset })
    }

    async fn update_webhook(
        &self,
        webhook_id: &str,
        update: WebhookUpdate,
    ) -> StoreResult<WebhookRecord> {
        let mut tx = self.write.begin().await?;
        let mut current = fetch_webhook(&mut tx, webhook_id).await?;
        current.name = update.name.unwrap_or(current.name);
        current.description = update.description.or(current.description);
        current.url = update.url.unwrap_or(current.url);
        current.status = update.status.unwrap_or(current.status);
        current.secret_token = update.secret_token.or(current.secret_token);
        // Strictly later than before, even within the same millisecond.
        let now = now_ms().max(current.last_updated_timestamp + 1);
        sqlx::query(
            "UPDATE webhooks SET name = $1, description = $2, url = $3, status = $4, secret = $5, \
             last_updated_timestamp = $6 WHERE webhook_id = $7",
        )
        .bind(&current.name)
        .bind(current.description.as_deref())
        .bind(&current.url)
        .bind(current.status.as_str())
        .bind(current.secret_token.as_deref())
        .bind(now)
        .bind(webhook_id)
        .execute(&mut *tx)
        .await?;
        if let Some(events) = update.events {
            sqlx::query("DELETE FROM webhook_events WHERE webhook_id = $1")
                .bind(webhook_id)
                .execute(&mut *tx)
                .await?;
            insert_events(&mut tx, webhook_id, &events).await?;
        }
        let updated = fetch_webhook(&mut tx, webhook_id).await?;
        tx.commit().await?;
        Ok(updated)
    }

    async fn delete_webhook(&self, webhook_id: &str) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        // Explicit rather than trusting ON DELETE CASCADE, which SQLite applies only with the
        // foreign_keys pragma on.
        for table in ["webhook_deliveries", "webhook_events"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE webhook_id = $1"))
                .bind(webhook_id)
                .execute(&mut *tx)
                .await?;
        }
        let done = sqlx::query("DELETE FROM webhooks WHERE webhook_id = $1")
            .bind(webhook_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(not_found(webhook_id));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn subscribers(&self, events: &[Event]) -> StoreResult<Vec<(String, Event)>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = SqlBuf::new(
            "SELECT e.webhook_id, e.entity, e.action FROM webhook_events e \
             JOIN webhooks w ON w.webhook_id = e.webhook_id WHERE w.status = 'ACTIVE' AND (",
        );
        for (i, event) in events.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push("(e.entity = ")
                .bind(Arg::Str(event.entity.as_str().to_string()))
                .push(" AND e.action = ")
                .bind(Arg::Str(event.action.as_str().to_string()))
                .push(")");
        }
        sql.push(") ORDER BY w.creation_timestamp, e.webhook_id");
        let mut conn = self.read.acquire().await?;
        let mut out = Vec::new();
        for row in sql.fetch_all(&mut conn).await? {
            let (entity, action): (String, String) = (row.try_get(1)?, row.try_get(2)?);
            if let Some(event) = Event::from_names(&entity, &action) {
                out.push((row.try_get(0)?, event));
            }
        }
        Ok(out)
    }

    async fn enqueue_deliveries(&self, deliveries: &[NewDelivery]) -> StoreResult<()> {
        if deliveries.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        for chunk in deliveries.chunks(100) {
            let mut sql = SqlBuf::new(
                "INSERT INTO webhook_deliveries (delivery_id, webhook_id, entity, action, payload, \
                 status, attempts, next_attempt_at, created_at) VALUES ",
            );
            for (i, d) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.push("(")
                    .bind(Arg::Str(d.delivery_id.clone()))
                    .push(", ")
                    .bind(Arg::Str(d.webhook_id.clone()))
                    .push(", ")
                    .bind(Arg::Str(d.event.entity.as_str().to_string()))
                    .push(", ")
                    .bind(Arg::Str(d.event.action.as_str().to_string()))
                    .push(", ")
                    .bind(Arg::Str(d.payload.clone()))
                    .push(", 'PENDING', 0, ")
                    .bind(Arg::I64(now))
                    .push(", ")
                    .bind(Arg::I64(now))
                    .push(")");
            }
            sql.execute(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn next_delivery_due(&self) -> StoreResult<Option<i64>> {
        let row = sqlx::query(
            "SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE status = 'PENDING'",
        )
        .fetch_one(&self.read)
        .await?;
        Ok(row.try_get::<Option<i64>, _>(0)?)
    }

    async fn claim_deliveries(
        &self,
        claim: &str,
        now: i64,
        deadline: i64,
        limit: u64,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        let lock = match self.dialect {
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        let mut tx = self.write.begin().await?;
        let rows = sqlx::query(&format!(
            "UPDATE webhook_deliveries SET claimed_by = $1, next_attempt_at = $2, \
             attempts = attempts + 1 WHERE delivery_id IN (SELECT delivery_id FROM \
             webhook_deliveries WHERE status = 'PENDING' AND next_attempt_at <= $3 \
             ORDER BY next_attempt_at LIMIT $4{lock}) \
             RETURNING delivery_id, webhook_id, entity, action, payload, attempts"
        ))
        .bind(claim)
        .bind(deadline)
        .bind(now)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await?;
        let mut claimed = rows
            .iter()
            .map(claimed_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let mut ids: Vec<String> = claimed.iter().map(|d| d.webhook_id.clone()).collect();
        ids.sort();
        ids.dedup();
        let mut hooks: HashMap<String, WebhookRecord> = HashMap::new();
        for chunk in ids.chunks(super::IN_CHUNK) {
            let mut sql = SqlBuf::new(&format!(
                "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE webhook_id IN ("
            ));
            sql.bind_list(chunk.iter().map(|id| Arg::Str(id.clone())))
                .push(")");
            for row in sql.fetch_all(&mut tx).await? {
                let w = webhook_from_row(&row)?;
                hooks.insert(w.webhook_id.clone(), w);
            }
        }
        tx.commit().await?;
        for d in &mut claimed {
            if let Some(w) = hooks.get(&d.webhook_id) {
                d.url.clone_from(&w.url);
                d.status = w.status;
                d.secret_token.clone_from(&w.secret_token);
            }
        }
        Ok(claimed)
    }

    async fn finish_attempt(
        &self,
        claim: &str,
        delivery_id: &str,
        result: AttemptResult,
    ) -> StoreResult<()> {
        let finished = (result.state != DeliveryState::Pending).then(now_ms);
        sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, next_attempt_at = $2, claimed_by = NULL, \
             last_status = $3, last_error = $4, finished_at = $5 \
             WHERE delivery_id = $6 AND claimed_by = $7",
        )
        .bind(result.state.as_str())
        .bind(result.next_attempt_at)
        .bind(result.http_status)
        .bind(result.error.as_deref())
        .bind(finished)
        .bind(delivery_id)
        .bind(claim)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn release_claims(&self, owner: &str, now: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE webhook_deliveries SET claimed_by = NULL, next_attempt_at = $1, \
             attempts = attempts - 1 WHERE status = 'PENDING' AND claimed_by LIKE $2",
        )
        .bind(now)
        .bind(format!("{owner}/%"))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn prune_deliveries(&self, before: i64) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE status <> 'PENDING' AND finished_at < $1",
        )
        .bind(before)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }

    async fn list_deliveries(
        &self,
        webhook_id: &str,
        max_results: u64,
        offset: u64,
    ) -> StoreResult<Page<DeliveryRecord>> {
        let mut conn = self.read.acquire().await?;
        fetch_webhook(&mut conn, webhook_id).await?;
        let rows = sqlx::query(
            "SELECT delivery_id, entity, action, status, attempts, next_attempt_at, last_status, \
             last_error, created_at, finished_at FROM webhook_deliveries WHERE webhook_id = $1 \
             ORDER BY created_at DESC, delivery_id DESC LIMIT $2 OFFSET $3",
        )
        .bind(webhook_id)
        .bind(i64::try_from(max_results + 1).unwrap_or(i64::MAX))
        .bind(i64::try_from(offset).unwrap_or(i64::MAX))
        .fetch_all(&mut *conn)
        .await?;
        let mut items = rows
            .iter()
            .map(|row| {
                let (entity, action): (String, String) = (row.try_get(1)?, row.try_get(2)?);
                Ok(DeliveryRecord {
                    delivery_id: row.try_get(0)?,
                    event: format!("{entity}.{action}"),
                    status: row.try_get(3)?,
                    attempts: row.try_get(4)?,
                    next_attempt_timestamp: row.try_get(5)?,
                    last_response_status: row.try_get(6)?,
                    last_error: row.try_get(7)?,
                    creation_timestamp: row.try_get(8)?,
                    finished_timestamp: row.try_get(9)?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let next_offset = page_overflow(&mut items, max_results, offset);
        Ok(Page { items, next_offset })
    }
}
