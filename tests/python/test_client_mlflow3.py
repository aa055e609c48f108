"""MLflow 3 surface and MLflow's exact wording, through the unmodified ``mlflow`` client and raw
HTTP: model versions from runs on another server, source rules, validation messages, the
artifact download and upload endpoints the UI uses, dataset summaries, logged-model metrics,
model inputs and logged-model artifacts. Each case is what MLflow's own server answers."""

from __future__ import annotations

import json
import os
import warnings

import pytest

from helpers import unique

warnings.filterwarnings("ignore", category=FutureWarning)

AJAX = "/ajax-api/2.0/mlflow"


# --------------------------------------------------------------------------- registry sources


def test_a_version_may_name_a_run_this_server_does_not_know(client):
    name = unique("remote-run")
    client.create_registered_model(name)
    mv = client.create_model_version(name, "runs:/0123456789abcdef/model", "0123456789abcdef")
    assert mv.version == "1"
    assert mv.run_id == "0123456789abcdef"
    assert client.get_latest_versions(name, ["None"])[0].version == "1"


def test_local_sources_must_lie_in_the_runs_artifact_directory(api, client):
    name = unique("file-source")
    client.create_registered_model(name)
    root = f"file://{os.path.abspath(unique('local-root'))}"
    exp_local = client.create_experiment(unique("local"), artifact_location=root)
    run = client.create_run(exp_local)
    assert run.info.artifact_uri.startswith("file://")
    for source in (run.info.artifact_uri, f"{run.info.artifact_uri}/model",
                   f"{run.info.artifact_uri}/model/.."):
        r = api.post("/model-versions/create",
                     {"name": name, "source": source, "run_id": run.info.run_id})
        assert r.status == 200, r.describe()
    r = api.post("/model-versions/create", {"name": name, "source": run.info.artifact_uri})
    assert r.status == 400 and "To use a local path as a model version" in r.json()["message"]
    r = api.post("/model-versions/create",
                 {"name": name, "source": "file:///tmp", "run_id": run.info.run_id})
    assert r.status == 400 and "To use a local path as a model version" in r.json()["message"]
    r = api.post("/model-versions/create",
                 {"name": name, "source": "s3://bucket/a/../../b", "run_id": run.info.run_id})
    assert r.status == 400 and "relative path references" in r.json()["message"]
    # Three accepted above, none of the refused ones written.
    assert len(client.search_model_versions(f"name = '{name}'")) == 3


def test_a_logged_models_versions_are_listed_in_python_json(client, experiment):
    name = unique("by-model")
    client.create_registered_model(name)
    model = client.create_logged_model(experiment_id=experiment.experiment_id)
    client.create_model_version(name=name, source=model.artifact_location, model_id=model.model_id)
    client.create_model_version(name=name, source=f"models:/{model.model_id}",
                                model_id=model.model_id)
    tag = client.get_logged_model(model.model_id).tags["mlflow.modelVersions"]
    assert tag == json.dumps([{"name": name, "version": 1}, {"name": name, "version": 2}])


def test_relative_artifact_locations_resolve_on_the_server(client):
    exp_id = client.create_experiment(unique("rel"), artifact_location="my_location")
    location = client.get_experiment(exp_id).artifact_location
    assert os.path.isabs(location) and location.endswith("/my_location"), location


# --------------------------------------------------------------------------- messages


@pytest.mark.parametrize(
    ("endpoint", "body", "expected"),
    [
        ("/runs/log-parameter", {"run_id": 31, "key": "k", "value": "v"},
         "Invalid value 31 for parameter 'run_id' supplied"),
        ("/experiments/create", {"name": 123},
         "Invalid value 123 for parameter 'name' supplied"),
        ("/runs/log-batch", {"run_id": "abc", "metrics": "foo"},
         'Invalid value "foo" for parameter \'metrics\' supplied'),
        ("/runs/log-metric", {"run_id": "abc", "key": "k", "value": 1, "timestamp": 1,
                              "step": "foo"},
         'Invalid value "foo" for parameter \'step\' supplied'),
    ],
)
def test_type_errors_quote_the_value_as_mlflow_does(api, endpoint, body, expected):
    r = api.post(endpoint, body)
    assert r.status == 400, r.describe()
    assert r.error_code == "INVALID_PARAMETER_VALUE"
    assert expected in r.json()["message"], r.describe()


def test_metric_history_bulk_messages_and_order(api, client, experiment):
    url = AJAX + "/metrics/get-history-bulk"
    r = api.request("GET", url, query={"metric_key": "k"})
    assert r.status == 400
    assert "GetMetricHistoryBulk request must specify at least one run_id" in r.json()["message"]
    r = api.request("GET", url, query=[("run_id", f"id{i}") for i in range(101)] + [("metric_key", "k")])
    assert "GetMetricHistoryBulk request cannot specify more than 100" in r.json()["message"]
    r = api.request("GET", url, query={"run_id": "abc"})
    assert "GetMetricHistoryBulk request must specify a metric_key" in r.json()["message"]
    r = api.request("GET", AJAX + "/metrics/get-history-bulk-interval",
                    query={"run_ids": "abc", "metric_key": "k", "start_step": 2, "end_step": 1})
    assert r.status == 400 and "end_step must be greater than start_step. " in r.json()["message"]

    runs = [client.create_run(experiment.experiment_id).info.run_id for _ in range(3)]
    for i, run_id in enumerate(runs):
        client.log_metric(run_id, "m", float(i), timestamp=1, step=0)
    r = api.request("GET", url, query=[("run_id", rid) for rid in reversed(runs)] + [("metric_key", "m")])
    assert [m["run_id"] for m in r.json()["metrics"]] == sorted(runs)


# --------------------------------------------------------------------------- artifacts


def test_get_artifact_sends_mlflows_content_types(api, experiment, tmp_path):
    import mlflow

    names = {"a.txt": "text/plain", "b.pkl": "application/octet-stream", "c.png": "image/png",
             "d.pdf": "application/pdf", "MLmodel": "text/plain", "mlproject": "text/plain",
             "dog%step%1.png": "image/png"}
    with mlflow.start_run() as run:
        for name in names:
            (tmp_path / name).write_bytes(name.encode())
            mlflow.log_artifact(str(tmp_path / name))
    for name, mime in names.items():
        r = api.request("GET", "/get-artifact", query={"run_id": run.info.run_id, "path": name})
        assert r.status == 200, r.describe()
        assert r.body == name.encode()
        assert r.headers["content-type"] == mime, (name, r.headers)
        assert r.headers["content-disposition"] == f"attachment; filename={name}"
        assert r.headers["x-content-type-options"] == "nosniff"
    r = api.request("GET", "/get-artifact", query={"run_id": run.info.run_id, "path": "nope.txt"})
    assert r.status == 404, r.describe()
    r = api.request("GET", "/get-artifact", query={"run_id": run.info.run_id, "path": "../x"})
    assert r.status == 400, r.describe()


def test_upload_artifact_validates_then_stores(api, client, experiment):
    run_id = client.create_run(experiment.experiment_id).info.run_id
    url = AJAX + "/upload-artifact"
    for query, message in [
        ({}, "Request must specify run_uuid."),
        ({"run_uuid": run_id}, "Request must specify path."),
        ({"run_uuid": run_id, "path": ""}, "Request must specify path."),
        ({"run_uuid": run_id, "path": "../test.txt"}, "Invalid path"),
        ({"run_uuid": run_id, "path": "test.txt"}, "Request must specify data."),
    ]:
        r = api.request("POST", url, query=query)
        assert r.status == 400 and message in r.json()["message"], r.describe()
    assert client.list_artifacts(run_id) == []
    r = api.request("POST", url, query={"run_uuid": run_id, "path": "dir/test.txt"},
                    data="hello world")
    assert r.status == 200, r.describe()
    r = api.request("GET", "/get-artifact", query={"run_uuid": run_id, "path": "dir/test.txt"})
    assert r.body == b"hello world"
    assert [f.path for f in client.list_artifacts(run_id, "dir")] == ["dir/test.txt"]


def test_runs_under_an_http_proxied_root_list_and_download(api, client, mltrack_url, tmp_path):
    import mlflow

    root = f"{mltrack_url}/api/2.0/mlflow-artifacts/artifacts/{unique('http-root')}"
    exp_id = client.create_experiment(unique("http"), artifact_location=root)
    (tmp_path / "a.txt").write_text("0")
    (tmp_path / "b.txt").write_text("1")
    with mlflow.start_run(experiment_id=exp_id) as run:
        mlflow.log_artifact(str(tmp_path / "a.txt"))
        mlflow.log_artifact(str(tmp_path / "b.txt"), "dir")
    body = api.ok("GET", "/artifacts/list", run_id=run.info.run_id)
    assert body["root_uri"] == run.info.artifact_uri
    assert body["files"] == [{"path": "a.txt", "is_dir": False, "file_size": 1},
                             {"path": "dir", "is_dir": True}]
    body = api.ok("GET", "/artifacts/list", run_id=run.info.run_id, path="dir")
    assert body["files"] == [{"path": "dir/b.txt", "is_dir": False, "file_size": 1}]
    r = api.request("GET", "/get-artifact", query={"run_id": run.info.run_id, "path": "dir/b.txt"})
    assert r.status == 200 and r.body == b"1"


def test_a_logged_models_files_list_and_download(api, experiment):
    import mlflow

    class Echo(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input):
            return model_input

    info = mlflow.pyfunc.log_model(name="model", python_model=Echo())
    r = api.request("GET", f"{AJAX}/logged-models/{info.model_id}/artifacts/directories")
    assert r.status == 200, r.describe()
    assert "MLmodel" in [f["path"] for f in r.json()["files"]]
    r = api.request("GET", f"{AJAX}/logged-models/{info.model_id}/artifacts/files",
                    query={"artifact_file_path": "MLmodel"})
    assert r.status == 200 and info.model_id in r.body.decode()
    r = api.request("GET", f"{AJAX}/logged-models/{info.model_id}/artifacts/files")
    assert r.status == 400, r.describe()


# --------------------------------------------------------------------------- datasets, models


def test_search_datasets_summarises_an_experiments_inputs(api, client, experiment):
    from mlflow.entities import Dataset, DatasetInput, InputTag

    r = api.request("POST", AJAX + "/experiments/search-datasets", json_body={})
    assert r.status == 400
    assert "SearchDatasets request must specify at least one experiment_id." in r.json()["message"]
    r = api.request("POST", AJAX + "/experiments/search-datasets",
                    json_body={"experiment_ids": [str(i) for i in range(21)]})
    assert "SearchDatasets request cannot specify more than" in r.json()["message"]

    run_id = client.create_run(experiment.experiment_id).info.run_id
    dataset = Dataset(name="gold", digest="d1", source_type="local", source="s")
    client.log_inputs(run_id, [DatasetInput(dataset, [InputTag("mlflow.data.context", "training")])])
    r = api.request("POST", AJAX + "/experiments/search-datasets",
                    json_body={"experiment_ids": [experiment.experiment_id]})
    assert r.json()["dataset_summaries"] == [
        {"experiment_id": experiment.experiment_id, "name": "gold", "digest": "d1",
         "context": "training"}
    ]


def test_metrics_logged_against_a_model_belong_to_it(client, experiment):
    from mlflow.entities import Metric

    run = client.create_run(experiment.experiment_id)
    m1 = client.create_logged_model(experiment.experiment_id)
    m2 = client.create_logged_model(experiment.experiment_id)
    assert m1.name != m2.name  # MLflow names unnamed models at random
    client.log_metric(run.info.run_id, key="rmse", value=0.5, timestamp=123, step=1,
                      dataset_name="gold", dataset_digest="d1", model_id=m1.model_id)
    assert client.get_logged_model(m1.model_id).metrics == [
        Metric(key="rmse", value=0.5, timestamp=123, step=1, model_id=m1.model_id,
               dataset_name="gold", dataset_digest="d1", run_id=run.info.run_id)
    ]
    assert client.get_logged_model(m2.model_id).metrics == []
    found = client.search_logged_models(
        experiment_ids=[experiment.experiment_id],
        datasets=[{"dataset_name": "gold", "dataset_digest": "d1"}])
    assert [m.model_id for m in found] == [m1.model_id]
    found = client.search_logged_models(
        experiment_ids=[experiment.experiment_id], datasets=[{"dataset_name": "other"}])
    assert list(found) == []


def test_log_inputs_records_model_inputs(client, experiment):
    from mlflow.entities import LoggedModelInput

    run = client.create_run(experiment.experiment_id)
    model = client.create_logged_model(experiment_id=experiment.experiment_id)
    client.log_inputs(run.info.run_id, models=[LoggedModelInput(model_id=model.model_id)])
    inputs = client.get_run(run.info.run_id).inputs
    assert [m.model_id for m in inputs.model_inputs] == [model.model_id]
    found = client.search_runs([experiment.experiment_id])
    assert [m.model_id for r in found for m in r.inputs.model_inputs] == [model.model_id]
