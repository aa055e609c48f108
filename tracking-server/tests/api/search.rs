use crate::backend_tests;
use crate::helpers::TestApp;
use serde_json::{json, Value};

fn names(v: &Value) -> Vec<String> {
    v["runs"].as_array().map_or_else(Vec::new, |runs| {
        runs.iter()
            .map(|r| r["info"]["run_name"].as_str().unwrap().to_string())
            .collect()
    })
}

backend_tests!(filters_and_order_by, |app: TestApp| async move {
    let exp = app.create_experiment("search").await;
    // (name, model param, rmse, start_time)
    let rows = [
        ("a", "rf", Some(0.5), 10),
        ("b", "rf", Some(0.9), 20),
        ("c", "rf", Some(1.5), 30),
        ("d", "lr", Some(0.1), 40),
        ("e", "rf", None, 50),
    ];
    for (name, model, rmse, start) in rows {
        let v = app
            .ok(
                "runs/create",
                json!({"experiment_id": exp, "run_name": name, "start_time": start}),
            )
            .await;
        let run = v["run"]["info"]["run_id"].as_str().unwrap().to_string();
        let metrics: Vec<Value> = rmse
            .into_iter()
            .map(|x| json!({"key": "rmse", "value": x, "timestamp": 1}))
            .collect();
        app.ok(
            "runs/log-batch",
            json!({"run_id": run, "params": [{"key": "model", "value": model}], "metrics": metrics,
            "tags": [{"key": "group", "value": if name < "c" { "first" } else { "Second" }}]}),
        )
        .await;
    }
    let search = |filter: &str, order: Vec<&str>| json!({"experiment_ids": [exp], "filter": filter, "order_by": order});
    let v = app
        .ok(
            "runs/search",
            search(
                "metrics.rmse < 1 and params.model = 'rf'",
                vec!["metrics.rmse DESC"],
            ),
        )
        .await;
    assert_eq!(names(&v), ["b", "a"]);
    // Default order is start_time DESC.
    assert_eq!(
        names(&app.ok("runs/search", search("", vec![])).await),
        ["e", "d", "c", "b", "a"]
    );
    // Missing metric values sort last in both directions.
    assert_eq!(
        names(
            &app.ok("runs/search", search("", vec!["metrics.rmse ASC"]))
                .await
        ),
        ["d", "a", "b", "c", "e"]
    );
    assert_eq!(
        names(
            &app.ok("runs/search", search("", vec!["metrics.rmse DESC"]))
                .await
        ),
        ["c", "b", "a", "d", "e"]
    );
    assert_eq!(
        names(
            &app.ok(
                "runs/search",
                search("tags.group LIKE 'S%'", vec!["attributes.run_name"])
            )
            .await
        ),
        ["c", "d", "e"]
    );
    assert_eq!(
        names(
            &app.ok("runs/search", search("tags.group LIKE 's%'", vec![]))
                .await
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        names(
            &app.ok(
                "runs/search",
                search("tags.group ILIKE 's%'", vec!["run_name DESC"])
            )
            .await
        ),
        ["e", "d", "c"]
    );
    assert_eq!(
        names(
            &app.ok(
                "runs/search",
                search(
                    "attributes.start_time >= 30 AND params.model != 'lr'",
                    vec![]
                )
            )
            .await
        ),
        ["e", "c"]
    );
    assert_eq!(
        names(
            &app.ok("runs/search", search("params.model IS NULL", vec![]))
                .await
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        names(
            &app.ok(
                "runs/search",
                search("tags.group = 'first' AND params.model IS NOT NULL", vec![])
            )
            .await
        ),
        ["b", "a"]
    );
    app.fails(
        "runs/search",
        search("metrics.rmse IS NULL", vec![]),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
});

backend_tests!(paging_through_many_runs, |app: TestApp| async move {
    let exp = app.create_experiment("paging").await;
    for _ in 0..25 {
        app.create_run(&exp).await;
    }
    let mut seen = std::collections::HashSet::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let v = app
            .ok(
                "runs/search",
                json!({"experiment_ids": [exp], "max_results": 10, "page_token": token}),
            )
            .await;
        for r in v["runs"].as_array().unwrap() {
            assert!(seen.insert(r["info"]["run_id"].as_str().unwrap().to_string()));
        }
        pages += 1;
        match v["next_page_token"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!((seen.len(), pages), (25, 3));
});

backend_tests!(
    deleted_runs_follow_the_view_type,
    |app: TestApp| async move {
        let exp = app.create_experiment("views").await;
        let keep = app.create_run(&exp).await;
        let gone = app.create_run(&exp).await;
        app.ok("runs/delete", json!({"run_id": gone})).await;
        let ids = |v: Value| -> Vec<String> {
            v["runs"].as_array().map_or_else(Vec::new, |a| {
                a.iter()
                    .map(|r| r["info"]["run_id"].as_str().unwrap().to_string())
                    .collect()
            })
        };
        assert_eq!(
            ids(app
                .ok("runs/search", json!({"experiment_ids": [exp]}))
                .await),
            vec![keep.clone()]
        );
        assert_eq!(
            ids(app
                .ok(
                    "runs/search",
                    json!({"experiment_ids": [exp], "run_view_type": "DELETED_ONLY"})
                )
                .await),
            vec![gone.clone()]
        );
        assert_eq!(
            ids(app
                .ok(
                    "runs/search",
                    json!({"experiment_ids": [exp], "run_view_type": "ALL"})
                )
                .await)
            .len(),
            2
        );
        let v = app.ok("runs/search", json!({"experiment_ids": [exp], "filter": format!("attributes.run_id IN ('{keep}', 'zzz')")})).await;
        assert_eq!(ids(v), vec![keep]);
    }
);
