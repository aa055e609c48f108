//! Path safety of the artifact proxy: `..`, encoded `..`, absolute paths, NUL bytes, backslashes and
//! symlinks never reach outside the artifact root, for reads, writes, deletes and listings.
//!
//! Requests go through the in-process router so the path arrives byte for byte (HTTP clients
//! normalise `a/../b` before sending). A directory beside the root holds a secret and is the target
//! of symlinks inside the root; after every attempt it must be unchanged and never served.

use axum::body::Body;
use axum::http::{Method, Request};
use axum::Router;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use std::path::{Path, PathBuf};
use tower::ServiceExt;
use tracking_server::startup::app as router;
use tracking_server::startup::build_state;

const PROXY: &str = "/api/2.0/mlflow-artifacts/artifacts";
const SECRET: &[u8] = b"top secret";

struct Fixture {
    app: Router,
    outside: PathBuf,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let config = crate::helpers::test_config(crate::helpers::Backend::Sqlite, &dir)
        .await
        .unwrap();
    let root = config.artifacts_destination.clone();
    let app = router(build_state(config).await.unwrap());
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), SECRET).unwrap();
    std::fs::create_dir_all(root.join("0/run/artifacts")).unwrap();
    std::fs::write(root.join("0/run/artifacts/ok.txt"), b"fine").unwrap();
    std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.txt"), root.join("filelink")).unwrap();
    std::os::unix::fs::symlink("/etc", root.join("0/run/artifacts/etc")).unwrap();
    Fixture {
        app,
        outside,
        _dir: dir,
    }
}

async fn send(app: &Router, method: Method, uri: &str, body: &'static [u8]) -> (u16, Vec<u8>) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::from(body))
        .unwrap();
    let r = app.clone().oneshot(req).await.unwrap();
    let status = r.status().as_u16();
    (
        status,
        axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec(),
    )
}

/// Everything under `dir` (not following symlinks), with contents.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(snapshot(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out.sort();
    out
}

const ESCAPES: &[&str] = &[
    "../outside/secret.txt",
    "../../outside/secret.txt",
    "%2e%2e/outside/secret.txt",
    "%2E%2E%2Foutside%2Fsecret.txt",
    "..%2foutside%2fsecret.txt",
    "0/run/../../../outside/secret.txt",
    "0/run/artifacts/%2e%2e/%2e%2e/%2e%2e/%2e%2e/outside/secret.txt",
    "/etc/passwd",
    "%2Fetc%2Fpasswd",
    "//etc/passwd",
    "secret.txt%00.png",
    "%00",
    "a%00/../../outside/secret.txt",
    "..%5Coutside%5Csecret.txt",
    "C:%5Cwindows%5Cwin.ini",
    "link/secret.txt",
    "link",
    "filelink",
    "0/run/artifacts/etc/passwd",
    "0/run/artifacts/etc",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traversal_and_symlinks_are_refused_for_every_operation() {
    let f = fixture().await;
    let before = snapshot(&f.outside);
    for path in ESCAPES {
        for (method, uri) in [
            (Method::GET, format!("{PROXY}/{path}")),
            (Method::PUT, format!("{PROXY}/{path}")),
            (Method::DELETE, format!("{PROXY}/{path}")),
            (Method::GET, format!("{PROXY}?path={path}")),
        ] {
            let (status, body) = send(&f.app, method.clone(), &uri, b"overwritten").await;
            let text = String::from_utf8_lossy(&body);
            assert!(
                status == 400 || status == 404,
                "{method} {uri}: {status} {text}"
            );
            assert!(
                !text.contains("top secret") && !text.contains("root:"),
                "{method} {uri}: {text}"
            );
        }
    }
    // The tracking-side listing of a run's artifacts refuses the same paths.
    let req = Request::post("/api/2.0/mlflow/runs/create")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"experiment_id": "0"}"#))
        .unwrap();
    let r = f.app.clone().oneshot(req).await.unwrap();
    let run: serde_json::Value = serde_json::from_slice(
        &axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap(),
    )
    .unwrap();
    let run_id = run["run"]["info"]["run_id"].as_str().unwrap();
    for path in ["../../../outside", "%2e%2e/%2e%2e/%2e%2e", "/etc", "a%00b"] {
        let uri = format!("/api/2.0/mlflow/artifacts/list?run_id={run_id}&path={path}");
        let (status, body) = send(&f.app, Method::GET, &uri, b"").await;
        assert_eq!(status, 400, "{uri}: {}", String::from_utf8_lossy(&body));
    }
    assert_eq!(snapshot(&f.outside), before);
    assert!(f.outside.join("secret.txt").exists());
    // And legitimate paths still work.
    let (status, body) = send(
        &f.app,
        Method::GET,
        &format!("{PROXY}/0/run/artifacts/ok.txt"),
        b"",
    )
    .await;
    assert_eq!((status, body.as_slice()), (200, b"fine".as_slice()));
}

/// Regression: `DELETE …/artifacts/.` resolved to the root itself and wiped every artifact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_spelling_of_the_root_deletes_it() {
    let f = fixture().await;
    for path in [".", "./", "./.", ".//.", "%2e", "%2E/"] {
        let (status, body) = send(&f.app, Method::DELETE, &format!("{PROXY}/{path}"), b"").await;
        assert_eq!(status, 400, "{path}: {}", String::from_utf8_lossy(&body));
    }
    let (status, body) = send(
        &f.app,
        Method::GET,
        &format!("{PROXY}/0/run/artifacts/ok.txt"),
        b"",
    )
    .await;
    assert_eq!((status, body.as_slice()), (200, b"fine".as_slice()));
}

#[test]
fn generated_paths_never_leave_the_root() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let f = rt.block_on(fixture());
    let before = snapshot(&f.outside);
    let segment = prop::sample::select(vec![
        "..",
        ".",
        "%2e%2e",
        "%2E.",
        ".%2e",
        "%2f",
        "%2F..",
        "%5c",
        "%00",
        "a%00",
        "link",
        "filelink",
        "etc",
        "0",
        "run",
        "artifacts",
        "a",
        "b.txt",
        "",
        "%2e%2e%2f%2e%2e",
        "~",
        "%7e",
    ]);
    let strategy = (
        prop::sample::select(vec![Method::GET, Method::PUT, Method::DELETE]),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(segment, 1..7),
    );
    let mut runner = TestRunner::new(Config {
        cases: 3_000,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |(method, absolute, listing, segments)| {
            let mut path = segments.join("/");
            if absolute {
                path.insert(0, '/');
            }
            let uri = if listing {
                format!("{PROXY}?path={path}")
            } else {
                format!("{PROXY}/{path}")
            };
            let method = if listing { Method::GET } else { method };
            // A panic in a handler would come back as the panic guard's 500.
            let (status, body) = rt.block_on(send(&f.app, method.clone(), &uri, b"overwritten"));
            let text = String::from_utf8_lossy(&body);
            prop_assert!(status < 500, "{method} {uri}: {status} {text}");
            prop_assert!(
                !text.contains("top secret") && !text.contains("root:"),
                "{method} {uri}: {text}"
            );
            prop_assert_eq!(
                &snapshot(&f.outside),
                &before,
                "{} {} changed the outside",
                method,
                uri
            );
            Ok(())
        })
        .unwrap();
}
