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

mod checkpoint;
mod experiments;
pub(crate) mod gc;
mod import;
mod json_rows;
mod logged_models;
mod metric_writer;
mod metric_writes;
mod metrics;
mod model_versions;
mod overview;
mod pg_array;
mod point_merge;
mod registry;
mod run_info;
mod run_json;
mod run_rows;
mod runs;
mod runs_read;
mod search;
mod search_plan;
mod sqlite_metrics;
mod users;
mod webhooks;

use super::{PoolStats, Store, StoreError, StoreResult};
use protocol::Metric;
use sqlx::any::{AnyArguments, AnyConnectOptions, AnyPoolOptions};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, AnyPool, Executor};
use std::collections::HashMap;
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

impl Dialect {
    /// The backend of an open connection.
    pub(crate) fn of(conn: &AnyConnection) -> Self {
        if conn.backend_name().eq_ignore_ascii_case("sqlite") {
            Dialect::Sqlite
        } else {
            Dialect::Postgres
        }
    }

    /// An aggregate that folds `object` over the rows of its query into one JSON array (text), so that
    /// a run's params or a metric's history cross the driver as one value instead of one row each.
    /// Without `order_by` the rows come in whatever order the query produces them.
    pub(crate) fn json_array_agg(self, object: &str, order_by: Option<&str>) -> String {
        let order = order_by.map_or(String::new(), |o| format!(" ORDER BY {o}"));
        match self {
            Dialect::Sqlite => format!("json_group_array({object}{order})"),
            Dialect::Postgres => format!("COALESCE(json_agg({object}{order}), '[]'::json)::text"),
        }
    }

    /// A JSON array of SQL expressions.
    pub(crate) fn json_array(self, exprs: &[&str]) -> String {
        let function = match self {
            Dialect::Sqlite => "json_array",
            Dialect::Postgres => "json_build_array",
        };
        format!("{function}({})", exprs.join(", "))
    }

    /// `{"key", "value", "timestamp", "step"}` of a metric row aliased `c`. SQLite's JSON writes
    /// doubles with 15 digits and its `%g` stops at 16 unless given the `!` flag, so values travel as
    /// `%!.17g` strings, which read back bit-exact; NaN and infinities as proto3 JSON's strings.
    pub(crate) fn metric_object(self) -> &'static str {
        match self {
            Dialect::Sqlite => {
                "json_object('key', c.key, 'value', CASE WHEN c.is_nan = 1 THEN 'NaN' \
                 ELSE printf('%!.17g', c.value) END, 'timestamp', c.timestamp, 'step', c.step)"
            }
            Dialect::Postgres => {
                "json_build_object('key', c.key, 'value', CASE WHEN c.is_nan = 1 THEN to_json('NaN'::text) \
                 WHEN c.value = 'Infinity'::float8 THEN to_json('Infinity'::text) \
                 WHEN c.value = '-Infinity'::float8 THEN to_json('-Infinity'::text) \
                 ELSE to_json(c.value) END, 'timestamp', c.timestamp, 'step', c.step)"
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
    /// A NULL in an integer column (PostgreSQL types a bound NULL).
    NullI64,
}

/// A query under construction: text with placeholders and their arguments, in order.
///
/// Placeholders are rendered when the query runs, for the connection's backend: PostgreSQL needs
/// `$N`, while SQLite gets plain `?` because it resolves each numbered parameter's name with a linear
/// scan, which made a 3,000-value batch insert quadratic.
#[derive(Debug, Default)]
pub(crate) struct SqlBuf {
    sql: String,
    args: Vec<Arg>,
}

/// Stands for a placeholder in `SqlBuf::sql` until rendering; never appears in SQL we write.
const PLACEHOLDER: char = '\u{1}';

impl SqlBuf {
    pub(crate) fn new(sql: &str) -> Self {
        Self {
            sql: sql.to_string(),
            args: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, s: &str) -> &mut Self {
        self.sql.push_str(s);
        self
    }

    /// Appends another query's text and arguments (a subquery).
    pub(crate) fn append(&mut self, other: SqlBuf) -> &mut Self {
        self.sql.push_str(&other.sql);
        self.args.extend(other.args);
        self
    }

    pub(crate) fn bind(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        self.sql.push(PLACEHOLDER);
        self
    }

    /// `a, b, …` placeholders for an `IN (…)` list.
    pub(crate) fn bind_list<I: IntoIterator<Item = Arg>>(&mut self, items: I) -> &mut Self {
        for (i, arg) in items.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(arg);
        }
        self
    }

    fn render(&self, backend: &str) -> String {
        let sqlite = backend.eq_ignore_ascii_case("sqlite");
        let mut out = String::with_capacity(self.sql.len() + self.args.len() * 3);
        let mut n = 0;
        for c in self.sql.chars() {
            if c == PLACEHOLDER {
                n += 1;
                if sqlite {
                    out.push('?');
                } else {
                    let _ = write!(out, "${n}");
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    fn query<'q>(&'q self, text: &'q str) -> Query<'q, Any, AnyArguments<'q>> {
        let mut q = sqlx::query::<Any>(text);
        for arg in &self.args {
            q = match arg {
                Arg::I64(v) => q.bind(*v),
                Arg::F64(v) => q.bind(*v),
                Arg::Str(v) => q.bind(v.as_str()),
                Arg::NullI64 => q.bind(Option::<i64>::None),
            };
        }
        q
    }

    /// The rendered text and owned arguments, for a query run away from this buffer (see
    /// [`metric_writer`]).
    pub(crate) fn into_owned(self, backend: &str) -> (String, AnyArguments<'static>) {
        use sqlx::Arguments;
        let text = self.render(backend);
        let mut args = AnyArguments::default();
        for arg in self.args {
            let bound = match arg {
                Arg::I64(v) => args.add(v),
                Arg::F64(v) => args.add(v),
                Arg::Str(v) => args.add(v),
                Arg::NullI64 => args.add(Option::<i64>::None),
            };
            // Adding an owned integer, float or string to `AnyArguments` cannot fail.
            debug_assert!(bound.is_ok());
        }
        (text, args)
    }

    pub(crate) async fn fetch_all(
        &self,
        conn: &mut AnyConnection,
    ) -> Result<Vec<sqlx::any::AnyRow>, sqlx::Error> {
        let text = self.render(conn.backend_name());
        self.query(&text).fetch_all(conn).await
    }

    pub(crate) async fn fetch_one(
        &self,
        conn: &mut AnyConnection,
    ) -> Result<sqlx::any::AnyRow, sqlx::Error> {
        let text = self.render(conn.backend_name());
        self.query(&text).fetch_one(conn).await
    }

    pub(crate) async fn execute(
        &self,
        conn: &mut AnyConnection,
    ) -> Result<sqlx::any::AnyQueryResult, sqlx::Error> {
        let text = self.render(conn.backend_name());
        self.query(&text).execute(conn).await
    }
}

/// Placeholder lists are chunked below both backends' bind limits.
pub(crate) const IN_CHUNK: usize = 1000;

pub struct SqlStore {
    read: AnyPool,
    write: AnyPool,
    dialect: Dialect,
    /// SQLite only: see [`sqlite_metrics`].
    series: sqlite_metrics::SeriesCache,
    /// SQLite only: see [`metric_writer`].
    batches: Option<metric_writer::BatchWriter>,
    /// SQLite only: see [`checkpoint`].
    _checkpoints: Option<checkpoint::CheckpointTask>,
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
        // A new store's pages are 8 KiB (an existing store keeps its size; the pragma changes only
        // an empty file): see `SQLITE_PAGE_SIZE`.
        sqlx::query(SQLITE_PAGE_SIZE).execute(&write).await?;
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
        let catch_up = checkpoint::CatchUp::default();
        let checkpoints = checkpoint::spawn(read.clone(), write.clone(), catch_up.clone());
        let batches = metric_writer::BatchWriter::start(write.clone(), catch_up)?;
        Ok(Self {
            read,
            write,
            dialect: Dialect::Sqlite,
            series: sqlite_metrics::SeriesCache::default(),
            batches: Some(batches),
            _checkpoints: Some(checkpoints),
        })
    }

    async fn connect_postgres(uri: &str) -> anyhow::Result<Self> {
        let pool = AnyPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(postgres_session_setup)
            .connect(uri)
            .await?;
        sqlx::migrate!("../migrations/postgres").run(&pool).await?;
        Ok(Self {
            read: pool.clone(),
            write: pool,
            dialect: Dialect::Postgres,
            series: sqlite_metrics::SeriesCache::default(),
            batches: None,
            _checkpoints: None,
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

    /// Each pool's size and use; PostgreSQL has one pool for both.
    fn pools(&self) -> Vec<PoolStats> {
        let stats = |pool: &'static str, p: &AnyPool| PoolStats {
            pool,
            open: p.size(),
            idle: p.num_idle(),
            max: p.options().get_max_connections(),
        };
        match self.dialect {
            Dialect::Sqlite => vec![stats("read", &self.read), stats("write", &self.write)],
            Dialect::Postgres => vec![stats("shared", &self.write)],
        }
    }
}

impl Store for SqlStore {
    fn pool_stats(&self) -> Vec<PoolStats> {
        self.pools()
    }
}

/// SQLite's page size for new stores, 8 KiB instead of 4.
///
/// A 500-metric batch writes a point into each of 500 series, and once a run's series outgrow a
/// page each point dirties its own page, which is copied, checksummed and written to the WAL, then
/// checkpointed: per page, not per byte. With 8 KiB pages a run's series share half as many pages,
/// and a replica of the log-batch bench wrote a batch in 4.1 ms instead of 5.1 (16 KiB: 4.3).
const SQLITE_PAGE_SIZE: &str = "PRAGMA page_size = 8192";

/// Per-connection SQLite settings (journal mode is per database and set once at start).
///
/// Reads go through a memory map of the whole file, up to 64 GiB: a 1000-run search copies a fifth
/// less than through `pread`, and on a store of gigabytes, whose pages SQLite's own 32 MB cache
/// cannot hold, a page read is a memory access instead of a system call (a run count of a
/// million-run store went from 41 to 17 ms of CPU). Mapped pages are the file's, shared with the OS cache
/// and given back under memory pressure: they show in RSS once read, not as the process's own
/// memory. Checkpoints are left to [`checkpoint`].
fn sqlite_session_setup(
    conn: &mut AnyConnection,
    _meta: sqlx::pool::PoolConnectionMetadata,
) -> futures_util::future::BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        conn.execute(
            "PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; \
             PRAGMA foreign_keys = ON; PRAGMA cache_size = -32000; PRAGMA mmap_size = 68719476736; \
             PRAGMA wal_autocheckpoint = 0; PRAGMA temp_store = MEMORY;",
        )
        .await?;
        Ok(())
    })
}

/// Per-connection PostgreSQL settings, for mltrack's own sessions only (the server's defaults are
/// the operator's).
///
/// JIT off: our queries are short, but a search page's child lookups are estimated expensive
/// when a table's statistics are skewed (a few runs with thousands of params), which crosses
/// `jit_above_cost`; compiling them then took ~250 ms of the database's CPU per page, to save
/// nothing.
fn postgres_session_setup(
    conn: &mut AnyConnection,
    _meta: sqlx::pool::PoolConnectionMetadata,
) -> futures_util::future::BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        conn.execute("SET jit = off").await?;
        Ok(())
    })
}

pub(crate) use protocol::tags::now_ms;

/// NaN is stored as value 0 with `is_nan` set, as MLflow's SQL store does (a SQLite REAL cannot
/// hold NaN).
pub(crate) fn stored_value(m: &protocol::Metric) -> (f64, i64) {
    if m.value.is_nan() {
        (0.0, 1)
    } else {
        (m.value, 0)
    }
}

/// The update half of the latest-value upsert, shared by both backends.
pub(crate) const LATEST_UPDATE: &str =
    " ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value, \
     is_nan = excluded.is_nan, timestamp = excluded.timestamp, step = excluded.step \
     WHERE (excluded.step, excluded.timestamp, excluded.value) >= \
     (latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)";

/// One `(run_uuid, key, value, is_nan, timestamp, step)` row of a `latest_metrics` insert.
pub(crate) fn push_latest_row(sql: &mut SqlBuf, run_id: &str, m: &Metric) {
    let (value, is_nan) = stored_value(m);
    sql.push("(")
        .bind_list([
            Arg::Str(run_id.to_string()),
            Arg::Str(m.key.clone()),
            Arg::F64(value),
            Arg::I64(is_nan),
            Arg::I64(m.timestamp),
            Arg::I64(m.step),
        ])
        .push(")");
}

/// The latest point per key within a batch, by MLflow's (step, timestamp, value) order.
pub(crate) fn latest_points(metrics: &[Metric]) -> Vec<&Metric> {
    let mut latest: HashMap<&str, &Metric> = HashMap::new();
    for m in metrics {
        let order = |x: &Metric| (x.step, x.timestamp, stored_value(x).0);
        match latest.get(m.key.as_str()) {
            Some(cur) if order(cur) >= order(m) => {}
            _ => {
                latest.insert(m.key.as_str(), m);
            }
        }
    }
    latest.into_values().collect()
}

/// Reads of a run's metrics answer `RESOURCE_DOES_NOT_EXIST` for an unknown run, not an empty list.
pub(crate) async fn require_run(conn: &mut AnyConnection, run_id: &str) -> StoreResult<()> {
    let exists = sqlx::query("SELECT 1 FROM runs WHERE run_uuid = $1")
        .bind(run_id)
        .fetch_optional(&mut *conn)
        .await?;
    exists.map(|_| ()).ok_or_else(|| run_not_found(run_id))
}

pub(crate) fn run_not_found(run_id: &str) -> StoreError {
    StoreError::NotFound(format!("Run with id={run_id} not found"))
}

pub(crate) fn experiment_not_found(id: i64) -> StoreError {
    StoreError::NotFound(format!("No Experiment with id={id} exists"))
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

    /// The two backends are one schema: a migration added to one folder and not the other would
    /// leave a PostgreSQL server without a table that SQLite has (or the reverse).
    #[test]
    fn both_migration_folders_hold_the_same_versions() {
        let versions = |backend: &str| {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../migrations")
                .join(backend);
            let mut names: Vec<String> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| {
                    std::path::Path::new(n)
                        .extension()
                        .is_some_and(|e| e == "sql")
                })
                .collect();
            names.sort();
            names
        };
        let (sqlite, postgres) = (versions("sqlite"), versions("postgres"));
        assert!(!sqlite.is_empty());
        assert_eq!(
            sqlite, postgres,
            "migrations/sqlite and migrations/postgres differ"
        );
        let sqlite_migrator = sqlx::migrate!("../migrations/sqlite");
        let postgres_migrator = sqlx::migrate!("../migrations/postgres");
        let ids = |m: &sqlx::migrate::Migrator| m.iter().map(|m| m.version).collect::<Vec<_>>();
        assert_eq!(ids(&sqlite_migrator), ids(&postgres_migrator));
    }
}
