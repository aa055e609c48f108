//! Read paths for the web UI: run counts, the key sets of an experiment, and metric histories reduced
//! to chart resolution inside the database.

use super::search::compile_run_count;
use super::search_plan::{self, Plan};
use super::{require_run, Arg, SqlBuf, SqlStore};
use crate::store::RunViews;
use crate::store::{EnvelopePoint, HistoryAxis, MetricEnvelope, RunKeys, RunSearch, StoreResult};
use protocol::ViewType;
use sqlx::Row;

/// Values outside this range (±∞) cannot be placed on a chart; NaN rows are excluded by `is_nan`.
const FINITE: &str = " AND is_nan = 0 AND value > -1.0e308 AND value < 1.0e308";

fn count_from(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

#[async_trait::async_trait]
impl RunViews for SqlStore {
    async fn count_runs(&self, search: &RunSearch, at_most: u64) -> StoreResult<u64> {
        let mut conn = self.read.acquire().await?;
        let plan = search_plan::choose(&mut conn, self.dialect, search).await?;
        let sql = compile_run_count(
            self.dialect,
            search,
            Plan {
                metric_first: false,
                ..plan
            },
            at_most,
        );
        let rows = sql.fetch_all(&mut conn).await?;
        let n: i64 = rows.first().map(|r| r.try_get(0)).transpose()?.unwrap_or(0);
        Ok(count_from(n))
    }

    async fn run_keys(&self, experiment_ids: &[i64], view: ViewType) -> StoreResult<RunKeys> {
        let mut conn = self.read.acquire().await?;
        let mut found: [Vec<String>; 3] = Default::default();
        for (table, out) in ["params", "latest_metrics", "tags"].iter().zip(&mut found) {
            let mut sql = SqlBuf::new(&format!(
                "SELECT DISTINCT c.key FROM {table} c JOIN runs r ON r.run_uuid = c.run_uuid \
                 WHERE r.experiment_id IN ("
            ));
            if experiment_ids.is_empty() {
                sql.push("NULL");
            } else {
                sql.bind_list(experiment_ids.iter().map(|id| Arg::I64(*id)));
            }
            sql.push(") AND r.lifecycle_stage IN (");
            sql.bind_list(view.stages().iter().map(|s| Arg::Str((*s).to_string())));
            sql.push(") ORDER BY c.key");
            *out = sql
                .fetch_all(&mut conn)
                .await?
                .iter()
                .map(|r| r.try_get::<String, _>(0))
                .collect::<Result<_, _>>()?;
        }
        let [params, metrics, tags] = found;
        Ok(RunKeys {
            params,
            metrics,
            tags,
        })
    }

    async fn metric_envelope(
        &self,
        run_id: &str,
        key: &str,
        axis: HistoryAxis,
        columns: u32,
    ) -> StoreResult<MetricEnvelope> {
        let x = match axis {
            HistoryAxis::Step => "step",
            HistoryAxis::Time => "timestamp",
        };
        let mut conn = self.read.acquire().await?;
        require_run(&mut conn, run_id).await?;
        let scope = |select: &str| {
            let mut sql = SqlBuf::new(select);
            sql.push(" FROM metrics WHERE run_uuid = ")
                .bind(Arg::Str(run_id.to_string()))
                .push(" AND key = ")
                .bind(Arg::Str(key.to_string()))
                .push(FINITE);
            sql
        };
        let stats = scope(&format!("SELECT COUNT(*), MIN({x}), MAX({x})"))
            .fetch_all(&mut conn)
            .await?;
        let Some(row) = stats.first() else {
            return Ok(MetricEnvelope::default());
        };
        let total: i64 = row.try_get(0)?;
        if total == 0 {
            return Ok(MetricEnvelope::default());
        }
        let (lo, hi): (i64, i64) = (row.try_get(1)?, row.try_get(2)?);
        let columns = i64::from(columns.max(1));
        let points = if total > 2 * columns && hi == lo {
            // Every point at one x (MLflow issue #24169: all logged at step 0): one column.
            let rows = scope("SELECT MIN(value), MAX(value)")
                .fetch_all(&mut conn)
                .await?;
            let row = rows.first().ok_or(sqlx::Error::RowNotFound)?;
            vec![EnvelopePoint {
                x: lo,
                min: row.try_get(0)?,
                max: row.try_get(1)?,
            }]
        } else if total <= 2 * columns {
            let mut sql = scope(&format!("SELECT {x}, value"));
            sql.push(&format!(" ORDER BY {x}, timestamp, step"));
            sql.fetch_all(&mut conn)
                .await?
                .iter()
                .map(|r| {
                    let v: f64 = r.try_get(1)?;
                    Ok(EnvelopePoint {
                        x: r.try_get(0)?,
                        min: v,
                        max: v,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        } else {
            // Integer arithmetic on both backends: the bucket of x is ⌊(x − lo) · columns / span⌋.
            // A span of 10^13 ms times 4,000 columns still fits in 64 bits.
            let span = hi - lo + 1;
            let mut sql = SqlBuf::new(&format!(
                "SELECT b, MIN(x), MIN(v), MAX(v) FROM (SELECT ({x} - "
            ));
            sql.bind(Arg::I64(lo))
                .push(") * ")
                .bind(Arg::I64(columns))
                .push(" / ")
                .bind(Arg::I64(span))
                .push(&format!(
                    " AS b, {x} AS x, value AS v FROM metrics WHERE run_uuid = "
                ))
                .bind(Arg::Str(run_id.to_string()))
                .push(" AND key = ")
                .bind(Arg::Str(key.to_string()))
                .push(FINITE)
                .push(") s GROUP BY b ORDER BY b");
            sql.fetch_all(&mut conn)
                .await?
                .iter()
                .map(|r| {
                    Ok(EnvelopePoint {
                        x: r.try_get(1)?,
                        min: r.try_get(2)?,
                        max: r.try_get(3)?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        };
        Ok(MetricEnvelope {
            total: count_from(total),
            points,
        })
    }
}
