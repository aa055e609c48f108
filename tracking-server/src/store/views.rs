//! Read models for the web UI: questions MLflow's API does not ask (how many runs match, which keys
//! exist, a metric history reduced to a chart's width), answered inside the database.

use super::{RunSearch, StoreResult};
use async_trait::async_trait;
use protocol::ViewType;

/// The x axis of a metric chart: the logged step or the wall-clock timestamp (milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HistoryAxis {
    #[default]
    Step,
    Time,
}
/// One pixel column of a chart: the lowest and highest value logged at x positions that fall into it.
/// Raw points (short histories) have `min == max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnvelopePoint {
    pub x: i64,
    pub min: f64,
    pub max: f64,
}
/// A metric history reduced to what a chart of a given width can show.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricEnvelope {
    /// Finite points in the whole history (NaN and infinities are not drawn).
    pub total: u64,
    pub points: Vec<EnvelopePoint>,
}
/// The distinct param, metric and tag keys of the runs in some experiments.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunKeys {
    pub params: Vec<String>,
    pub metrics: Vec<String>,
    pub tags: Vec<String>,
}

#[async_trait]
pub trait RunViews: Send + Sync + 'static {
    /// How many runs a search matches, for the web UI's "runs 1–100 of N" (ordering and paging
    /// ignored), counting no further than `at_most`: an exact count reads every matching run, a
    /// million of them in a large experiment.
    async fn count_runs(&self, search: &RunSearch, at_most: u64) -> StoreResult<u64>;

    /// The keys logged in some experiments' runs of a lifecycle view: the columns a CSV export has.
    async fn run_keys(&self, experiment_ids: &[i64], view: ViewType) -> StoreResult<RunKeys>;

    /// A metric history as at most `columns` min/max pairs along `axis`, computed by the database in
    /// one grouped pass, so a chart of a 100,000-point history reads a few hundred rows. Histories
    /// with at most `2 * columns` points come back whole. A missing run is `RESOURCE_DOES_NOT_EXIST`.
    async fn metric_envelope(
        &self,
        run_id: &str,
        key: &str,
        axis: HistoryAxis,
        columns: u32,
    ) -> StoreResult<MetricEnvelope>;
}
