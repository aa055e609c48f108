//! The web UI's handlers over HTTP: error pages carry the API's status and message (never a 5xx for a
//! client mistake), form writes go through the API's rules, and long histories are down-sampled.

use crate::backend_tests;
use crate::helpers::TestApp;
use serde_json::json;
use tracking_server::store::{ExperimentStore, HistoryAxis, RunStore, RunViews, SqlStore};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let r = app
        .http
        .get(format!("{}{path}", app.url))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A form POST as a browser sends it from one of our pages.
async fn form(app: &TestApp, path: &str, body: &str) -> (u16, String, Option<String>) {
    let r = no_redirects()
        .post(format!("{}{path}", app.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", &app.url)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    (r.status().as_u16(), r.text().await.unwrap(), location)
}

async fn registered_version(app: &TestApp) -> String {
    let exp = app.create_experiment("ui-registry").await;
    let run = app.create_run(&exp).await;
    app.ok("registered-models/create", json!({"name": "ui-model"}))
        .await;
    app.ok(
        "model-versions/create",
        json!({"name": "ui-model", "source": format!("runs:/{run}/model"), "run_id": run}),
    )
    .await;
    run
}

backend_tests!(
    a_bad_filter_is_a_400_page_with_the_parse_error,
    |app: TestApp| async move {
        let exp = app.create_experiment("ui-filter").await;
        let (status, html) = page(
            &app,
            &format!("/experiments/{exp}?filter=metrics.x%20%3C%3C%201"),
        )
        .await;
        assert_eq!(status, 400, "{html}");
        assert!(html.contains("id=\"filter-error\""), "{html}");
        assert!(html.contains("Invalid comparator"), "{html}");
        let (status, html) = page(
            &app,
            &format!("/experiments/{exp}?order=metrics.x%20SIDEWAYS"),
        )
        .await;
        assert_eq!(status, 400);
        assert!(
            html.contains("Invalid ordering key in order_by clause"),
            "{html}"
        );
    }
);

backend_tests!(
    unknown_or_malformed_ids_are_4xx_pages,
    |app: TestApp| async move {
        let exp = app.create_experiment("ui-404").await;
        for (path, status, text) in [
            (
                format!("/experiments/{exp}/runs/0123abcd"),
                404,
                "Run with id=0123abcd not found",
            ),
            ("/runs/0123abcd".to_string(), 404, "not found"),
            (
                "/experiments/424242".to_string(),
                404,
                "No Experiment with id=424242",
            ),
            ("/experiments/abc".to_string(), 400, "Invalid experiment ID"),
            (
                "/runs/bad$id/metric?key=x".to_string(),
                400,
                "Invalid run ID",
            ),
            ("/models/none-such".to_string(), 404, "not found"),
            (
                "/models/none-such/versions/x".to_string(),
                400,
                "must be an integer",
            ),
            ("/compare".to_string(), 400, "at least one run"),
        ] {
            let (got, html) = page(&app, &path).await;
            assert_eq!(got, status, "{path}: {html}");
            assert!(html.contains(text), "{path}: {html}");
            assert!(
                html.starts_with("<!doctype html>"),
                "{path} is an HTML page"
            );
        }
        // A browser gets an HTML 404 for an unknown page; unknown API paths keep the API's JSON 404.
        let r = app
            .http
            .get(format!("{}/no/such/page", app.url))
            .header("accept", "text/html,application/xhtml+xml")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 404);
        assert!(r.text().await.unwrap().contains("No page at /no/such/page"));
        let (status, body) = app.get("no-such-endpoint", &[]).await;
        assert_eq!(
            (status, body["error_code"].as_str()),
            (404, Some("ENDPOINT_NOT_FOUND"))
        );
    }
);

backend_tests!(
    experiment_forms_follow_the_api_rules,
    |app: TestApp| async move {
        let (status, _, location) = form(&app, "/experiments", "name=ui-made").await;
        assert_eq!(status, 303);
        let location = location.unwrap();
        assert!(location.starts_with("/experiments/"), "{location}");
        let (status, html, _) = form(&app, "/experiments", "name=ui-made").await;
        assert_eq!(status, 400);
        assert!(html.contains("already exists"), "{html}");
        let (status, html, _) = form(&app, "/experiments", "name=").await;
        assert_eq!(status, 400);
        assert!(
            html.contains("Missing value for required parameter &#39;name&#39;"),
            "{html}"
        );
        let id = location.trim_start_matches("/experiments/");
        let (status, _, _) = form(
            &app,
            &format!("/experiments/{id}/rename"),
            "new_name=ui-renamed",
        )
        .await;
        assert_eq!(status, 303);
        let (_, v) = app.get("experiments/get", &[("experiment_id", id)]).await;
        assert_eq!(v["experiment"]["name"], "ui-renamed");
        let (status, _, _) = form(&app, &format!("/experiments/{id}/delete"), "").await;
        assert_eq!(status, 303);
        let (_, v) = app.get("experiments/get", &[("experiment_id", id)]).await;
        assert_eq!(v["experiment"]["lifecycle_stage"], "deleted");
        let (status, _, _) = form(&app, "/experiments/999999/restore", "").await;
        assert_eq!(status, 404);
    }
);

backend_tests!(
    a_cross_site_form_post_changes_nothing,
    |app: TestApp| async move {
        let r = no_redirects()
            .post(format!("{}/experiments", app.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", "http://evil.example")
            .body("name=from-elsewhere")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 403);
        let (_, v) = app
            .get(
                "experiments/get-by-name",
                &[("experiment_name", "from-elsewhere")],
            )
            .await;
        assert_eq!(v["error_code"], "RESOURCE_DOES_NOT_EXIST");
    }
);

backend_tests!(
    stage_transitions_from_the_form_use_the_registry_rules,
    |app: TestApp| async move {
        registered_version(&app).await;
        let path = "/models/ui-model/versions/1/stage";
        let (status, html, _) = form(&app, path, "stage=Prod").await;
        assert_eq!(status, 400);
        assert!(html.contains("Invalid Model Version stage: Prod"), "{html}");
        let (status, html, _) =
            form(&app, path, "stage=Archived&archive_existing_versions=true").await;
        assert_eq!(status, 400);
        assert!(
            html.contains("cannot archive existing model versions"),
            "{html}"
        );
        let (status, _, _) = form(&app, "/models/ui-model/versions/7/stage", "stage=Staging").await;
        assert_eq!(status, 404);
        let (status, _, location) = form(&app, path, "stage=production").await;
        assert_eq!(status, 303);
        assert_eq!(location.as_deref(), Some("/models/ui-model/versions/1"));
        let (_, v) = app
            .get(
                "model-versions/get",
                &[("name", "ui-model"), ("version", "1")],
            )
            .await;
        assert_eq!(v["model_version"]["current_stage"], "Production");
        let (status, html) = page(&app, "/models/ui-model/versions/1").await;
        assert_eq!(status, 200);
        assert!(
            html.contains("id=\"history\""),
            "the transition is in the history"
        );
    }
);

backend_tests!(
    a_long_history_is_drawn_down_sampled,
    |app: TestApp| async move {
        let exp = app.create_experiment("ui-history").await;
        let run = app.create_run(&exp).await;
        for chunk in 0..10 {
            let metrics: Vec<_> = (0..1000)
                .map(|i| {
                    let step = chunk * 1000 + i;
                    let value = if step == 4321 {
                        1e6
                    } else {
                        f64::from(step % 7)
                    };
                    json!({"key": "loss", "value": value, "timestamp": 1000 + step, "step": step})
                })
                .collect();
            app.ok("runs/log-batch", json!({"run_id": run, "metrics": metrics}))
                .await;
        }
        let (status, html) = page(&app, &format!("/runs/{run}/metric?key=loss")).await;
        assert_eq!(status, 200);
        assert!(
            html.contains("10000 points, drawn as"),
            "{}",
            &html[..html.len().min(3000)]
        );
        // The page carries at most two points per pixel column, not the history.
        assert!(html.len() < 120_000, "page is {} bytes", html.len());
        let (status, html) = page(&app, &format!("/experiments/{exp}/runs/{run}?x=time")).await;
        assert_eq!(status, 200);
        assert!(
            html.contains("drawn as"),
            "the run page's small chart is down-sampled too"
        );
    }
);

/// The store's envelope keeps every column's extremes: a one-point spike survives the reduction.
#[tokio::test]
async fn the_envelope_keeps_each_columns_minimum_and_maximum() {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("sqlite:///{}", dir.path().join("e.db").display());
    let store = SqlStore::connect(&uri).await.unwrap();
    store
        .ensure_default_experiment("mlflow-artifacts:/0")
        .await
        .unwrap();
    let run = store
        .create_run(tracking_server::store::NewRun {
            experiment_id: 0,
            user_id: "u".into(),
            run_name: "r".into(),
            start_time: 1,
            tags: Vec::new(),
        })
        .await
        .unwrap();
    let id = run.info.run_id;
    for chunk in 0..20 {
        let metrics = (0..1000)
            .map(|i| {
                let step = chunk * 1000 + i;
                protocol::Metric {
                    key: "m".into(),
                    value: match step {
                        12_345 => 99.0,
                        777 => -5.0,
                        _ => f64::from(step % 3),
                    },
                    timestamp: 10 + i64::from(step),
                    step: i64::from(step),
                    run_id: None,
                    ..Default::default()
                }
            })
            .collect();
        let batch = tracking_server::store::Batch {
            metrics,
            ..Default::default()
        };
        store.log_batch(&id, batch).await.unwrap();
    }
    let env = store
        .metric_envelope(&id, "m", HistoryAxis::Step, 400)
        .await
        .unwrap();
    assert_eq!(env.total, 20_000);
    assert!(env.points.len() <= 400, "{} columns", env.points.len());
    let max = env.points.iter().map(|p| p.max).fold(f64::MIN, f64::max);
    let min = env.points.iter().map(|p| p.min).fold(f64::MAX, f64::min);
    assert_eq!((min, max), (-5.0, 99.0));
    assert!(
        env.points.windows(2).all(|w| w[0].x < w[1].x),
        "columns in x order"
    );
    let short = store
        .metric_envelope(&id, "m", HistoryAxis::Time, 20_000)
        .await
        .unwrap();
    assert_eq!(
        short.points.len(),
        20_000,
        "short enough histories come back whole"
    );
    // A history logged at a single step is one column, not every point.
    let flat = (0..3000)
        .map(|i| protocol::Metric {
            key: "flat".into(),
            value: f64::from(i % 10),
            timestamp: i64::from(i),
            step: 0,
            run_id: None,
            ..Default::default()
        })
        .collect::<Vec<_>>();
    for chunk in flat.chunks(1000) {
        let batch = tracking_server::store::Batch {
            metrics: chunk.to_vec(),
            ..Default::default()
        };
        store.log_batch(&id, batch).await.unwrap();
    }
    let env = store
        .metric_envelope(&id, "flat", HistoryAxis::Step, 100)
        .await
        .unwrap();
    assert_eq!(env.total, 3000);
    assert_eq!(env.points.len(), 1);
    assert_eq!((env.points[0].min, env.points[0].max), (0.0, 9.0));
    let missing = store
        .metric_envelope("nope", "m", HistoryAxis::Step, 10)
        .await;
    assert!(missing.is_err());
}

backend_tests!(
    the_runs_page_counts_pages_and_exports_csv,
    |app: TestApp| async move {
        let exp = app.create_experiment("ui-count").await;
        let mut ids = Vec::new();
        for i in 0..5 {
            let run = app.create_run(&exp).await;
            app.ok(
                "runs/log-batch",
                json!({"run_id": run, "params": [{"key": "i", "value": i.to_string()}],
                   "metrics": [{"key": "m", "value": i, "timestamp": 1, "step": 0}]}),
            )
            .await;
            ids.push(run);
        }
        let (status, html) = page(&app, &format!("/experiments/{exp}?size=2&offset=2")).await;
        assert_eq!(status, 200);
        assert!(html.contains("Runs 3–4 of 5 top-level"), "{html}");
        let r = app
            .http
            .get(format!(
                "{}/experiments/{exp}/runs.csv?filter=metrics.m%20%3E%3D%202",
                app.url
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let text = r.text().await.unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + 3, "{text}");
        assert!(lines[0].starts_with("run_id,run_name,status"), "{text}");
        assert!(
            lines[0].contains("params.i") && lines[0].contains("metrics.m"),
            "{text}"
        );
        let r = app
            .http
            .get(format!(
                "{}/experiments/{exp}/runs.csv?filter=bad%20filter",
                app.url
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400);
    }
);
