//! Metric history: full pages for the client, and down-sampled series for charts.

use super::{require_run, Arg, Dialect, SqlBuf, SqlStore};
use crate::store::MetricStore;
use crate::store::{Page, StoreError, StoreResult};
use protocol::Metric;
use sqlx::any::AnyRow;
use sqlx::Row;

/// One metric's history rows, folded into a single JSON array by the database (10,000 points cross
/// the driver as one value, not 10,000 rows). The caller appends conditions, ordering and `) c`.
fn history_query(dialect: Dialect, run_id: &str, key: &str, order: &str) -> SqlBuf {
    let agg = dialect.json_array_agg(
        dialect.metric_object(),
        Some(&format!("c.{}", order.replace(", ", ", c."))),
    );
    let mut sql = SqlBuf::new(&format!(
        "SELECT {agg} FROM (SELECT key, value, is_nan, timestamp, step FROM metrics WHERE run_uuid = "
    ));
    sql.bind(Arg::Str(run_id.to_string()))
        .push(" AND key = ")
        .bind(Arg::Str(key.to_string()));
    sql
}

fn points(rows: &[AnyRow]) -> StoreResult<Vec<Metric>> {
    let Some(row) = rows.first() else {
        return Ok(Vec::new());
    };
    let text: Option<String> = row.try_get(0)?;
    serde_json::from_str(text.as_deref().unwrap_or("[]"))
        .map_err(|e| StoreError::Corrupt(format!("stored metric history is not valid JSON: {e}")))
}

/// Picks at most `max` points spread evenly over `points`, always keeping the first and the last
/// (sampling by row, not by distinct step: MLflow issue #24169).
fn sample_evenly(points: Vec<Metric>, max: usize) -> Vec<Metric> {
    if points.len() <= max || max == 0 {
        return points;
    }
    if max == 1 {
        return points.into_iter().last().into_iter().collect();
    }
    let n = points.len();
    let mut keep = vec![false; n];
    for i in 0..max {
        keep[i * (n - 1) / (max - 1)] = true;
    }
    points
        .into_iter()
        .zip(keep)
        .filter_map(|(p, k)| k.then_some(p))
        .collect()
}

#[async_trait::async_trait]
impl MetricStore for SqlStore {
    async fn metric_history(
        &self,
        run_id: &str,
        key: &str,
        offset: u64,
        limit: Option<u64>,
    ) -> StoreResult<Page<Metric>> {
        let mut conn = self.read.acquire().await?;
        require_run(&mut conn, run_id).await?;
        let order = "timestamp, step, is_nan, value";
        let mut sql = history_query(Dialect::of(&conn), run_id, key, order);
        sql.push(&format!(" ORDER BY {order}"));
        if let Some(limit) = limit {
            sql.push(" LIMIT ").bind(Arg::I64(
                i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX),
            ));
            sql.push(" OFFSET ")
                .bind(Arg::I64(i64::try_from(offset).unwrap_or(i64::MAX)));
        }
        sql.push(") c");
        let mut items = points(&sql.fetch_all(&mut conn).await?)?;
        let next_offset = match limit {
            Some(limit) => super::experiments::page_overflow(&mut items, limit, offset),
            None => None,
        };
        Ok(Page { items, next_offset })
    }

    async fn metric_history_sampled(
        &self,
        run_ids: &[String],
        key: &str,
        steps: Option<(i64, i64)>,
        max_points: u64,
    ) -> StoreResult<Vec<Metric>> {
        let mut conn = self.read.acquire().await?;
        let mut out = Vec::new();
        for run_id in run_ids {
            let order = "step, timestamp, is_nan, value";
            let mut sql = history_query(Dialect::of(&conn), run_id, key, order);
            if let Some((start, end)) = steps {
                sql.push(" AND step >= ").bind(Arg::I64(start));
                sql.push(" AND step <= ").bind(Arg::I64(end));
            }
            sql.push(&format!(" ORDER BY {order}) c"));
            let points = points(&sql.fetch_all(&mut conn).await?)?;
            let max = usize::try_from(max_points).unwrap_or(usize::MAX);
            out.extend(sample_evenly(points, max).into_iter().map(|mut m| {
                m.run_id = Some(run_id.clone());
                m
            }));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(n: i64) -> Vec<Metric> {
        (0..n)
            .map(|i| Metric {
                key: "k".into(),
                value: 0.0,
                timestamp: 0,
                step: i,
                run_id: None,
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn sampling_keeps_first_and_last_and_respects_the_cap() {
        let s = sample_evenly(series(1000), 10);
        assert_eq!(s.len(), 10);
        assert_eq!(s[0].step, 0);
        assert_eq!(s[9].step, 999);
        assert_eq!(sample_evenly(series(5), 10).len(), 5);
    }
}
