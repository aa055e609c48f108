//! Webhook deliveries: every registry event arrives signed in MLflow's format, failures are retried
//! with a bound, and the queue survives outages, restarts and several servers sharing it.

use crate::helpers::{TestApp, API};
use crate::webhook_receiver::{Received, Receiver};
use crate::webhook_tests;
use crate::webhooks::{call, create, SECRET};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tracking_server::store::webhooks::WebhookStore;
use tracking_server::store::SqlStore;
use tracking_server::webhooks::crypto::EncryptionKey;

const WAIT: Duration = Duration::from_secs(30);

fn ev(entity: &str, action: &str) -> Value {
    json!({"entity": entity, "action": action})
}

async fn deliveries(app: &TestApp, webhook_id: &str) -> Vec<Value> {
    let (status, v) = app
        .get(
            &format!("webhooks/{webhook_id}/deliveries"),
            &[("max_results", "1000")],
        )
        .await;
    assert_eq!(status, 200, "{v}");
    v["deliveries"].as_array().unwrap().clone()
}

/// Waits until every delivery of the webhook has left `PENDING`.
async fn settled(app: &TestApp, webhook_id: &str) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let all = deliveries(app, webhook_id).await;
        if all.iter().all(|d| d["status"] != "PENDING") {
            return all;
        }
        assert!(tokio::time::Instant::now() < deadline, "{all:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Received requests by `entity.action`, each checked against MLflow's envelope.
fn by_event(received: &[Received]) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for r in received {
        assert!(r.verified, "signature did not verify: {r:?}");
        assert_eq!(r.path, "/hook");
        assert!(r.signature.as_deref().is_some_and(|s| s.starts_with("v1,")));
        assert!(r.timestamp.parse::<u64>().is_ok(), "{}", r.timestamp);
        assert!(r.body.starts_with("{\"entity\": \""), "{}", r.body);
        let v = r.json();
        let ts = v["timestamp"].as_str().unwrap();
        assert!(ts.ends_with("+00:00") && ts.len() >= 25, "{ts}");
        let key = format!(
            "{}.{}",
            v["entity"].as_str().unwrap(),
            v["action"].as_str().unwrap()
        );
        assert!(
            out.insert(key, v["data"].clone()).is_none(),
            "twice: {}",
            r.body
        );
    }
    out
}

async fn hook(app: &TestApp, receiver: &Receiver, events: Value) -> String {
    let w = create(
        app,
        json!({"name": "receiver", "url": receiver.url("/hook"), "events": events, "secret": SECRET}),
    )
    .await;
    w["webhook_id"].as_str().unwrap().to_string()
}

webhook_tests!(
    every_registry_event_arrives_signed,
    |app: TestApp| async move {
        let receiver = Receiver::start(0, SECRET).await;
        hook(
            &app,
            &receiver,
            json!([
                ev("REGISTERED_MODEL", "CREATED"),
                ev("MODEL_VERSION", "CREATED"),
                ev("MODEL_VERSION_TAG", "SET"),
                ev("MODEL_VERSION_TAG", "DELETED"),
                ev("MODEL_VERSION_ALIAS", "CREATED"),
                ev("MODEL_VERSION_ALIAS", "DELETED"),
                ev("MODEL_VERSION_STAGE", "TRANSITIONED"),
                ev("PROMPT", "CREATED"),
                ev("PROMPT_VERSION", "CREATED"),
                ev("PROMPT_TAG", "SET"),
                ev("PROMPT_VERSION_TAG", "SET"),
                ev("PROMPT_ALIAS", "CREATED"),
            ]),
        )
        .await;
        app.ok(
            "registered-models/create",
            json!({"name": "m", "description": "d",
        "tags": [{"key": "k", "value": "v"}]}),
        )
        .await;
        app.ok(
            "registered-models/set-tag",
            json!({"name": "m", "key": "team", "value": "x"}),
        )
        .await; // no event
        let exp = app.create_experiment("webhooks").await;
        let run_id = app.create_run(&exp).await;
        app.ok(
            "model-versions/create",
            json!({"name": "m", "source": "s3://bucket/path/to/model",
        "run_id": run_id, "tags": [{"key": "t", "value": "1"}], "description": "vd"}),
        )
        .await;
        app.ok(
            "model-versions/set-tag",
            json!({"name": "m", "version": "1", "key": "t", "value": "2"}),
        )
        .await;
        call(
            &app,
            "DELETE",
            "model-versions/delete-tag",
            Some(json!({"name": "m", "version": "1", "key": "t"})),
        )
        .await;
        app.ok(
            "registered-models/alias",
            json!({"name": "m", "alias": "champion", "version": "1"}),
        )
        .await;
        let (status, _) = app
            .raw(
                reqwest::Method::DELETE,
                &format!("{API}/registered-models/alias?name=m&alias=champion"),
                "application/json",
                "",
            )
            .await;
        assert_eq!(status, 200);
        app.ok(
            "model-versions/transition-stage",
            json!({"name": "m", "version": "1",
        "stage": "production", "archive_existing_versions": true}),
        )
        .await;
        // A prompt: a registered model tagged as one, as MLflow's client makes it.
        app.ok("registered-models/create", json!({"name": "p", "description": "pd", "tags": [
        {"key": "mlflow.prompt.is_prompt", "value": "true"}, {"key": "_mlflow_prompt_type", "value": "text"},
        {"key": "owner", "value": "me"}]})).await;
        app.ok("model-versions/create", json!({"name": "p", "source": "s3://prompts/p", "tags": [
        {"key": "mlflow.prompt.is_prompt", "value": "true"}, {"key": "mlflow.prompt.text", "value": "Hello {{name}}!"},
        {"key": "v", "value": "1"}]})).await;
        app.ok(
            "registered-models/set-tag",
            json!({"name": "p", "key": "env", "value": "prod"}),
        )
        .await;
        app.ok(
            "model-versions/set-tag",
            json!({"name": "p", "version": "1", "key": "q", "value": "good"}),
        )
        .await;
        app.ok(
            "registered-models/alias",
            json!({"name": "p", "alias": "live", "version": 1}),
        )
        .await;

        let got = by_event(&receiver.wait_for(12, WAIT).await);
        let expected = json!({
            "registered_model.created": {"name": "m", "tags": {"k": "v"}, "description": "d"},
            "model_version.created": {"name": "m", "version": "1", "source": "s3://bucket/path/to/model",
                "run_id": run_id, "tags": {"t": "1"}, "description": "vd"},
            "model_version_tag.set": {"name": "m", "version": "1", "key": "t", "value": "2"},
            "model_version_tag.deleted": {"name": "m", "version": "1", "key": "t"},
            "model_version_alias.created": {"name": "m", "alias": "champion", "version": "1"},
            "model_version_alias.deleted": {"name": "m", "alias": "champion"},
            "model_version_stage.transitioned": {"name": "m", "version": "1", "stage": "Production",
                "archive_existing_versions": true},
            "prompt.created": {"name": "p", "tags": {"owner": "me"}, "description": "pd"},
            "prompt_version.created": {"name": "p", "version": "1", "template": "Hello {{name}}!",
                "tags": {"v": "1"}, "description": null},
            "prompt_tag.set": {"name": "p", "key": "env", "value": "prod"},
            "prompt_version_tag.set": {"name": "p", "version": "1", "key": "q", "value": "good"},
            "prompt_alias.created": {"name": "p", "alias": "live", "version": "1"},
        });
        assert_eq!(serde_json::to_value(&got).unwrap(), expected);
        // Nothing else arrives (the model's own tag is no event).
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(receiver.log().len(), 12);
    }
);

webhook_tests!(
    failed_deliveries_are_retried_then_given_up,
    |app: TestApp| async move {
        let receiver = Receiver::start(0, SECRET).await;
        let id = hook(&app, &receiver, json!([ev("REGISTERED_MODEL", "CREATED")])).await;
        // Two 5xx, then success: three attempts of one delivery, same id, each freshly signed.
        receiver.plan(&[(500, None), (503, Some("0")), (200, None)]);
        app.ok("registered-models/create", json!({"name": "flaky"}))
            .await;
        let log = receiver.wait_for(3, WAIT).await;
        assert!(log
            .iter()
            .all(|r| r.verified && r.delivery_id == log[0].delivery_id));
        let d = settled(&app, &id).await;
        assert_eq!(
            (&d[0]["status"], &d[0]["attempts"]),
            (&json!("DELIVERED"), &json!(3))
        );
        // A 4xx is the receiver's verdict: not retried.
        receiver.plan(&[(401, None)]);
        app.ok("registered-models/create", json!({"name": "refused"}))
            .await;
        receiver.wait_for(4, WAIT).await;
        let d = settled(&app, &id).await;
        assert_eq!(d[0]["status"], "FAILED");
        assert_eq!(
            (&d[0]["attempts"], &d[0]["last_response_status"]),
            (&json!(1), &json!(401))
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(receiver.log().len(), 4);
    }
);

webhook_tests!(retries_are_bounded, |app: TestApp| async move {
    let mut app = app;
    app.config.webhooks.max_retries = 2;
    let app = app.restart().await;
    let receiver = Receiver::start(0, SECRET).await;
    let id = hook(&app, &receiver, json!([ev("REGISTERED_MODEL", "CREATED")])).await;
    receiver.plan(&[(500, None); 5]);
    app.ok("registered-models/create", json!({"name": "doomed"}))
        .await;
    let d = settled(&app, &id).await;
    assert_eq!(
        (&d[0]["status"], &d[0]["attempts"]),
        (&json!("FAILED"), &json!(3))
    );
    assert_eq!(
        d[0]["last_error"],
        "gave up after 3 attempts: the receiver answered 500"
    );
    assert_eq!(receiver.log().len(), 3);
});

webhook_tests!(
    a_hundred_deliveries_survive_an_outage_and_a_restart,
    |app: TestApp| async move {
        let mut receiver = Receiver::start(0, SECRET).await;
        let id = hook(&app, &receiver, json!([ev("REGISTERED_MODEL", "CREATED")])).await;
        receiver.stop().await;
        let names: BTreeSet<String> = (0..100).map(|i| format!("model-{i:03}")).collect();
        for name in &names {
            app.ok("registered-models/create", json!({"name": name}))
                .await;
        }
        // Every delivery has failed at least once against the closed port.
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let d = deliveries(&app, &id).await;
            assert_eq!(d.len(), 100);
            assert!(d.iter().all(|d| d["status"] == "PENDING"));
            if d.iter().all(|d| d["attempts"].as_i64() >= Some(1)) {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let app = app.restart().await;
        let receiver = receiver.resume().await;
        let log = receiver.wait_for(100, WAIT).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let log = if receiver.log().len() > log.len() {
            receiver.log()
        } else {
            log
        };
        assert_eq!(log.len(), 100, "each delivery exactly once");
        let ids: BTreeSet<&str> = log.iter().map(|r| r.delivery_id.as_str()).collect();
        assert_eq!(ids.len(), 100);
        assert!(log.iter().all(|r| r.verified));
        let got: BTreeSet<String> = log
            .iter()
            .map(|r| r.json()["data"]["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, names);
        let d = settled(&app, &id).await;
        assert!(d.iter().all(|d| d["status"] == "DELIVERED"));
    }
);

webhook_tests!(
    servers_sharing_a_store_deliver_each_event_once,
    |app: TestApp| async move {
        let mut receiver = Receiver::start(0, SECRET).await;
        let id = hook(&app, &receiver, json!([ev("REGISTERED_MODEL", "CREATED")])).await;
        receiver.stop().await;
        let other = TestApp::start(app.config.clone(), tempfile::tempdir().unwrap()).await;
        for i in 0..60 {
            let server = if i % 2 == 0 { &app } else { &other };
            server
                .ok(
                    "registered-models/create",
                    json!({"name": format!("shared-{i}")}),
                )
                .await;
        }
        let receiver = receiver.resume().await;
        receiver.wait_for(60, WAIT).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let log = receiver.log();
        let ids: BTreeSet<&str> = log.iter().map(|r| r.delivery_id.as_str()).collect();
        assert_eq!((log.len(), ids.len()), (60, 60));
        let d = settled(&other, &id).await;
        assert!(d.iter().all(|d| d["status"] == "DELIVERED"));
    }
);

webhook_tests!(
    disabled_and_deleted_webhooks_get_nothing,
    |app: TestApp| async move {
        let mut receiver = Receiver::start(0, SECRET).await;
        let id = hook(&app, &receiver, json!([ev("REGISTERED_MODEL", "CREATED")])).await;
        let path = format!("webhooks/{id}");
        call(&app, "PATCH", &path, Some(json!({"status": "DISABLED"}))).await;
        app.ok("registered-models/create", json!({"name": "unheard"}))
            .await;
        assert!(deliveries(&app, &id).await.is_empty());
        // Queued while the receiver is down, then the webhook is disabled: cancelled, not sent later.
        call(&app, "PATCH", &path, Some(json!({"status": "ACTIVE"}))).await;
        receiver.stop().await;
        app.ok("registered-models/create", json!({"name": "queued"}))
            .await;
        call(&app, "PATCH", &path, Some(json!({"status": "DISABLED"}))).await;
        let d = settled(&app, &id).await;
        assert_eq!(d[0]["status"], "FAILED");
        assert_eq!(
            d[0]["last_error"],
            "the webhook was disabled before this delivery was sent"
        );
        call(&app, "PATCH", &path, Some(json!({"status": "ACTIVE"}))).await;
        // Deleting a webhook drops its queue.
        app.ok("registered-models/create", json!({"name": "dropped"}))
            .await;
        let (status, _) = call(&app, "DELETE", &path, None).await;
        assert_eq!(status, 200);
        let receiver = receiver.resume().await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(receiver.log().is_empty());
    }
);

webhook_tests!(
    a_secret_the_server_cannot_read_is_never_sent_unsigned,
    |app: TestApp| async move {
        let mut receiver = Receiver::start(0, SECRET).await;
        let id = hook(&app, &receiver, json!([ev("REGISTERED_MODEL", "CREATED")])).await;
        receiver.stop().await;
        app.ok("registered-models/create", json!({"name": "signed-later"}))
            .await;
        let right_key = app.config.webhooks.encryption_key.clone();
        let mut app = app;
        app.config.webhooks.encryption_key = Some(EncryptionKey::generate());
        let mut app = app.restart().await;
        let mut receiver = receiver.resume().await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(receiver.log().is_empty(), "sent without a valid signature");
        let d = deliveries(&app, &id).await;
        assert_eq!(d[0]["status"], "PENDING");
        assert_eq!(
            d[0]["last_error"],
            "the webhook's secret cannot be decrypted with this server's encryption key"
        );
        receiver.stop().await;
        app.config.webhooks.encryption_key = right_key;
        let app = app.restart().await;
        let receiver = receiver.resume().await;
        let log = receiver.wait_for(1, WAIT).await;
        assert!(log[0].verified);
        settled(&app, &id).await;
    }
);

webhook_tests!(
    a_dead_servers_claim_expires_and_another_delivers,
    |app: TestApp| async move {
        let mut receiver = Receiver::start(0, SECRET).await;
        let id = hook(&app, &receiver, json!([ev("REGISTERED_MODEL", "CREATED")])).await;
        receiver.stop().await;
        app.ok("registered-models/create", json!({"name": "orphaned"}))
            .await;
        let mut app = app;
        app.stop().await;
        // Another server claims the delivery for an attempt of 1.5 s, and dies without a word.
        let store = SqlStore::connect(&app.config.backend_store_uri)
            .await
            .unwrap();
        let now = protocol::tags::now_ms();
        let claimed = store
            .claim_deliveries("dead-server/1", now + 10_000, now + 1500, 10)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        drop(store);
        let receiver = receiver.resume().await;
        let started = std::time::Instant::now();
        let app = app.restart().await;
        receiver.wait_for(1, WAIT).await;
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "sent while claimed"
        );
        let d = settled(&app, &id).await;
        assert_eq!(d[0]["status"], "DELIVERED");
    }
);
