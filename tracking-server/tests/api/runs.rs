use crate::backend_tests;
use crate::helpers::{pairs, TestApp};
use serde_json::json;

backend_tests!(run_lifecycle_and_data, |app: TestApp| async move {
    let v = app
        .ok(
            "runs/create",
            json!({"experiment_id": "0", "user_id": "ana", "start_time": 123,
             "tags": [{"key": "mlflow.user", "value": "ana"}]}),
        )
        .await;
    let info = &v["run"]["info"];
    let run = info["run_id"].as_str().unwrap().to_string();
    assert_eq!(run.len(), 32);
    assert_eq!(info["run_uuid"], run.as_str());
    assert_eq!(info["status"], "RUNNING");
    assert_eq!(info["lifecycle_stage"], "active");
    assert_eq!(
        info["artifact_uri"],
        format!("mlflow-artifacts:/0/{run}/artifacts")
    );
    assert!(info.get("end_time").is_none());
    let name = info["run_name"].as_str().unwrap();
    assert!(!name.is_empty() && name.len() <= 20, "{name}");
    assert_eq!(v["run"]["inputs"], json!({}));
    assert_eq!(v["run"]["outputs"], json!({}));

    app.ok(
        "runs/log-parameter",
        json!({"run_id": run, "key": "alpha", "value": "0.5"}),
    )
    .await;
    app.ok(
        "runs/log-parameter",
        json!({"run_id": run, "key": "alpha", "value": "0.5"}),
    )
    .await;
    app.ok(
        "runs/set-tag",
        json!({"run_id": run, "key": "mlflow.runName", "value": "renamed"}),
    )
    .await;
    app.ok(
        "runs/log-batch",
        json!({"run_id": run,
        "metrics": [{"key": "m", "value": 1.0, "timestamp": 10, "step": 5},
                    {"key": "m", "value": 2.0, "timestamp": 20, "step": 1},
                    {"key": "n", "value": "NaN", "timestamp": 1, "step": 0},
                    {"key": "i", "value": "Infinity", "timestamp": 1, "step": 0}],
        "params": [{"key": "beta", "value": ""}],
        "tags": [{"key": "t", "value": "v"}]}),
    )
    .await;
    app.ok(
        "runs/update",
        json!({"run_id": run, "run_uuid": run, "status": "FINISHED", "end_time": 999}),
    )
    .await;

    let r = app.run(&run).await;
    assert_eq!(r["info"]["status"], "FINISHED");
    assert_eq!(r["info"]["end_time"], 999);
    assert_eq!(r["info"]["run_name"], "renamed");
    assert_eq!(
        pairs(&r["data"]["params"]),
        vec![
            ("alpha".into(), "0.5".into()),
            ("beta".into(), String::new())
        ]
    );
    let metrics = r["data"]["metrics"].as_array().unwrap();
    let m = metrics.iter().find(|m| m["key"] == "m").unwrap();
    // Latest = highest step, not the last logged.
    assert_eq!(
        (m["value"].as_f64(), m["step"].as_i64()),
        (Some(1.0), Some(5))
    );
    assert_eq!(
        metrics.iter().find(|m| m["key"] == "n").unwrap()["value"],
        "NaN"
    );
    assert_eq!(
        metrics.iter().find(|m| m["key"] == "i").unwrap()["value"],
        "Infinity"
    );
    let tags = pairs(&r["data"]["tags"]);
    assert!(tags.contains(&("t".into(), "v".into())));
    assert!(tags.contains(&("mlflow.runName".into(), "renamed".into())));

    app.ok("runs/delete-tag", json!({"run_id": run, "key": "t"}))
        .await;
    app.ok("runs/delete", json!({"run_id": run})).await;
    assert_eq!(app.run(&run).await["info"]["lifecycle_stage"], "deleted");
    let msg = app
        .fails(
            "runs/log-metric",
            json!({"run_id": run, "key": "m", "value": 1, "timestamp": 1}),
            400,
            "INVALID_PARAMETER_VALUE",
        )
        .await;
    assert!(msg.contains("must be in the 'active' state"), "{msg}");
    app.ok("runs/restore", json!({"run_id": run})).await;
    app.ok(
        "runs/log-metric",
        json!({"run_id": run, "key": "m", "value": 1, "timestamp": 1}),
    )
    .await;
});

backend_tests!(run_name_and_tag_must_agree, |app: TestApp| async move {
    app.fails(
        "runs/create",
        json!({"run_name": "a", "tags": [{"key": "mlflow.runName", "value": "b"}]}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
    let v = app
        .ok(
            "runs/create",
            json!({"tags": [{"key": "mlflow.runName", "value": "b"}]}),
        )
        .await;
    assert_eq!(v["run"]["info"]["run_name"], "b");
});

backend_tests!(
    metric_history_is_ordered_and_paged,
    |app: TestApp| async move {
        let run = app.create_run("0").await;
        let metrics: Vec<_> = (0..1000).rev().map(|i| json!({"key": "loss", "value": f64::from(i) / 10.0, "timestamp": 1000 + i, "step": i})).collect();
        app.ok("runs/log-batch", json!({"run_id": run, "metrics": metrics}))
            .await;
        // An exact duplicate is dropped.
        app.ok(
            "runs/log-metric",
            json!({"run_id": run, "key": "loss", "value": 0.0, "timestamp": 1000, "step": 0}),
        )
        .await;
        let (status, v) = app
            .get(
                "metrics/get-history",
                &[("run_id", &run), ("metric_key", "loss")],
            )
            .await;
        assert_eq!(status, 200);
        let steps: Vec<i64> = v["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["step"].as_i64().unwrap())
            .collect();
        assert_eq!(steps, (0..1000).collect::<Vec<_>>());

        let (_, page) = app
            .get(
                "metrics/get-history",
                &[
                    ("run_id", &run),
                    ("metric_key", "loss"),
                    ("max_results", "600"),
                ],
            )
            .await;
        assert_eq!(page["metrics"].as_array().unwrap().len(), 600);
        let token = page["next_page_token"].as_str().unwrap();
        let (_, rest) = app
            .get(
                "metrics/get-history",
                &[
                    ("run_id", &run),
                    ("metric_key", "loss"),
                    ("max_results", "600"),
                    ("page_token", token),
                ],
            )
            .await;
        assert_eq!(rest["metrics"].as_array().unwrap().len(), 400);
        assert!(rest.get("next_page_token").is_none());

        let (_, unknown) = app
            .get(
                "metrics/get-history",
                &[("run_id", &run), ("metric_key", "nope")],
            )
            .await;
        assert_eq!(unknown, json!({}));

        let (status, sampled) = app
            .get(
                "metrics/get-history-bulk-interval",
                &[
                    ("run_ids", &run),
                    ("metric_key", "loss"),
                    ("max_results", "50"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{sampled}");
        let pts = sampled["metrics"].as_array().unwrap();
        assert_eq!(pts.len(), 50);
        assert_eq!(
            (pts[0]["step"].as_i64(), pts[49]["step"].as_i64()),
            (Some(0), Some(999))
        );
        assert_eq!(pts[0]["run_id"], run.as_str());
    }
);

backend_tests!(batch_limits_are_enforced_whole, |app: TestApp| async move {
    let run = app.create_run("0").await;
    let metrics: Vec<_> = (0..1001)
        .map(|i| json!({"key": "m", "value": 1, "timestamp": i}))
        .collect();
    let msg = app
        .fails(
            "runs/log-batch",
            json!({"run_id": run, "metrics": metrics}),
            400,
            "INVALID_PARAMETER_VALUE",
        )
        .await;
    assert!(msg.contains("at most 1000 metrics"), "{msg}");
    let params: Vec<_> = (0..101)
        .map(|i| json!({"key": format!("p{i}"), "value": "1"}))
        .collect();
    app.fails(
        "runs/log-batch",
        json!({"run_id": run, "params": params}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
    assert!(app.run(&run).await["data"].get("metrics").is_none());
    // Long values are truncated, not rejected.
    app.ok(
        "runs/log-parameter",
        json!({"run_id": run, "key": "long", "value": "x".repeat(7000)}),
    )
    .await;
    let r = app.run(&run).await;
    assert_eq!(
        r["data"]["params"][0]["value"].as_str().unwrap().len(),
        6000
    );
});

backend_tests!(dataset_inputs_round_trip, |app: TestApp| async move {
    let run = app.create_run("0").await;
    let dataset = json!({"name": "ds", "digest": "2981c147", "source_type": "local", "source": "{\"uri\": \"x.csv\"}", "schema": "{}"});
    let body = json!({"run_id": run, "datasets": [{"tags": [{"key": "mlflow.data.context", "value": "training"}], "dataset": dataset}]});
    app.ok("runs/log-inputs", body.clone()).await;
    app.ok("runs/log-inputs", body).await;
    let r = app.run(&run).await;
    let inputs = r["inputs"]["dataset_inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 1);
    assert_eq!(inputs[0]["dataset"]["digest"], "2981c147");
    assert_eq!(inputs[0]["tags"][0]["value"], "training");
    let v = app
        .ok(
            "runs/search",
            json!({"experiment_ids": ["0"], "filter": "datasets.context = 'training'"}),
        )
        .await;
    assert_eq!(v["runs"].as_array().unwrap().len(), 1);
});

backend_tests!(
    metric_values_round_trip_bit_exact,
    |app: TestApp| async move {
        let run = app.create_run("0").await;
        let values: [f64; 7] = [
            -100.0 / 3.0,
            0.1,
            5e-324,
            1e300,
            0.844_421_851_525_048_1,
            9_007_199_254_740_993.0,
            -2.5e-300,
        ];
        let metrics: Vec<_> = values
            .iter()
            .enumerate()
            .map(|(i, v)| json!({"key": "x", "value": v, "timestamp": 1, "step": i}))
            .collect();
        app.ok("runs/log-batch", json!({"run_id": run, "metrics": metrics}))
            .await;
        let (_, v) = app
            .get(
                "metrics/get-history",
                &[("run_id", &run), ("metric_key", "x")],
            )
            .await;
        let back: Vec<f64> = v["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_f64().unwrap())
            .collect();
        assert_eq!(
            back.iter().map(|f| f.to_bits()).collect::<Vec<_>>(),
            values.iter().map(|f| f.to_bits()).collect::<Vec<_>>()
        );
        let latest = app.run(&run).await["data"]["metrics"][0]["value"]
            .as_f64()
            .unwrap();
        assert_eq!(latest.to_bits(), values[values.len() - 1].to_bits());
    }
);
