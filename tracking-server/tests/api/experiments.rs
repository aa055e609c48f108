use crate::backend_tests;
use crate::helpers::pairs;
use serde_json::json;

backend_tests!(
    default_experiment_exists,
    |app: crate::helpers::TestApp| async move {
        let (status, v) = app.get("experiments/get", &[("experiment_id", "0")]).await;
        assert_eq!(status, 200);
        assert_eq!(v["experiment"]["name"], "Default");
        assert_eq!(v["experiment"]["artifact_location"], "mlflow-artifacts:/0");
        assert_eq!(v["experiment"]["lifecycle_stage"], "active");
    }
);

backend_tests!(
    create_get_rename_and_tag,
    |app: crate::helpers::TestApp| async move {
        let id = app
            .ok(
                "experiments/create",
                json!({"name": "exp", "tags": [{"key": "team", "value": "ml"}]}),
            )
            .await["experiment_id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_ne!(id, "0");
        let (_, v) = app
            .get("experiments/get-by-name", &[("experiment_name", "exp")])
            .await;
        assert_eq!(v["experiment"]["experiment_id"], id.as_str());
        assert_eq!(
            v["experiment"]["artifact_location"],
            format!("mlflow-artifacts:/{id}")
        );
        assert_eq!(
            pairs(&v["experiment"]["tags"]),
            vec![("team".into(), "ml".into())]
        );

        app.fails(
            "experiments/create",
            json!({"name": "exp"}),
            400,
            "RESOURCE_ALREADY_EXISTS",
        )
        .await;
        app.ok(
            "experiments/update",
            json!({"experiment_id": id, "new_name": "exp2"}),
        )
        .await;
        app.ok(
            "experiments/set-experiment-tag",
            json!({"experiment_id": id, "key": "team", "value": "ops"}),
        )
        .await;
        let (_, v) = app.get("experiments/get", &[("experiment_id", &id)]).await;
        assert_eq!(v["experiment"]["name"], "exp2");
        assert_eq!(
            pairs(&v["experiment"]["tags"]),
            vec![("team".into(), "ops".into())]
        );
        app.ok(
            "experiments/delete-experiment-tag",
            json!({"experiment_id": id, "key": "team"}),
        )
        .await;
        app.fails(
            "experiments/delete-experiment-tag",
            json!({"experiment_id": id, "key": "team"}),
            404,
            "RESOURCE_DOES_NOT_EXIST",
        )
        .await;

        let (status, v) = app
            .get("experiments/get-by-name", &[("experiment_name", "nope")])
            .await;
        assert_eq!(
            (status, v["error_code"].as_str()),
            (404, Some("RESOURCE_DOES_NOT_EXIST"))
        );
        let (status, _) = app
            .get("experiments/get", &[("experiment_id", "999")])
            .await;
        assert_eq!(status, 404);
    }
);

backend_tests!(
    delete_cascades_to_runs_and_restore_brings_them_back,
    |app: crate::helpers::TestApp| async move {
        let id = app.create_experiment("doomed").await;
        let run = app.create_run(&id).await;
        app.ok("experiments/delete", json!({"experiment_id": id}))
            .await;
        assert_eq!(app.run(&run).await["info"]["lifecycle_stage"], "deleted");
        let (_, v) = app
            .get("experiments/get-by-name", &[("experiment_name", "doomed")])
            .await;
        assert_eq!(v["experiment"]["lifecycle_stage"], "deleted");
        // The name stays taken; runs cannot be created in a deleted experiment; deleting twice is a 404.
        app.fails(
            "experiments/create",
            json!({"name": "doomed"}),
            400,
            "RESOURCE_ALREADY_EXISTS",
        )
        .await;
        app.fails(
            "runs/create",
            json!({"experiment_id": id}),
            400,
            "INVALID_PARAMETER_VALUE",
        )
        .await;
        app.fails(
            "experiments/delete",
            json!({"experiment_id": id}),
            404,
            "RESOURCE_DOES_NOT_EXIST",
        )
        .await;
        app.fails(
            "experiments/update",
            json!({"experiment_id": id, "new_name": "x"}),
            400,
            "INVALID_PARAMETER_VALUE",
        )
        .await;

        app.ok("experiments/restore", json!({"experiment_id": id}))
            .await;
        assert_eq!(app.run(&run).await["info"]["lifecycle_stage"], "active");
    }
);

backend_tests!(
    search_filters_orders_and_pages,
    |app: crate::helpers::TestApp| async move {
        for i in 0..5 {
            app.ok("experiments/create", json!({"name": format!("s-{i}"), "tags": [{"key": "k", "value": format!("{}", i % 2)}]})).await;
        }
        let v = app.ok("experiments/search", json!({"max_results": 10, "filter": "name LIKE 's-%' AND tags.k = '1'", "order_by": ["name DESC"]})).await;
        let names: Vec<&str> = v["experiments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["s-3", "s-1"]);

        let first = app
            .ok(
                "experiments/search",
                json!({"max_results": 4, "order_by": ["name ASC"]}),
            )
            .await;
        assert_eq!(first["experiments"].as_array().unwrap().len(), 4);
        let token = first["next_page_token"].as_str().unwrap();
        let second = app
            .ok(
                "experiments/search",
                json!({"max_results": 4, "order_by": ["name ASC"], "page_token": token}),
            )
            .await;
        assert_eq!(
            second["experiments"].as_array().unwrap().len(),
            2,
            "{second}"
        );
        assert!(second.get("next_page_token").is_none());

        // GET works too, with Python-style enum names.
        let (status, v) = app
            .get(
                "experiments/search",
                &[("max_results", "100"), ("view_type", "ALL")],
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(v["experiments"].as_array().unwrap().len(), 6);
        app.fails(
            "experiments/search",
            json!({"max_results": 0}),
            400,
            "INVALID_PARAMETER_VALUE",
        )
        .await;
    }
);
