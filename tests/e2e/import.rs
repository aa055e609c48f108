//! `mltrack import`: stores written by MLflow's own code (`tests/python/mlflow_store.py`, its SQL
//! and file store classes in-process) are imported, then the `mlflow` client asks MLflow's store
//! and `mltrack server` the same 100 random questions (`tests/python/compare_stores.py`) and every
//! answer must match field by field. A second import must leave mltrack's database byte-for-byte
//! the same in content, and an import cut short must be finished by running it again.

use e2e::{mltrack_bin, python, workspace_root, Server};
use std::path::Path;
use std::process::{Command, Output};

/// Runs in the generated stores: enough for every kind of entity and several import chunks.
const RUNS: usize = 600;

fn script(name: &str) -> String {
    workspace_root()
        .join("tests/python")
        .join(name)
        .display()
        .to_string()
}

fn check(out: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Writes an MLflow store with MLflow's code; returns its JSON summary line.
fn mlflow_store(store: &str, artifact_root: &Path, runs: usize) -> serde_json::Value {
    let out = Command::new(python())
        .args([
            &script("mlflow_store.py"),
            "--store",
            store,
            "--artifact-root",
        ])
        .arg(artifact_root)
        .args(["--runs", &runs.to_string(), "--seed", "11"])
        .env("MLFLOW_ALLOW_FILE_STORE", "true")
        .output()
        .expect("python runs");
    let stdout = check(&out, "mlflow_store.py");
    serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("a JSON summary line")
}

fn import(from: &str, target: &str, destination: &Path, extra: &[&str]) -> Output {
    Command::new(mltrack_bin())
        .args(["import", "--from", from, "--backend-store-uri", target])
        .arg("--artifacts-destination")
        .arg(destination)
        .args(extra)
        .env("MLTRACK_LOG", "warn")
        .output()
        .expect("mltrack runs")
}

/// `name N` lines of `mltrack import`'s report.
fn reported(stdout: &str, name: &str) -> u64 {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(name)?.trim().split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no `{name}` in the report:\n{stdout}"))
}

/// Every table of a SQLite store, each row, hashed (and counted): equal digests mean equal content.
fn sqlite_digest(db: &Path) -> String {
    // Surrogate keys (a metric series' number, a row id) are left out: a resumed import may
    // number differently what it gives the same content. Points are read through `metrics`.
    let code = r#"
import hashlib, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
names = [r[0] for r in c.execute(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
    "AND name NOT IN ('_sqlx_migrations', 'metric_series', 'metric_points', 'metric_points_recent') "
    "ORDER BY name")]
out = []
for t in names + ['metrics']:
    cols = [r[1] for r in c.execute(f'PRAGMA table_info({t})') if r[1] not in ('id', 'series_id', 'event_id')]
    rows = c.execute(f'SELECT {", ".join(cols)} FROM {t} ORDER BY {", ".join(cols)}').fetchall()
    out.append(f'{t} {len(rows)} ' + hashlib.sha256(repr(rows).encode()).hexdigest()[:16])
print('\n'.join(out))
"#;
    let out = Command::new(python())
        .args(["-c", code])
        .arg(db)
        .output()
        .expect("python runs");
    check(&out, "the digest script")
}

/// The `mlflow` client asks both sides the same 100 questions.
fn compare(mlflow_store: &str, server: &Server) {
    let out = Command::new(python())
        .args([&script("compare_stores.py"), "--mlflow", mlflow_store])
        .args(["--mltrack", &server.url, "--calls", "100", "--seed", "5"])
        .output()
        .expect("python runs");
    let stdout = check(&out, "compare_stores.py");
    assert!(
        stdout.contains("compare: 100 calls, 100 equal, 0 different"),
        "{stdout}"
    );
}

/// Import, check the counts against what MLflow wrote, import again (nothing changes), serve and
/// compare.
fn round_trip(source: &str, summary: &serde_json::Value, dir: &Path) {
    let db = dir.join("mltrack.db");
    let target = format!("sqlite:///{}", db.display());
    let destination = dir.join("mlartifacts");
    let first = check(&import(source, &target, &destination, &[]), "the import");
    for (name, key) in [
        ("runs", "runs"),
        ("metric points", "metric_points"),
        ("logged models", "logged_models"),
        ("model versions", "versions"),
        ("aliases", "aliases"),
    ] {
        assert_eq!(
            reported(&first, name),
            summary[key].as_u64().unwrap(),
            "{name}:\n{first}"
        );
    }
    assert_eq!(
        reported(&first, "artifact files copied"),
        summary["artifacts"].as_u64().unwrap(),
        "{first}"
    );
    let before = sqlite_digest(&db);
    let second = check(
        &import(source, &target, &destination, &[]),
        "the second import",
    );
    assert_eq!(reported(&second, "artifact files copied"), 0, "{second}");
    assert_eq!(
        sqlite_digest(&db),
        before,
        "a second import changed the store"
    );

    let server = Server::start(
        Some(&target),
        &[
            "--artifacts-destination",
            &destination.display().to_string(),
        ],
    );
    compare(source, &server);
}

#[test]
fn an_mlflow_sqlite_store_comes_over_intact() {
    let dir = tempfile::tempdir().unwrap();
    let source = format!("sqlite:///{}", dir.path().join("mlflow.db").display());
    let summary = mlflow_store(&source, &dir.path().join("mlflow-artifacts"), RUNS);
    round_trip(&source, &summary, dir.path());
}

#[test]
fn an_mlflow_file_store_comes_over_intact() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("mlruns").display().to_string();
    let summary = mlflow_store(&source, &dir.path().join("mlflow-artifacts"), RUNS);
    round_trip(&source, &summary, dir.path());
}

/// PostgreSQL to PostgreSQL, the move of a team's server.
#[test]
fn an_mlflow_postgres_store_comes_over_into_postgres() {
    let (Some(source), Some(target)) = (e2e::pg_database_or_skip(), e2e::pg_database_or_skip())
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let summary = mlflow_store(&source, &dir.path().join("mlflow-artifacts"), RUNS);
    let destination = dir.path().join("mlartifacts");
    let first = check(&import(&source, &target, &destination, &[]), "the import");
    assert_eq!(reported(&first, "runs"), summary["runs"].as_u64().unwrap());
    let again = check(
        &import(&source, &target, &destination, &[]),
        "the second import",
    );
    assert_eq!(reported(&again, "artifact files copied"), 0, "{again}");
    let server = Server::start(
        Some(&target),
        &[
            "--artifacts-destination",
            &destination.display().to_string(),
        ],
    );
    compare(&source, &server);
}

/// An import cut short (here: the last runs' rows removed, as if its last chunks never
/// committed) is finished by running it again, to exactly the store a whole import gives.
#[test]
fn an_interrupted_import_is_finished_by_running_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let source = format!("sqlite:///{}", dir.path().join("mlflow.db").display());
    mlflow_store(&source, &dir.path().join("mlflow-artifacts"), RUNS);
    let db = dir.path().join("mltrack.db");
    let target = format!("sqlite:///{}", db.display());
    let destination = dir.path().join("mlartifacts");
    check(&import(&source, &target, &destination, &[]), "the import");
    let whole = sqlite_digest(&db);
    let cut = r"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute('PRAGMA foreign_keys = ON')
ids = [r[0] for r in c.execute('SELECT run_uuid FROM runs ORDER BY run_uuid DESC LIMIT 300')]
c.executemany('DELETE FROM runs WHERE run_uuid = ?', [(i,) for i in ids])
c.commit()
";
    let out = Command::new(python())
        .args(["-c", cut])
        .arg(&db)
        .output()
        .unwrap();
    check(&out, "the cut");
    assert_ne!(sqlite_digest(&db), whole, "the cut removed nothing");
    check(
        &import(&source, &target, &destination, &[]),
        "the resumed import",
    );
    assert_eq!(sqlite_digest(&db), whole);
}

/// A store MLflow 1.x left is refused with its revision named, and mltrack's store is not touched.
#[test]
fn an_mlflow_1_store_is_refused_with_its_revision() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.db");
    let make = r#"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute('CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)')
c.execute("INSERT INTO alembic_version VALUES ('cc1f77228345')")
c.execute('CREATE TABLE runs (run_uuid VARCHAR(32))')
c.commit()
"#;
    check(
        &Command::new(python())
            .args(["-c", make])
            .arg(&old)
            .output()
            .unwrap(),
        "making the old store",
    );
    let target = dir.path().join("mltrack.db");
    let out = import(
        &format!("sqlite:///{}", old.display()),
        &format!("sqlite:///{}", target.display()),
        &dir.path().join("mlartifacts"),
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cc1f77228345") && stderr.contains("mlflow db upgrade"),
        "{stderr}"
    );
    assert!(
        !target.exists(),
        "the refused import created mltrack's store"
    );
}

/// Ids are kept, so an experiment of mltrack's own in the way of one of MLflow's stops the import
/// before anything is written.
#[test]
fn an_experiment_in_the_way_stops_the_import_before_any_write() {
    let dir = tempfile::tempdir().unwrap();
    let source = format!("sqlite:///{}", dir.path().join("mlflow.db").display());
    mlflow_store(&source, &dir.path().join("mlflow-artifacts"), 10);
    let db = dir.path().join("mltrack.db");
    let target = format!("sqlite:///{}", db.display());
    // `gc` opens (and so creates) the store; then an experiment takes id 1.
    let out = Command::new(mltrack_bin())
        .args([
            "gc",
            "--backend-store-uri",
            &target,
            "--artifacts-destination",
        ])
        .arg(dir.path().join("mlartifacts"))
        .output()
        .unwrap();
    check(&out, "mltrack gc");
    let clash = r#"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("INSERT INTO experiments VALUES (1, 'made-in-mltrack', 'mlflow-artifacts:/1', 'active', 0, 0)")
c.commit()
"#;
    check(
        &Command::new(python())
            .args(["-c", clash])
            .arg(&db)
            .output()
            .unwrap(),
        "the clash",
    );
    let before = sqlite_digest(&db);
    let out = import(&source, &target, &dir.path().join("mlartifacts"), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("experiment id 1 is `made-in-mltrack`"),
        "{stderr}"
    );
    assert_eq!(
        sqlite_digest(&db),
        before,
        "the refused import wrote something"
    );
}
