//! Malformed requests get MLflow's error JSON with a 4xx, and change nothing.

use crate::backend_tests;
use crate::helpers::{TestApp, API};
use reqwest::Method;
use serde_json::json;

backend_tests!(
    malformed_requests_get_mlflow_errors,
    |app: TestApp| async move {
        let exp = app.create_experiment("e").await;
        let run = app.create_run(&exp).await;
        app.ok(
            "runs/log-parameter",
            json!({"run_id": run, "key": "p", "value": "1"}),
        )
        .await;
        let before = app.run(&run).await;

        let cases: Vec<(&str, serde_json::Value, u16, &str)> = vec![
            (
                "runs/log-metric",
                json!({"run_id": run, "key": "m", "value": 1.0}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "runs/log-metric",
                json!({"run_id": run, "value": 1.0, "timestamp": 1}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "runs/log-metric",
                json!({"run_id": run, "key": "m", "value": "abc", "timestamp": 1}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "runs/log-metric",
                json!({"run_id": run, "key": "m", "value": true, "timestamp": 1}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "runs/log-metric",
                json!({"run_id": 31, "key": "m", "value": 1, "timestamp": 1}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "runs/log-metric",
                json!({"run_id": "0123456789abcdef0123456789abcdef", "key": "m", "value": 1, "timestamp": 1}),
                404,
                "RESOURCE_DOES_NOT_EXIST",
            ),
            (
                "runs/log-parameter",
                json!({"run_id": run, "key": "p", "value": "2"}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "runs/log-parameter",
                json!({"run_id": run, "key": "k".repeat(251), "value": "2"}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "runs/log-parameter",
                json!({"run_id": run, "key": "../x", "value": "2"}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "runs/set-tag",
                json!({"run_id": run, "key": "a//b", "value": "2"}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "runs/set-tag",
                json!({"run_id": run, "key": "/abs", "value": "2"}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "runs/log-batch",
                json!({"run_id": run, "params": [{"key": "d", "value": "1"}, {"key": "d", "value": "2"}]}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "runs/log-batch",
                json!({"run_id": run, "metrics": [{"key": "m", "value": 1}]}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "runs/log-batch",
                json!({"run_id": run, "params": [{"key": "ok", "value": "1"}, {"key": "p", "value": "changed"}]}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "runs/delete-tag",
                json!({"run_id": run, "key": "missing"}),
                404,
                "RESOURCE_DOES_NOT_EXIST",
            ),
            (
                "runs/search",
                json!({"experiment_ids": [exp], "filter": "metrics.rmse < 'a'"}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "runs/search",
                json!({"experiment_ids": [exp], "filter": "params.a = '1' OR params.b = '2'"}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "runs/search",
                json!({"experiment_ids": [exp], "order_by": ["metrics.rmse DESCENDING"]}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "runs/search",
                json!({"experiment_ids": [exp], "page_token": "!!!"}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "runs/search",
                json!({"experiment_ids": [exp], "max_results": 100_000}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "runs/search",
                json!({"experiment_ids": ["abc"]}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "experiments/create",
                json!({}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "experiments/create",
                json!({"name": "x", "run_id": "y", "name ": 1, "tags": "notalist"}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "runs/create",
                json!({"experiment_id": "424242"}),
                404,
                "RESOURCE_DOES_NOT_EXIST",
            ),
            // Both spellings of one field are refused, as the reference server does.
            (
                "runs/set-tag",
                json!({"run_id": run, "runId": run, "key": "t", "value": "v"}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
        ];
        for (endpoint, body, status, code) in cases {
            app.fails(endpoint, body, status, code).await;
        }
        let (status, v) = app
            .raw(
                Method::POST,
                &format!("{API}/runs/set-tag"),
                "text/plain",
                "{}x",
            )
            .await;
        assert_eq!(
            (status, v["error_code"].as_str()),
            (400, Some("BAD_REQUEST")),
            "{v}"
        );
        let (status, v) = app
            .raw(
                Method::POST,
                &format!("{API}/runs/set-tag"),
                "application/json",
                "not json",
            )
            .await;
        assert_eq!(
            (status, v["error_code"].as_str()),
            (400, Some("BAD_REQUEST")),
            "{v}"
        );
        let (status, v) = app
            .raw(
                Method::POST,
                &format!("{API}/runs/set-tag"),
                "application/json",
                "[1, 2]",
            )
            .await;
        assert_eq!(
            (status, v["error_code"].as_str()),
            (400, Some("BAD_REQUEST")),
            "{v}"
        );
        let (status, v) = app
            .raw(
                Method::POST,
                &format!("{API}/nope"),
                "application/json",
                "{}",
            )
            .await;
        assert_eq!(
            (status, v["error_code"].as_str()),
            (404, Some("ENDPOINT_NOT_FOUND")),
            "{v}"
        );

        assert_eq!(
            app.run(&run).await,
            before,
            "a rejected request changed the run"
        );
    }
);

backend_tests!(camel_case_fields_are_accepted, |app: TestApp| async move {
    let v = app
        .ok(
            "runs/create",
            json!({"experimentId": "0", "runName": "camel", "startTime": "5"}),
        )
        .await;
    assert_eq!(v["run"]["info"]["run_name"], "camel");
    assert_eq!(v["run"]["info"]["start_time"], 5);
});

backend_tests!(
    a_nul_character_is_stored_or_refused_but_never_a_server_error,
    |app: TestApp| async move {
        let run = app.create_run("0").await;
        let postgres = app.config.backend_store_uri.starts_with("postgres");
        let writes = [
            (
                "runs/set-tag",
                json!({"run_id": run, "key": "t", "value": "a\u{0}b"}),
            ),
            (
                "runs/log-batch",
                json!({"run_id": run, "params": [{"key": "p", "value": "x\u{0}"}]}),
            ),
            ("experiments/create", json!({"name": "e\u{0}"})),
        ];
        for (endpoint, body) in writes {
            let (status, v) = app.post(endpoint, body).await;
            if postgres {
                // PostgreSQL text cannot hold NUL: a client error, and nothing written.
                assert_eq!(status, 400, "{endpoint}: {v}");
                assert_eq!(v["error_code"], "INVALID_PARAMETER_VALUE");
            } else {
                assert_eq!(status, 200, "{endpoint}: {v}");
            }
        }
        let data = &app.run(&run).await["data"];
        let tag = data["tags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["key"] == "t")
            .map(|t| t["value"].clone());
        if postgres {
            assert_eq!(tag, None);
            assert!(data.get("params").is_none());
        } else {
            assert_eq!(tag, Some(json!("a\u{0}b")));
            assert_eq!(data["params"][0]["value"], "x\u{0}");
        }
    }
);
