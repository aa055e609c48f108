//! Faults: a locked SQLite database and a lost PostgreSQL connection answer 503 with `Retry-After`
//! (which the `mlflow` client honours and retries) and the server recovers without a restart; upload
//! limits and interrupted uploads leave nothing behind; shutdown drains requests in flight.

use crate::helpers::{fresh_pg_database, test_config, Backend, TestApp};
use futures_util::StreamExt;
use serde_json::{json, Value};
use sqlx::Connection;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};

const PROXY: &str = "/api/2.0/mlflow-artifacts/artifacts";

async fn log_metric(app: &TestApp, run: &str, value: f64) -> (u16, Value, Option<String>) {
    let r = app
        .http
        .post(format!("{}/api/2.0/mlflow/runs/log-metric", app.url))
        .json(&json!({"run_id": run, "key": "m", "value": value, "timestamp": 1, "step": value as i64}))
        .send()
        .await
        .unwrap();
    let retry_after = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let (status, v) = TestApp::answer(r).await;
    (status, v, retry_after)
}

fn assert_unavailable((status, v, retry_after): (u16, Value, Option<String>)) {
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["error_code"], "TEMPORARILY_UNAVAILABLE", "{v}");
    assert_eq!(retry_after.as_deref(), Some("1"));
}

async fn history_len(app: &TestApp, run: &str) -> usize {
    let (_, v) = app
        .get(
            "metrics/get-history",
            &[("run_id", run), ("metric_key", "m")],
        )
        .await;
    v["metrics"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_sqlite_database_answers_503_then_recovers() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let run = app.create_run("0").await;
    assert_eq!(log_metric(&app, &run, 1.0).await.0, 200);

    // Another process holds SQLite's write lock longer than the server's busy timeout.
    let path = app
        .config
        .backend_store_uri
        .trim_start_matches("sqlite:///");
    let mut other = sqlx::SqliteConnection::connect(&format!("sqlite://{path}"))
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    let started = Instant::now();
    assert_unavailable(log_metric(&app, &run, 2.0).await);
    assert!(started.elapsed() < Duration::from_secs(20));
    // Readers are not blocked (WAL).
    assert_eq!(history_len(&app, &run).await, 1);

    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    assert_eq!(log_metric(&app, &run, 3.0).await.0, 200);
    assert_eq!(history_len(&app, &run).await, 2);
}

/// A TCP forwarder to PostgreSQL that can drop every connection and refuse new ones: the network
/// between the server and its database failing, then coming back.
struct FlakyLink {
    port: u16,
    down: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl FlakyLink {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let down = Arc::new(AtomicBool::new(false));
        let links = Arc::new(Mutex::new(Vec::new()));
        let (down2, links2) = (down.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if down2.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                links2.lock().unwrap().push(task.abort_handle());
            }
        });
        Self { port, down, links }
    }

    fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_postgres_connection_answers_503_then_recovers() {
    let Some(db) = fresh_pg_database().await else {
        crate::helpers::skip_postgres();
        return;
    };
    // postgresql://user:pw@host:port/db → through the link.
    let (head, name) = db.rsplit_once('/').unwrap();
    let (creds, hostport) = head.rsplit_once('@').unwrap();
    let link = FlakyLink::start(hostport.to_string()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(Backend::Sqlite, &dir).await.unwrap();
    config.backend_store_uri = format!("{creds}@127.0.0.1:{}/{name}", link.port);
    let app = TestApp::start(config, dir).await;
    let run = app.create_run("0").await;
    assert_eq!(log_metric(&app, &run, 1.0).await.0, 200);

    link.cut();
    let started = Instant::now();
    assert_unavailable(log_metric(&app, &run, 2.0).await);
    assert!(started.elapsed() < Duration::from_secs(30));

    link.restore();
    let mut answer = log_metric(&app, &run, 3.0).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while answer.0 == 503 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        answer = log_metric(&app, &run, 3.0).await;
    }
    assert_eq!(answer.0, 200, "{}", answer.1);
    assert_eq!(history_len(&app, &run).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_over_the_limit_get_413_and_leave_nothing() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.max_upload_bytes = Some(1000))
        .await
        .unwrap();
    let url = |name: &str| format!("{}{PROXY}/0/r/artifacts/{name}", app.url);

    let r = app
        .http
        .put(url("big.bin"))
        .body(vec![7u8; 1001])
        .send()
        .await
        .unwrap();
    let (status, v) = TestApp::answer(r).await;
    assert_eq!(
        (status, v["error_code"].as_str()),
        (413, Some("MAX_BLOCK_SIZE_EXCEEDED")),
        "{v}"
    );

    // Without a Content-Length the stream itself is counted.
    let chunks =
        futures_util::stream::iter((0..4).map(|_| Ok::<_, std::io::Error>(vec![1u8; 300])));
    let r = app
        .http
        .put(url("chunked.bin"))
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);

    let r = app
        .http
        .put(url("fits.bin"))
        .body(vec![7u8; 1000])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, v) = TestApp::answer(
        app.http
            .get(format!("{}{PROXY}?path=0/r/artifacts", app.url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        v,
        json!({"files": [{"path": "fits.bin", "is_dir": false, "file_size": 1000}]})
    );
    let on_disk: Vec<_> = std::fs::read_dir(app.dir.path().join("mlartifacts/0/r/artifacts"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(on_disk, vec!["fits.bin"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_upload_leaves_no_partial_file() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    // The client dies half-way: the body stream fails after some bytes.
    let chunks = futures_util::stream::iter(vec![
        Ok(vec![1u8; 64 * 1024]),
        Err(std::io::Error::other("client crashed")),
    ]);
    let result = app
        .http
        .put(format!("{}{PROXY}/0/r/artifacts/partial.bin", app.url))
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await;
    assert!(result.is_err() || !result.unwrap().status().is_success());
    // The server notices the broken body and removes its temporary file.
    let dir = app.dir.path().join("mlartifacts/0/r/artifacts");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.map(|e| e.unwrap().file_name()).collect())
            .unwrap_or_default();
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "left behind: {left:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_an_upload_in_flight() {
    let mut app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(tokio_stream(rx));
    let request = tokio::spawn(
        app.http
            .put(format!("{}{PROXY}/0/r/artifacts/slow.bin", app.url))
            .body(body)
            .send(),
    );
    tx.send(Ok(vec![1u8; 1000])).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let dir = app.dir.path().join("mlartifacts/0/r/artifacts/slow.bin");
    let stopping = tokio::spawn(async move {
        app.stop().await;
        app
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !stopping.is_finished(),
        "the server stopped with a request in flight"
    );
    tx.send(Ok(vec![2u8; 1000])).await.unwrap();
    drop(tx);
    let response = request.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    let app = tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("the server stops once drained")
        .unwrap();
    assert_eq!(std::fs::read(&dir).unwrap().len(), 2000);
    assert!(reqwest::get(format!("{}/health", app.url)).await.is_err());
}

/// An mpsc receiver as a stream, without tokio-stream.
fn tokio_stream<T: Send + 'static>(
    rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send + 'static {
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|v| (v, rx)) })
        .boxed()
}

/// A full disk fails the upload with MLflow's JSON (`REQUEST_LIMIT_EXCEEDED`, which the client
/// retries with back-off) and leaves no partial or temporary file: the space comes back at once.
/// Needs root to mount a small tmpfs; skipped otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_the_upload_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("small");
    std::fs::create_dir_all(&mount).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&mount)
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        crate::helpers::skip("a tmpfs mount (not root?)");
        return;
    }
    let _unmount = Unmount(mount.clone());
    let mut config = test_config(Backend::Sqlite, &dir).await.unwrap();
    config.artifacts_destination = mount.clone();
    let app = TestApp::start(config, tempfile::tempdir().unwrap()).await;

    let r = app
        .http
        .put(format!("{}{PROXY}/0/r/artifacts/huge.bin", app.url))
        .body(vec![9u8; 1024 * 1024])
        .send()
        .await
        .unwrap();
    let (status, v) = TestApp::answer(r).await;
    assert!((400..500).contains(&status), "{status} {v}");
    assert!(
        v["message"].as_str().unwrap().contains("no space left"),
        "{v}"
    );
    let mut left = Vec::new();
    for entry in walk(&mount) {
        if entry.is_file() {
            left.push(entry);
        }
    }
    assert!(left.is_empty(), "left behind: {left:?}");

    // A new connection: the server answered the refused upload before reading its whole body and
    // closed that connection, which a pooled client may not have noticed yet (a broken pipe).
    let r = reqwest::Client::new()
        .put(format!("{}{PROXY}/0/r/artifacts/small.bin", app.url))
        .body(vec![9u8; 100 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "the space of the failed upload was not freed"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out
}

/// Unmounts the test's tmpfs however the test ends.
struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}
