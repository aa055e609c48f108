"""The model registry through the unmodified ``mlflow`` client: register, stages, aliases, search,
download by stage and alias, rename, delete, and a pyfunc model logged, registered and loaded."""

from __future__ import annotations

import filecmp
import os
import warnings

import pytest

from helpers import unique

warnings.filterwarnings("ignore", category=FutureWarning)

MLMODEL = """artifact_path: model
flavors:
  python_function:
    loader_module: not_a_real_module
utc_time_created: '2026-01-01 00:00:00.000000'
"""


def _log_model_dir(tmp_path, mlflow):
    """Logs a directory with an MLmodel file as the run's `model` artifacts; returns (run_id, dir)."""
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "MLmodel").write_text(MLMODEL)
    (model_dir / "weights.bin").write_bytes(os.urandom(100_000))
    (model_dir / "sub").mkdir()
    (model_dir / "sub" / "labels.json").write_text('{"a": 1}')
    with mlflow.start_run() as run:
        mlflow.log_param("model", "rf")
        mlflow.log_artifacts(str(model_dir), artifact_path="model")
    return run.info.run_id, model_dir


def _same_tree(a, b):
    # The client itself writes `registered_model_meta` beside a model downloaded by models:/ URI.
    cmp = filecmp.dircmp(a, b, ignore=["registered_model_meta"])
    assert not cmp.left_only and not cmp.right_only, (cmp.left_only, cmp.right_only)
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    assert not mismatch and not errors, (mismatch, errors)
    for sub in cmp.common_dirs:
        _same_tree(os.path.join(a, sub), os.path.join(b, sub))


def test_register_stage_alias_download_rename_delete(experiment, client, tmp_path):
    import mlflow
    from mlflow.exceptions import MlflowException

    name = unique("airbnb-price")
    run_id, model_dir = _log_model_dir(tmp_path, mlflow)

    v1 = mlflow.register_model(f"runs:/{run_id}/model", name)
    v2 = mlflow.register_model(f"runs:/{run_id}/model", name)
    assert (v1.version, v2.version) == ("1", "2")
    assert v1.status == "READY" and v1.current_stage == "None"
    assert v1.run_id == run_id
    assert v1.source.endswith(f"{run_id}/artifacts/model")

    client.transition_model_version_stage(name, "1", "Staging")
    mv = client.transition_model_version_stage(name, "1", "production")
    assert mv.current_stage == "Production"
    mv = client.transition_model_version_stage(name, "2", "Production", archive_existing_versions=True)
    assert mv.current_stage == "Production"
    assert client.get_model_version(name, "1").current_stage == "Archived"

    client.set_registered_model_alias(name, "champion", "2")
    by_alias = client.get_model_version_by_alias(name, "champion")
    assert by_alias.version == "2" and "champion" in by_alias.aliases
    rm = client.get_registered_model(name)
    assert rm.aliases == {"champion": "2"}
    assert sorted((v.version, v.current_stage) for v in rm.latest_versions) == [("1", "Archived"), ("2", "Production")]

    latest = client.get_latest_versions(name, stages=["Production"])
    assert [v.version for v in latest] == ["2"]

    found = client.search_registered_models(filter_string=f"name = '{name}'")
    assert [m.name for m in found] == [name]
    assert client.search_registered_models(filter_string=f"name LIKE '{name[:12]}%'")
    versions = client.search_model_versions(f"name = '{name}' and run_id = '{run_id}'")
    assert sorted(v.version for v in versions) == ["1", "2"]
    assert client.search_model_versions(f"name = '{name}' and version_number = 2")[0].version == "2"

    for uri in (f"models:/{name}/Production", f"models:/{name}@champion", f"models:/{name}/2"):
        dest = tmp_path / ("dl-" + uri.replace("/", "_").replace(":", "_").replace("@", "_"))
        path = mlflow.artifacts.download_artifacts(uri, dst_path=str(dest))
        _same_tree(str(model_dir), path)

    client.set_model_version_tag(name, "2", "validated", "yes")
    client.set_registered_model_tag(name, "team", "pricing")
    assert client.get_model_version(name, "2").tags == {"validated": "yes"}
    client.update_registered_model(name, description="SF Airbnb price")
    assert client.get_registered_model(name).description == "SF Airbnb price"

    new_name = name + "-renamed"
    client.rename_registered_model(name, new_name)
    assert client.get_model_version(new_name, "2").current_stage == "Production"
    assert client.get_model_version_by_alias(new_name, "champion").version == "2"
    with pytest.raises(MlflowException) as e:
        client.get_registered_model(name)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    client.delete_registered_model_alias(new_name, "champion")
    with pytest.raises(MlflowException):
        client.get_model_version_by_alias(new_name, "champion")
    client.delete_model_version(new_name, "1")
    assert [v.version for v in client.search_model_versions(f"name = '{new_name}'")] == ["2"]
    client.delete_registered_model(new_name)
    assert client.search_registered_models(filter_string=f"name = '{new_name}'") == []
    # The name is free again, and versions start over.
    assert mlflow.register_model(f"runs:/{run_id}/model", new_name).version == "1"


def test_bad_registry_input_changes_nothing(experiment, client, tmp_path):
    import mlflow
    from mlflow.exceptions import MlflowException

    name = unique("guarded")
    run_id, _ = _log_model_dir(tmp_path, mlflow)
    mlflow.register_model(f"runs:/{run_id}/model", name)
    before = client.get_registered_model(name)

    def fails(code, fn, *args, **kwargs):
        with pytest.raises(MlflowException) as e:
            fn(*args, **kwargs)
        assert e.value.error_code == code, e.value
        return str(e.value)

    msg = fails("INVALID_PARAMETER_VALUE", client.transition_model_version_stage, name, "1", "Prod")
    assert "Invalid Model Version stage: Prod" in msg
    fails("INVALID_PARAMETER_VALUE", client.set_registered_model_alias, name, "latest", "1")
    fails("INVALID_PARAMETER_VALUE", client.set_registered_model_alias, name, "v1", "1")
    fails("INVALID_PARAMETER_VALUE", client.create_registered_model, "a/b")
    fails("INVALID_PARAMETER_VALUE", client.create_registered_model, "a:b")
    fails("RESOURCE_DOES_NOT_EXIST", client.get_registered_model, unique("nope"))
    fails("RESOURCE_DOES_NOT_EXIST", client.get_model_version, name, "99")
    fails("RESOURCE_DOES_NOT_EXIST", client.set_registered_model_alias, name, "champion", "99")
    fails("INVALID_PARAMETER_VALUE", client.create_model_version, name, "mlflow-artifacts:/0/../../etc", run_id=run_id)
    fails("INVALID_PARAMETER_VALUE", client.create_model_version, name, "mlflow-artifacts:/0/%2E%2E/x", run_id=run_id)
    fails("INVALID_PARAMETER_VALUE", client.create_model_version, name, "/etc/passwd")
    fails("INVALID_PARAMETER_VALUE", client.transition_model_version_stage, name, "1", "None", archive_existing_versions=True)
    assert client.get_registered_model(name) == before
    assert [v.version for v in client.search_model_versions(f"name = '{name}'")] == ["1"]


def test_pyfunc_model_logged_registered_and_loaded_by_alias(experiment, client):
    import mlflow
    import pandas as pd

    class AddN(mlflow.pyfunc.PythonModel):
        def __init__(self, n):
            self.n = n

        def predict(self, context, model_input, params=None):
            return model_input["x"] * 2 + self.n

    name = unique("pyfunc")
    with mlflow.start_run() as run:
        info = mlflow.pyfunc.log_model(name="model", python_model=AddN(3))
    assert info.model_id.startswith("m-")
    got = client.get_run(run.info.run_id)
    assert [o.model_id for o in got.outputs.model_outputs] == [info.model_id]

    mv = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
    assert mv.version == "1"
    client.set_registered_model_alias(name, "champion", mv.version)
    loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    frame = pd.DataFrame({"x": [1.0, 2.5, -4.0]})
    assert list(loaded.predict(frame)) == [5.0, 8.0, -5.0]
    same = mlflow.pyfunc.load_model(f"models:/{name}/1")
    assert list(same.predict(frame)) == [5.0, 8.0, -5.0]
    logged = client.get_logged_model(info.model_id)
    assert logged.status.name == "READY" or str(logged.status).endswith("READY")
