use crate::backend_tests;
use crate::helpers::TestApp;
use serde_json::json;

async fn del(app: &TestApp, endpoint: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    let r = app
        .http
        .delete(format!("{}/api/2.0/mlflow/{endpoint}", app.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    TestApp::answer(r).await
}

backend_tests!(
    stages_aliases_and_their_history,
    |app: TestApp| async move {
        let run = app.create_run("0").await;
        let source = format!("mlflow-artifacts:/0/{run}/artifacts/model");
        app.ok(
            "registered-models/create",
            json!({"name": "m", "tags": [{"key": "team", "value": "x"}]}),
        )
        .await;
        app.fails(
            "registered-models/create",
            json!({"name": "m"}),
            400,
            "RESOURCE_ALREADY_EXISTS",
        )
        .await;
        for expected in ["1", "2", "3"] {
            let v = app
                .ok(
                    "model-versions/create",
                    json!({"name": "m", "source": source, "run_id": run}),
                )
                .await;
            assert_eq!(v["model_version"]["version"], expected);
            assert_eq!(v["model_version"]["status"], "READY");
            assert_eq!(v["model_version"]["current_stage"], "None");
        }
        app.ok("model-versions/transition-stage", json!({"name": "m", "version": "1", "stage": "production", "archive_existing_versions": false})).await;
        let v = app.ok("model-versions/transition-stage", json!({"name": "m", "version": 2, "stage": "Production", "archive_existing_versions": true})).await;
        assert_eq!(v["model_version"]["current_stage"], "Production");
        app.ok(
            "registered-models/alias",
            json!({"name": "m", "alias": "champion", "version": "1"}),
        )
        .await;
        app.ok(
            "registered-models/alias",
            json!({"name": "m", "alias": "champion", "version": "2"}),
        )
        .await;

        let (_, m) = app.get("registered-models/get", &[("name", "m")]).await;
        let m = &m["registered_model"];
        assert_eq!(m["aliases"], json!([{"alias": "champion", "version": "2"}]));
        let latest: Vec<(String, String)> = m["latest_versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["current_stage"].as_str().unwrap().to_string(),
                    v["version"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            latest,
            vec![
                ("Archived".into(), "1".into()),
                ("Production".into(), "2".into()),
                ("None".into(), "3".into())
            ]
        );

        let (_, h) = app
            .get("model-versions/history", &[("name", "m"), ("version", "1")])
            .await;
        let kinds: Vec<(String, Option<String>, Option<String>)> = h["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["kind"].as_str().unwrap().into(),
                    e["from_value"].as_str().map(Into::into),
                    e["to_value"].as_str().map(Into::into),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("created".into(), None, Some("None".into())),
                (
                    "stage".into(),
                    Some("None".into()),
                    Some("Production".into())
                ),
                (
                    "stage".into(),
                    Some("Production".into()),
                    Some("Archived".into())
                ),
                ("alias_set".into(), None, Some("champion".into())),
                ("alias_deleted".into(), Some("champion".into()), None),
            ]
        );
        assert!(h["events"][0]["actor"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1"));

        // Renaming keeps versions, aliases and history together.
        app.ok(
            "registered-models/rename",
            json!({"name": "m", "new_name": "m2"}),
        )
        .await;
        let (status, v) = app
            .get(
                "registered-models/alias",
                &[("name", "m2"), ("alias", "champion")],
            )
            .await;
        assert_eq!(
            (status, v["model_version"]["version"].as_str()),
            (200, Some("2"))
        );
        let (_, h) = app
            .get(
                "model-versions/history",
                &[("name", "m2"), ("version", "1")],
            )
            .await;
        assert_eq!(h["events"].as_array().unwrap().len(), 5);
        let (_, uri) = app
            .get(
                "model-versions/get-download-uri",
                &[("name", "m2"), ("version", "3")],
            )
            .await;
        assert_eq!(uri["artifact_uri"], source.as_str());

        let (status, _) = del(
            &app,
            "model-versions/delete",
            json!({"name": "m2", "version": "3"}),
        )
        .await;
        assert_eq!(status, 200);
        let v = app
            .ok(
                "model-versions/create",
                json!({"name": "m2", "source": source}),
            )
            .await;
        assert_eq!(
            v["model_version"]["version"], "4",
            "version numbers are never reused"
        );
        let (status, _) = del(&app, "registered-models/delete", json!({"name": "m2"})).await;
        assert_eq!(status, 200);
        let (status, _) = app.get("registered-models/get", &[("name", "m2")]).await;
        assert_eq!(status, 404);
    }
);

backend_tests!(registry_searches, |app: TestApp| async move {
    for (name, prompt) in [("alpha", false), ("beta", false), ("prompt-1", true)] {
        let tags = if prompt {
            json!([{"key": "mlflow.prompt.is_prompt", "value": "true"}])
        } else {
            json!([])
        };
        app.ok(
            "registered-models/create",
            json!({"name": name, "tags": tags}),
        )
        .await;
        app.ok(
            "model-versions/create",
            json!({"name": name, "source": "mlflow-artifacts:/0/x/artifacts/model"}),
        )
        .await;
    }
    // The 3.x client appends the prompt filter to every search: models without the tag must match.
    let (status, v) = app
        .get(
            "registered-models/search",
            &[
                (
                    "filter",
                    "name LIKE '%a%' AND tag.`mlflow.prompt.is_prompt` != 'true'",
                ),
                ("order_by", "name DESC"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let names: Vec<&str> = v["registered_models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["beta", "alpha"]);
    let (_, v) = app
        .get(
            "model-versions/search",
            &[("filter", "name = 'alpha' AND version_number = 1")],
        )
        .await;
    assert_eq!(v["model_versions"].as_array().unwrap().len(), 1);
    let (_, v) = app
        .get(
            "model-versions/search",
            &[("filter", "version_number >= 1"), ("order_by", "name DESC")],
        )
        .await;
    let names: Vec<&str> = v["model_versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["prompt-1", "beta", "alpha"]);
    let (status, v) = app
        .get(
            "registered-models/search",
            &[("max_results", "1"), ("order_by", "name ASC")],
        )
        .await;
    assert_eq!(
        (status, v["registered_models"][0]["name"].as_str()),
        (200, Some("alpha"))
    );
    assert!(v["next_page_token"].is_string());
    let (status, _) = app
        .get("registered-models/search", &[("filter", "name > 'a'")])
        .await;
    assert_eq!(status, 400);
});

backend_tests!(
    bad_registry_input_changes_nothing,
    |app: TestApp| async move {
        app.ok("registered-models/create", json!({"name": "m"}))
            .await;
        app.ok(
            "model-versions/create",
            json!({"name": "m", "source": "mlflow-artifacts:/0/r/artifacts/model"}),
        )
        .await;
        let (_, before) = app.get("registered-models/get", &[("name", "m")]).await;
        let cases = [
            (
                "model-versions/transition-stage",
                json!({"name": "m", "version": "1", "stage": "Prod"}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "model-versions/transition-stage",
                json!({"name": "m", "version": "1", "stage": "Archived", "archive_existing_versions": true}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "model-versions/transition-stage",
                json!({"name": "m", "version": "x", "stage": "Staging"}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "model-versions/transition-stage",
                json!({"name": "m", "version": "9", "stage": "Staging"}),
                404,
                "RESOURCE_DOES_NOT_EXIST",
            ),
            (
                "registered-models/alias",
                json!({"name": "m", "alias": "latest", "version": "1"}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "registered-models/alias",
                json!({"name": "m", "alias": "v1", "version": "1"}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "registered-models/alias",
                json!({"name": "m", "alias": "ok", "version": "7"}),
                404,
                "RESOURCE_DOES_NOT_EXIST",
            ),
            (
                "registered-models/create",
                json!({"name": "a/b"}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "registered-models/create",
                json!({"name": "a:b"}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "registered-models/rename",
                json!({"name": "nope", "new_name": "x"}),
                404,
                "RESOURCE_DOES_NOT_EXIST",
            ),
            (
                "model-versions/create",
                json!({"name": "nope", "source": "mlflow-artifacts:/x"}),
                404,
                "RESOURCE_DOES_NOT_EXIST",
            ),
            (
                "model-versions/create",
                json!({"name": "m", "source": "mlflow-artifacts:/0/../../etc"}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "model-versions/create",
                json!({"name": "m", "source": "https://h/a/%2e%2e/b"}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "model-versions/create",
                json!({"name": "m", "source": "/etc/passwd"}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                "model-versions/create",
                json!({"name": "m"}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
        ];
        for (endpoint, body, status, code) in cases {
            app.fails(endpoint, body, status, code).await;
        }
        let (status, v) = app
            .get(
                "registered-models/alias",
                &[("name", "m"), ("alias", "nope")],
            )
            .await;
        assert_eq!(
            (status, v["error_code"].as_str()),
            (400, Some("INVALID_PARAMETER_VALUE"))
        );
        let (_, after) = app.get("registered-models/get", &[("name", "m")]).await;
        assert_eq!(after, before);
    }
);
