//! The unmodified Python `mlflow` client against `mltrack server`, on SQLite and PostgreSQL.

use e2e::{fresh_pg_database, pytest, Server};

fn run_suite(server: &Server) {
    let (ok, output) = pytest(&server.url, "");
    println!("{output}");
    assert!(
        ok,
        "the mlflow client suite failed against {}:\n{output}",
        server.url
    );
}

#[test]
fn mlflow_client_suite_on_sqlite() {
    let server = Server::start(None, &[]);
    run_suite(&server);
}

#[test]
fn mlflow_client_suite_on_postgres() {
    let Some(db) = fresh_pg_database() else {
        eprintln!("skipped: MLTRACK_TEST_PG_URL is not set");
        return;
    };
    let server = Server::start(Some(&db), &[]);
    run_suite(&server);
}
