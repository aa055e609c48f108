//! Prometheus metrics, rendered in the text exposition format at `/metrics`.
//!
//! Hand-written rather than the `metrics` + `metrics-exporter-prometheus` crates: the server needs
//! two request series and a few gauges, which take a mutex-guarded map and a formatter; the
//! exporter would add a dozen crates (an HTTP listener, hashing and atomics libraries) to every
//! build. The lock is held for a map lookup and a few additions per request.

use crate::store::PoolStats;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Latency buckets in seconds: log-metric answers in about a millisecond, a big search in seconds.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
pub struct Metrics {
    /// (method, route, status) → count.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    /// (method, route) → latency.
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
    in_flight: AtomicI64,
}

/// Keeps the in-flight gauge right even when a request future is dropped half-way.
pub struct InFlight<'a>(&'a Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    pub fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// `route` is the matched route template (`/api/2.0/mlflow/runs/get`), never the raw path, so
    /// the number of series stays bounded whatever clients send.
    pub fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        {
            let mut requests = lock(&self.requests);
            *requests
                .entry((method.to_string(), route.to_string(), status))
                .or_default() += 1;
        }
        let secs = elapsed.as_secs_f64();
        let mut latency = lock(&self.latency);
        let h = latency
            .entry((method.to_string(), route.to_string()))
            .or_default();
        for (count, bound) in h.counts.iter_mut().zip(BUCKETS) {
            if secs <= *bound {
                *count += 1;
            }
        }
        h.sum += secs;
        h.count += 1;
    }

    /// The exposition text; `pools` are read at scrape time from the store.
    pub fn render(&self, pools: &[PoolStats]) -> String {
        let mut out = String::with_capacity(16 * 1024);
        out.push_str(
            "# HELP mltrack_http_requests_total HTTP requests answered, by method, route template and status.\n\
             # TYPE mltrack_http_requests_total counter\n",
        );
        for ((method, route, status), n) in lock(&self.requests).iter() {
            let _ = writeln!(
                out,
                "mltrack_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(method),
                escape(route)
            );
        }
        out.push_str(
            "# HELP mltrack_http_request_duration_seconds Time to answer, from request to response head.\n\
             # TYPE mltrack_http_request_duration_seconds histogram\n",
        );
        for ((method, route), h) in lock(&self.latency).iter() {
            let labels = format!("method=\"{}\",route=\"{}\"", escape(method), escape(route));
            for (count, bound) in h.counts.iter().zip(BUCKETS) {
                let _ = writeln!(
                    out,
                    "mltrack_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "mltrack_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\n\
                 mltrack_http_request_duration_seconds_sum{{{labels}}} {}\n\
                 mltrack_http_request_duration_seconds_count{{{labels}}} {}",
                h.count, h.sum, h.count
            );
        }
        let _ = write!(
            out,
            "# HELP mltrack_http_requests_in_flight Requests being answered now.\n\
             # TYPE mltrack_http_requests_in_flight gauge\n\
             mltrack_http_requests_in_flight {}\n",
            self.in_flight.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP mltrack_db_pool_connections Database connections by pool and state.\n\
             # TYPE mltrack_db_pool_connections gauge\n",
        );
        for p in pools {
            let idle = u32::try_from(p.idle).unwrap_or(u32::MAX).min(p.open);
            let _ = write!(
                out,
                "mltrack_db_pool_connections{{pool=\"{0}\",state=\"idle\"}} {idle}\n\
                 mltrack_db_pool_connections{{pool=\"{0}\",state=\"in_use\"}} {1}\n",
                p.pool,
                p.open - idle
            );
        }
        out.push_str(
            "# HELP mltrack_db_pool_max_connections Configured size of each database pool.\n\
             # TYPE mltrack_db_pool_max_connections gauge\n",
        );
        for p in pools {
            let _ = writeln!(
                out,
                "mltrack_db_pool_max_connections{{pool=\"{}\"}} {}",
                p.pool, p.max
            );
        }
        let _ = write!(
            out,
            "# HELP mltrack_build_info The running version.\n\
             # TYPE mltrack_build_info gauge\n\
             mltrack_build_info{{version=\"{}\"}} 1\n",
            env!("CARGO_PKG_VERSION")
        );
        out
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Label values escape backslash, quote and newline (the exposition format's rule).
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_render_as_counters_and_cumulative_histograms() {
        let m = Metrics::default();
        m.record(
            "GET",
            "/api/2.0/mlflow/runs/get",
            200,
            Duration::from_millis(3),
        );
        m.record(
            "GET",
            "/api/2.0/mlflow/runs/get",
            200,
            Duration::from_millis(30),
        );
        m.record(
            "GET",
            "/api/2.0/mlflow/runs/get",
            404,
            Duration::from_millis(1),
        );
        let text = m.render(&[PoolStats {
            pool: "write",
            open: 1,
            idle: 1,
            max: 1,
        }]);
        let r = "method=\"GET\",route=\"/api/2.0/mlflow/runs/get\"";
        for line in [
            format!("mltrack_http_requests_total{{{r},status=\"200\"}} 2"),
            format!("mltrack_http_requests_total{{{r},status=\"404\"}} 1"),
            format!("mltrack_http_request_duration_seconds_bucket{{{r},le=\"0.005\"}} 2"),
            format!("mltrack_http_request_duration_seconds_bucket{{{r},le=\"0.05\"}} 3"),
            format!("mltrack_http_request_duration_seconds_count{{{r}}} 3"),
            "mltrack_db_pool_connections{pool=\"write\",state=\"in_use\"} 0".to_string(),
            "mltrack_http_requests_in_flight 0".to_string(),
        ] {
            assert!(text.contains(&line), "missing {line} in\n{text}");
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
