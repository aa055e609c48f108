"""Shared fixtures for the acceptance tests that drive a tracking server with the
unmodified Python ``mlflow`` client and with raw HTTP.

Environment:
  MLTRACK_URL     base URL of the server under test, e.g. http://127.0.0.1:5055 (required).
  MLTRACK_STRICT  "1" when the server under test is mltrack.  Enables the cases where the
                  reference ``mlflow server`` itself misbehaves (answers a client mistake
                  with a 5xx or a non-JSON body); without it those cases are skipped or
                  checked more loosely, so the suite also passes against the reference.

The suite must pass against the reference ``mlflow server`` first: that proves the
tests, not the server, are right.
"""

from __future__ import annotations

import os

import pytest

from helpers import MLTRACK_URL, STRICT, RawApi, unique, wait_until_healthy

# The mlflow client reads these at call time.  Fewer retries than the default
# (7 retries, about 4 minutes of back-off) so that a server answering 5xx fails a
# test in seconds instead of hanging the suite; the harness may override them.
_CLIENT_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
    "GIT_PYTHON_REFRESH": "quiet",
}


# The webhook tests need a server started for them (see test_client_webhooks.py); the Rust harness
# runs them on their own server (tests/e2e/webhooks.rs) with MLTRACK_WEBHOOKS=1.
collect_ignore = [] if os.environ.get("MLTRACK_WEBHOOKS") == "1" else ["test_client_webhooks.py"]


def pytest_configure(config):
    if not MLTRACK_URL:
        raise pytest.UsageError(
            "MLTRACK_URL is not set: point it at a running server, e.g. "
            "MLTRACK_URL=http://127.0.0.1:5055"
        )
    os.environ["MLFLOW_TRACKING_URI"] = MLTRACK_URL
    for key, value in _CLIENT_ENV.items():
        os.environ.setdefault(key, value)


def pytest_report_header(config):
    return f"mltrack url: {MLTRACK_URL}  strict: {STRICT}"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def mltrack_url() -> str:
    wait_until_healthy(MLTRACK_URL)
    return MLTRACK_URL


@pytest.fixture(scope="session")
def strict() -> bool:
    return STRICT


@pytest.fixture(scope="session")
def api(mltrack_url) -> RawApi:
    raw = RawApi(mltrack_url)
    yield raw
    raw.close()


@pytest.fixture(scope="session")
def client(mltrack_url):
    """An ``MlflowClient`` for the server under test (the fluent API uses the same URI)."""
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(mltrack_url)
    return MlflowClient(tracking_uri=mltrack_url)


@pytest.fixture
def experiment(client):
    """A fresh, active experiment (unique name) made the current one for the fluent API.

    Yields the ``mlflow.entities.Experiment``.  Ends any run a failing test left active.
    """
    import mlflow

    name = unique("exp")
    exp = mlflow.set_experiment(name)
    assert exp.name == name
    assert exp.lifecycle_stage == "active"
    yield exp
    while mlflow.active_run() is not None:
        mlflow.end_run()


@pytest.fixture
def make_experiment(api):
    """Create an experiment over raw REST; returns (experiment_id, name)."""

    def make(prefix="exp"):
        name = unique(prefix)
        body = api.ok("POST", "/experiments/create", {"name": name})
        assert isinstance(body.get("experiment_id"), str) and body["experiment_id"], body
        return body["experiment_id"], name

    return make
