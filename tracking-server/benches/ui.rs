//! Web UI at scale: one experiment with 10,000 runs × 20 params × 20 metrics, plus one run with a
//! 100,000-point metric history. Measures the server side of each page (request in, whole body out,
//! through the real router with no socket) and prints the bytes each page weighs.
//!
//! ```sh
//! cargo bench -p tracking-server --bench ui
//! ```
//!
//! The store is seeded once into `$CARGO_TARGET_DIR/ui-bench/` (directly through the store's
//! `log_batch`, 40 values per call) and reused by later runs.

// Test and benchmark fixtures index rows and build values from small counts.
#![allow(
    clippy::cast_possible_wrap,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use criterion::{criterion_group, criterion_main, Criterion};
use protocol::{KeyValue, Metric};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;
use tracking_server::config::ServerConfig;
use tracking_server::startup::app as router;
use tracking_server::store::{Batch, ExperimentStore, NewRun, RunStore, SqlStore};

const RUNS: usize = 10_000;
const PARAMS: usize = 20;
const METRICS: usize = 20;
const LONG_HISTORY: usize = 100_000;
const EXPERIMENT: &str = "ui-bench";

fn bench_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    target.join("ui-bench")
}

struct Fixture {
    app: axum::Router,
    experiment: String,
    long_run: String,
    run: String,
}

/// Seeds (or reopens) the store and builds the router over it.
async fn fixture() -> Fixture {
    let dir = bench_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let uri = format!("sqlite:///{}", dir.join("mlruns.db").display());
    let store = Arc::new(SqlStore::connect(&uri).await.unwrap());
    store
        .ensure_default_experiment("mlflow-artifacts:/0")
        .await
        .unwrap();
    let experiment = match store.get_experiment_by_name(EXPERIMENT).await.unwrap() {
        Some(e) => e.experiment_id,
        None => seed(&store).await,
    };
    let id: i64 = experiment.parse().unwrap();
    let search = tracking_server::store::RunSearch {
        experiment_ids: vec![id],
        filter: tracking_server::search::parse_run_filter("tags.long = 'yes'").unwrap(),
        order_by: Vec::new(),
        view: protocol::ViewType::default(),
        max_results: 1,
        offset: 0,
    };
    let long_run = store.search_runs(&search).await.unwrap().items[0]
        .info
        .run_id
        .clone();
    let search = tracking_server::store::RunSearch {
        filter: Vec::new(),
        ..search
    };
    let run = store.search_runs(&search).await.unwrap().items[0]
        .info
        .run_id
        .clone();
    let config = ServerConfig {
        backend_store_uri: uri,
        artifacts_destination: dir.join("mlartifacts"),
        ..ServerConfig::default()
    };
    // The server's own state (store, registry, artifacts, auth off, metrics) on the seeded database.
    drop(store);
    let state = tracking_server::startup::build_state(config).await.unwrap();
    Fixture {
        app: router(state),
        experiment,
        long_run,
        run,
    }
}

async fn seed(store: &SqlStore) -> String {
    let started = Instant::now();
    let id = store
        .create_experiment(EXPERIMENT, None, "mlflow-artifacts:", &[])
        .await
        .unwrap();
    for i in 0..RUNS {
        let run = store
            .create_run(NewRun {
                experiment_id: id,
                user_id: "bench".into(),
                run_name: format!("run-{i:05}"),
                start_time: 1_700_000_000_000 + i as i64 * 1000,
                tags: vec![KeyValue::new("mlflow.source.name", "train.py")],
            })
            .await
            .unwrap();
        let batch = Batch {
            params: (0..PARAMS)
                .map(|p| KeyValue::new(format!("p{p:02}"), format!("{}", (i * 7 + p) % 13)))
                .collect(),
            metrics: (0..METRICS)
                .map(|m| Metric {
                    key: format!("m{m:02}"),
                    value: ((i * 31 + m * 17) % 1000) as f64 / 1000.0,
                    timestamp: 1_700_000_000_000 + i as i64 * 1000,
                    step: 0,
                    run_id: None,
                    ..Default::default()
                })
                .collect(),
            tags: Vec::new(),
        };
        store.log_batch(&run.info.run_id, batch).await.unwrap();
        store
            .update_run(
                &run.info.run_id,
                tracking_server::store::RunUpdate {
                    status: Some(protocol::RunStatus::Finished),
                    end_time: Some(1_700_000_000_000 + i as i64 * 1000 + 60_000),
                    run_name: None,
                },
            )
            .await
            .unwrap();
        if i == 0 {
            // The first run also carries the long history.
            store
                .log_batch(
                    &run.info.run_id,
                    Batch {
                        tags: vec![KeyValue::new("long", "yes")],
                        ..Batch::default()
                    },
                )
                .await
                .unwrap();
            for chunk in 0..LONG_HISTORY / 1000 {
                let metrics = (0..1000)
                    .map(|j| {
                        let step = (chunk * 1000 + j) as i64;
                        Metric {
                            key: "loss".into(),
                            value: 1.0 / (1.0 + step as f64 / 1000.0) + (step % 17) as f64 / 200.0,
                            timestamp: 1_700_000_000_000 + step,
                            step,
                            run_id: None,
                            ..Default::default()
                        }
                    })
                    .collect();
                store
                    .log_batch(
                        &run.info.run_id,
                        Batch {
                            metrics,
                            ..Batch::default()
                        },
                    )
                    .await
                    .unwrap();
            }
        }
    }
    eprintln!(
        "seeded {RUNS} runs × {PARAMS} params × {METRICS} metrics and a {LONG_HISTORY}-point history in {:.1?}",
        started.elapsed()
    );
    id.to_string()
}

/// One request through the router; the status and the whole body.
async fn get(app: &axum::Router, uri: &str) -> (StatusCode, usize) {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, body.len())
}

async fn post_json(app: &axum::Router, uri: &str, json: &str) -> (StatusCode, usize) {
    let request = Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(json.to_string()))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, body.len())
}

/// Median and 95th percentile of `n` timed calls, printed beside the page's size.
fn summary(
    rt: &tokio::runtime::Runtime,
    name: &str,
    n: usize,
    mut f: impl FnMut() -> (StatusCode, usize),
) {
    let mut times = Vec::with_capacity(n);
    let mut bytes = 0;
    for _ in 0..n {
        let t = Instant::now();
        let (status, len) = f();
        times.push(t.elapsed());
        assert_eq!(status, StatusCode::OK, "{name}");
        bytes = len;
    }
    let _ = rt;
    times.sort();
    let p = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    eprintln!(
        "{name:<40} p50 {:>8.2?}  p95 {:>8.2?}  {:>9} bytes ({:.1} KB)",
        p(0.5),
        p(0.95),
        bytes,
        bytes as f64 / 1024.0
    );
}

fn ui(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let f = rt.block_on(fixture());
    let pages = [
        (
            "runs page (first 100 of 10,000)",
            format!("/experiments/{}", f.experiment),
        ),
        (
            "runs page sorted by a metric",
            format!(
                "/experiments/{}?order=metrics.%60m07%60%20DESC",
                f.experiment
            ),
        ),
        (
            "runs page filtered on a metric",
            format!(
                "/experiments/{}?filter=metrics.m03%20%3E%200.5",
                f.experiment
            ),
        ),
        (
            "runs page, all 40 columns",
            format!(
                "/experiments/{}?columns={}",
                f.experiment,
                (0..PARAMS)
                    .map(|p| format!("params.p{p:02}"))
                    .chain((0..METRICS).map(|m| format!("metrics.m{m:02}")))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        ),
        (
            "metric chart, 100,000 points",
            format!("/runs/{}/metric?key=loss", f.long_run),
        ),
        (
            "run page with the 100,000-point history",
            format!("/experiments/{}/runs/{}", f.experiment, f.long_run),
        ),
        (
            "run page, 20 params and 20 metrics",
            format!("/experiments/{}/runs/{}", f.experiment, f.run),
        ),
    ];
    eprintln!("\nserver-side time per page (router, no socket) and page weight:");
    for (name, uri) in &pages {
        summary(&rt, name, 40, || rt.block_on(get(&f.app, uri)));
    }
    let search = format!(
        r#"{{"experiment_ids":["{}"],"max_results":100,"order_by":["attributes.start_time DESC"],"run_view_type":"ACTIVE_ONLY"}}"#,
        f.experiment
    );
    summary(&rt, "API runs/search, 100 runs (JSON)", 40, || {
        rt.block_on(post_json(
            &f.app,
            "/ajax-api/2.0/mlflow/runs/search",
            &search,
        ))
    });
    let history = format!(
        "/api/2.0/mlflow/metrics/get-history?run_id={}&metric_key=loss",
        f.long_run
    );
    summary(&rt, "API get-history, 100,000 points (JSON)", 5, || {
        rt.block_on(get(&f.app, &history))
    });
    eprintln!();
    let mut group = c.benchmark_group("ui");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(6));
    for (name, uri) in &pages[..1] {
        group.bench_function(*name, |b| b.iter(|| rt.block_on(get(&f.app, uri))));
    }
    group.bench_function("metric chart, 100,000 points", |b| {
        b.iter(|| rt.block_on(get(&f.app, &pages[4].1)));
    });
    group.finish();
}

criterion_group!(benches, ui);
criterion_main!(benches);
