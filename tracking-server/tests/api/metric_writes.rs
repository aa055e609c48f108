//! Metric batches written concurrently (on SQLite each as one call to the single writer, see
//! `store/sql/metric_writer.rs`) keep each request's own outcome, and histories read back exactly
//! what was logged, whatever the timestamps (SQLite stores them as offsets from a series' first).

use crate::backend_tests;
use crate::helpers::TestApp;
use serde_json::{json, Value};

fn batch(run: &str, step: i64, keys: usize) -> Value {
    let metrics: Vec<Value> = (0..keys)
        .map(|k| json!({"key": format!("m{k}"), "value": step as f64 + k as f64 / 10.0, "timestamp": 1_700_000_000_000_i64 + step * 1000, "step": step}))
        .collect();
    json!({"run_id": run, "metrics": metrics})
}

async fn history(app: &TestApp, run: &str, key: &str) -> Vec<(i64, i64, Value)> {
    let (status, v) = app
        .get(
            "metrics/get-history",
            &[
                ("run_id", run),
                ("metric_key", key),
                ("max_results", "25000"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let mut points: Vec<(i64, i64, Value)> = v["metrics"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .map(|m| {
                    (
                        m["step"].as_i64().unwrap(),
                        m["timestamp"].as_i64().unwrap(),
                        m["value"].clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    points.sort_by_key(|p| (p.0, p.1));
    points
}

backend_tests!(
    concurrent_batches_keep_their_own_outcomes,
    |app: TestApp| async move {
        let exp = app.create_experiment("concurrent").await;
        let (a, b, gone) = (
            app.create_run(&exp).await,
            app.create_run(&exp).await,
            app.create_run(&exp).await,
        );
        app.ok("runs/delete", json!({"run_id": gone})).await;
        let missing = "0123456789abcdef0123456789abcdef".to_string();
        let mut requests = Vec::new();
        for step in 0..12 {
            for run in [&a, &b, &gone, &missing] {
                requests.push(app.post("runs/log-batch", batch(run, step, 40)));
            }
            // A client retrying a batch it already sent: the repeat is kept once.
            requests.push(app.post("runs/log-batch", batch(&a, step, 40)));
        }
        let answers = futures_util::future::join_all(requests).await;
        for (i, (status, body)) in answers.iter().enumerate() {
            let expected = match i % 5 {
                2 => (400, "INVALID_PARAMETER_VALUE"),
                3 => (404, "RESOURCE_DOES_NOT_EXIST"),
                _ => (200, ""),
            };
            let got = (*status, body["error_code"].as_str().unwrap_or(""));
            assert_eq!(got, expected, "request {i}: {body}");
        }
        for run in [&a, &b] {
            for key in ["m0", "m39"] {
                let points = history(&app, run, key).await;
                let steps: Vec<i64> = points.iter().map(|p| p.0).collect();
                assert_eq!(steps, (0..12).collect::<Vec<_>>(), "{run} {key}");
            }
            let latest = app.run(run).await["data"]["metrics"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["key"] == "m39")
                .cloned()
                .unwrap();
            assert_eq!(
                (latest["step"].as_i64(), latest["value"].as_f64()),
                (Some(11), Some(14.9))
            );
        }
        let (status, v) = app
            .get(
                "metrics/get-history",
                &[("run_id", &gone), ("metric_key", "m0")],
            )
            .await;
        assert_eq!(status, 200, "{v}");
        assert!(v["metrics"].as_array().is_none_or(Vec::is_empty), "{v}");
    }
);

backend_tests!(
    history_keeps_any_timestamp_across_a_restart,
    |app: TestApp| async move {
        let exp = app.create_experiment("timestamps").await;
        let run = app.create_run(&exp).await;
        let t0 = 1_700_000_000_000_i64;
        // The first point's timestamp is not the smallest; values include NaN and infinities.
        let first = [
            (t0, 0, json!(1.5)),
            (t0 - 86_400_000, 1, json!("NaN")),
            (t0 + 1, 2, json!(0.0)),
        ];
        let later = [
            (i64::from(i32::MAX) * 1000, 3, json!("Infinity")),
            (0, 4, json!(-2.25)),
            (t0, 0, json!(1.5)),
        ];
        let log = |points: &[(i64, i64, Value)]| {
            let metrics: Vec<Value> = points
                .iter()
                .map(|(t, s, v)| json!({"key": "loss", "value": v, "timestamp": t, "step": s}))
                .collect();
            json!({"run_id": run, "metrics": metrics})
        };
        app.ok("runs/log-batch", log(&first)).await;
        let app = app.restart().await;
        app.ok("runs/log-batch", log(&later)).await;
        app.ok("runs/log-batch", log(&first[..1])).await;
        let got = history(&app, &run, "loss").await;
        let mut want: Vec<(i64, i64, Value)> = first
            .iter()
            .chain(&later[..2])
            .map(|(t, s, v)| (*s, *t, v.clone()))
            .collect();
        want.sort_by_key(|p| (p.0, p.1));
        assert_eq!(got, want);
    }
);
