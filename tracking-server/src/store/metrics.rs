//! Metric histories: whole (MLflow's `get-history`, paged) or down-sampled for charts.

use super::{Page, StoreResult};
use async_trait::async_trait;
use protocol::Metric;

#[async_trait]
pub trait MetricStore: Send + Sync + 'static {
    /// Full history of one metric, ordered by (timestamp, step, value).
    async fn metric_history(
        &self,
        run_id: &str,
        key: &str,
        offset: u64,
        limit: Option<u64>,
    ) -> StoreResult<Page<Metric>>;

    /// Down-sampled history per run for charts: at most `max_points` per run, first and last kept.
    async fn metric_history_sampled(
        &self,
        run_ids: &[String],
        key: &str,
        steps: Option<(i64, i64)>,
        max_points: u64,
    ) -> StoreResult<Vec<Metric>>;
}
