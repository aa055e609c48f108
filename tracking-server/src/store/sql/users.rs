//! Users and tokens (`AuthStore`). Reads use the read pool: authentication runs before every request
//! that misses the credential cache and must not queue behind SQLite's single writer.

use super::{is_unique_violation, now_ms, SqlStore};
use crate::store::auth::{AuthStore, Permission, TokenRecord, UserRecord};
use crate::store::{StoreError, StoreResult};
use sqlx::Row;

fn user_from_row(row: &sqlx::any::AnyRow, offset: usize) -> Result<UserRecord, sqlx::Error> {
    Ok(UserRecord {
        name: row.try_get(offset)?,
        password_hash: row.try_get(offset + 1)?,
        permission: Permission::parse(&row.try_get::<String, _>(offset + 2)?),
    })
}

#[async_trait::async_trait]
impl AuthStore for SqlStore {
    async fn find_user(&self, name: &str) -> StoreResult<Option<UserRecord>> {
        let row = sqlx::query("SELECT name, password_hash, permission FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(|r| user_from_row(&r, 0)).transpose()?)
    }

    async fn find_token(&self, token_id: &str) -> StoreResult<Option<(String, UserRecord)>> {
        let row = sqlx::query(
            "SELECT t.secret_hash, u.name, u.password_hash, u.permission FROM user_tokens t \
             JOIN users u ON u.name = t.user_name WHERE t.token_id = $1",
        )
        .bind(token_id)
        .fetch_optional(&self.read)
        .await?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some((r.try_get(0)?, user_from_row(&r, 1)?))),
        }
    }

    async fn create_user(&self, user: &UserRecord, token: Option<&TokenRecord>) -> StoreResult<()> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO users (name, password_hash, permission, creation_time) VALUES ($1, $2, $3, $4)",
        )
        .bind(&user.name)
        .bind(user.password_hash.as_deref())
        .bind(user.permission.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::AlreadyExists(format!(
                    "User '{}' already exists",
                    user.name
                )))
            }
            other => {
                other?;
            }
        }
        if let Some(token) = token {
            sqlx::query(
                "INSERT INTO user_tokens (token_id, user_name, secret_hash, creation_time) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&token.token_id)
            .bind(&user.name)
            .bind(&token.secret_hash)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn delete_user(&self, name: &str) -> StoreResult<bool> {
        let mut tx = self.write.begin().await?;
        // Explicit, not only ON DELETE CASCADE: SQLite enforces it only with foreign_keys on.
        sqlx::query("DELETE FROM user_tokens WHERE user_name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        let gone = sqlx::query("DELETE FROM users WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(gone > 0)
    }

    async fn count_users(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM users")
            .fetch_one(&self.read)
            .await?
            .try_get(0)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
