use crate::backend_tests;
use crate::helpers::TestApp;
use serde_json::json;

const PROXY: &str = "/api/2.0/mlflow-artifacts/artifacts";

backend_tests!(put_get_list_delete, |app: TestApp| async move {
    let run = app.create_run("0").await;
    let base = format!("0/{run}/artifacts");
    let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let r = app
        .http
        .put(format!("{}{PROXY}/{base}/model/weights.bin", app.url))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    app.http
        .put(format!("{}{PROXY}/{base}/model/MLmodel", app.url))
        .body("flavors: {}")
        .send()
        .await
        .unwrap();
    let got = app
        .http
        .get(format!("{}{PROXY}/{base}/model/weights.bin", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().as_ref(), body.as_slice());

    let list = app
        .http
        .get(format!("{}{PROXY}", app.url))
        .query(&[("path", format!("{base}/model"))])
        .send()
        .await
        .unwrap();
    let (_, v) = TestApp::answer(list).await;
    assert_eq!(
        v,
        json!({"files": [{"path": "MLmodel", "is_dir": false, "file_size": 11}, {"path": "weights.bin", "is_dir": false, "file_size": 3_000_000}]})
    );
    let (_, v) = app
        .get("artifacts/list", &[("run_id", &run), ("path", "model")])
        .await;
    assert_eq!(v["files"][0]["path"], "model/MLmodel");
    assert_eq!(
        v["root_uri"],
        format!("mlflow-artifacts:/0/{run}/artifacts")
    );

    let missing = app
        .http
        .get(format!("{}{PROXY}/{base}/nope", app.url))
        .send()
        .await
        .unwrap();
    let (status, v) = TestApp::answer(missing).await;
    assert_eq!(
        (status, v["error_code"].as_str()),
        (404, Some("RESOURCE_DOES_NOT_EXIST"))
    );
    let r = app
        .http
        .delete(format!("{}{PROXY}/{base}/model", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let list = app
        .http
        .get(format!("{}{PROXY}", app.url))
        .query(&[("path", base.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(TestApp::answer(list).await.1, json!({}));
});

backend_tests!(paths_cannot_escape_the_root, |app: TestApp| async move {
    std::fs::write(app.dir.path().join("secret.txt"), "secret").unwrap();
    for path in [
        "../secret.txt",
        "%2e%2e/secret.txt",
        "a/%2E%2E%2F%2E%2E%2Fsecret.txt",
        "a/..%2F..%2Fsecret.txt",
    ] {
        let r = app
            .http
            .get(format!("{}{PROXY}/{path}", app.url))
            .send()
            .await
            .unwrap();
        let (status, v) = TestApp::answer(r).await;
        assert!((400..500).contains(&status), "{path}: {status} {v}");
        let r = app
            .http
            .put(format!("{}{PROXY}/{path}", app.url))
            .body("x")
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "{path}");
    }
    let r = app
        .http
        .get(format!("{}{PROXY}", app.url))
        .query(&[("path", "../")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        std::fs::read_to_string(app.dir.path().join("secret.txt")).unwrap(),
        "secret"
    );
});
