//! The web UI in headless Chromium (Playwright for Python driving Debian's `/usr/bin/chromium`),
//! against `mltrack server` on SQLite and PostgreSQL, seeded through the `mlflow` client.
//! Screenshots land in `<target dir>/ui-screenshots/<backend>/` for review.

use e2e::{mltrack_bin, pytest_at, Server};
use std::path::PathBuf;

/// `<target>/ui-screenshots/<label>`, beside the binaries cargo built for this run.
fn screenshot_dir(label: &str) -> PathBuf {
    let bin = mltrack_bin();
    let target = bin
        .parent()
        .and_then(|profile| profile.parent())
        .map_or_else(
            || PathBuf::from("ui-screenshots"),
            |t| t.join("ui-screenshots"),
        );
    target.join(label)
}

fn browser_suite(server: &Server, label: &str) {
    if !e2e::chromium_or_skip() {
        return;
    }
    let shots = screenshot_dir(label);
    let shots = shots.to_string_lossy();
    let (ok, output) = pytest_at(
        "tests/ui",
        &server.url,
        &[
            ("MLTRACK_UI_SCREENSHOTS", shots.as_ref()),
            ("MLTRACK_UI_LABEL", label),
        ],
    );
    println!("{output}\nscreenshots: {shots}");
    assert!(
        ok,
        "the UI browser suite failed against {}:\n{output}",
        server.url
    );
}

#[test]
fn ui_in_chromium_on_sqlite() {
    let server = Server::start(None, &[]);
    browser_suite(&server, "sqlite");
}

#[test]
fn ui_in_chromium_on_postgres() {
    let Some(db) = e2e::pg_database_or_skip() else {
        return;
    };
    let server = Server::start(Some(&db), &[]);
    browser_suite(&server, "postgres");
}
