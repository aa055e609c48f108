//! The monitoring page over a year of daily batches: 365 runs as `mltrack monitor` writes them (the
//! row counts, drift numbers and thresholds, 24 column scores, the drifted columns and unseen values
//! as tags; drift from day 200 and new unseen values every week). Measures the page's server side
//! (request in, whole body out, through the real router with no socket) and prints its weight.
//!
//! ```sh
//! cargo bench -p tracking-server --bench monitoring
//! ```
//!
//! The store is seeded afresh in a temporary directory (a few seconds).

#![allow(clippy::cast_precision_loss, clippy::cast_possible_wrap)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use criterion::{criterion_group, criterion_main, Criterion};
use protocol::monitor as m;
use protocol::{KeyValue, Metric};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;
use tracking_server::config::ServerConfig;
use tracking_server::startup::app as router;
use tracking_server::store::{
    Batch, ExperimentStore, NewRun, RegistryStore, RunStore, RunUpdate, SqlStore,
};

const DAYS: i64 = 365;
const COLUMNS: usize = 24;
const MODEL: &str = "bench-model";

async fn seed(store: &SqlStore) {
    store
        .create_registered_model(MODEL, None, &[])
        .await
        .unwrap();
    let id = store
        .create_experiment(&m::experiment_name(MODEL), None, "mlflow-artifacts:", &[])
        .await
        .unwrap();
    let columns: Vec<String> = (0..COLUMNS).map(|c| format!("column_{c:02}")).collect();
    for day in 0..DAYS {
        // 2026-01-01 is day 20,454 since 1970-01-01.
        let date = tracking_server::calendar::date_of_days(20_454 + day);
        let time = 1_767_225_600_000 + day * 86_400_000;
        let run = store
            .create_run(NewRun {
                experiment_id: id,
                user_id: "monitor".into(),
                run_name: format!("monitor {date}"),
                start_time: time,
                tags: vec![
                    KeyValue::new(m::BATCH, format!("{date}.parquet")),
                    KeyValue::new(m::DATE, date.clone()),
                    KeyValue::new(m::SHA256, format!("{day:064x}")),
                    KeyValue::new(m::MODEL_VERSION, "3"),
                ],
            })
            .await
            .unwrap();
        let drifting = day >= 200;
        let metric = |key: &str, value: f64| Metric {
            key: key.into(),
            value,
            timestamp: time,
            step: 0,
            run_id: None,
            ..Default::default()
        };
        let mut metrics = vec![
            metric(m::ROWS_IN, 7000.0),
            metric(m::ROWS_SCORED, 6900.0 - (day % 7) as f64),
            metric(m::ROWS_SKIPPED, 100.0 + (day % 7) as f64),
            metric(m::ROWS_QUARANTINED, (day % 3) as f64),
            metric(m::DRIFT_SHARE, if drifting { 0.125 } else { 0.0 }),
            metric(m::DATASET_DRIFT, 0.0),
            metric(m::PREDICTION_DRIFT_SCORE, if drifting { 0.5 } else { 0.05 }),
            metric(m::PREDICTION_DRIFT, f64::from(u8::from(drifting))),
            metric(m::MULTIVARIATE_AUC, if drifting { 0.9 } else { 0.51 }),
        ];
        for (i, c) in columns.iter().enumerate() {
            let score = (i as f64 * 0.01 + (day % 11) as f64 * 0.003).min(0.09);
            metrics.push(metric(&format!("{}{c}", m::COLUMN_SCORE_PREFIX), score));
        }
        let drifted: Vec<&str> = if drifting {
            columns[..3].iter().map(String::as_str).collect()
        } else {
            Vec::new()
        };
        let unseen: Vec<(String, String, u64)> = (0..5u64)
            .map(|k| {
                (
                    "neighbourhood".into(),
                    format!("place-{}", (day / 7) * 2 + k as i64),
                    10 + k,
                )
            })
            .collect();
        let batch = Batch {
            metrics,
            params: vec![
                KeyValue::new(m::DRIFT_SHARE_THRESHOLD, "0.5"),
                KeyValue::new(m::PREDICTION_DRIFT_THRESHOLD, "0.1"),
                KeyValue::new(m::PREDICTION_DRIFT_TEST, "wasserstein"),
                KeyValue::new(m::MULTIVARIATE_THRESHOLD, "0.55"),
            ],
            tags: vec![
                KeyValue::new(m::DRIFTED, serde_json::to_string(&drifted).unwrap()),
                KeyValue::new(m::UNSEEN, serde_json::to_string(&unseen).unwrap()),
            ],
        };
        store.log_batch(&run.info.run_id, batch).await.unwrap();
        store
            .update_run(
                &run.info.run_id,
                RunUpdate {
                    status: Some(protocol::RunStatus::Finished),
                    end_time: Some(time + 20_000),
                    run_name: None,
                },
            )
            .await
            .unwrap();
    }
}

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

fn monitoring(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("sqlite:///{}", dir.path().join("mlruns.db").display());
    let started = Instant::now();
    rt.block_on(async {
        let store = Arc::new(SqlStore::connect(&uri).await.unwrap());
        seed(&store).await;
    });
    eprintln!("seeded {DAYS} monitoring runs in {:.1?}", started.elapsed());
    let config = ServerConfig {
        backend_store_uri: uri,
        artifacts_destination: dir.path().join("mlartifacts"),
        ..ServerConfig::default()
    };
    let app = router(
        rt.block_on(tracking_server::startup::build_state(config))
            .unwrap(),
    );
    let page = format!("/models/{MODEL}/monitoring");
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..40 {
        let t = Instant::now();
        let (status, len) = rt.block_on(get(&app, &page));
        times.push(t.elapsed());
        assert_eq!(status, StatusCode::OK);
        bytes = len;
    }
    times.sort();
    eprintln!(
        "monitoring page, {DAYS} batches: p50 {:.2?}  p95 {:.2?}  {bytes} bytes ({:.1} KB)",
        times[times.len() / 2],
        times[times.len() * 95 / 100],
        bytes as f64 / 1024.0
    );
    let mut group = c.benchmark_group("monitoring");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(6));
    group.bench_function("monitoring page, 365 batches", |b| {
        b.iter(|| rt.block_on(get(&app, &page)));
    });
    group.finish();
}

criterion_group!(benches, monitoring);
criterion_main!(benches);
