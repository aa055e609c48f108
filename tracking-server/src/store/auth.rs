//! Users and API tokens for `--auth`: what the authenticator reads on a cache miss and what
//! `mltrack server user add|remove` writes. Only argon2 hashes cross this boundary.

use super::StoreResult;
use async_trait::async_trait;

/// What a user may do: `read` answers only reads, `edit` everything the API offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Read,
    Edit,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Edit => "edit",
        }
    }

    /// Unknown values (a newer schema) grant the least.
    pub fn parse(s: &str) -> Self {
        match s {
            "edit" => Self::Edit,
            _ => Self::Read,
        }
    }
}

#[derive(Debug, Clone)]
pub struct UserRecord {
    pub name: String,
    /// `None` for a token-only user: Basic auth never succeeds for them.
    pub password_hash: Option<String>,
    pub permission: Permission,
}

/// A token as stored: its public id and the argon2 hash of its secret half.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub token_id: String,
    pub secret_hash: String,
}

#[async_trait]
pub trait AuthStore: Send + Sync + 'static {
    async fn find_user(&self, name: &str) -> StoreResult<Option<UserRecord>>;
    /// The token's secret hash and its owner.
    async fn find_token(&self, token_id: &str) -> StoreResult<Option<(String, UserRecord)>>;
    /// Creates a user with an optional first token; `RESOURCE_ALREADY_EXISTS` if the name is taken.
    async fn create_user(&self, user: &UserRecord, token: Option<&TokenRecord>) -> StoreResult<()>;
    /// Deletes a user and their tokens; `false` if there was no such user.
    async fn delete_user(&self, name: &str) -> StoreResult<bool>;
    async fn count_users(&self) -> StoreResult<u64>;
}
