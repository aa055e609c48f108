//! How a run search reads a large experiment.
//!
//! The plain plan walks the experiment's runs in the page's order (the `runs_by_experiment` index)
//! and tests each against the filter. That is the fastest plan while the experiment is small or the
//! filter matches often, and hopeless at a million runs: `params.model = 'rf'` matching 1 % reads
//! 100,000 runs to fill a page of 1000, and `ORDER BY metrics.rmse` sorts every run. So when an
//! experiment holds at least [`LARGE_SCOPE`] runs in the searched view, two other plans are weighed,
//! each resting on an index of migration 0007:
//!
//! - **Driver.** A filter clause that an index answers (a metric compared with a number, a param
//!   equal to a value, the parent run tag equal to or in a list of run ids) is counted there, up to [`DRIVER_MAX`];
//!   the clause with the fewest candidates below that bound picks the runs, which are then tested
//!   and sorted. Sorting 20,000 candidates costs what walking 20,000 runs does, so above the bound
//!   the plain walk finds its page sooner.
//! - **Metric first.** A search ordered by a metric reads that key's latest values in order off the
//!   `latest_metrics_by_key_value` index and stops at the page's end. It only sees runs that have a
//!   non-NaN value; when those are fewer than the page, the page reaches the runs that sort after
//!   them (NaN, then no value) and the search is read again with the plain plan.
//!
//! Both give the same rows in the same order as the plain plan: they change where the database
//! starts, never what matches. Counting candidates and the experiment's size costs an index range
//! read bounded by the constants below (a few milliseconds at most), paid only by searches that
//! have an indexed clause or a metric ordering.

use super::{Arg, Dialect, SqlBuf};
use crate::search::{Clause, Comparator, Entity, FilterValue};
use crate::store::{RunSearch, StoreResult};
use protocol::tags::PARENT_RUN_ID;
use sqlx::AnyConnection;

/// From this many runs in the searched experiments and view, the other plans are weighed.
const LARGE_SCOPE: i64 = 10_000;
/// A driving clause must match fewer runs than this.
const DRIVER_MAX: i64 = 20_000;
/// PostgreSQL indexes text values by this prefix (its B-tree entries are limited to ~2.7 kB).
const PREFIX: &str = "200";
const PREFIX_CHARS: usize = 200;

/// The plan of one run search; the default is the plain walk.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Plan {
    /// The filter clause (its index in `RunSearch::filter`) whose candidates are read first.
    pub driver: Option<usize>,
    /// Read the page off the index of the first ordering key, a metric.
    pub metric_first: bool,
}

/// Whether an index answers this clause, see the module doc.
fn indexed(clause: &Clause) -> bool {
    match (clause.entity, clause.comparator, &clause.value) {
        (
            Entity::Metric,
            Comparator::Eq | Comparator::Gt | Comparator::Ge | Comparator::Lt | Comparator::Le,
            FilterValue::Num(_),
        ) => true,
        (Entity::Param, Comparator::Eq, FilterValue::Str(_)) => true,
        (Entity::Tag, Comparator::Eq, FilterValue::Str(_)) => clause.key == PARENT_RUN_ID,
        (Entity::Tag, Comparator::In, FilterValue::List(items)) => {
            clause.key == PARENT_RUN_ID && !items.is_empty()
        }
        _ => false,
    }
}

/// `SELECT c.run_uuid FROM … WHERE …`: the runs an [`indexed`] clause matches, written so that the
/// index of migration 0007 applies (the same expressions, and the parent key as a literal, which a
/// partial index needs).
pub(super) fn candidates(sql: &mut SqlBuf, dialect: Dialect, clause: &Clause) {
    match clause.entity {
        Entity::Metric => {
            sql.push("SELECT c.run_uuid FROM latest_metrics c WHERE c.key = ")
                .bind(Arg::Str(clause.key.clone()))
                .push(" AND c.is_nan = 0 AND c.value");
            let op = match clause.comparator {
                Comparator::Gt => " > ",
                Comparator::Ge => " >= ",
                Comparator::Lt => " < ",
                Comparator::Le => " <= ",
                _ => " = ",
            };
            let n = match clause.value {
                FilterValue::Num(n) => n,
                _ => f64::NAN,
            };
            sql.push(op).bind(Arg::F64(n));
        }
        Entity::Param => {
            sql.push("SELECT c.run_uuid FROM params c WHERE c.key = ")
                .bind(Arg::Str(clause.key.clone()))
                .push(" AND ");
            text_in(sql, dialect, &clause.value);
        }
        _ => {
            sql.push(&format!(
                "SELECT c.run_uuid FROM tags c WHERE c.key = '{PARENT_RUN_ID}' AND "
            ));
            text_in(sql, dialect, &clause.value);
        }
    }
}

/// `c.value IN (?, …)` as the dialect's index of migration 0007 answers it.
///
/// SQLite indexes whole values. PostgreSQL indexes 200-character prefixes:
/// `substr(c.value, 1, 200) IN (substr(?, 1, 200), …)`, then `AND c.value IN (?, …)` when a value
/// is 200 characters or longer. A shorter value equals its own prefix, and only a value shorter
/// than 200 characters has a prefix that short, so for those the index answers alone.
fn text_in(sql: &mut SqlBuf, dialect: Dialect, value: &FilterValue) {
    let values: Vec<&String> = match value {
        FilterValue::Str(s) => vec![s],
        FilterValue::List(items) => items.iter().collect(),
        _ => Vec::new(),
    };
    let whole = |sql: &mut SqlBuf| {
        sql.push("c.value IN (")
            .bind_list(values.iter().map(|v| Arg::Str((*v).clone())))
            .push(")");
    };
    if dialect == Dialect::Sqlite {
        whole(sql);
        return;
    }
    sql.push(&format!("substr(c.value, 1, {PREFIX}) IN ("));
    for (i, v) in values.iter().enumerate() {
        sql.push(if i == 0 { "substr(" } else { ", substr(" })
            .bind(Arg::Str((*v).clone()))
            .push(&format!(", 1, {PREFIX})"));
    }
    sql.push(")");
    if values.iter().any(|v| v.chars().count() >= PREFIX_CHARS) {
        sql.push(" AND ");
        whole(sql);
    }
}

/// `r.experiment_id IN (…) AND r.lifecycle_stage IN (…)`; with `demoted`, written so that SQLite
/// does not pick `runs_by_experiment` for them (a unary `+` hides a column from the planner), which
/// makes it start from the driving clause or the metric index. PostgreSQL plans by its statistics.
pub(super) fn push_scope(sql: &mut SqlBuf, dialect: Dialect, search: &RunSearch, demoted: bool) {
    let hide = if demoted && dialect == Dialect::Sqlite {
        "+"
    } else {
        ""
    };
    sql.push(&format!("{hide}r.experiment_id IN ("));
    if search.experiment_ids.is_empty() {
        sql.push("NULL");
    } else {
        sql.bind_list(search.experiment_ids.iter().map(|id| Arg::I64(*id)));
    }
    sql.push(&format!(") AND {hide}r.lifecycle_stage IN ("));
    bind_stages(sql, search.view);
    sql.push(")");
}

/// The lifecycle stages of a view as an `IN` list's placeholders.
pub(super) fn bind_stages(sql: &mut SqlBuf, view: protocol::ViewType) {
    sql.bind_list(view.stages().iter().map(|s| Arg::Str((*s).to_string())));
}

/// Whether the searched experiments and view hold at least [`LARGE_SCOPE`] runs.
async fn large_scope(
    conn: &mut AnyConnection,
    dialect: Dialect,
    search: &RunSearch,
) -> StoreResult<bool> {
    let mut sql = SqlBuf::new("SELECT 1 FROM runs r WHERE ");
    push_scope(&mut sql, dialect, search, false);
    sql.push(" LIMIT 1 OFFSET ").bind(Arg::I64(LARGE_SCOPE - 1));
    Ok(!sql.fetch_all(conn).await?.is_empty())
}

/// How many runs an [`indexed`] clause matches, counting no further than [`DRIVER_MAX`].
async fn candidate_count(
    conn: &mut AnyConnection,
    dialect: Dialect,
    clause: &Clause,
) -> StoreResult<i64> {
    let mut sql = SqlBuf::new("SELECT COUNT(*) FROM (");
    candidates(&mut sql, dialect, clause);
    sql.push(" LIMIT ").bind(Arg::I64(DRIVER_MAX)).push(") x");
    let row = sql.fetch_one(conn).await?;
    Ok(sqlx::Row::try_get(&row, 0)?)
}

/// Picks the plan of a search, see the module doc.
pub(super) async fn choose(
    conn: &mut AnyConnection,
    dialect: Dialect,
    search: &RunSearch,
) -> StoreResult<Plan> {
    let metric_order = search
        .order_by
        .first()
        .is_some_and(|o| o.entity == Entity::Metric);
    let probes: Vec<usize> = (0..search.filter.len())
        .filter(|&i| indexed(&search.filter[i]))
        .collect();
    if (!metric_order && probes.is_empty()) || !large_scope(conn, dialect, search).await? {
        return Ok(Plan::default());
    }
    let mut best: Option<(i64, usize)> = None;
    for i in probes {
        let n = candidate_count(conn, dialect, &search.filter[i]).await?;
        if n < DRIVER_MAX && best.is_none_or(|(fewest, _)| n < fewest) {
            best = Some((n, i));
        }
    }
    Ok(Plan {
        driver: best.map(|(_, i)| i),
        metric_first: metric_order && best.is_none(),
    })
}
