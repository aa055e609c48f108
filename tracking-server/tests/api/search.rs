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

backend_tests!(
    a_large_page_carries_every_run_whole_and_in_order,
    |app: TestApp| async move {
        // Over 200 runs, so the page's children are read as two halves on two connections; values
        // hold the store's own field markers, quotes, newlines and multi-byte text.
        let exp = app.create_experiment("large page").await;
        let keys = ["3:abc", "12 P.T", "a/b", "x-y_z", "k.", "0"];
        let values = [
            "3:abc",
            "12;P.T.M",
            "line\nbreak \"quoted\" \\",
            "日本語 é",
            "",
            "0",
        ];
        let specials = [
            json!("NaN"),
            json!("Infinity"),
            json!("-Infinity"),
            json!(5e-324),
        ];
        for i in 0..230_usize {
            let start = 1000 + (i % 17) as i64;
            let run = app
                .ok(
                    "runs/create",
                    json!({"experiment_id": exp, "run_name": format!("r{i}"), "start_time": start}),
                )
                .await["run"]["info"]["run_id"]
                .as_str()
                .unwrap()
                .to_string();
            let mut metrics = vec![
                json!({"key": "m", "value": (i % 13) as f64 / 7.0, "timestamp": i, "step": 2}),
            ];
            if i.is_multiple_of(5) {
                metrics.push(
                    json!({"key": "special", "value": specials[i % 4], "timestamp": 1, "step": -1}),
                );
            }
            let params = [
                json!({"key": keys[i % 6], "value": values[(i + 1) % 6]}),
                json!({"key": "i", "value": i.to_string()}),
            ];
            let tags = [json!({"key": "t", "value": values[(i + 2) % 6]})];
            app.ok(
                "runs/log-batch",
                json!({"run_id": run, "metrics": metrics, "params": params, "tags": tags}),
            )
            .await;
            if i.is_multiple_of(50) {
                let dataset = json!({"name": format!("ds{i}"), "digest": "d1", "source_type": "local", "source": "{}"});
                let inputs = json!({"run_id": run, "datasets": [{"tags": [], "dataset": dataset}]});
                app.ok("runs/log-inputs", inputs).await;
            }
            // Logged models as outputs and as inputs, on other runs than the datasets.
            if i % 70 == 3 || i % 90 == 4 {
                let model = app
                    .ok(
                        "logged-models",
                        json!({"experiment_id": exp, "name": format!("m{i}")}),
                    )
                    .await["model"]["info"]["model_id"]
                    .clone();
                let models = json!([{"model_id": model, "step": i}]);
                if i % 70 == 3 {
                    app.ok("runs/outputs", json!({"run_id": run, "models": models}))
                        .await;
                } else {
                    app.ok("runs/log-inputs", json!({"run_id": run, "models": models}))
                        .await;
                }
            }
        }
        // Rank of a run under `metrics.special` ascending: -Infinity, 5e-324, Infinity, NaN, missing.
        let special_rank = |i: usize| {
            if i.is_multiple_of(5) {
                [3, 2, 0, 1][i % 4]
            } else {
                5
            }
        };
        for order_by in [
            json!([]),
            json!(["metrics.m DESC", "params.i"]),
            json!(["metrics.special"]),
        ] {
            let v = app
                .ok(
                    "runs/search",
                    json!({"experiment_ids": [exp], "max_results": 1000, "order_by": order_by}),
                )
                .await;
            let runs = v["runs"].as_array().unwrap();
            assert_eq!(runs.len(), 230);
            let with = |what: &str| runs.iter().filter(|r| r.pointer(what).is_some()).count();
            assert_eq!(
                (
                    with("/inputs/dataset_inputs"),
                    with("/inputs/model_inputs"),
                    with("/outputs/model_outputs")
                ),
                (5, 3, 4)
            );
            // Every run is exactly what runs/get answers for it (all of them in the first order).
            let step = if order_by == json!([]) { 1 } else { 7 };
            for r in runs.iter().step_by(step) {
                let one = app.run(r["info"]["run_id"].as_str().unwrap()).await;
                assert_eq!(r, &one);
            }
            let index = |r: &Value| -> usize {
                r["info"]["run_name"].as_str().unwrap()[1..]
                    .parse()
                    .unwrap()
            };
            let sorted = match order_by.as_array().unwrap().len() {
                0 => runs.is_sorted_by_key(|r| std::cmp::Reverse(r["info"]["start_time"].as_i64())),
                2 => runs.is_sorted_by_key(|r| {
                    let i = index(r);
                    (std::cmp::Reverse(i % 13), i.to_string())
                }),
                _ => runs.is_sorted_by_key(|r| special_rank(index(r))),
            };
            assert!(sorted, "order {order_by}");
        }
    }
);

backend_tests!(
    many_concurrent_large_searches_all_finish,
    |app: TestApp| async move {
        // A large page reads its children on two connections; more concurrent searches than the
        // pool has connections must still all be served, not wait on each other until a timeout.
        let exp = app.create_experiment("concurrent").await;
        for _ in 0..210 {
            app.create_run(&exp).await;
        }
        let body = json!({"experiment_ids": [exp], "max_results": 1000});
        let started = std::time::Instant::now();
        let answers =
            futures_util::future::join_all((0..16).map(|_| app.post("runs/search", body.clone())))
                .await;
        for (status, v) in answers {
            assert_eq!(status, 200, "{v}");
            assert_eq!(v["runs"].as_array().unwrap().len(), 210);
        }
        // The pool's acquire timeout is 30 s; a wait on each other would take that long.
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }
);
