//! Operations: Prometheus metrics, request ids, and `gc` purging deleted runs with their artifacts.

use crate::backend_tests;
use crate::helpers::TestApp;
use serde_json::json;
use sqlx::Connection;
use std::time::Duration;
use tracking_server::artifacts::ArtifactStore;
use tracking_server::ops::gc::{collect, GcOptions};
use tracking_server::store::SqlStore;

const PROXY: &str = "/api/2.0/mlflow-artifacts/artifacts";

backend_tests!(
    metrics_count_requests_by_route_and_status,
    |app: TestApp| async move {
        let run = app.create_run("0").await;
        for step in 0..3 {
            app.ok(
                "runs/log-metric",
                json!({"run_id": run, "key": "m", "value": 1, "timestamp": 1, "step": step}),
            )
            .await;
        }
        assert_eq!(app.get("runs/get", &[]).await.0, 400);
        let _ = app.get("runs/get", &[("run_id", "nope")]).await;
        let _ = app
            .http
            .get(format!("{}/no/such/page/{run}", app.url))
            .send()
            .await;

        let r = app
            .http
            .get(format!("{}/metrics", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"));
        let text = r.text().await.unwrap();
        let log = "method=\"POST\",route=\"/api/2.0/mlflow/runs/log-metric\"";
        for line in [
        format!("mltrack_http_requests_total{{{log},status=\"200\"}} 3"),
        format!("mltrack_http_request_duration_seconds_count{{{log}}} 3"),
        format!("mltrack_http_request_duration_seconds_bucket{{{log},le=\"+Inf\"}} 3"),
        "mltrack_http_requests_total{method=\"GET\",route=\"/api/2.0/mlflow/runs/get\",status=\"404\"} 1".into(),
        "mltrack_http_requests_total{method=\"GET\",route=\"/api/2.0/mlflow/runs/get\",status=\"400\"} 1".into(),
        "mltrack_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1".into(),
        "mltrack_http_requests_in_flight 1".into(),
    ] {
        assert!(text.contains(&line), "missing `{line}` in:\n{text}");
    }
        // Raw paths never become labels; pool gauges are there for either backend.
        assert!(!text.contains(&run));
        assert!(text.contains("mltrack_db_pool_connections{pool="));
        assert!(text.contains("mltrack_db_pool_max_connections{pool="));
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_a_request_id() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let r = app
        .http
        .get(format!("{}/health", app.url))
        .send()
        .await
        .unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "{id}");
    let r = app
        .http
        .get(format!("{}/api/2.0/mlflow/runs/get", app.url))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["x-request-id"], "trace-me-42");
}

/// Metric points in the store, read from the tables themselves: points a purge left behind would not
/// show through the `metrics` view (on PostgreSQL they follow their series by a trigger, not a
/// foreign key).
async fn stored_points(backend_store_uri: &str) -> i64 {
    sqlx::any::install_default_drivers();
    let url = backend_store_uri.strip_prefix("sqlite:///").map_or_else(
        || backend_store_uri.to_string(),
        |p| format!("sqlite://{p}"),
    );
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    // SQLite keeps a run's latest points in a second table until they are moved in bulk.
    let count = if url.starts_with("sqlite:") {
        "SELECT (SELECT COUNT(*) FROM metric_points) + (SELECT COUNT(*) FROM metric_points_recent)"
    } else {
        "SELECT COUNT(*) FROM metric_points"
    };
    sqlx::query_scalar::<_, i64>(count)
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

backend_tests!(
    gc_purges_deleted_runs_and_their_artifacts,
    |app: TestApp| async move {
        let exp = app.create_experiment("gc").await;
        let keep = app.create_run(&exp).await;
        let purge = app.create_run(&exp).await;
        let young = app.create_run(&exp).await;
        for run in [&keep, &purge, &young] {
            app.ok(
                "runs/log-batch",
                json!({"run_id": run, "params": [{"key": "p", "value": "1"}],
                   "metrics": [{"key": "m", "value": 1, "timestamp": 1, "step": 0}]}),
            )
            .await;
            let r = app
                .http
                .put(format!(
                    "{}{PROXY}/{exp}/{run}/artifacts/model/weights.bin",
                    app.url
                ))
                .body(vec![0u8; 1000])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
        app.ok("runs/delete", json!({"run_id": purge})).await;
        let store = SqlStore::connect(&app.config.backend_store_uri)
            .await
            .unwrap();
        let artifacts = ArtifactStore::open(&app.config.artifacts_destination).unwrap();

        // An active run cannot be named.
        let only_keep = GcOptions {
            run_ids: vec![keep.clone()],
            ..GcOptions::default()
        };
        let err = collect(&store, Some(&artifacts), &only_keep)
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("not in the `deleted` lifecycle stage"),
            "{err}"
        );

        // Deleted a moment ago: too young for --older-than 1h, purged without it.
        app.ok("runs/delete", json!({"run_id": young})).await;
        let hour = GcOptions {
            older_than: Duration::from_hours(1),
            ..GcOptions::default()
        };
        assert!(collect(&store, Some(&artifacts), &hour)
            .await
            .unwrap()
            .runs
            .is_empty());
        let only_purge = GcOptions {
            run_ids: vec![purge.clone()],
            ..GcOptions::default()
        };
        let report = collect(&store, Some(&artifacts), &only_purge)
            .await
            .unwrap();
        assert_eq!(report.runs, vec![purge.clone()]);
        assert_eq!(stored_points(&app.config.backend_store_uri).await, 2);

        let (status, v) = app.get("runs/get", &[("run_id", &purge)]).await;
        assert_eq!(
            (status, v["error_code"].as_str()),
            (404, Some("RESOURCE_DOES_NOT_EXIST"))
        );
        let root = &app.config.artifacts_destination;
        assert!(!root.join(format!("{exp}/{purge}")).exists());
        assert!(root
            .join(format!("{exp}/{keep}/artifacts/model/weights.bin"))
            .exists());
        assert!(root
            .join(format!("{exp}/{young}/artifacts/model/weights.bin"))
            .exists());
        assert_eq!(app.run(&keep).await["data"]["params"][0]["value"], "1");
        let (_, v) = app.get("runs/get", &[("run_id", &young)]).await;
        assert_eq!(v["run"]["info"]["lifecycle_stage"], "deleted");

        // A deleted experiment goes with its runs.
        app.ok("experiments/delete", json!({"experiment_id": exp}))
            .await;
        let report = collect(&store, Some(&artifacts), &GcOptions::default())
            .await
            .unwrap();
        let mut purged = report.runs.clone();
        purged.sort();
        let mut expected = vec![keep.clone(), young.clone()];
        expected.sort();
        assert_eq!(purged, expected);
        assert_eq!(report.experiments, vec![exp.parse::<i64>().unwrap()]);
        assert_eq!(stored_points(&app.config.backend_store_uri).await, 0);
        let (status, _) = app.get("experiments/get", &[("experiment_id", &exp)]).await;
        assert_eq!(status, 404);
        assert!(!root.join(&exp).exists());
        // The name is free again.
        app.create_experiment("gc").await;
    }
);
