//! Registry webhooks over REST: MLflow's `WebhookService` (shapes, validation, messages, status
//! codes), secrets, and `test_webhook`.

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, API};
use crate::webhook_receiver::Receiver;
use serde_json::{json, Value};
use sqlx::{Connection, Row};
use std::time::Duration;
use tracking_server::config::{ServerConfig, WebhookConfig};
use tracking_server::webhooks::crypto::EncryptionKey;

pub(crate) const SECRET: &str = "test-secret-key";

/// Settings for tests that deliver to a receiver on 127.0.0.1: http and private addresses allowed,
/// a key for secrets, and backoff short enough for a test.
pub(crate) fn local_webhooks(c: &mut ServerConfig) {
    c.webhooks = WebhookConfig {
        encryption_key: Some(EncryptionKey::generate()),
        allowed_schemes: vec!["http".into(), "https".into()],
        allow_private_ips: true,
        timeout: Duration::from_secs(5),
        max_retries: 1000,
        max_backoff: Duration::from_millis(200),
        workers: 10,
    };
}

pub(crate) async fn spawn(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, local_webhooks).await
}

/// `backend_tests!` for a server with [`local_webhooks`] settings.
#[macro_export]
macro_rules! webhook_tests {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::webhooks::spawn($crate::helpers::Backend::Sqlite)
                    .await
                    .unwrap();
                ($body)(app).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(app) = $crate::webhooks::spawn($crate::helpers::Backend::Postgres).await
                else {
                    $crate::helpers::skip_postgres();
                    return;
                };
                ($body)(app).await;
            }
        }
    };
}

/// One text value straight from the store's database.
pub(crate) async fn query_text(app: &TestApp, sql: &str) -> String {
    sqlx::any::install_default_drivers();
    let uri = &app.config.backend_store_uri;
    let url = match uri.strip_prefix("sqlite:///") {
        Some(path) => format!("sqlite://{path}"),
        None => uri.clone(),
    };
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    let row = sqlx::query(sql).fetch_one(&mut conn).await.unwrap();
    row.try_get::<String, _>(0).unwrap()
}

pub(crate) async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    app.raw(method, &format!("{API}/{path}"), "application/json", &body)
        .await
}

pub(crate) async fn create(app: &TestApp, body: Value) -> Value {
    let (status, v) = app.post("webhooks", body.clone()).await;
    assert_eq!(status, 200, "{body} -> {v}");
    v["webhook"].clone()
}

fn ev(entity: &str, action: &str) -> Value {
    json!({"entity": entity, "action": action})
}

/// The error code and message of a failed call, after checking its status.
fn error(got: (u16, Value), status: u16, code: &str) -> String {
    assert_eq!(
        (got.0, got.1["error_code"].as_str().unwrap_or("")),
        (status, code),
        "{}",
        got.1
    );
    got.1["message"].as_str().unwrap().to_string()
}

webhook_tests!(webhooks_round_trip_like_mlflow, |app: TestApp| async move {
    let events = json!([ev("MODEL_VERSION", "CREATED")]);
    let w = create(
        &app,
        json!({"name": "test_webhook", "url": "https://example.com/webhook", "events": events}),
    )
    .await;
    let id = w["webhook_id"].as_str().unwrap().to_string();
    assert_eq!(w["name"], "test_webhook");
    assert_eq!(w["url"], "https://example.com/webhook");
    assert_eq!(w["events"], events);
    assert_eq!(w["status"], "ACTIVE");
    assert!(w.get("description").is_none() && w.get("secret").is_none());
    assert_eq!(w["creation_timestamp"], w["last_updated_timestamp"]);
    let (status, got) = call(&app, "GET", &format!("webhooks/{id}"), None).await;
    assert_eq!((status, &got["webhook"]), (200, &w));

    // Partial update keeps the rest; the timestamp moves on.
    let (status, got) = call(
        &app,
        "PATCH",
        &format!("webhooks/{id}"),
        Some(
            json!({"name": "updated_name", "description": "d", "status": "DISABLED",
                    "events": [ev("MODEL_VERSION", "CREATED"), ev("REGISTERED_MODEL", "CREATED")]}),
        ),
    )
    .await;
    let u = &got["webhook"];
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        (&u["name"], &u["url"], &u["description"], &u["status"]),
        (
            &json!("updated_name"),
            &json!("https://example.com/webhook"),
            &json!("d"),
            &json!("DISABLED")
        )
    );
    assert_eq!(u["events"][1], ev("REGISTERED_MODEL", "CREATED"));
    assert!(u["last_updated_timestamp"].as_i64() > w["last_updated_timestamp"].as_i64());
    // Empty fields change nothing (MLflow's `field or None`).
    let (_, got) = call(
        &app,
        "PATCH",
        &format!("webhooks/{id}"),
        Some(json!({"name": "", "events": []})),
    )
    .await;
    assert_eq!(got["webhook"]["name"], "updated_name");
    assert_eq!(got["webhook"]["events"].as_array().unwrap().len(), 2);

    // Paging: newest first, no overlap; `max_results` 0 means the default.
    for i in 0..4 {
        create(
            &app,
            json!({"name": format!("webhook{i}"), "url": format!("https://example.com/{i}"),
                            "events": [ev("MODEL_VERSION", "CREATED")]}),
        )
        .await;
    }
    let (_, first) = app.get("webhooks", &[("max_results", "2")]).await;
    let token = first["next_page_token"].as_str().unwrap().to_string();
    let (_, second) = app
        .get("webhooks", &[("max_results", "2"), ("page_token", &token)])
        .await;
    let (_, third) = app
        .get(
            "webhooks",
            &[
                ("max_results", "2"),
                ("page_token", second["next_page_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(third["webhooks"].as_array().unwrap().len(), 1);
    assert!(third.get("next_page_token").is_none());
    let mut ids: Vec<&str> = [&first, &second, &third]
        .iter()
        .flat_map(|p| p["webhooks"].as_array().unwrap())
        .map(|w| w["webhook_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 5);
    // Newest first (webhooks made in the same millisecond in a fixed but unspecified order).
    let created: Vec<i64> = [&first, &second, &third]
        .iter()
        .flat_map(|p| p["webhooks"].as_array().unwrap())
        .map(|w| w["creation_timestamp"].as_i64().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "{created:?}");
    let (_, all) = app.get("webhooks", &[("max_results", "0")]).await;
    assert_eq!(all["webhooks"].as_array().unwrap().len(), 5);

    let (status, got) = call(&app, "DELETE", &format!("webhooks/{id}"), None).await;
    assert_eq!((status, got), (200, json!({})));
    let msg = error(
        call(&app, "GET", &format!("webhooks/{id}"), None).await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_eq!(msg, format!("Webhook with ID {id} not found."));
    error(
        call(&app, "DELETE", &format!("webhooks/{id}"), None).await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    let (_, all) = app.get("webhooks", &[]).await;
    assert_eq!(all["webhooks"].as_array().unwrap().len(), 4);
});

backend_tests!(
    webhook_requests_are_checked_like_mlflow,
    |app: TestApp| async move {
        // The default policy: https only, no private addresses, no key for secrets.
        let good = json!({"name": "ok", "url": "https://127.0.0.1/x", "events": [ev("MODEL_VERSION", "CREATED")]});
        let with = |field: &str, value: Value| {
            let mut b = good.clone();
            if value.is_null() {
                b.as_object_mut().unwrap().remove(field);
            } else {
                b[field] = value;
            }
            b
        };
        let cases: Vec<(Value, &str)> = vec![
        (with("name", Value::Null), "Missing value for required parameter 'name'. See the API docs for more information about request parameters."),
        (with("url", json!("")), "Missing value for required parameter 'url'. See the API docs for more information about request parameters."),
        (with("events", Value::Null), "Missing value for required parameter 'events'. See the API docs for more information about request parameters."),
        (with("name", json!(5)), "Invalid value 5 for parameter 'name' supplied:  Hint: Value was of type 'int'. See the API docs for more information about request parameters."),
        (with("events", json!([ev("MODEL_VERSION", "SET")])), "Invalid action 'set' for entity 'model_version'. Valid actions are: ['created']"),
        (with("events", json!([ev("MODEL_VERSION_TAG", "CREATED")])), "Invalid action 'created' for entity 'model_version_tag'. Valid actions are: ['deleted', 'set']"),
        (with("name", json!("-bad")), "Webhook name '-bad' is invalid. It must start and end with a letter or digit, be less than 63 characters long, and contain only letters, digits, dots (.), underscores (_), and hyphens (-)."),
        (with("url", json!("   ")), "Webhook URL cannot be empty or just whitespace: '   '"),
        (with("url", json!("ftp://example.com")), "Invalid webhook URL scheme: 'ftp'. Allowed schemes are: https."),
        (with("url", json!("http://[invalid")), "Invalid webhook URL 'http://[invalid': ValueError('Invalid IPv6 URL')"),
        (good.clone(), "Webhook URL must not resolve to a non-public IP address. '127.0.0.1' resolves to 127.0.0.1."),
        (json!({"name": "ok", "url": "https://1.1.1.1/x", "events": []}), "Webhook events must be a non-empty list of WebhookEvent objects: []."),
        (json!({"name": "ok", "url": "https://1.1.1.1/x", "events": [ev("MODEL_VERSION", "CREATED")], "secret": "s"}),
         "Cannot store the webhook secret: this server has no key to encrypt it with. Start the server with MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY set to a Fernet key, or with --webhook-secret-key-file."),
        (json!({"name": "ok", "url": "https://1.1.1.1/x", "events": [], "mltrack_events": ["model_version_stage.transitioned"]}),
         "A webhook needs at least one of MLflow's events (such as 'model_version.created') beside mltrack's own: MLflow's clients cannot read a webhook without one."),
    ];
        for (body, message) in cases {
            let (status, v) = app.post("webhooks", body.clone()).await;
            assert_eq!(
                (status, v["error_code"].as_str()),
                (400, Some("INVALID_PARAMETER_VALUE")),
                "{body} -> {v}"
            );
            assert_eq!(v["message"], message, "{body}");
        }
        let msg = error(
            app.post("webhooks", with("status", json!("PAUSED"))).await,
            400,
            "INVALID_PARAMETER_VALUE",
        );
        assert!(msg.contains("'status'"), "{msg}");
        let msg = error(
            app.post("webhooks", with("secret", json!(424_242))).await,
            400,
            "INVALID_PARAMETER_VALUE",
        );
        assert!(!msg.contains("424242"), "{msg}");
        let msg = error(
            app.get("webhooks", &[("max_results", "1001")]).await,
            400,
            "INVALID_PARAMETER_VALUE",
        );
        assert_eq!(msg, "max_results must be between 1 and 1000.");
        error(
            app.get("webhooks", &[("page_token", "garbage")]).await,
            400,
            "INVALID_PARAMETER_VALUE",
        );
        // An unknown webhook is 404 before its fields are judged, as in MLflow's store.
        let msg = error(
            call(
                &app,
                "PATCH",
                "webhooks/nonexistent",
                Some(json!({"name": "-bad"})),
            )
            .await,
            404,
            "RESOURCE_DOES_NOT_EXIST",
        );
        assert_eq!(msg, "Webhook with ID nonexistent not found.");
        error(
            call(&app, "POST", "webhooks/nonexistent/test", Some(json!({}))).await,
            404,
            "RESOURCE_DOES_NOT_EXIST",
        );
        error(
            call(
                &app,
                "POST",
                "webhooks/x/test",
                Some(json!({"event": ev("PROMPT", "SET")})),
            )
            .await,
            400,
            "INVALID_PARAMETER_VALUE",
        );
        // Nothing was created by any of that.
        let (_, all) = app.get("webhooks", &[]).await;
        assert_eq!(all, json!({}));
    }
);

webhook_tests!(
    mltrack_events_travel_beside_mlflows,
    |app: TestApp| async move {
        // Accepted in either field, in either form; answered apart, so MLflow's client reads the rest.
        let w = create(
            &app,
            json!({"name": "stages", "url": "https://example.com/x",
        "events": ["model_version.created", ev("MODEL_VERSION_STAGE", "TRANSITIONED")]}),
        )
        .await;
        assert_eq!(w["events"], json!([ev("MODEL_VERSION", "CREATED")]));
        assert_eq!(
            w["mltrack_events"],
            json!([ev("MODEL_VERSION_STAGE", "TRANSITIONED")])
        );
    }
);

webhook_tests!(
    secrets_are_stored_encrypted_and_never_answered,
    |app: TestApp| async move {
        let secret = "plaintext-signing-secret-7f3a";
        let w = create(
            &app,
            json!({"name": "signed", "url": "https://example.com/x", "secret": secret,
                                "events": [ev("REGISTERED_MODEL", "CREATED")]}),
        )
        .await;
        let id = w["webhook_id"].as_str().unwrap();
        let mut answers = vec![w.to_string()];
        answers.push(
            call(&app, "GET", &format!("webhooks/{id}"), None)
                .await
                .1
                .to_string(),
        );
        answers.push(app.get("webhooks", &[]).await.1.to_string());
        let rotated = "rotated-signing-secret-91bc";
        answers.push(
            call(
                &app,
                "PATCH",
                &format!("webhooks/{id}"),
                Some(json!({"secret": rotated})),
            )
            .await
            .1
            .to_string(),
        );
        for a in &answers {
            assert!(
                !a.contains(secret) && !a.contains(rotated) && !a.contains("secret"),
                "{a}"
            );
        }
        // At rest: a Fernet token, not the secret.
        let stored = query_text(&app, "SELECT secret FROM webhooks").await;
        assert!(
            stored.starts_with("gAAAAA") && !stored.contains(rotated),
            "{stored}"
        );
        // Nowhere in the SQLite files either (the database and its write-ahead log).
        for entry in std::fs::read_dir(app.dir.path()).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(secret) && !text.contains(rotated));
        }
    }
);

webhook_tests!(
    test_webhook_answers_like_mlflow,
    |app: TestApp| async move {
        let receiver = Receiver::start(0, SECRET).await;
        let hook = |path: &str, secret: Option<&str>, events: Value| {
            let mut b = json!({"name": "t", "url": receiver.url(path), "events": events});
            if let Some(s) = secret {
                b["secret"] = json!(s);
            }
            b
        };
        // Success, with the example payload of the first event in MLflow's (entity, action) order,
        // signed.
        let w = create(
            &app,
            hook(
                "/secure",
                Some(SECRET),
                json!([
                    ev("REGISTERED_MODEL", "CREATED"),
                    ev("MODEL_VERSION", "CREATED")
                ]),
            ),
        )
        .await;
        let id = w["webhook_id"].as_str().unwrap().to_string();
        let (status, got) = app.post(&format!("webhooks/{id}/test"), json!({})).await;
        assert_eq!(status, 200, "{got}");
        assert_eq!(
            got["result"],
            json!({"success": true, "response_status": 200, "response_body": "{\"answered\": 200}"})
        );
        let r = receiver.wait_for(1, Duration::from_secs(5)).await.remove(0);
        assert!(r.verified, "{r:?}");
        let body = r.json();
        // The first event in MLflow's (entity, action) order, not in the order given.
        assert_eq!(
            (&body["entity"], &body["action"]),
            (&json!("model_version"), &json!("created"))
        );
        assert_eq!(body["data"]["description"], "An example model version");
        // A chosen event.
        let (_, got) = app
            .post(
                &format!("webhooks/{id}/test"),
                json!({"event": ev("MODEL_VERSION_TAG", "SET")}),
            )
            .await;
        assert_eq!(got["result"]["success"], true);
        let r = receiver.wait_for(2, Duration::from_secs(5)).await.remove(1);
        assert_eq!(
            r.json()["data"],
            json!({"name": "example_model", "version": "1", "key": "example_key", "value": "example_value"})
        );
        // An HTTP error is an answer, not an error message.
        receiver.plan(&[(404, None)]);
        let (_, got) = app.post(&format!("webhooks/{id}/test"), json!({})).await;
        assert_eq!(
            got["result"],
            json!({"success": false, "response_status": 404, "response_body": "{\"answered\": 404}"})
        );
        // 5xx is retried before answering, as MLflow's session does.
        receiver.plan(&[(503, None), (200, None)]);
        let (_, got) = app.post(&format!("webhooks/{id}/test"), json!({})).await;
        assert_eq!(got["result"]["response_status"], 200);
        // No receiver at all: MLflow's error message, no status.
        let mut gone = Receiver::start(0, SECRET).await;
        let url = gone.url("/x");
        gone.stop().await;
        let w = create(
            &app,
            json!({"name": "gone", "url": url, "events": [ev("MODEL_VERSION", "CREATED")]}),
        )
        .await;
        let (status, got) = app
            .post(
                &format!("webhooks/{}/test", w["webhook_id"].as_str().unwrap()),
                json!({}),
            )
            .await;
        assert_eq!(status, 200);
        let result = got["result"].as_object().unwrap();
        assert_eq!(result.get("success"), Some(&json!(false)));
        assert!(result.get("response_status").is_none());
        let msg = result["error_message"].as_str().unwrap();
        assert!(
            msg.starts_with("Failed to test webhook: ConnectionError("),
            "{msg}"
        );
    }
);
