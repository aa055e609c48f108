//! Reading runs with their children: one run, or a search page of up to 50,000.
//!
//! A page is three queries whatever its size: the ordered run info rows, then the children of each
//! half of the page on its own connection (on SQLite each connection has its own thread, so a large
//! page uses both cores), each answered as one row of flat JSON arrays (see [`run_rows`]).
//! Dataset inputs and model outputs are read only for the runs that have them. The page is then
//! either assembled as typed [`Run`]s or, for `runs/search`, written as its JSON (see [`run_json`]).

use super::experiments::page_overflow;
use super::pg_array::text_array;
use super::run_json;
use super::run_rows::{self, Child, ChunkData, ChunkTexts, InfoRef, Malformed, Positions};
use super::search::{compile_run_search, SearchSql};
use super::search_plan::{self, Plan};
use super::{Arg, Dialect, SqlBuf, SqlStore, IN_CHUNK};
use crate::store::{Page, RunSearch, StoreError, StoreResult, WrittenPage};
use protocol::{
    Dataset, DatasetInput, KeyValue, ModelInput, ModelOutput, Run, RunInfo, RunInputs, RunOutputs,
};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Row};
use std::collections::HashMap;

/// From this many runs PostgreSQL reads children with [`children_query_pg`], below it with
/// [`children_query_pg_in`].
const PER_RUN_FROM: usize = 20;

/// Pages from this size on read their children as two halves at once.
const PARALLEL_FROM: usize = 200;

impl From<Malformed> for StoreError {
    fn from(e: Malformed) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// Loads params, tags, latest metrics, inputs and outputs for runs already read, keeping their order.
pub(super) async fn load_runs(
    conn: &mut AnyConnection,
    infos: Vec<RunInfo>,
) -> StoreResult<Vec<Run>> {
    let ids: Vec<String> = infos.iter().map(|i| i.run_id.clone()).collect();
    let children = load_children(conn, &ids).await?;
    let parts = children.with_inputs_and_outputs(conn, ids).await?;
    parts.into_runs(infos)
}

/// Params, tags and latest metrics of some runs as read, and which of them have inputs or outputs.
#[derive(Default)]
struct Children {
    /// One per chunk of the runs asked for, in their order: how many runs it has, and its texts.
    chunks: Vec<(usize, ChunkTexts)>,
    with_inputs: Vec<String>,
    with_outputs: Vec<String>,
}

impl Children {
    fn extend(&mut self, other: Children) {
        self.chunks.extend(other.chunks);
        self.with_inputs.extend(other.with_inputs);
        self.with_outputs.extend(other.with_outputs);
    }

    /// The runs' parts, with their inputs and outputs read for those that have any.
    async fn with_inputs_and_outputs(
        self,
        conn: &mut AnyConnection,
        ids: Vec<String>,
    ) -> StoreResult<RunParts> {
        Ok(RunParts {
            dialect: Dialect::of(conn),
            inputs: load_inputs(conn, &self.with_inputs).await?,
            outputs: load_outputs(conn, &self.with_outputs).await?,
            chunks: self.chunks,
            ids,
        })
    }
}

/// Runs read but not yet assembled with their info rows: their ids, their children's texts by
/// chunk (in the runs' order), and the inputs and outputs of those that have any.
struct RunParts {
    dialect: Dialect,
    ids: Vec<String>,
    chunks: Vec<(usize, ChunkTexts)>,
    inputs: HashMap<String, RunInputs>,
    outputs: HashMap<String, RunOutputs>,
}

impl RunParts {
    /// Calls `f` with each run's index and its chunk's data and position there, in the runs' order.
    fn each_run(&self, mut f: impl FnMut(usize, &ChunkData<'_>, usize)) -> StoreResult<()> {
        let mut first = 0;
        for (runs, texts) in &self.chunks {
            let positions = Positions::new(self.dialect, &self.ids[first..first + runs]);
            let data = ChunkData::parse(texts, &positions)?;
            for n in 0..*runs {
                f(first + n, &data, n);
            }
            first += runs;
        }
        Ok(())
    }

    /// The runs, `infos` being theirs in the order of the ids.
    fn into_runs(mut self, infos: Vec<RunInfo>) -> StoreResult<Vec<Run>> {
        let mut data = Vec::with_capacity(infos.len());
        self.each_run(|_, chunk, n| data.push(chunk.run_data(n)))?;
        Ok(infos
            .into_iter()
            .zip(data)
            .map(|(info, data)| Run {
                data,
                inputs: self.inputs.remove(&info.run_id).unwrap_or_default(),
                outputs: self.outputs.remove(&info.run_id).unwrap_or_default(),
                info,
            })
            .collect())
    }

    /// Appends the runs to `out` as a JSON array, byte for byte what serialising [`Self::into_runs`]
    /// writes, `infos` being theirs in the order of the ids.
    fn write_json(&self, infos: &[InfoRef<'_>], out: &mut Vec<u8>) -> StoreResult<()> {
        let texts: usize = self
            .chunks
            .iter()
            .map(|(_, t)| t.params.len() + t.tags.len() + t.metrics.len())
            .sum();
        // About the answer's size, so that its megabyte is not copied as the buffer grows.
        out.reserve(texts * 3 / 2 + infos.len() * 400 + 2);
        out.push(b'[');
        let none = (RunInputs::default(), RunOutputs::default());
        self.each_run(|i, chunk, n| {
            let info = &infos[i];
            if i > 0 {
                out.push(b',');
            }
            let inputs = self.inputs.get(info.run_id.as_ref()).unwrap_or(&none.0);
            let outputs = self.outputs.get(info.run_id.as_ref()).unwrap_or(&none.1);
            run_json::write_run(out, info, chunk, n, inputs, outputs);
        })?;
        out.push(b']');
        Ok(())
    }
}

/// One column per child table: its rows of the given runs as one flat JSON array (SQLite).
///
/// The ids are a `VALUES` list numbered by position, which the params, tags and metrics rows name
/// their run by (see [`run_rows`]). Inputs and outputs answer the ids of the runs that have any,
/// each tested with `EXISTS` on the table's primary key: an `IN` list of the ids costs SQLite a
/// temporary index of them per table first (a tenth of the query at 500 runs).
fn children_query_sqlite(run_ids: &[String]) -> SqlBuf {
    let dialect = Dialect::Sqlite;
    let mut sql = SqlBuf::new("WITH ids (n, id) AS (VALUES ");
    for (n, id) in run_ids.iter().enumerate() {
        sql.push(&format!("{}({n}, ", if n == 0 { "" } else { ", " }))
            .bind(Arg::Str(id.clone()))
            .push(")");
    }
    sql.push(") SELECT ");
    let exists =
        |table: &str| format!("EXISTS (SELECT 1 FROM {table} c WHERE c.run_uuid = ids.id)");
    for (i, child) in Child::ALL.into_iter().enumerate() {
        sql.push(if i == 0 { "(SELECT " } else { ", (SELECT " });
        match child {
            Child::Params | Child::Tags | Child::Metrics => {
                sql.push(&dialect.json_array_agg(&child.row(dialect), None))
                    .push(" FROM ids JOIN ")
                    .push(child.table())
                    .push(" c ON c.run_uuid = ids.id)");
            }
            // The tables `Child::table` unites for inputs.
            Child::Inputs => {
                sql.push(&dialect.json_array_agg("ids.id", None))
                    .push(" FROM ids WHERE ")
                    .push(&exists("run_inputs"))
                    .push(" OR ")
                    .push(&exists("run_model_inputs"))
                    .push(")");
            }
            Child::Outputs => {
                sql.push(&dialect.json_array_agg("ids.id", None))
                    .push(" FROM ids WHERE ")
                    .push(&exists(child.table()))
                    .push(")");
            }
        }
    }
    sql
}

/// One column per child table: the rows of a few runs (a run page, a created run) as one flat JSON
/// array each, on PostgreSQL; an `IN` list of a few ids is an index lookup whatever the statistics.
fn children_query_pg_in(run_ids: &[String]) -> SqlBuf {
    let dialect = Dialect::Postgres;
    let mut sql = SqlBuf::new("SELECT ");
    for (i, child) in Child::ALL.into_iter().enumerate() {
        sql.push(if i == 0 { "(SELECT " } else { ", (SELECT " })
            .push(&dialect.json_array_agg(&child.row(dialect), None))
            .push(" FROM ")
            .push(child.table())
            .push(" c WHERE c.run_uuid IN (");
        sql.bind_list(run_ids.iter().map(|id| Arg::Str(id.clone())))
            .push("))");
    }
    sql
}

/// [`children_query_sqlite`] for PostgreSQL, with the run ids as one array (`$1`) and each run's rows
/// looked up on their own, then joined as text into the same flat JSON arrays.
///
/// Why per run: with `run_uuid IN (…500 ids…)` the planner estimates the rows from the column's
/// statistics, and when a few runs hold most of a table's rows (thousands of params each) it
/// expects a quarter of the table and scans all of it (60 ms for 880,000 params instead of 4 ms).
/// A lookup of one run's rows is an index scan whatever the statistics say.
fn children_query_pg() -> String {
    let columns: Vec<String> = Child::ALL
        .into_iter()
        .map(|child| {
            format!(
                "(SELECT '[' || COALESCE(string_agg(t.j, ','), '') || ']' FROM (SELECT \
                 (SELECT string_agg(to_json({})::text, ',') FROM {} c WHERE c.run_uuid = r.id) \
                 AS j FROM unnest($1::text[]) AS r (id)) t)",
                child.row(Dialect::Postgres),
                child.table()
            )
        })
        .collect();
    format!("SELECT {}", columns.join(", "))
}

/// The children of the given runs: one query per chunk of runs, answering one text per table.
async fn load_children(conn: &mut AnyConnection, run_ids: &[String]) -> StoreResult<Children> {
    let dialect = Dialect::of(conn);
    let mut children = Children::default();
    for chunk in run_ids.chunks(IN_CHUNK) {
        let row = match dialect {
            Dialect::Postgres if chunk.len() >= PER_RUN_FROM => {
                sqlx::query(&children_query_pg())
                    .bind(text_array(chunk.iter().map(String::as_str)))
                    .fetch_one(&mut *conn)
                    .await?
            }
            Dialect::Postgres => children_query_pg_in(chunk).fetch_one(&mut *conn).await?,
            Dialect::Sqlite => children_query_sqlite(chunk).fetch_one(&mut *conn).await?,
        };
        let text = |i: usize| -> StoreResult<String> {
            Ok(row.try_get::<Option<String>, _>(i)?.unwrap_or_default())
        };
        let mut texts = ChunkTexts {
            params: String::new(),
            tags: String::new(),
            metrics: String::new(),
        };
        for (i, child) in Child::ALL.into_iter().enumerate() {
            match child {
                Child::Params => texts.params = text(i)?,
                Child::Tags => texts.tags = text(i)?,
                Child::Metrics => texts.metrics = text(i)?,
                Child::Inputs => children
                    .with_inputs
                    .extend(run_rows::flagged_runs(&text(i)?)?),
                Child::Outputs => children
                    .with_outputs
                    .extend(run_rows::flagged_runs(&text(i)?)?),
            }
        }
        children.chunks.push((chunk.len(), texts));
    }
    Ok(children)
}

async fn load_outputs(
    conn: &mut AnyConnection,
    run_ids: &[String],
) -> StoreResult<HashMap<String, RunOutputs>> {
    let mut outputs: HashMap<String, RunOutputs> = HashMap::new();
    for chunk in run_ids.chunks(IN_CHUNK) {
        let mut sql =
            SqlBuf::new("SELECT run_uuid, model_id, step FROM run_outputs WHERE run_uuid IN (");
        sql.bind_list(chunk.iter().map(|id| Arg::Str(id.clone())))
            .push(") ORDER BY step, model_id");
        for row in sql.fetch_all(&mut *conn).await? {
            let output = ModelOutput {
                model_id: row.try_get(1)?,
                step: row.try_get(2)?,
            };
            outputs
                .entry(row.try_get(0)?)
                .or_default()
                .model_outputs
                .push(output);
        }
    }
    Ok(outputs)
}

async fn load_inputs(
    conn: &mut AnyConnection,
    run_ids: &[String],
) -> StoreResult<HashMap<String, RunInputs>> {
    let mut inputs: HashMap<String, RunInputs> = HashMap::new();
    for chunk in run_ids.chunks(IN_CHUNK) {
        let ids = || chunk.iter().map(|id| Arg::Str(id.clone()));
        let mut sql = SqlBuf::new(
            "SELECT run_uuid, dataset_uuid, key, value FROM input_tags WHERE run_uuid IN (",
        );
        sql.bind_list(ids()).push(") ORDER BY key");
        let mut input_tags: HashMap<(String, String), Vec<KeyValue>> = HashMap::new();
        for row in sql.fetch_all(&mut *conn).await? {
            let tag = KeyValue {
                key: row.try_get(2)?,
                value: row.try_get(3)?,
            };
            input_tags
                .entry((row.try_get(0)?, row.try_get(1)?))
                .or_default()
                .push(tag);
        }
        let mut sql = SqlBuf::new(
            "SELECT i.run_uuid, d.dataset_uuid, d.name, d.digest, d.source_type, d.source, d.schema, \
             d.profile FROM run_inputs i JOIN datasets d ON d.dataset_uuid = i.dataset_uuid \
             WHERE i.run_uuid IN (",
        );
        sql.bind_list(ids()).push(") ORDER BY d.name, d.digest");
        for row in sql.fetch_all(&mut *conn).await? {
            let run_id: String = row.try_get(0)?;
            let dataset_uuid: String = row.try_get(1)?;
            let tags = input_tags
                .remove(&(run_id.clone(), dataset_uuid))
                .unwrap_or_default();
            let dataset = Dataset {
                name: row.try_get(2)?,
                digest: row.try_get(3)?,
                source_type: row.try_get(4)?,
                source: row.try_get(5)?,
                schema: row.try_get(6)?,
                profile: row.try_get(7)?,
            };
            inputs
                .entry(run_id)
                .or_default()
                .dataset_inputs
                .push(DatasetInput { tags, dataset });
        }
        let mut sql =
            SqlBuf::new("SELECT run_uuid, model_id FROM run_model_inputs WHERE run_uuid IN (");
        sql.bind_list(ids()).push(") ORDER BY model_id");
        for row in sql.fetch_all(&mut *conn).await? {
            inputs
                .entry(row.try_get(0)?)
                .or_default()
                .model_inputs
                .push(ModelInput {
                    model_id: row.try_get(1)?,
                });
        }
    }
    Ok(inputs)
}

impl SqlStore {
    async fn load_children_on_own_connection(&self, ids: &[String]) -> StoreResult<Children> {
        let mut conn = self.read.acquire().await?;
        load_children(&mut conn, ids).await
    }
}

/// The info rows of one page of a run search as the database wrote them (see
/// [`run_rows::read_infos`]): up to `max_results` runs and one more if there is a next page.
async fn page_text(
    conn: &mut AnyConnection,
    dialect: Dialect,
    search: &RunSearch,
) -> StoreResult<String> {
    let plan = search_plan::choose(conn, dialect, search).await?;
    let text = page_text_of(conn, dialect, search, plan).await?;
    if plan.metric_first && (run_rows::read_infos(&text)?.len() as u64) <= search.max_results {
        // The runs with a value of the ordering metric end on this page: the rest of it is runs
        // without one, which only the plain plan reads.
        return page_text_of(conn, dialect, search, Plan::default()).await;
    }
    Ok(text)
}

async fn page_text_of(
    conn: &mut AnyConnection,
    dialect: Dialect,
    search: &RunSearch,
    plan: Plan,
) -> StoreResult<String> {
    let SearchSql(sql) = compile_run_search(dialect, search, plan);
    let text: Option<String> = sql.fetch_one(conn).await?.try_get(0)?;
    Ok(text.unwrap_or_default())
}

/// One page of a run search with each run's params, metrics, tags, inputs and outputs.
pub(super) async fn search_page(store: &SqlStore, search: &RunSearch) -> StoreResult<Page<Run>> {
    let mut conn = store.read.acquire().await?;
    let text = page_text(&mut conn, store.dialect, search).await?;
    let mut infos = run_rows::parse_infos(&text)?;
    let next_offset = page_overflow(&mut infos, search.max_results, search.offset);
    let ids = infos.iter().map(|i| i.run_id.clone()).collect();
    let parts = page_parts(store, conn, ids).await?;
    Ok(Page {
        items: parts.into_runs(infos)?,
        next_offset,
    })
}

/// [`search_page`] written as JSON: appends the page's runs to `out` as a JSON array. The info
/// rows are borrowed from the database's text, like the children (see [`run_json`]).
pub(super) async fn search_page_json(
    store: &SqlStore,
    search: &RunSearch,
    out: &mut Vec<u8>,
) -> StoreResult<WrittenPage> {
    let mut conn = store.read.acquire().await?;
    let text = page_text(&mut conn, store.dialect, search).await?;
    let mut infos = run_rows::read_infos(&text)?;
    let next_offset = page_overflow(&mut infos, search.max_results, search.offset);
    let ids = infos.iter().map(|i| i.run_id.to_string()).collect();
    let parts = page_parts(store, conn, ids).await?;
    parts.write_json(&infos, out)?;
    Ok(WrittenPage {
        items: infos.len(),
        next_offset,
    })
}

/// The children, inputs and outputs of a page's runs.
async fn page_parts(
    store: &SqlStore,
    mut conn: PoolConnection<Any>,
    ids: Vec<String>,
) -> StoreResult<RunParts> {
    let children = if ids.len() < PARALLEL_FROM {
        load_children(&mut conn, &ids).await?
    } else {
        // A task never holds one pooled connection while waiting for another: twenty
        // concurrent searches each holding one and waiting for a second would take the whole
        // pool and wait on each other until the acquire timeout.
        drop(conn);
        let (first, second) = ids.split_at(ids.len() / 2);
        let (first, second) = tokio::join!(
            store.load_children_on_own_connection(first),
            store.load_children_on_own_connection(second)
        );
        conn = store.read.acquire().await?;
        // The first half's chunks, then the second's: the runs' order.
        let mut children = first?;
        children.extend(second?);
        children
    };
    children.with_inputs_and_outputs(&mut conn, ids).await
}
