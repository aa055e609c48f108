//! The SQL store, one implementation for SQLite and PostgreSQL over sqlx's `Any` driver.
//!
//! Why one implementation: the two backends differ in a handful of spots (connection set-up, the
//! migrations, case-sensitive `LIKE`), and two hand-written copies of ~60 queries would drift apart.
//! Both accept the same `$N` placeholders, `ON CONFLICT … DO UPDATE … WHERE`, row-value comparisons and
//! `RETURNING`, so the queries are written once and the differences live in [`Dialect`].
//!
//! SQLite gets a dedicated single-connection write pool: SQLite has one writer anyway, and queueing
//! writers in-process instead of in SQLite's busy handler keeps `database is locked` away under load.
//! Reads use a separate pool and proceed concurrently thanks to WAL.

mod delegate;
mod experiments;
mod logged_models;
mod metrics;
mod registry;
mod runs;
mod search;

use super::StoreError;
use crate::error::ApiError;
use sqlx::any::{AnyArguments, AnyConnectOptions, AnyPoolOptions};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, AnyPool, Executor};
use std::fmt::Write as _;
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// MLflow's `LIKE` is case-sensitive, SQLite's is not: SQLite gets `GLOB` with a translated pattern.
    pub(crate) fn like(self, sql: &mut SqlBuf, column: &str, pattern: &str) {
        match self {
            Dialect::Postgres => {
                sql.push(column)
                    .push(" LIKE ")
                    .bind(Arg::Str(pattern.to_string()));
            }
            Dialect::Sqlite => {
                sql.push(column)
                    .push(" GLOB ")
                    .bind(Arg::Str(like_to_glob(pattern)));
            }
        }
    }

    pub(crate) fn ilike(self, sql: &mut SqlBuf, column: &str, pattern: &str) {
        match self {
            Dialect::Postgres => {
                sql.push(column)
                    .push(" ILIKE ")
                    .bind(Arg::Str(pattern.to_string()));
            }
            Dialect::Sqlite => {
                sql.push("LOWER(").push(column).push(") LIKE LOWER(");
                sql.bind(Arg::Str(pattern.to_string())).push(")");
            }
        }
    }
}

/// `%`→`*`, `_`→`?`, and GLOB's own metacharacters made literal with brackets.
fn like_to_glob(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    for c in pattern.chars() {
        match c {
            '%' => out.push('*'),
            '_' => out.push('?'),
            '*' => out.push_str("[*]"),
            '?' => out.push_str("[?]"),
            '[' => out.push_str("[[]"),
            c => out.push(c),
        }
    }
    out
}

/// A bind argument for dynamically built queries.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    I64(i64),
    F64(f64),
    Str(String),
}

/// A query under construction: text with `$N` placeholders and their arguments, in order.
#[derive(Debug, Default)]
pub(crate) struct SqlBuf {
    pub sql: String,
    pub args: Vec<Arg>,
}

impl SqlBuf {
    pub fn new(sql: &str) -> Self {
        Self {
            sql: sql.to_string(),
            args: Vec::new(),
        }
    }

    pub fn push(&mut self, s: &str) -> &mut Self {
        self.sql.push_str(s);
        self
    }

    pub fn bind(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        let _ = write!(self.sql, "${}", self.args.len());
        self
    }

    /// `$a, $b, …` for an `IN (…)` list.
    pub fn bind_list<I: IntoIterator<Item = Arg>>(&mut self, items: I) -> &mut Self {
        for (i, arg) in items.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(arg);
        }
        self
    }

    pub fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        let mut q = sqlx::query::<Any>(&self.sql);
        for arg in &self.args {
            q = match arg {
                Arg::I64(v) => q.bind(*v),
                Arg::F64(v) => q.bind(*v),
                Arg::Str(v) => q.bind(v.as_str()),
            };
        }
        q
    }
}

/// Placeholder lists are chunked below both backends' bind limits.
pub(crate) const IN_CHUNK: usize = 500;

pub struct SqlStore {
    read: AnyPool,
    write: AnyPool,
    dialect: Dialect,
}

impl SqlStore {
    /// Opens (creating if needed) the store named by an MLflow backend-store URI and applies the
    /// migrations: `sqlite:///relative.db`, `sqlite:////abs/path.db`, `postgresql://user:pw@host/db`.
    pub async fn connect(uri: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        if let Some(path) = uri.strip_prefix("sqlite:///") {
            Self::connect_sqlite(path).await
        } else if uri.starts_with("postgresql://") || uri.starts_with("postgres://") {
            Self::connect_postgres(uri).await
        } else {
            anyhow::bail!(
                "unsupported backend store URI `{uri}`: expected `sqlite:///path.db` or \
                 `postgresql://user:password@host:port/database`"
            )
        }
    }

    async fn connect_sqlite(path: &str) -> anyhow::Result<Self> {
        if path.is_empty() {
            anyhow::bail!("the SQLite backend store URI names no file (`sqlite:///file.db`)");
        }
        if let Some(parent) = std::path::Path::new(path).parent() {
            if !parent.as_os_str().is_empty() && !parent.exists() {
                anyhow::bail!(
                    "directory `{}` of the SQLite store does not exist",
                    parent.display()
                );
            }
        }
        let options = AnyConnectOptions::from_str(&format!("sqlite://{path}?mode=rwc"))?;
        let write = AnyPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(sqlite_session_setup)
            .connect_with(options.clone())
            .await?;
        sqlx::query("PRAGMA journal_mode = WAL")
            .execute(&write)
            .await?;
        sqlx::migrate!("../migrations/sqlite").run(&write).await?;
        let read = AnyPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(sqlite_session_setup)
            .connect_with(options)
            .await?;
        Ok(Self {
            read,
            write,
            dialect: Dialect::Sqlite,
        })
    }

    async fn connect_postgres(uri: &str) -> anyhow::Result<Self> {
        let pool = AnyPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(uri)
            .await?;
        sqlx::migrate!("../migrations/postgres").run(&pool).await?;
        Ok(Self {
            read: pool.clone(),
            write: pool,
            dialect: Dialect::Postgres,
        })
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Number of open connections and idle ones, for `/metrics`-style introspection and tests.
    pub fn pool_status(&self) -> (u32, usize) {
        (
            self.read.size() + self.write.size(),
            self.read.num_idle() + self.write.num_idle(),
        )
    }
}

/// Per-connection SQLite settings (journal mode is per database and set once at start).
fn sqlite_session_setup(
    conn: &mut AnyConnection,
    _meta: sqlx::pool::PoolConnectionMetadata,
) -> futures_util::future::BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        conn.execute(
            "PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; \
             PRAGMA foreign_keys = ON; PRAGMA cache_size = -32000;",
        )
        .await?;
        Ok(())
    })
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub(crate) fn run_not_found(run_id: &str) -> StoreError {
    StoreError::Api(ApiError::not_found(format!(
        "Run with id={run_id} not found"
    )))
}

pub(crate) fn experiment_not_found(id: i64) -> StoreError {
    StoreError::Api(ApiError::not_found(format!(
        "No Experiment with id={id} exists"
    )))
}

/// Unique-constraint violations are the client's doing (a name taken), not ours.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.code()
                .is_some_and(|c| c == "23505" || c == "2067" || c == "1555")
                || db.message().contains("UNIQUE constraint failed")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_become_case_sensitive_globs() {
        assert_eq!(like_to_glob("%ab_c%"), "*ab?c*");
        assert_eq!(like_to_glob("a*b?[c]"), "a[*]b[?][[]c]");
    }
}
