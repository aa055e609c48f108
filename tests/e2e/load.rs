//! Load and crash: 20 writers log metrics over the REST API for a minute (`MLTRACK_LOAD_SECS`,
//! default 60), then every acknowledged metric must read back with its exact value, on SQLite and
//! PostgreSQL. The crash variant `kill -9`s the server half-way through, restarts it on the same
//! store, and checks that no acknowledged write was lost and that the store opens clean.
//!
//! Writers behave like the `mlflow` client: a 503 or a connection error is retried with the same
//! payload (metric rows are deduplicated, so a retry of a write that did land adds nothing). A
//! metric counts as acknowledged only once its request got a 200.
//!
//! SQLite runs in WAL mode with `synchronous=NORMAL`: a commit is in the WAL (the OS page cache)
//! when the server answers, which survives the process dying; only a power loss or kernel crash
//! can take the last transactions, and that costs an fsync per commit to prevent (`FULL`).

use e2e::Server;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WRITERS: usize = 20;
/// Keys each writer's `log-batch` uses, beside `loss` for `log-metric`.
const BATCH_KEYS: &[&str] = &["acc", "lr", "f1", "auc", "mse"];

fn seconds(var: &str, default: u64) -> Duration {
    Duration::from_secs(
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default),
    )
}

/// One metric point: (key, step, timestamp, value bits).
type Point = (String, i64, i64, u64);

#[derive(Default)]
struct Tally {
    /// run id → points acknowledged with a 200.
    acked: BTreeMap<String, BTreeSet<Point>>,
    /// run id → points sent but never acknowledged (in flight at the crash).
    unacked: BTreeMap<String, BTreeSet<Point>>,
    requests: usize,
    retries: usize,
    /// Metrics acknowledged before the server was killed (the crash test's point).
    acked_before_kill: usize,
}

/// Where the writers send requests; swapped when the crashed server restarts.
type Target = Arc<Mutex<String>>;

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn create_run(url: &str, experiment_id: &str, name: &str) -> String {
    let v: Value = http()
        .post(format!("{url}/api/2.0/mlflow/runs/create"))
        .json(&json!({"experiment_id": experiment_id, "run_name": name, "start_time": 1}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    v["run"]["info"]["run_id"].as_str().unwrap().to_string()
}

/// A value no other point shares, with all 53 bits of mantissa in use.
fn value_of(writer: usize, step: i64, key: usize) -> f64 {
    let x = (writer as f64 + 1.0) * 1.000_000_123_456_789 + step as f64 / 3.0 + key as f64 / 7.0;
    x.sqrt() * std::f64::consts::PI
}

/// Logs until `stop`, alternating single metrics and batches of five.
fn writer(target: &Target, run_id: &str, w: usize, flags: &Flags, tally: &Mutex<Tally>) {
    let Flags { stop, killed } = flags;
    let client = http();
    let mut step = 0i64;
    let (mut acked, mut unacked) = (BTreeSet::new(), BTreeSet::new());
    let (mut requests, mut retries, mut before_kill) = (0, 0, 0);
    while !stop.load(Ordering::Relaxed) {
        step += 1;
        let ts = 1_700_000_000_000 + step;
        let (endpoint, body, points): (&str, Value, Vec<Point>) = if step % 2 == 0 {
            let v = value_of(w, step, 0);
            (
                "runs/log-metric",
                json!({"run_id": run_id, "key": "loss", "value": v, "timestamp": ts, "step": step}),
                vec![("loss".to_string(), step, ts, v.to_bits())],
            )
        } else {
            let metrics: Vec<(String, f64)> = BATCH_KEYS
                .iter()
                .enumerate()
                .map(|(i, k)| ((*k).to_string(), value_of(w, step, i + 1)))
                .collect();
            (
                "runs/log-batch",
                json!({"run_id": run_id, "metrics": metrics.iter().map(|(k, v)|
                    json!({"key": k, "value": v, "timestamp": ts, "step": step})).collect::<Vec<_>>()}),
                metrics
                    .into_iter()
                    .map(|(k, v)| (k, step, ts, v.to_bits()))
                    .collect(),
            )
        };
        // Retry as the mlflow client does, until acknowledged or told to stop.
        let mut ok = false;
        while !ok && !stop.load(Ordering::Relaxed) {
            let url = target.lock().unwrap().clone();
            requests += 1;
            match client
                .post(format!("{url}/api/2.0/mlflow/{endpoint}"))
                .json(&body)
                .send()
            {
                Ok(r) if r.status() == 200 => ok = true,
                Ok(r) if r.status() == 503 => {
                    retries += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Ok(r) => panic!(
                    "{endpoint}: {} {}",
                    r.status(),
                    r.text().unwrap_or_default()
                ),
                Err(_) => {
                    retries += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
        if ok {
            if !killed.load(Ordering::SeqCst) {
                before_kill += points.len();
            }
            acked.extend(points);
        } else {
            unacked.extend(points);
        }
    }
    let mut t = tally.lock().unwrap();
    t.acked.insert(run_id.to_string(), acked);
    t.unacked.insert(run_id.to_string(), unacked);
    t.requests += requests;
    t.retries += retries;
    t.acked_before_kill += before_kill;
}

struct Flags {
    stop: AtomicBool,
    /// Set just before the kill: a point acknowledged while it is false was stored by the server
    /// that died.
    killed: AtomicBool,
}

/// Every point of `run_id` as the server has it.
fn stored(url: &str, run_id: &str) -> BTreeSet<Point> {
    let client = http();
    let mut out = BTreeSet::new();
    for key in std::iter::once("loss").chain(BATCH_KEYS.iter().copied()) {
        let v: Value = client
            .get(format!("{url}/api/2.0/mlflow/metrics/get-history"))
            .query(&[("run_id", run_id), ("metric_key", key)])
            .send()
            .unwrap()
            .json()
            .unwrap();
        for m in v["metrics"].as_array().cloned().unwrap_or_default() {
            out.insert((
                key.to_string(),
                m["step"].as_i64().unwrap(),
                m["timestamp"].as_i64().unwrap(),
                m["value"].as_f64().unwrap().to_bits(),
            ));
        }
    }
    out
}

/// Runs the writers against `server` for `duration`; with `crash_after`, kills the server with
/// SIGKILL at that point and restarts it on the same store with `restart`. Returns the server that
/// is up at the end and the tally.
fn load(
    mut server: Server,
    duration: Duration,
    crash: Option<(Duration, &dyn Fn() -> Server)>,
) -> (Server, Tally) {
    let exp: Value = http()
        .post(format!("{}/api/2.0/mlflow/experiments/create", server.url))
        .json(&json!({"name": "load"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let exp = exp["experiment_id"].as_str().unwrap().to_string();
    let runs: Vec<String> = (0..WRITERS)
        .map(|w| create_run(&server.url, &exp, &format!("writer-{w}")))
        .collect();
    let target: Target = Arc::new(Mutex::new(server.url.clone()));
    let flags = Flags {
        stop: AtomicBool::new(false),
        killed: AtomicBool::new(false),
    };
    let tally = Mutex::new(Tally::default());
    std::thread::scope(|scope| {
        for (w, run) in runs.iter().enumerate() {
            let (target, flags, tally) = (&target, &flags, &tally);
            scope.spawn(move || writer(target, run, w, flags, tally));
        }
        let started = Instant::now();
        if let Some((after, restart)) = crash {
            std::thread::sleep(after);
            flags.killed.store(true, Ordering::SeqCst);
            server.signal("KILL");
            assert!(server.wait_for_exit(Duration::from_secs(10)).is_some());
            // Writers keep failing against the dead address for a moment, as clients would.
            std::thread::sleep(Duration::from_secs(1));
            server = restart();
            target.lock().unwrap().clone_from(&server.url);
        }
        std::thread::sleep(duration.saturating_sub(started.elapsed()));
        flags.stop.store(true, Ordering::SeqCst);
    });
    (server, tally.into_inner().unwrap())
}

/// Every acknowledged point is stored with its exact value; nothing is stored that was not sent.
fn verify(server: &Server, tally: &Tally, what: &str) -> (usize, usize) {
    let (mut acked, mut present) = (0, 0);
    for (run, points) in &tally.acked {
        let have = stored(&server.url, run);
        let missing: Vec<_> = points.difference(&have).take(5).collect();
        assert!(
            missing.is_empty(),
            "{what}: run {run} lost acknowledged metrics, e.g. {missing:?}"
        );
        let unacked = &tally.unacked[run];
        let stray: Vec<_> = have
            .iter()
            .filter(|p| !points.contains(*p) && !unacked.contains(*p))
            .take(5)
            .collect();
        assert!(
            stray.is_empty(),
            "{what}: run {run} has metrics nobody sent: {stray:?}"
        );
        acked += points.len();
        present += have.len();
    }
    println!(
        "{what}: {WRITERS} writers, {} requests ({} retried), {acked} metrics acknowledged, \
         {present} stored, all acknowledged present with exact values",
        tally.requests, tally.retries
    );
    assert!(
        acked > WRITERS * 10,
        "{what}: too few writes to mean anything ({acked})"
    );
    (acked, present)
}

fn sqlite_uri(dir: &tempfile::TempDir) -> String {
    format!("sqlite:///{}", dir.path().join("load.db").display())
}

#[test]
fn twenty_writers_lose_nothing_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(Some(&sqlite_uri(&dir)), &[]);
    let (server, tally) = load(server, seconds("MLTRACK_LOAD_SECS", 60), None);
    let (acked, present) = verify(&server, &tally, "sqlite load");
    assert_eq!(acked, present, "a retried write was stored twice");
}

#[test]
fn twenty_writers_lose_nothing_on_postgres() {
    let Some(db) = e2e::pg_database_or_skip() else {
        return;
    };
    let server = Server::start(Some(&db), &[]);
    let (server, tally) = load(server, seconds("MLTRACK_LOAD_SECS", 60), None);
    let (acked, present) = verify(&server, &tally, "postgres load");
    assert_eq!(acked, present, "a retried write was stored twice");
}

fn crash_test(uri: &str, what: &str) -> Server {
    let duration = seconds("MLTRACK_CRASH_SECS", 20);
    let server = Server::start(Some(uri), &[]);
    let restart = || Server::start(Some(uri), &[]);
    let (server, tally) = load(server, duration, Some((duration / 2, &restart)));
    verify(&server, &tally, what);
    println!(
        "{what}: {} metrics were acknowledged by the server killed with SIGKILL; all present after restart",
        tally.acked_before_kill
    );
    assert!(tally.acked_before_kill > 0);
    // The restarted server takes new writes on the same runs.
    let run = tally.acked.keys().next().unwrap();
    let r = http()
        .post(format!("{}/api/2.0/mlflow/runs/log-metric", server.url))
        .json(&json!({"run_id": run, "key": "after", "value": 1, "timestamp": 1}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    server
}

#[test]
fn kill_9_under_load_loses_no_acknowledged_write_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let uri = sqlite_uri(&dir);
    let server = crash_test(&uri, "sqlite crash");
    drop(server);
    // The store opens clean: SQLite's own consistency check over the recovered WAL.
    let db = dir.path().join("load.db");
    let out = std::process::Command::new(e2e::python())
        .args([
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); \
             print(c.execute('PRAGMA integrity_check').fetchone()[0]); \
             print(c.execute('PRAGMA foreign_key_check').fetchall())",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ok\n[]\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn kill_9_under_load_loses_no_acknowledged_write_on_postgres() {
    let Some(db) = e2e::pg_database_or_skip() else {
        return;
    };
    crash_test(&db, "postgres crash");
}
