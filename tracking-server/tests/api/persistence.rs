use crate::backend_tests;
use crate::helpers::TestApp;
use serde_json::json;

backend_tests!(data_survives_a_restart, |app: TestApp| async move {
    let exp = app.create_experiment("durable").await;
    let run = app.create_run(&exp).await;
    app.ok(
        "runs/log-batch",
        json!({"run_id": run, "params": [{"key": "p", "value": "1"}],
        "metrics": [{"key": "m", "value": 0.25, "timestamp": 5, "step": 2}]}),
    )
    .await;
    app.http
        .put(format!(
            "{}/api/2.0/mlflow-artifacts/artifacts/{exp}/{run}/artifacts/a.txt",
            app.url
        ))
        .body("hello")
        .send()
        .await
        .unwrap();
    let before = app.run(&run).await;
    let app = app.restart().await;
    assert_eq!(app.run(&run).await, before);
    let body = app
        .text(&format!(
            "/api/2.0/mlflow-artifacts/artifacts/{exp}/{run}/artifacts/a.txt"
        ))
        .await;
    assert_eq!(body, "hello");
    let next = app.create_experiment("after-restart").await;
    assert_ne!(next, exp);
});

/// Two servers on one database behave as one: each sees the other's writes at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_one_postgres() {
    let Some(db) = crate::helpers::fresh_pg_database().await else {
        crate::helpers::skip_postgres();
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = tracking_server::config::ServerConfig {
        port: 0,
        backend_store_uri: db,
        artifacts_destination: dir.path().join("art"),
        ..Default::default()
    };
    let a = TestApp::start(config.clone(), dir).await;
    let b = TestApp::start(config, tempfile::tempdir().unwrap()).await;
    let exp = a.create_experiment("shared").await;
    let run = b.create_run(&exp).await;
    a.ok(
        "runs/log-metric",
        json!({"run_id": run, "key": "m", "value": 3, "timestamp": 1}),
    )
    .await;
    assert_eq!(b.run(&run).await["data"]["metrics"][0]["value"], 3.0);
    b.fails(
        "experiments/create",
        json!({"name": "shared"}),
        400,
        "RESOURCE_ALREADY_EXISTS",
    )
    .await;
}

/// The writer never checkpoints the SQLite WAL itself (see `store::sql::checkpoint`); a background
/// task copies committed pages into the database file within about a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_wal_is_checkpointed_in_the_background() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let db = app.dir.path().join("mlruns.db");
    let size = || std::fs::metadata(&db).unwrap().len();
    // Let the start-up checkpoints settle, then write ~40,000 points the main file does not hold.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let before = size();
    let run = app.create_run("0").await;
    for batch in 0..40 {
        let metrics: Vec<_> = (0..1000)
            .map(|i| json!({"key": format!("m{i}"), "value": i, "timestamp": 1, "step": batch}))
            .collect();
        app.ok("runs/log-batch", json!({"run_id": run, "metrics": metrics}))
            .await;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while size() < before + 500_000 {
        assert!(
            std::time::Instant::now() < deadline,
            "the database file stayed at {} bytes (was {before})",
            size()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // And the history reads back whole.
    let (_, v) = app
        .get(
            "metrics/get-history",
            &[("run_id", &run), ("metric_key", "m7")],
        )
        .await;
    assert_eq!(v["metrics"].as_array().unwrap().len(), 40);
}

/// Once writes stop, the background checkpoints leave no write-ahead log behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_wal_is_emptied_when_writes_stop() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let wal = app.dir.path().join("mlruns.db-wal");
    let run = app.create_run("0").await;
    let metrics: Vec<_> = (0..1000)
        .map(|i| json!({"key": format!("m{i}"), "value": i, "timestamp": 1, "step": 0}))
        .collect();
    app.ok("runs/log-batch", json!({"run_id": run, "metrics": metrics}))
        .await;
    assert!(std::fs::metadata(&wal).unwrap().len() > 0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::metadata(&wal).map_or(0, |m| m.len()) > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the WAL was never emptied"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (_, v) = app
        .get(
            "metrics/get-history",
            &[("run_id", &run), ("metric_key", "m999")],
        )
        .await;
    assert_eq!(v["metrics"][0]["value"], 999.0);
}

/// Under writes that do not pause, the write-ahead log still rewinds to its start about once a
/// second (see `store::sql::checkpoint`), so the file holds about a second of writes instead of
/// everything written. Each rewind writes a new log header with the next checkpoint sequence number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_wal_rewinds_while_writes_continue() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let wal = app.dir.path().join("mlruns.db-wal");
    // Bytes 12..16 of the log's header: how many times it has been rewound.
    let rewinds = || {
        let header = std::fs::read(&wal).ok()?;
        Some(u32::from_be_bytes(header.get(12..16)?.try_into().ok()?))
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for _ in 0..6 {
        let run = app.create_run("0").await;
        let (http, url, stop) = (app.http.clone(), app.url.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut step = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let metrics: Vec<_> = (0..500)
                    .map(|i| json!({"key": format!("m{i}"), "value": i, "timestamp": 1, "step": step}))
                    .collect();
                let status = http
                    .post(format!("{url}/api/2.0/mlflow/runs/log-batch"))
                    .json(&json!({"run_id": run, "metrics": metrics}))
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert_eq!(status, 200);
                step += 1;
            }
            step
        }));
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let first = loop {
        if let Some(n) = rewinds() {
            break n;
        }
        assert!(std::time::Instant::now() < deadline, "no WAL was written");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    // Checkpoints tick once a second; 12 s leaves room for a loaded machine. Without the writer's
    // catch-up step the log rewinds only when a read-side round happens to finish in a pause
    // between batches: once in 12 s here, against 3 times in 3 s with it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(12);
    while rewinds().unwrap_or(first) < first + 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the WAL was rewound {} times in 12 s of writes",
            rewinds().unwrap_or(first) - first
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for writer in writers {
        assert!(writer.await.unwrap() > 0);
    }
}
