//! `--auth`: every route the router has, walked without credentials and with wrong ones, answers
//! 401; the right ones get through; read-only users cannot write.
//!
//! The route list is read from the source (`.route("…", get(…).post(…))` in `src/`), so a route
//! added anywhere, the UI included, is walked without anyone editing this test; a route whose path
//! is not a string literal fails the scan rather than escaping it.

use crate::helpers::{Backend, TestApp};
use base64::Engine as _;
use reqwest::Method;
use serde_json::{json, Value};
use std::path::Path;
use tracking_server::auth::credentials::{generate_token, hash_secret};
use tracking_server::auth::OPEN_PATHS;
use tracking_server::config::ServerConfig;
use tracking_server::store::auth::{AuthStore, Permission, TokenRecord, UserRecord};
use tracking_server::store::SqlStore;

/// Where routers get mounted: top level and the MLflow prefixes (`routes/mod.rs`, `meta.rs`).
const PREFIXES: &[&str] = &[
    "",
    "/api/2.0/mlflow",
    "/ajax-api/2.0/mlflow",
    "/api/2.0/mlflow-artifacts",
    "/ajax-api/2.0/mlflow-artifacts",
    "/api/3.0/mlflow",
];

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Paths no route matches; they must be refused before the fallback could say so.
const UNKNOWN: &[&str] = &[
    "/",
    "/index.html",
    "/static-files/app.js",
    "/api/2.0/mlflow/no-such-endpoint",
    "/api/2.0/mlflow-artifacts/artifacts/../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/ajax-api/2.0/mlflow/runs/get/extra",
    "/ui/experiments/0",
];

/// Every `(path, methods)` declared with `.route(…)` in the server's source.
pub(crate) fn declared_routes() -> Vec<(String, Vec<String>)> {
    let mut files = Vec::new();
    collect_rs(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut routes = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (at, _) in text.match_indices(".route(") {
            let rest = text[at + ".route(".len()..].trim_start();
            let rest = rest.strip_prefix('"').unwrap_or_else(|| {
                panic!(
                    "{}: a route path that is not a string literal cannot be walked: {}",
                    file.display(),
                    &rest[..rest.len().min(60)]
                )
            });
            let end = rest.find('"').unwrap();
            let path = &rest[..end];
            let after = &rest[end + 1..];
            let call = &after[..closing_paren(after)];
            let methods: Vec<String> = ["get", "post", "put", "patch", "delete"]
                .iter()
                .filter(|m| {
                    call.match_indices(&format!("{m}(")).any(|(i, _)| {
                        i == 0
                            || !call.as_bytes()[i - 1].is_ascii_alphanumeric()
                                && call.as_bytes()[i - 1] != b'_'
                    })
                })
                .map(|m| m.to_uppercase())
                .collect();
            assert!(
                !methods.is_empty(),
                "{}: no method in {call}",
                file.display()
            );
            routes.push((path.to_string(), methods));
        }
    }
    routes
}

fn collect_rs(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The end of the `.route(` call whose arguments `s` starts inside.
fn closing_paren(s: &str) -> usize {
    let mut depth = 1;
    let mut in_str = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => in_str = !in_str,
            '(' if !in_str => depth += 1,
            ')' if !in_str => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    s.len()
}

/// A concrete path for a route template: parameters get harmless values.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|seg| match seg {
            s if s.starts_with("{*") => "walk/x.txt".to_string(),
            s if s.starts_with('{') => "m-walk".to_string(),
            s => s.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn basic(user: &str, password: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {b64}")
}

/// Adds a user straight to the store, as `mltrack server user add` does; returns a token if asked.
pub(crate) async fn add_user(
    config: &ServerConfig,
    name: &str,
    password: Option<&str>,
    permission: Permission,
    with_token: bool,
) -> Option<String> {
    let store = SqlStore::connect(&config.backend_store_uri).await.unwrap();
    let token = with_token.then(generate_token);
    let record = token.as_ref().map(|(_, id, secret)| TokenRecord {
        token_id: id.clone(),
        secret_hash: hash_secret(secret).unwrap(),
    });
    store
        .create_user(
            &UserRecord {
                name: name.into(),
                password_hash: password.map(|p| hash_secret(p).unwrap()),
                permission,
            },
            record.as_ref(),
        )
        .await
        .unwrap();
    token.map(|(t, _, _)| t)
}

async fn send(app: &TestApp, method: &str, path: &str, auth: Option<&str>) -> (u16, Value, bool) {
    let mut req = app
        .http
        .request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{path}", app.url),
        )
        .header("content-type", "application/json");
    if method != "GET" {
        req = req.body("{}");
    }
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let r = req.send().await.unwrap();
    let challenge = r
        .headers()
        .get("www-authenticate")
        .is_some_and(|v| v.to_str().unwrap().starts_with("Basic realm=\"mltrack\""));
    let (status, v) = TestApp::answer(r).await;
    (status, v, challenge)
}

fn assert_refused(what: &str, (status, v, challenge): (u16, Value, bool)) {
    assert_eq!(status, 401, "{what}: {v}");
    assert_eq!(v["error_code"], "UNAUTHENTICATED", "{what}: {v}");
    assert!(challenge, "{what}: no Basic challenge");
}

async fn auth_app() -> (TestApp, String) {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.auth = true)
        .await
        .unwrap();
    let token = add_user(
        &app.config,
        "alice",
        Some("wonderland"),
        Permission::Edit,
        true,
    )
    .await
    .unwrap();
    (app, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_refuses_missing_and_wrong_credentials() {
    let (app, token) = auth_app().await;
    let routes = declared_routes();
    assert!(routes.len() >= 55, "the route scan found only {routes:?}");
    let right = basic("alice", "wonderland");

    // With the right credentials each declared route is reachable under some prefix, which proves
    // the scan matches the router (and gives the prefix to use below).
    let mut reachable = Vec::new();
    for (template, methods) in &routes {
        for method in methods {
            let mut found = None;
            for prefix in PREFIXES {
                let path = format!("{prefix}{}", concrete(template));
                let (status, v, _) = send(&app, method, &path, Some(&right)).await;
                assert_ne!(status, 401, "{method} {path}: {v}");
                let unmatched = v["error_code"] == "ENDPOINT_NOT_FOUND" || status == 405;
                if !unmatched {
                    found = Some(path);
                    break;
                }
            }
            let path =
                found.unwrap_or_else(|| panic!("{method} {template} is mounted under no prefix"));
            if !OPEN_PATHS.contains(&path.as_str()) {
                reachable.push((method.clone(), path));
            }
        }
    }

    // Without credentials: every template under every prefix with every method, and unknown paths.
    let mut walked = 0;
    assert_eq!(OPEN_PATHS, ["/health"]);
    for (template, _) in routes
        .iter()
        .filter(|(t, _)| !OPEN_PATHS.contains(&t.as_str()))
    {
        for prefix in PREFIXES {
            for method in METHODS {
                let path = format!("{prefix}{}", concrete(template));
                assert_refused(
                    &format!("{method} {path}"),
                    send(&app, method, &path, None).await,
                );
                walked += 1;
            }
        }
    }
    for path in UNKNOWN {
        for method in METHODS {
            assert_refused(
                &format!("{method} {path}"),
                send(&app, method, path, None).await,
            );
            walked += 1;
        }
    }

    // Wrong credentials of every kind, on every route at its real path.
    let (_, id_and_secret) = token.split_once('_').unwrap();
    let wrong_secret = format!("Bearer mlt_{}_{}", &id_and_secret[..16], "0".repeat(64));
    let wrong: Vec<String> = vec![
        basic("alice", "Wonderland"),
        basic("mallory", "wonderland"),
        wrong_secret,
        format!("Bearer mlt_{}_{}", "f".repeat(16), "0".repeat(64)),
        "Bearer not-a-token".into(),
        "Basic !!!".into(),
        "Digest username=\"alice\"".into(),
        token.clone(), // the token without its scheme
    ];
    for (method, path) in reachable.iter().chain(
        UNKNOWN
            .iter()
            .map(|p| ("GET".to_string(), (*p).to_string()))
            .collect::<Vec<_>>()
            .iter(),
    ) {
        for auth in &wrong {
            let what = format!("{method} {path} with {auth}");
            assert_refused(&what, send(&app, method, path, Some(auth)).await);
            walked += 1;
        }
    }
    println!(
        "walked {walked} unauthenticated requests over {} routes",
        routes.len()
    );

    // The probe stays open; the token opens the rest.
    assert_eq!(send(&app, "GET", "/health", None).await.0, 200);
    let bearer = format!("Bearer {token}");
    let (status, v, _) = send(
        &app,
        "GET",
        "/api/2.0/mlflow/experiments/get?experiment_id=0",
        Some(&bearer),
    )
    .await;
    assert_eq!(
        (status, v["experiment"]["name"].as_str()),
        (200, Some("Default"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_users_read_but_cannot_write() {
    let (app, _) = auth_app().await;
    add_user(&app.config, "viewer", Some("look"), Permission::Read, false).await;
    let viewer = basic("viewer", "look");
    let alice = basic("alice", "wonderland");
    let post = |path: &str, auth: &str, body: Value| {
        app.http
            .post(format!("{}/api/2.0/mlflow/{path}", app.url))
            .header("authorization", auth)
            .json(&body)
            .send()
    };
    let r = post("runs/create", &alice, json!({"experiment_id": "0"}))
        .await
        .unwrap();
    let (status, run) = TestApp::answer(r).await;
    assert_eq!(status, 200, "{run}");
    let run_id = run["run"]["info"]["run_id"].as_str().unwrap().to_string();

    let r = post("runs/search", &viewer, json!({"experiment_ids": ["0"]}))
        .await
        .unwrap();
    let (status, found) = TestApp::answer(r).await;
    assert_eq!(
        (status, found["runs"][0]["info"]["run_id"].as_str()),
        (200, Some(run_id.as_str()))
    );

    for (path, body) in [
        ("runs/create", json!({"experiment_id": "0"})),
        (
            "runs/log-metric",
            json!({"run_id": run_id, "key": "m", "value": 1, "timestamp": 1}),
        ),
        ("experiments/create", json!({"name": "nope"})),
        ("registered-models/create", json!({"name": "nope"})),
    ] {
        let (status, v) = TestApp::answer(post(path, &viewer, body).await.unwrap()).await;
        assert_eq!(
            (status, v["error_code"].as_str()),
            (403, Some("PERMISSION_DENIED")),
            "{path}: {v}"
        );
    }
    let put = app
        .http
        .put(format!(
            "{}/api/2.0/mlflow-artifacts/artifacts/0/{run_id}/artifacts/a.txt",
            app.url
        ))
        .header("authorization", &viewer)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 403);
    // Nothing the viewer tried was written.
    let (_, run) = TestApp::answer(
        app.http
            .get(format!(
                "{}/api/2.0/mlflow/runs/get?run_id={run_id}",
                app.url
            ))
            .header("authorization", &viewer)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(run["run"]["data"].get("metrics").is_none(), "{run}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_user_is_refused_and_history_names_the_user() {
    let (app, _) = auth_app().await;
    let token = add_user(&app.config, "bob", None, Permission::Edit, true)
        .await
        .unwrap();
    let bearer = format!("Bearer {token}");
    // A token-only user cannot use Basic with any password.
    assert_refused(
        "bob with a password",
        send(
            &app,
            "GET",
            "/api/2.0/mlflow/experiments/get?experiment_id=0",
            Some(&basic("bob", "")),
        )
        .await,
    );

    let r = app
        .http
        .post(format!(
            "{}/api/2.0/mlflow/registered-models/create",
            app.url
        ))
        .header("authorization", &bearer)
        .json(&json!({"name": "m"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The registry's history names the authenticated user, not the client's address.
    for (path, body) in [
        (
            "model-versions/create",
            json!({"name": "m", "source": "mlflow-artifacts:/0/x"}),
        ),
        (
            "model-versions/transition-stage",
            json!({"name": "m", "version": "1", "stage": "Staging"}),
        ),
    ] {
        let r = app
            .http
            .post(format!("{}/api/2.0/mlflow/{path}", app.url))
            .header("authorization", &bearer)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    let (_, history, _) = send(
        &app,
        "GET",
        "/api/2.0/mlflow/model-versions/history?name=m&version=1",
        Some(&bearer),
    )
    .await;
    let actors: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["actor"].as_str())
        .collect();
    assert_eq!(actors, ["bob", "bob"], "{history}");
    let store = SqlStore::connect(&app.config.backend_store_uri)
        .await
        .unwrap();
    assert!(store.delete_user("bob").await.unwrap());
    // Another of bob's credentials, never cached, fails at once.
    let other = format!("Bearer mlt_{}_{}", &token[4..20], "1".repeat(64));
    assert_refused(
        "removed user",
        send(
            &app,
            "GET",
            "/api/2.0/mlflow/experiments/get?experiment_id=0",
            Some(&other),
        )
        .await,
    );
    assert!(!store.delete_user("bob").await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_off_lets_anonymous_requests_in() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (status, _, challenge) = send(
        &app,
        "GET",
        "/api/2.0/mlflow/experiments/get?experiment_id=0",
        None,
    )
    .await;
    assert_eq!((status, challenge), (200, false));
}

/// The cost of `--auth`: requests per second on one keep-alive connection and with 8 at once, auth
/// off and on (credentials cached after the first request), and one uncached argon2 check. Numbers
/// for BENCHMARKS.md:
/// `cargo test --release -p tracking-server --test api -- --ignored --nocapture auth_overhead`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn auth_overhead() {
    const N: usize = 4000;
    const PATH: &str = "/api/2.0/mlflow/experiments/get?experiment_id=0";
    let mut rows = Vec::new();
    for (label, auth) in [("off", false), ("basic", true), ("bearer", true)] {
        let app = TestApp::spawn_with(Backend::Sqlite, |c| c.auth = auth)
            .await
            .unwrap();
        let token = add_user(
            &app.config,
            "alice",
            Some("wonderland"),
            Permission::Edit,
            true,
        )
        .await
        .unwrap();
        let header = match label {
            "basic" => Some(basic("alice", "wonderland")),
            "bearer" => Some(format!("Bearer {token}")),
            _ => None,
        };
        let one = |header: Option<String>, http: reqwest::Client, url: String| async move {
            let mut req = http.get(format!("{url}{PATH}"));
            if let Some(h) = &header {
                req = req.header("authorization", h);
            }
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.bytes().await.unwrap();
        };
        for _ in 0..200 {
            one(header.clone(), app.http.clone(), app.url.clone()).await;
        }
        let started = std::time::Instant::now();
        for _ in 0..N {
            one(header.clone(), app.http.clone(), app.url.clone()).await;
        }
        let serial = N as f64 / started.elapsed().as_secs_f64();
        let started = std::time::Instant::now();
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (h, http, url) = (header.clone(), app.http.clone(), app.url.clone());
                tokio::spawn(async move {
                    for _ in 0..N / 8 {
                        one(h.clone(), http.clone(), url.clone()).await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let parallel = N as f64 / started.elapsed().as_secs_f64();
        rows.push(format!("| {label} | {serial:.0} | {parallel:.0} |"));
    }
    let phc = hash_secret("wonderland").unwrap();
    let started = std::time::Instant::now();
    for _ in 0..10 {
        assert!(tracking_server::auth::credentials::verify_secret(
            "wonderland",
            &phc
        ));
    }
    let argon2_ms = started.elapsed().as_secs_f64() * 100.0;
    println!("| auth | req/s, 1 connection | req/s, 8 connections |\n|---|---:|---:|");
    for row in rows {
        println!("{row}");
    }
    println!("one uncached argon2id verification: {argon2_ms:.1} ms");
}
