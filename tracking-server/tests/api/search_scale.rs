//! Searches of an experiment large enough for the store's other plans (12,000 runs; the store weighs
//! them from 10,000): every answer is checked against the order and filters computed here from the
//! rows the test wrote, page by page, so a plan that starts from an index must give exactly what
//! the plain walk of the experiment gives.

use crate::backend_tests;
use crate::helpers::{Backend, TestApp};
use serde_json::{json, Value};
use sqlx::Connection;

const RUNS: usize = 12_000;

/// Which seeded runs a filter keeps, as the test computes it.
type Keep = Box<dyn Fn(&Seeded) -> bool>;

/// One seeded run: its id, start time, metric `m` (None: not logged; NaN for some), params and parent.
struct Seeded {
    id: String,
    start: i64,
    m: Option<f64>,
    p: String,
    /// param `long`: 250 x's then "a" when true, "b" when false (one 200-character prefix for both)
    long: bool,
    parent: Option<String>,
}

fn long_value(a: bool) -> String {
    format!("{}{}", "x".repeat(250), if a { "a" } else { "b" })
}

fn run_id(i: usize) -> String {
    // scattered through the key space, as uuid4s are
    let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    format!("{h:016x}{:016x}", i as u64)
}

fn seeded() -> Vec<Seeded> {
    (0..RUNS)
        .map(|i| Seeded {
            id: run_id(i),
            start: 1_000 + i as i64,
            m: match i % 50 {
                0 => None,
                1 => Some(f64::NAN),
                // ties on purpose: 997 distinct values, broken by start time then id
                _ => Some(((i * 7919) % 997) as f64 / 997.0),
            },
            p: format!("v{}", i % 500),
            long: i % 3 == 0,
            parent: (i % 100 == 5).then(|| run_id(i - 5)),
        })
        .collect()
}

/// Writes the runs straight into the store's tables (the API would take minutes for 12,000).
async fn seed(app: &TestApp, backend: Backend, experiment: &str, runs: &[Seeded]) {
    let mut statements = Vec::new();
    for chunk in runs.chunks(500) {
        let values = |f: &dyn Fn(&Seeded) -> Vec<String>| -> String {
            chunk.iter().flat_map(f).collect::<Vec<_>>().join(", ")
        };
        statements.push(format!(
            "INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time, artifact_uri, \
             lifecycle_stage) VALUES {}",
            values(&|r| vec![format!(
                "('{}', {experiment}, 'r{}', 'u', 'FINISHED', {}, 'a', 'active')",
                r.id, r.start, r.start
            )])
        ));
        statements.push(format!(
            "INSERT INTO params (run_uuid, key, value) VALUES {}",
            values(&|r| vec![
                format!("('{}', 'p', '{}')", r.id, r.p),
                format!("('{}', 'all', 'same')", r.id),
                format!("('{}', 'long', '{}')", r.id, long_value(r.long)),
            ])
        ));
        let metrics = values(&|r| {
            r.m.map(|m| {
                let (value, nan) = if m.is_nan() { (0.0, 1) } else { (m, 0) };
                format!("('{}', 'm', {value:?}, {nan}, {}, 0)", r.id, r.start)
            })
            .into_iter()
            .collect()
        });
        statements.push(format!(
            "INSERT INTO latest_metrics (run_uuid, key, value, is_nan, timestamp, step) VALUES {metrics}"
        ));
        let parents = values(&|r| {
            r.parent
                .iter()
                .map(|p| format!("('{}', 'mlflow.parentRunId', '{p}')", r.id))
                .collect()
        });
        if !parents.is_empty() {
            statements.push(format!(
                "INSERT INTO tags (run_uuid, key, value) VALUES {parents}"
            ));
        }
    }
    let uri = &app.config.backend_store_uri;
    match backend {
        Backend::Sqlite => {
            let path = uri.trim_start_matches("sqlite:///");
            let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{path}"))
                .await
                .unwrap();
            for s in &statements {
                sqlx::raw_sql(s).execute(&mut conn).await.unwrap();
            }
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(uri).await.unwrap();
            for s in &statements {
                sqlx::raw_sql(s).execute(&mut conn).await.unwrap();
            }
            sqlx::raw_sql("ANALYZE").execute(&mut conn).await.unwrap();
        }
    }
}

/// Every page of a search, followed by page token, as run ids.
async fn all_pages(app: &TestApp, mut body: Value) -> Vec<String> {
    let mut ids = Vec::new();
    loop {
        let v = app.ok("runs/search", body.clone()).await;
        for r in v["runs"].as_array().into_iter().flatten() {
            ids.push(r["info"]["run_id"].as_str().unwrap().to_string());
        }
        match v["next_page_token"].as_str() {
            Some(t) if !t.is_empty() => body["page_token"] = json!(t),
            _ => return ids,
        }
    }
}

/// MLflow's order by a metric: values (in the asked direction), then NaN, then no value; ties by
/// start time (newest first), then id.
fn by_metric(runs: &[&Seeded], ascending: bool) -> Vec<String> {
    let mut sorted: Vec<&&Seeded> = runs.iter().collect();
    sorted.sort_by(|a, b| {
        let rank = |r: &Seeded| match r.m {
            Some(m) if !m.is_nan() => 0,
            Some(_) => 1,
            None => 2,
        };
        rank(a).cmp(&rank(b)).then_with(|| {
            let (x, y) = (a.m.unwrap_or(0.0), b.m.unwrap_or(0.0));
            let by_value = if rank(a) == 0 {
                if ascending {
                    x.total_cmp(&y)
                } else {
                    y.total_cmp(&x)
                }
            } else {
                std::cmp::Ordering::Equal
            };
            by_value.then(b.start.cmp(&a.start)).then(a.id.cmp(&b.id))
        })
    });
    sorted.iter().map(|r| r.id.clone()).collect()
}

/// `got == want`, reported by the first difference rather than two lists of thousands of ids.
fn same(got: &[String], want: &[String], what: &str) {
    if let Some(i) = (0..got.len().max(want.len())).find(|&i| got.get(i) != want.get(i)) {
        panic!(
            "{what}: {} runs, {} expected; first difference at {i}: {:?} instead of {:?}",
            got.len(),
            want.len(),
            got.get(i),
            want.get(i)
        );
    }
}

fn newest_first(runs: impl Iterator<Item = impl std::ops::Deref<Target = Seeded>>) -> Vec<String> {
    let mut v: Vec<(i64, String)> = runs.map(|r| (r.start, r.id.clone())).collect();
    v.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    v.into_iter().map(|(_, id)| id).collect()
}

async fn check(app: TestApp, backend: Backend) {
    let exp = app.create_experiment("large").await;
    // a second experiment's runs share keys and values and must never leak into answers
    let other = app.create_experiment("other").await;
    let runs = seeded();
    seed(&app, backend, &exp, &runs).await;
    let other_runs: Vec<Seeded> = (RUNS..RUNS + 300).map(seeded_one).collect();
    seed(&app, backend, &other, &other_runs).await;
    let all: Vec<&Seeded> = runs.iter().collect();
    let search = |extra: Value| {
        let mut body = json!({"experiment_ids": [exp], "max_results": 1000});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };

    for ascending in [false, true] {
        let dir = if ascending { "ASC" } else { "DESC" };
        let got = all_pages(
            &app,
            search(json!({"order_by": [format!("metrics.m {dir}")]})),
        )
        .await;
        same(
            &got,
            &by_metric(&all, ascending),
            &format!("order by metrics.m {dir}"),
        );
    }
    // a filter and a metric ordering together, on a page size that does not divide the matches
    let filtered: Vec<&Seeded> = runs.iter().filter(|r| r.p == "v7").collect();
    let got = all_pages(
        &app,
        search(
            json!({"filter": "params.p = 'v7'", "order_by": ["metrics.m ASC"], "max_results": 7}),
        ),
    )
    .await;
    same(
        &got,
        &by_metric(&filtered, true),
        "params.p = 'v7' by metrics.m ASC",
    );

    let cases: Vec<(&str, Keep)> = vec![
        ("params.p = 'v7'", Box::new(|r: &Seeded| r.p == "v7")),
        (
            "params.p = 'v7' AND metrics.m > 0.5",
            Box::new(|r: &Seeded| r.p == "v7" && r.m.is_some_and(|m| m > 0.5)),
        ),
        (
            "metrics.m >= 0.99",
            Box::new(|r: &Seeded| r.m.is_some_and(|m| m >= 0.99)),
        ),
        (
            "metrics.m < 0.01",
            Box::new(|r: &Seeded| r.m.is_some_and(|m| m < 0.01)),
        ),
        ("metrics.m = 0.0", Box::new(|r: &Seeded| r.m == Some(0.0))),
        ("params.all = 'same'", Box::new(|_: &Seeded| true)),
        (
            "params.all = 'same' AND metrics.m <= 0.002",
            Box::new(|r: &Seeded| r.m.is_some_and(|m| m <= 0.002)),
        ),
    ];
    let long_filter = format!("params.long = '{}'", long_value(true));
    let mut cases = cases;
    cases.push((&long_filter, Box::new(|r: &Seeded| r.long)));
    for (filter, keep) in &cases {
        let got = all_pages(&app, search(json!({"filter": filter}))).await;
        let want = newest_first(runs.iter().filter(|r| keep(r)));
        assert!(!want.is_empty(), "{filter}");
        same(&got, &want, filter);
    }
    let parent = run_id(100);
    let got = all_pages(
        &app,
        search(json!({"filter": format!("tags.mlflow.parentRunId = '{parent}'")})),
    )
    .await;
    assert_eq!(got, vec![run_id(105)]);

    // The web UI counts at most 10,000 runs past its page: 12,000 - 120 children are top-level.
    let page = app.text(&format!("/experiments/{exp}")).await;
    assert!(
        page.contains("Runs 1–100 of more than 10100 top-level"),
        "{}",
        &page[page.find("id=\"count\"").unwrap_or(0)..][..120]
    );
    // Children of the page's runs come with it: run 5 is run 0's child, and run 0 is on the last page.
    let last = app.text(&format!("/experiments/{exp}?offset=11800")).await;
    assert!(last.contains(&run_id(5)), "child run 5 under run 0");
    assert!(last.contains("Runs 11801–11880 of 11880 top-level"));
}

fn seeded_one(i: usize) -> Seeded {
    Seeded {
        id: run_id(i),
        start: 1_000 + i as i64,
        m: Some(((i * 7919) % 997) as f64 / 997.0),
        p: format!("v{}", i % 500),
        long: true,
        parent: None,
    }
}

backend_tests!(
    large_experiment_searches_match_the_plain_plan,
    |app: TestApp| async move {
        let backend = if app.config.backend_store_uri.starts_with("sqlite") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        check(app, backend).await;
    }
);
