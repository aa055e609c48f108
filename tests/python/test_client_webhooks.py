"""Registry webhooks through the unmodified ``mlflow`` client.

MLflow's own webhook tests (``tests/tracking/test_client_webhooks.py`` and
``tests/webhooks/test_e2e.py`` of MLflow 3.10.1) retold against an external server, with the
receiver of ``webhook_receiver.py`` (MLflow's test app, verifying signatures with the recipe of
MLflow's docs); then the parts mltrack adds (stage transitions, secrets at rest).

The server must be started for this (``tests/e2e/webhooks.rs`` does it for mltrack):
``MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY`` set, ``MLFLOW_WEBHOOK_ALLOWED_SCHEMES=http,https`` and
``MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS=true`` (the receiver is on 127.0.0.1); and ``MLTRACK_WEBHOOKS=1``
must be set here. Otherwise every test is skipped. Against the reference ``mlflow server`` (with
the same variables) all but the ``STRICT`` ones pass too.
"""

from __future__ import annotations

import os
import time

import pytest

from helpers import STRICT, unique
from webhook_receiver import Receiver

pytestmark = pytest.mark.skipif(
    os.environ.get("MLTRACK_WEBHOOKS") != "1",
    reason="needs a server started for webhooks and MLTRACK_WEBHOOKS=1 (see the module docstring)",
)

WEBHOOK_SECRET = "test-secret-key"


@pytest.fixture(scope="module")
def app():
    receiver = Receiver(WEBHOOK_SECRET)
    yield receiver
    receiver.close()


@pytest.fixture(autouse=True)
def cleanup(client, app):
    yield
    for webhook in client.list_webhooks(max_results=1000):
        client.delete_webhook(webhook.webhook_id)
    app.reset()


def _ev(entity, action):
    from mlflow.entities.webhook import WebhookEvent

    return WebhookEvent(entity, action)


# ------------------------------------------------------------------ test_client_webhooks.py


def test_create_webhook(client):
    from mlflow.entities.webhook import WebhookAction, WebhookEntity, WebhookEvent

    created = WebhookEvent(WebhookEntity.MODEL_VERSION, WebhookAction.CREATED)
    webhook = client.create_webhook(
        name="test_webhook", url="https://example.com/webhook", events=[created]
    )
    assert (webhook.name, webhook.url, webhook.secret) == (
        "test_webhook",
        "https://example.com/webhook",
        None,
    )
    assert webhook.events == [created]
    webhook = client.get_webhook(webhook.webhook_id)
    assert (webhook.name, webhook.url, webhook.secret) == (
        "test_webhook",
        "https://example.com/webhook",
        None,
    )
    with_secret = client.create_webhook(
        name="test_webhook_with_secret",
        url="https://example.com/webhook_with_secret",
        events=[created],
        secret="my_secret",
    )
    assert with_secret.secret is None
    assert with_secret.events == [created]
    multiple = client.create_webhook(
        name="test_webhook_multiple_events",
        url="https://example.com/webhook_multiple_events",
        events=["model_version_alias.created", "model_version.created"],
    )
    assert sorted(multiple.events, key=lambda e: (e.entity.value, e.action.value)) == [
        created,
        _ev("model_version_alias", "created"),
    ]


def test_get_webhook_not_found(client):
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException, match="Webhook with ID nonexistent not found") as e:
        client.get_webhook("nonexistent")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_list_webhooks(client):
    for i in range(5):
        client.create_webhook(
            name=f"webhook{i}", url=f"https://example.com/{i}", events=["model_version.created"]
        )
    page = client.list_webhooks(max_results=2)
    assert len(page) == 2 and page.token is not None
    second = client.list_webhooks(max_results=2, page_token=page.token)
    assert len(second) == 2 and second.token is not None
    third = client.list_webhooks(max_results=2, page_token=second.token)
    assert len(third) == 1 and not third.token
    ids = [w.webhook_id for p in (page, second, third) for w in p]
    assert len(set(ids)) == 5


def test_update_webhook(client):
    from mlflow.entities.webhook import WebhookStatus

    webhook = client.create_webhook(
        name="original_name", url="https://example.com/original", events=["model_version.created"]
    )
    new_events = [_ev("model_version", "created"), _ev("registered_model", "created")]
    time.sleep(0.01)
    updated = client.update_webhook(
        webhook_id=webhook.webhook_id,
        name="updated_name",
        url="https://example.com/updated",
        events=new_events,
        description="Updated description",
        secret="new_secret",
        status=WebhookStatus.DISABLED,
    )
    assert updated.webhook_id == webhook.webhook_id
    assert (updated.name, updated.url, updated.description) == (
        "updated_name",
        "https://example.com/updated",
        "Updated description",
    )
    assert updated.events == new_events
    assert updated.status == WebhookStatus.DISABLED
    assert updated.last_updated_timestamp > webhook.last_updated_timestamp
    partial = client.update_webhook(webhook_id=webhook.webhook_id, name="renamed")
    assert (partial.name, partial.url, partial.description) == (
        "renamed",
        "https://example.com/updated",
        "Updated description",
    )
    assert partial.events == new_events


@pytest.mark.parametrize(
    ("invalid_url", "expected_match"),
    [
        ("   ", r"Webhook URL cannot be empty or just whitespace"),
        ("ftp://example.com", r"Invalid webhook URL scheme"),
        ("http://[invalid", r"Invalid webhook URL"),
    ],
)
def test_update_webhook_invalid_urls(client, invalid_url, expected_match):
    from mlflow.exceptions import MlflowException

    webhook = client.create_webhook(
        name="test_webhook", url="https://example.com/webhook", events=["model_version.created"]
    )
    with pytest.raises(MlflowException, match=expected_match) as e:
        client.update_webhook(webhook_id=webhook.webhook_id, url=invalid_url)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_update_and_delete_unknown_webhook(client):
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException, match="Webhook with ID nonexistent not found"):
        client.update_webhook(webhook_id="nonexistent", name="new_name")
    with pytest.raises(MlflowException, match="Webhook with ID nonexistent not found"):
        client.delete_webhook("nonexistent")


def test_delete_webhook(client):
    from mlflow.exceptions import MlflowException

    webhook = client.create_webhook(
        name="test_webhook", url="https://example.com/webhook", events=["model_version.created"]
    )
    client.delete_webhook(webhook.webhook_id)
    with pytest.raises(MlflowException, match=r"Webhook with ID .* not found"):
        client.get_webhook(webhook.webhook_id)
    assert webhook.webhook_id not in {w.webhook_id for w in client.list_webhooks()}


# ------------------------------------------------------------------ test_e2e.py (deliveries)


def test_registered_model_created(client, app):
    client.create_webhook(
        name="registered_model_created",
        url=app.url("/insecure-webhook"),
        events=["registered_model.created"],
    )
    model = client.create_registered_model(
        name=unique("rm"), description="test_description", tags={"test_tag_key": "test_tag_value"}
    )
    logs = app.wait_for_logs(expected_count=1)
    assert len(logs) == 1
    assert logs[0]["payload"] == {
        "name": model.name,
        "description": model.description,
        "tags": model.tags,
    }
    envelope = logs[0]["envelope"]
    assert list(envelope) == ["entity", "action", "timestamp", "data"]
    assert (envelope["entity"], envelope["action"]) == ("registered_model", "created")


def _model_version(client, name, **kwargs):
    import mlflow

    client.create_registered_model(name=name)
    mlflow.set_experiment(unique("webhooks"))
    with mlflow.start_run() as run:
        pass
    return client.create_model_version(
        name=name, source="s3://bucket/path/to/model", run_id=run.info.run_id, **kwargs
    )


def test_model_version_created(client, app):
    client.create_webhook(
        name="model_version_created",
        url=app.url("/insecure-webhook"),
        events=["model_version.created"],
    )
    name = unique("mv")
    mv = _model_version(
        client, name, tags={"test_tag_key": "test_tag_value"}, description="test_description"
    )
    logs = app.wait_for_logs(expected_count=1)
    assert logs[0]["payload"] == {
        "name": name,
        "version": mv.version,
        "source": "s3://bucket/path/to/model",
        "run_id": mv.run_id,
        "description": "test_description",
        "tags": {"test_tag_key": "test_tag_value"},
    }


def test_model_version_tags_and_aliases(client, app):
    client.create_webhook(
        name="tags_and_aliases",
        url=app.url("/insecure-webhook"),
        events=[
            "model_version_tag.set",
            "model_version_tag.deleted",
            "model_version_alias.created",
            "model_version_alias.deleted",
        ],
    )
    name = unique("tags")
    mv = _model_version(client, name)
    client.set_model_version_tag(name, mv.version, "test_tag_key", "new_value")
    app.wait_for_logs(expected_count=1)
    client.delete_model_version_tag(name, mv.version, "test_tag_key")
    app.wait_for_logs(expected_count=2)
    client.set_registered_model_alias(name, "test_alias", mv.version)
    app.wait_for_logs(expected_count=3)
    client.delete_registered_model_alias(name, "test_alias")
    logs = app.wait_for_logs(expected_count=4)
    assert [log["payload"] for log in logs] == [
        {"name": name, "version": mv.version, "key": "test_tag_key", "value": "new_value"},
        {"name": name, "version": mv.version, "key": "test_tag_key"},
        {"name": name, "alias": "test_alias", "version": mv.version},
        {"name": name, "alias": "test_alias"},
    ]


def test_webhook_with_secret(client, app):
    client.create_webhook(
        name="secure_webhook",
        url=app.url("/secure-webhook"),
        events=["registered_model.created"],
        secret=WEBHOOK_SECRET,
    )
    model = client.create_registered_model(
        name=unique("hmac"), description="Testing HMAC signature", tags={"env": "test"}
    )
    logs = app.wait_for_logs(expected_count=1)
    assert logs[0]["status_code"] == 200 and logs[0]["verified"], logs[0]
    assert logs[0]["payload"] == {"name": model.name, "description": model.description,
                                  "tags": {"env": "test"}}
    assert logs[0]["headers"]["x-mlflow-signature"].startswith("v1,")


def test_webhook_with_wrong_or_no_secret(client, app):
    client.create_webhook(
        name="wrong_secret",
        url=app.url("/secure-webhook"),
        events=["registered_model.created"],
        secret="wrong-secret",
    )
    client.create_registered_model(name=unique("wrong-hmac"))
    logs = app.wait_for_logs(expected_count=1)
    assert (logs[0]["error"], logs[0]["status_code"]) == ("Invalid signature", 401)
    for webhook in client.list_webhooks():
        client.delete_webhook(webhook.webhook_id)
    app.reset()
    client.create_webhook(
        name="no_secret", url=app.url("/secure-webhook"), events=["registered_model.created"]
    )
    client.create_registered_model(name=unique("no-hmac"))
    logs = app.wait_for_logs(expected_count=1)
    assert (logs[0]["error"], logs[0]["status_code"]) == ("Missing signature header", 400)
    # A 4xx is the receiver's final word: not retried.
    time.sleep(1)
    assert len(app.logs) == 1


def test_test_webhook(client, app):
    webhook = client.create_webhook(
        name="test_webhook", url=app.url("/insecure-webhook"), events=["model_version.created"]
    )
    result = client.test_webhook(webhook.webhook_id)
    assert (result.success, result.response_status, result.error_message) == (True, 200, None)
    assert app.wait_for_logs(expected_count=1)[0]["payload"] == {
        "name": "example_model",
        "version": "1",
        "source": "models:/123",
        "run_id": "abcd1234abcd5678",
        "tags": {"example_key": "example_value"},
        "description": "An example model version",
    }


def test_test_webhook_secure_and_specific_event(client, app):
    webhook = client.create_webhook(
        name="test_secure_webhook",
        url=app.url("/secure-webhook"),
        events=["registered_model.created", "model_version.created", "model_version_tag.set"],
        secret=WEBHOOK_SECRET,
    )
    # Without an event: the first of the webhook's events as the server lists them (MLflow's SQL
    # store lists them in (entity, action) order, whatever order they were given in).
    assert webhook.events[0] == _ev("model_version", "created")
    result = client.test_webhook(webhook.webhook_id)
    assert (result.success, result.response_status, result.error_message) == (True, 200, None)
    logs = app.wait_for_logs(expected_count=1)
    assert logs[0]["verified"]
    assert logs[0]["payload"] == {
        "name": "example_model",
        "version": "1",
        "source": "models:/123",
        "run_id": "abcd1234abcd5678",
        "tags": {"example_key": "example_value"},
        "description": "An example model version",
    }
    result = client.test_webhook(webhook.webhook_id, event="model_version_tag.set")
    assert result.success is True
    assert app.wait_for_logs(expected_count=2)[1]["payload"] == {
        "name": "example_model",
        "version": "1",
        "key": "example_key",
        "value": "example_value",
    }


def test_test_webhook_failures(client, app):
    webhook = client.create_webhook(
        name="failed_webhook",
        url=app.url("/nonexistent-endpoint"),
        events=["registered_model.created"],
    )
    result = client.test_webhook(webhook.webhook_id)
    assert (result.success, result.response_status, result.error_message) == (False, 404, None)
    assert result.response_body is not None
    webhook = client.create_webhook(
        name="wrong_secret_test_webhook",
        url=app.url("/secure-webhook"),
        events=["registered_model.created"],
        secret="wrong-secret",
    )
    result = client.test_webhook(webhook.webhook_id)
    assert (result.success, result.response_status, result.error_message) == (False, 401, None)
    logs = app.wait_for_logs(expected_count=1)
    assert (logs[0]["error"], logs[0]["status_code"]) == ("Invalid signature", 401)
    # Nobody listening: no status, MLflow's kind of error message.
    nobody = Receiver(WEBHOOK_SECRET)
    url = nobody.url("/insecure-webhook")
    nobody.close()
    webhook = client.create_webhook(name="nobody", url=url, events=["registered_model.created"])
    result = client.test_webhook(webhook.webhook_id)
    assert (result.success, result.response_status) == (False, None)
    assert result.error_message.startswith("Failed to test webhook: ConnectionError("), result


def test_webhook_retry_on_5xx_error(client, app):
    client.create_webhook(
        name="retry_test_webhook", url=app.url("/flaky-webhook"), events=["registered_model.created"]
    )
    model = client.create_registered_model(name=unique("retry"), description="Testing retry logic")
    logs = app.wait_for_logs(expected_count=3, timeout=15)
    assert [(log["status_code"], log["attempt"]) for log in logs] == [(500, 1), (500, 2), (200, 3)]
    assert all(log["payload"]["name"] == model.name for log in logs)
    # The same delivery, retried: one delivery id.
    assert len({log["delivery_id"] for log in logs}) == 1


def test_webhook_retry_on_429_rate_limit(client, app):
    client.create_webhook(
        name="rate_limit_test_webhook",
        url=app.url("/rate-limited-webhook"),
        events=["registered_model.created"],
    )
    model = client.create_registered_model(name=unique("rate"))
    logs = app.wait_for_logs(expected_count=2, timeout=10)
    assert [(log["status_code"], log["attempt"]) for log in logs] == [(429, 1), (200, 2)]
    assert logs[1]["payload"]["name"] == model.name


def test_prompt_events(client, app):
    client.create_webhook(
        name="prompts",
        url=app.url("/insecure-webhook"),
        events=["prompt.created", "prompt_tag.set", "prompt_tag.deleted", "registered_model.created"],
    )
    name = unique("prompt")
    client.create_prompt(name=name, description="A test prompt", tags={"custom_tag": "custom_value"})
    app.wait_for_logs(expected_count=1)
    client.set_prompt_tag(name=name, key="environment", value="production")
    app.wait_for_logs(expected_count=2)
    client.delete_prompt_tag(name=name, key="environment")
    logs = app.wait_for_logs(expected_count=3)
    assert [(log["envelope"]["entity"], log["envelope"]["action"]) for log in logs] == [
        ("prompt", "created"),
        ("prompt_tag", "set"),
        ("prompt_tag", "deleted"),
    ]
    assert [log["payload"] for log in logs] == [
        {"name": name, "description": "A test prompt", "tags": {"custom_tag": "custom_value"}},
        {"name": name, "key": "environment", "value": "production"},
        {"name": name, "key": "environment"},
    ]


def test_prompt_version_events(client, app):
    client.create_webhook(
        name="prompt_versions",
        url=app.url("/insecure-webhook"),
        events=["prompt_version.created", "prompt_version_tag.set", "prompt_alias.created",
                "prompt_alias.deleted", "model_version.created"],
    )
    name = unique("prompt")
    client.create_prompt(name=name)
    client.create_prompt_version(
        name=name,
        template="Hello {{name}}!",
        description="test_prompt_version_description",
        tags={"version_tag": "v1"},
    )
    app.wait_for_logs(expected_count=1)
    client.set_prompt_version_tag(name=name, version="1", key="quality_score", value="excellent")
    app.wait_for_logs(expected_count=2)
    client.set_prompt_alias(name=name, alias="production", version=1)
    app.wait_for_logs(expected_count=3)
    client.delete_prompt_alias(name=name, alias="production")
    logs = app.wait_for_logs(expected_count=4)
    assert [log["payload"] for log in logs] == [
        {"name": name, "version": "1", "template": "Hello {{name}}!",
         "description": "test_prompt_version_description", "tags": {"version_tag": "v1"}},
        {"name": name, "version": "1", "key": "quality_score", "value": "excellent"},
        {"name": name, "alias": "production", "version": "1"},
        {"name": name, "alias": "production"},
    ]


# ------------------------------------------------------------------ beyond MLflow


def test_secrets_never_come_back(client, api):
    secret = "never-answer-this-secret-" + unique("s")
    created = api.ok(
        "POST",
        "/webhooks",
        {"name": "quiet", "url": "https://example.com/x", "secret": secret,
         "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]},
    )
    webhook_id = created["webhook"]["webhook_id"]
    answers = [
        created,
        api.ok("GET", f"/webhooks/{webhook_id}"),
        api.ok("GET", "/webhooks"),
        api.ok("PATCH", f"/webhooks/{webhook_id}", {"secret": secret + "-2"}),
    ]
    for answer in answers:
        assert secret not in str(answer) and "secret" not in str(answer), answer


@pytest.mark.skipif(not STRICT, reason="mltrack's own event")
def test_stage_transitions_are_events(client, api, app):
    # Subscribed over REST (MLflow's client knows only MLflow's events); the client still reads it.
    api.ok(
        "POST",
        "/webhooks",
        {"name": "stages", "url": app.url("/secure-webhook"), "secret": WEBHOOK_SECRET,
         "events": ["model_version.created"],
         "mltrack_events": ["model_version_stage.transitioned"]},
    )
    [webhook] = client.list_webhooks()
    assert [str(e) for e in webhook.events] == ["model_version.created"]
    name = unique("staged")
    mv = _model_version(client, name)
    client.transition_model_version_stage(name, mv.version, "Production")
    logs = app.wait_for_logs(expected_count=2)
    assert all(log["verified"] for log in logs)
    stage = next(log for log in logs if log["envelope"]["entity"] == "model_version_stage")
    assert stage["envelope"]["action"] == "transitioned"
    assert stage["payload"] == {
        "name": name,
        "version": mv.version,
        "stage": "Production",
        "archive_existing_versions": False,
    }
