//! Compiles parsed search filters and `order_by` lists into SQL.
//!
//! Filtering, ordering and paging all happen in the database, against `latest_metrics` for metric
//! clauses, so a search reads one page of runs and never the metric history (the scale problems in
//! MLflow issues #2730 and #1571 came from doing otherwise).

use super::search_plan::{bind_stages, candidates, push_scope, Plan};
use super::{run_rows, Arg, Dialect, SqlBuf};
use crate::search::{Clause, Comparator, Entity, FilterValue};
use crate::store::{ExperimentSearch, RunSearch};
use std::fmt::Write as _;

pub(super) struct SearchSql(pub SqlBuf);

pub(super) const RUN_COLUMNS: &str = "r.run_uuid, r.experiment_id, r.name, r.user_id, r.status, \
     r.start_time, r.end_time, r.artifact_uri, r.lifecycle_stage";

fn op_sql(c: Comparator) -> &'static str {
    match c {
        Comparator::Eq => " = ",
        Comparator::Ne => " != ",
        Comparator::Gt => " > ",
        Comparator::Ge => " >= ",
        Comparator::Lt => " < ",
        Comparator::Le => " <= ",
        _ => " = ",
    }
}

/// `column <op> value` for string or numeric values, including LIKE/ILIKE/IN.
fn compare(
    sql: &mut SqlBuf,
    dialect: Dialect,
    column: &str,
    comparator: Comparator,
    value: &FilterValue,
) {
    match (comparator, value) {
        (Comparator::Like, FilterValue::Str(s)) => dialect.like(sql, column, s),
        (Comparator::ILike, FilterValue::Str(s)) => dialect.ilike(sql, column, s),
        (Comparator::In | Comparator::NotIn, FilterValue::List(items)) => {
            if items.is_empty() {
                sql.push(if comparator == Comparator::In {
                    "1 = 0"
                } else {
                    "1 = 1"
                });
                return;
            }
            sql.push(column).push(if comparator == Comparator::In {
                " IN ("
            } else {
                " NOT IN ("
            });
            sql.bind_list(items.iter().map(|s| Arg::Str(s.clone())))
                .push(")");
        }
        (op, FilterValue::Num(n)) => {
            sql.push(column).push(op_sql(op)).bind(Arg::F64(*n));
        }
        (op, FilterValue::Str(s)) => {
            sql.push(column).push(op_sql(op)).bind(Arg::Str(s.clone()));
        }
        // The parser never pairs other comparators with these values; match nothing rather than all.
        _ => {
            sql.push("1 = 0");
        }
    }
}

/// A key-value child table (params, tags, `latest_metrics`, `experiment_tags`) tested for one key.
fn child_clause(
    sql: &mut SqlBuf,
    dialect: Dialect,
    table: &str,
    owner_column: &str,
    owner: &str,
    clause: &Clause,
) {
    let negate = clause.comparator == Comparator::IsNull;
    sql.push(if negate {
        "NOT EXISTS (SELECT 1 FROM "
    } else {
        "EXISTS (SELECT 1 FROM "
    });
    sql.push(table)
        .push(" c WHERE c.")
        .push(owner_column)
        .push(" = ")
        .push(owner);
    sql.push(" AND c.key = ").bind(Arg::Str(clause.key.clone()));
    match clause.comparator {
        Comparator::IsNull | Comparator::IsNotNull => {}
        c => {
            if table == "latest_metrics" {
                sql.push(" AND c.is_nan = 0");
            }
            sql.push(" AND ");
            compare(sql, dialect, "c.value", c, &clause.value);
        }
    }
    sql.push(")");
}

fn run_attribute_column(key: &str) -> &'static str {
    match key {
        "run_id" => "r.run_uuid",
        "run_name" => "r.name",
        "status" => "r.status",
        "artifact_uri" => "r.artifact_uri",
        "user_id" => "r.user_id",
        "start_time" => "r.start_time",
        "end_time" => "r.end_time",
        "lifecycle_stage" => "r.lifecycle_stage",
        _ => "r.run_uuid",
    }
}

fn dataset_clause(sql: &mut SqlBuf, dialect: Dialect, clause: &Clause) {
    sql.push(
        "EXISTS (SELECT 1 FROM run_inputs i JOIN datasets d ON d.dataset_uuid = i.dataset_uuid \
         WHERE i.run_uuid = r.run_uuid AND ",
    );
    if clause.key == "context" {
        sql.push(
            "EXISTS (SELECT 1 FROM input_tags t WHERE t.run_uuid = i.run_uuid AND \
             t.dataset_uuid = i.dataset_uuid AND t.key = 'mlflow.data.context' AND ",
        );
        compare(sql, dialect, "t.value", clause.comparator, &clause.value);
        sql.push(")");
    } else {
        let column = if clause.key == "digest" {
            "d.digest"
        } else {
            "d.name"
        };
        compare(sql, dialect, column, clause.comparator, &clause.value);
    }
    sql.push(")");
}

/// One ordering term: an expression over the runs row (or its order joins) and its direction.
struct OrderTerm {
    expr: String,
    descending: bool,
}

/// The ordering of a run search as plain terms. Missing values sort last in both directions; NaN
/// after numbers, before missing. Columns the schema declares NOT NULL get no `IS NULL` term, so that
/// the default order (`start_time DESC`) can read the `runs_by_experiment` index instead of sorting.
fn run_order_terms(search: &RunSearch) -> Vec<OrderTerm> {
    let term = |expr: String, descending: bool| OrderTerm { expr, descending };
    let mut terms = Vec::new();
    let mut has_start_time = false;
    for (i, ob) in search.order_by.iter().enumerate() {
        let desc = !ob.ascending;
        match ob.entity {
            Entity::Metric => {
                terms.push(term(format!("(o{i}.run_uuid IS NULL)"), false));
                terms.push(term(format!("o{i}.is_nan"), false));
                terms.push(term(format!("o{i}.value"), desc));
            }
            Entity::Param | Entity::Tag => {
                terms.push(term(format!("(o{i}.value IS NULL)"), false));
                terms.push(term(format!("o{i}.value"), desc));
            }
            _ => {
                let column = run_attribute_column(&ob.key);
                has_start_time |= column == "r.start_time";
                if column == "r.end_time" {
                    terms.push(term(format!("({column} IS NULL)"), false));
                }
                terms.push(term(column.to_string(), desc));
            }
        }
    }
    if !has_start_time {
        terms.push(term("r.start_time".to_string(), true));
    }
    terms.push(term("r.run_uuid".to_string(), false));
    terms
}

fn push_order(sql: &mut SqlBuf, terms: &[OrderTerm]) {
    sql.push(" ORDER BY ");
    for (j, t) in terms.iter().enumerate() {
        if j > 0 {
            sql.push(", ");
        }
        sql.push(&t.expr)
            .push(if t.descending { " DESC" } else { " ASC" });
    }
}

/// One page of a run search as a single row: the runs' info rows (see [`run_rows`]) in the
/// search's order, plus one extra run when a next page exists.
///
/// The inner query picks and orders the page and exposes its ordering values as `k0, k1, …`; the
/// outer aggregate orders by them again, since an aggregate over a subquery is not promised to see
/// the subquery's order. With [`Plan::metric_first`] the page is picked among runs that have a
/// non-NaN value of the first ordering metric, whose first two ordering terms are then constant and
/// left out, so the database can read the page in index order (see [`super::search_plan`]).
///
/// On SQLite, a plan other than the plain walk picks the page by row id first and reads the page's
/// columns after: its candidates (up to 20,000) are then sorted as row ids and ordering values,
/// not as whole rows, which the `runs_by_id` index answers without reading the table.
pub(super) fn compile_run_search(dialect: Dialect, search: &RunSearch, plan: Plan) -> SearchSql {
    let terms = run_order_terms(search);
    let mut columns = RUN_COLUMNS.to_string();
    for (j, t) in terms.iter().enumerate() {
        let _ = write!(columns, ", {} AS k{j}", t.expr);
    }
    let inner = if dialect == Dialect::Sqlite && plan != Plan::default() {
        let mut inner = SqlBuf::new(&format!("SELECT {columns} FROM runs r"));
        push_order_joins(&mut inner, search, Plan::default());
        inner.push(" WHERE r.rowid IN (");
        inner.append(pick_page(dialect, search, plan, &terms, "r.rowid"));
        inner.push(")");
        inner
    } else {
        pick_page(dialect, search, plan, &terms, &columns)
    };
    let outer_order: Vec<String> = terms
        .iter()
        .enumerate()
        .map(|(j, t)| format!("p.k{j}{}", if t.descending { " DESC" } else { " ASC" }))
        .collect();
    let mut sql = SqlBuf::new("SELECT ");
    sql.push(&dialect.json_array_agg(&run_rows::info_row(dialect), Some(&outer_order.join(", "))))
        .push(" FROM (");
    sql.append(inner);
    sql.push(") p");
    SearchSql(sql)
}

/// `SELECT <columns>` of the runs of one page, in order, with one extra run when a next page exists.
fn pick_page(
    dialect: Dialect,
    search: &RunSearch,
    plan: Plan,
    terms: &[OrderTerm],
    columns: &str,
) -> SqlBuf {
    let mut sql = SqlBuf::new(&format!("SELECT {columns}"));
    if plan.metric_first {
        sql.push(" FROM latest_metrics o0 CROSS JOIN runs r");
    } else {
        sql.push(" FROM runs r");
    }
    if dialect == Dialect::Sqlite && plan != Plan::default() {
        // Both plans look runs up by id; without statistics SQLite would take the unique index on
        // `run_uuid` and then read each row, where `runs_by_id` holds all the lookup needs.
        sql.push(" INDEXED BY runs_by_id");
    }
    push_order_joins(&mut sql, search, plan);
    push_run_conditions(&mut sql, dialect, search, plan);
    if plan.metric_first {
        sql.push(" AND o0.run_uuid = r.run_uuid AND o0.is_nan = 0 AND o0.key = ");
        sql.bind(Arg::Str(search.order_by[0].key.clone()));
        push_order(&mut sql, &terms[2..]);
    } else {
        push_order(&mut sql, terms);
    }
    push_limit(&mut sql, search.max_results, search.offset);
    sql
}

/// One LEFT JOIN per ordering key that lives in a child table (the first, a metric, is the driving
/// table itself with [`Plan::metric_first`]).
fn push_order_joins(sql: &mut SqlBuf, search: &RunSearch, plan: Plan) {
    for (i, ob) in search.order_by.iter().enumerate() {
        let table = match ob.entity {
            Entity::Metric if !(plan.metric_first && i == 0) => "latest_metrics",
            Entity::Param => "params",
            Entity::Tag => "tags",
            _ => continue,
        };
        sql.push(&format!(
            " LEFT JOIN {table} o{i} ON o{i}.run_uuid = r.run_uuid AND o{i}.key = "
        ));
        sql.bind(Arg::Str(ob.key.clone()));
    }
}

/// The `WHERE` part of a run search (experiments, lifecycle, filter clauses), shared by the page query
/// and the count the web UI shows, so that both always agree on which runs match.
fn push_run_conditions(sql: &mut SqlBuf, dialect: Dialect, search: &RunSearch, plan: Plan) {
    sql.push(" WHERE ");
    push_scope(
        sql,
        dialect,
        search,
        plan.driver.is_some() || plan.metric_first,
    );
    for (i, clause) in search.filter.iter().enumerate() {
        sql.push(" AND ");
        if plan.driver == Some(i) {
            sql.push("r.run_uuid IN (");
            candidates(sql, dialect, clause);
            sql.push(")");
            continue;
        }
        match clause.entity {
            Entity::Metric => child_clause(
                sql,
                dialect,
                "latest_metrics",
                "run_uuid",
                "r.run_uuid",
                clause,
            ),
            Entity::Param => child_clause(sql, dialect, "params", "run_uuid", "r.run_uuid", clause),
            Entity::Tag => child_clause(sql, dialect, "tags", "run_uuid", "r.run_uuid", clause),
            Entity::Attribute => {
                let column = run_attribute_column(&clause.key);
                compare(sql, dialect, column, clause.comparator, &clause.value);
            }
            Entity::Dataset => dataset_clause(sql, dialect, clause),
        }
    }
}

/// How many runs a search matches, counting no further than `at_most` (ordering and paging
/// ignored): the exact count of a million runs costs a read of a million index entries.
pub(super) fn compile_run_count(
    dialect: Dialect,
    search: &RunSearch,
    plan: Plan,
    at_most: u64,
) -> SqlBuf {
    let mut sql = SqlBuf::new("SELECT COUNT(*) FROM (SELECT 1 FROM runs r");
    push_run_conditions(&mut sql, dialect, search, plan);
    sql.push(" LIMIT ")
        .bind(Arg::I64(i64::try_from(at_most).unwrap_or(i64::MAX)))
        .push(") x");
    sql
}

fn push_limit(sql: &mut SqlBuf, max_results: u64, offset: u64) {
    // One extra row tells whether a next page exists.
    let limit = i64::try_from(max_results.saturating_add(1)).unwrap_or(i64::MAX);
    sql.push(" LIMIT ").bind(Arg::I64(limit));
    sql.push(" OFFSET ")
        .bind(Arg::I64(i64::try_from(offset).unwrap_or(i64::MAX)));
}

fn experiment_attribute_column(key: &str) -> &'static str {
    match key {
        "name" => "e.name",
        "experiment_id" => "e.experiment_id",
        "creation_time" => "e.creation_time",
        "last_update_time" => "e.last_update_time",
        _ => "e.experiment_id",
    }
}

pub(super) fn compile_experiment_search(
    dialect: Dialect,
    search: &ExperimentSearch,
    columns: &str,
) -> SearchSql {
    let mut sql = SqlBuf::new("SELECT ");
    let prefixed: Vec<String> = columns.split(", ").map(|c| format!("e.{c}")).collect();
    sql.push(&prefixed.join(", "))
        .push(" FROM experiments e WHERE e.lifecycle_stage IN (");
    bind_stages(&mut sql, search.view);
    sql.push(")");
    for clause in &search.filter {
        sql.push(" AND ");
        match clause.entity {
            Entity::Tag => child_clause(
                &mut sql,
                dialect,
                "experiment_tags",
                "experiment_id",
                "e.experiment_id",
                clause,
            ),
            _ if clause.key == "experiment_id" => {
                // Ids are strings on the wire and integers here.
                let ids: Vec<i64> = match &clause.value {
                    FilterValue::List(items) => {
                        items.iter().filter_map(|s| s.parse().ok()).collect()
                    }
                    FilterValue::Str(s) => s.parse().ok().into_iter().collect(),
                    #[allow(clippy::cast_possible_truncation)]
                    FilterValue::Num(n) => vec![*n as i64],
                    FilterValue::Null => Vec::new(),
                };
                let negate = matches!(clause.comparator, Comparator::NotIn | Comparator::Ne);
                if ids.is_empty() {
                    sql.push(if negate { "1 = 1" } else { "1 = 0" });
                } else {
                    sql.push(if negate {
                        "e.experiment_id NOT IN ("
                    } else {
                        "e.experiment_id IN ("
                    });
                    sql.bind_list(ids.into_iter().map(Arg::I64)).push(")");
                }
            }
            _ => {
                let column = experiment_attribute_column(&clause.key);
                compare(&mut sql, dialect, column, clause.comparator, &clause.value);
            }
        }
    }
    sql.push(" ORDER BY ");
    if search.order_by.is_empty() {
        sql.push("e.creation_time DESC, e.experiment_id ASC");
    } else {
        for ob in &search.order_by {
            let dir = if ob.ascending { "ASC" } else { "DESC" };
            sql.push(experiment_attribute_column(&ob.key))
                .push(" ")
                .push(dir)
                .push(", ");
        }
        sql.push("e.experiment_id DESC");
    }
    push_limit(&mut sql, search.max_results, search.offset);
    SearchSql(sql)
}
