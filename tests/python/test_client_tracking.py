"""Tracking acceptance tests with the unmodified ``mlflow`` Python client.

Every test works in its own experiment (unique name), so the suite can run against a
server that already holds data.  See conftest.py for MLTRACK_URL / MLTRACK_STRICT.
"""

from __future__ import annotations

import getpass
import math
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import mlflow
from mlflow.entities import RunStatus, ViewType
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException

from helpers import unique

RUN_ID = re.compile(r"^[0-9a-f]{32}$")


def now_ms() -> int:
    return int(time.time() * 1000)


def artifact_uri_of(exp_id: str, run_id: str) -> str:
    # The URI `mlflow server --serve-artifacts` hands out for a run (mlflow/server/handlers.py).
    return f"mlflow-artifacts:/{exp_id}/{run_id}/artifacts"


def tags_without_system(tags: dict) -> dict:
    return {k: v for k, v in tags.items() if not k.startswith("mlflow.")}


# --------------------------------------------------------------------------- experiments


def test_set_experiment_creates_then_reuses(client):
    name = unique("setexp")
    assert client.get_experiment_by_name(name) is None  # 404 -> None

    exp = mlflow.set_experiment(name)
    assert exp.name == name
    assert isinstance(exp.experiment_id, str) and exp.experiment_id
    assert exp.lifecycle_stage == "active"
    assert exp.artifact_location == f"mlflow-artifacts:/{exp.experiment_id}"
    assert exp.creation_time and abs(exp.creation_time - now_ms()) < 600_000

    again = mlflow.set_experiment(name)
    assert again.experiment_id == exp.experiment_id

    by_id = client.get_experiment(exp.experiment_id)
    by_name = client.get_experiment_by_name(name)
    for got in (by_id, by_name):
        assert got.experiment_id == exp.experiment_id
        assert got.name == name
        assert got.lifecycle_stage == "active"
        assert got.artifact_location == exp.artifact_location


# --------------------------------------------------------------------------- a full run


def test_run_lifecycle_params_metrics_tags(client, experiment):
    t0 = now_ms()
    with mlflow.start_run(run_name="lifecycle") as active:
        run_id = active.info.run_id
        assert RUN_ID.match(run_id), run_id
        assert active.info.experiment_id == experiment.experiment_id
        assert active.info.status == "RUNNING"
        assert active.info.lifecycle_stage == "active"
        assert active.info.run_name == "lifecycle"
        assert active.info.end_time is None
        assert active.info.artifact_uri == artifact_uri_of(experiment.experiment_id, run_id)
        assert mlflow.active_run().info.run_id == run_id

        mlflow.log_param("alpha", 0.5)
        mlflow.log_params({"model": "rf", "depth": 7, "empty": ""})
        mlflow.log_metric("loss", 3.0, step=0)
        mlflow.log_metric("loss", 2.0, step=1)
        mlflow.log_metric("loss", 1.5, step=2)
        mlflow.log_metrics({"acc": 0.75, "f1": 0.5}, step=4)
        mlflow.set_tag("team", "ml")
        mlflow.set_tags({"stage": "dev", "team": "ml2"})  # tags are mutable: last write wins

        mid = client.get_run(run_id)
        assert mid.info.status == "RUNNING"
        assert mid.info.end_time is None

    run = client.get_run(run_id)
    info, data = run.info, run.data
    assert info.run_id == run_id
    assert info.experiment_id == experiment.experiment_id
    assert info.status == "FINISHED"
    assert info.lifecycle_stage == "active"
    assert info.run_name == "lifecycle"
    # The client names the run after MLFLOW_TRACKING_USERNAME when it has one (auth on).
    expected_user = os.environ.get("MLFLOW_TRACKING_USERNAME") or getpass.getuser()
    assert info.user_id == expected_user
    assert info.start_time is not None and t0 - 5_000 <= info.start_time <= now_ms() + 5_000
    assert info.end_time is not None and info.end_time >= info.start_time
    assert info.artifact_uri == artifact_uri_of(experiment.experiment_id, run_id)

    # params are strings on the wire
    assert data.params == {"alpha": "0.5", "model": "rf", "depth": "7", "empty": ""}
    assert data.metrics == {"loss": 1.5, "acc": 0.75, "f1": 0.5}
    assert tags_without_system(data.tags) == {"team": "ml2", "stage": "dev"}
    assert data.tags["mlflow.runName"] == "lifecycle"
    assert data.tags["mlflow.user"] == expected_user
    assert "mlflow.source.name" in data.tags
    assert "mlflow.source.type" in data.tags

    hist = client.get_metric_history(run_id, "loss")
    assert [(m.key, m.step, m.value) for m in hist] == [
        ("loss", 0, 3.0), ("loss", 1, 2.0), ("loss", 2, 1.5)]
    assert all(isinstance(m.timestamp, int) and m.timestamp >= t0 - 5_000 for m in hist)
    acc = client.get_metric_history(run_id, "acc")
    assert [(m.step, m.value) for m in acc] == [(4, 0.75)]
    assert client.get_metric_history(run_id, "never-logged") == []


def test_end_run_with_explicit_status(client, experiment):
    run = mlflow.start_run()
    run_id = run.info.run_id
    mlflow.end_run(status="KILLED")
    assert mlflow.active_run() is None
    got = client.get_run(run_id)
    assert got.info.status == "KILLED"
    assert got.info.end_time is not None and got.info.end_time >= got.info.start_time

    created = client.create_run(experiment.experiment_id, run_name="manual")
    assert created.info.status == "RUNNING"
    client.set_terminated(created.info.run_id, status=RunStatus.to_string(RunStatus.FAILED))
    got = client.get_run(created.info.run_id)
    assert got.info.status == "FAILED"
    assert got.info.end_time is not None


def test_nested_runs_record_parent(client, experiment):
    with mlflow.start_run(run_name="parent") as parent:
        with mlflow.start_run(run_name="child-1", nested=True) as child1:
            assert mlflow.active_run().info.run_id == child1.info.run_id
            mlflow.log_param("which", "one")
        with mlflow.start_run(run_name="child-2", nested=True) as child2:
            mlflow.log_param("which", "two")
        assert mlflow.active_run().info.run_id == parent.info.run_id

    parent_id = parent.info.run_id
    p = client.get_run(parent_id)
    assert "mlflow.parentRunId" not in p.data.tags
    assert p.info.status == "FINISHED"
    for child, which in ((child1, "one"), (child2, "two")):
        c = client.get_run(child.info.run_id)
        assert c.data.tags["mlflow.parentRunId"] == parent_id
        assert c.data.params == {"which": which}
        assert c.info.status == "FINISHED"
        assert c.info.experiment_id == experiment.experiment_id

    children = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent_id}'",
        order_by=["attributes.run_name ASC"],
    )
    assert [r.info.run_id for r in children] == [child1.info.run_id, child2.info.run_id]
    assert children.token is None


# --------------------------------------------------------------------------- metrics


def test_metric_history_1000_points_in_order(client, experiment):
    run_id = client.create_run(experiment.experiment_id).info.run_id
    base = now_ms() - 10_000_000
    values = {step: (step * 0.37 - 100.0) / 3.0 for step in range(1000)}
    # Send the batch in a scrambled order: the server must return history sorted
    # (by timestamp, step, value), and timestamps rise with the step here.
    order = sorted(range(1000), key=lambda s: (s * 7919) % 1000)
    client.log_batch(run_id, metrics=[
        Metric("curve", values[s], base + s * 10, s) for s in order])
    # A few through log_metric too (one request each), on another key.
    for step in range(5):
        client.log_metric(run_id, "single", float(step) * 1.5, timestamp=base + step, step=step)

    hist = client.get_metric_history(run_id, "curve")
    assert len(hist) == 1000
    assert [m.step for m in hist] == list(range(1000))
    assert [m.value for m in hist] == [values[s] for s in range(1000)]
    assert [m.timestamp for m in hist] == [base + s * 10 for s in range(1000)]
    assert {m.key for m in hist} == {"curve"}

    single = client.get_metric_history(run_id, "single")
    assert [(m.step, m.value, m.timestamp) for m in single] == [
        (s, float(s) * 1.5, base + s) for s in range(5)]

    data = client.get_run(run_id).data
    assert data.metrics == {"curve": values[999], "single": 6.0}


def test_latest_metric_is_value_at_max_step(client, experiment):
    run_id = client.create_run(experiment.experiment_id).info.run_id
    t = now_ms()
    # max step wins over logging order
    client.log_metric(run_id, "m", 5.0, timestamp=t, step=10)
    client.log_metric(run_id, "m", 1.0, timestamp=t + 1000, step=3)
    # same step: the newer timestamp wins over logging order
    client.log_metric(run_id, "n", 7.0, timestamp=t + 5000, step=2)
    client.log_metric(run_id, "n", 8.0, timestamp=t + 1000, step=2)
    # same step and timestamp: the larger value wins
    client.log_metric(run_id, "o", 4.0, timestamp=t, step=0)
    client.log_metric(run_id, "o", 9.0, timestamp=t, step=0)
    client.log_metric(run_id, "o", 2.0, timestamp=t, step=0)
    # negative steps are allowed
    client.log_metric(run_id, "neg", 1.0, timestamp=t, step=-5)
    client.log_metric(run_id, "neg", 2.0, timestamp=t + 1, step=-7)

    run = client.get_run(run_id)
    assert run.data.metrics == {"m": 5.0, "n": 7.0, "o": 9.0, "neg": 1.0}

    hist = client.get_metric_history(run_id, "m")
    assert sorted((m.step, m.value) for m in hist) == [(3, 1.0), (10, 5.0)]
    # history is ordered by timestamp, then step, then value
    assert [(m.timestamp, m.step, m.value) for m in hist] == [(t, 10, 5.0), (t + 1000, 3, 1.0)]
    o = client.get_metric_history(run_id, "o")
    assert [m.value for m in o] == [2.0, 4.0, 9.0]

    # and search sees the same latest values
    found = client.search_runs([experiment.experiment_id], filter_string="metrics.m = 5")
    assert [r.info.run_id for r in found] == [run_id]
    assert client.search_runs([experiment.experiment_id], filter_string="metrics.m = 1") == []


def test_nan_and_inf_metrics_round_trip(client, experiment, strict):
    run_id = client.create_run(experiment.experiment_id).info.run_id
    t = now_ms()
    client.log_metric(run_id, "nan", float("nan"), timestamp=t, step=0)
    client.log_metric(run_id, "pinf", float("inf"), timestamp=t, step=0)
    client.log_metric(run_id, "ninf", float("-inf"), timestamp=t, step=0)
    client.log_batch(run_id, metrics=[
        Metric("bnan", float("nan"), t, 1), Metric("binf", float("inf"), t, 1)])

    def is_pinf(v):
        # The reference SQL store clamps +/-Inf to +/-max double (mlflow/store/tracking/sqlalchemy_store.py);
        # mltrack must keep the real infinity.
        return v == math.inf or (not strict and v == sys.float_info.max)

    def is_ninf(v):
        return v == -math.inf or (not strict and v == -sys.float_info.max)

    m = client.get_run(run_id).data.metrics
    assert set(m) == {"nan", "pinf", "ninf", "bnan", "binf"}
    assert math.isnan(m["nan"]) and math.isnan(m["bnan"])
    assert is_pinf(m["pinf"]) and is_pinf(m["binf"])
    assert is_ninf(m["ninf"])

    (h,) = client.get_metric_history(run_id, "nan")
    assert math.isnan(h.value) and h.step == 0 and h.timestamp == t
    (h,) = client.get_metric_history(run_id, "pinf")
    assert is_pinf(h.value)
    (h,) = client.get_metric_history(run_id, "ninf")
    assert is_ninf(h.value)


# --------------------------------------------------------------------------- params


def test_params_are_immutable(client, experiment):
    with mlflow.start_run() as run:
        mlflow.log_param("p", "1")
        mlflow.log_param("p", "1")  # same value again: fine
        mlflow.log_params({"p": "1", "q": "x"})  # same value through log-batch: fine
        with pytest.raises(MlflowException) as err:
            mlflow.log_param("p", "2")
        assert err.value.error_code == "INVALID_PARAMETER_VALUE"
        assert "Changing param values is not allowed" in str(err.value)
        with pytest.raises(MlflowException) as err:
            client.log_batch(run.info.run_id, params=[Param("q", "y")])
        assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    got = client.get_run(run.info.run_id)
    assert got.data.params == {"p": "1", "q": "x"}
    assert got.info.status == "FINISHED"


def test_log_batch_params_metrics_tags(client, experiment):
    run_id = client.create_run(experiment.experiment_id).info.run_id
    t = now_ms()
    client.log_batch(
        run_id,
        metrics=[Metric("a", 1.0, t, 0), Metric("a", 2.0, t + 1, 1), Metric("b", -3.25, t, 0)],
        params=[Param(f"p{i}", str(i)) for i in range(100)],
        tags=[RunTag("t1", "v1"), RunTag("t2", "")],
    )
    run = client.get_run(run_id)
    assert run.data.metrics == {"a": 2.0, "b": -3.25}
    assert run.data.params == {f"p{i}": str(i) for i in range(100)}
    assert tags_without_system(run.data.tags) == {"t1": "v1", "t2": ""}
    client.delete_tag(run_id, "t1")
    assert tags_without_system(client.get_run(run_id).data.tags) == {"t2": ""}


# --------------------------------------------------------------------------- artifacts


def test_artifacts_upload_list_download(client, experiment, tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    binary = bytes(range(256)) * 64 + os.urandom(70_000)
    (src / "top.bin").write_bytes(binary)
    (src / "notes.txt").write_text("hello\nworld\n")
    (src / "sub" / "deep.json").write_text('{"k": [1, 2, 3]}')
    (src / "sub" / "with space.txt").write_text("spaced name")
    single = tmp_path / "single.csv"
    single.write_text("a,b\n1,2\n")

    with mlflow.start_run() as run:
        mlflow.log_artifact(str(single))
        mlflow.log_artifact(str(single), artifact_path="copies")
        mlflow.log_artifacts(str(src), artifact_path="dir")
    run_id = run.info.run_id

    def listing(path=None):
        return sorted((f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run_id, path))

    assert listing() == [("copies", True, None), ("dir", True, None), ("single.csv", False, 8)]
    assert listing("dir") == [
        ("dir/notes.txt", False, 12), ("dir/sub", True, None), ("dir/top.bin", False, len(binary))]
    assert listing("dir/sub") == [
        ("dir/sub/deep.json", False, 16), ("dir/sub/with space.txt", False, 11)]
    assert listing("copies") == [("copies/single.csv", False, 8)]
    assert listing("no-such-dir") == []

    # one file
    out = tmp_path / "out1"
    out.mkdir()
    path = client.download_artifacts(run_id, "dir/top.bin", str(out))
    assert open(path, "rb").read() == binary

    # a whole directory, through the fluent helper
    out = tmp_path / "out2"
    out.mkdir()
    local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="dir", dst_path=str(out))
    got = {os.path.relpath(os.path.join(d, f), local): open(os.path.join(d, f), "rb").read()
           for d, _, files in os.walk(local) for f in files}
    assert got == {
        "top.bin": binary,
        "notes.txt": b"hello\nworld\n",
        os.path.join("sub", "deep.json"): b'{"k": [1, 2, 3]}',
        os.path.join("sub", "with space.txt"): b"spaced name",
    }

    # the run's whole artifact root
    out = tmp_path / "out3"
    out.mkdir()
    root = client.download_artifacts(run_id, "", str(out))
    assert open(os.path.join(root, "single.csv"), "rb").read() == b"a,b\n1,2\n"
    assert open(os.path.join(root, "copies", "single.csv"), "rb").read() == b"a,b\n1,2\n"
    assert open(os.path.join(root, "dir", "sub", "with space.txt"), "rb").read() == b"spaced name"


# --------------------------------------------------------------------------- search


def test_search_runs_filter_and_order(client, experiment):
    exp_id = experiment.experiment_id
    specs = [  # (name, model param, rmse or None)
        ("r-0.5", "rf", 0.5),
        ("r-0.2", "rf", 0.2),
        ("r-0.9", "rf", 0.9),
        ("r-1.0", "rf", 1.0),    # excluded: not strictly < 1
        ("r-1.5", "rf", 1.5),    # excluded: too big
        ("l-0.1", "lr", 0.1),    # excluded: wrong model
        ("r-none", "rf", None),  # excluded: no rmse metric
        ("r-neg", "rf", -2.0),
    ]
    ids = {}
    for name, model, rmse in specs:
        with mlflow.start_run(run_name=name) as run:
            mlflow.log_param("model", model)
            if rmse is not None:
                mlflow.log_metric("rmse", rmse)
        ids[name] = run.info.run_id

    expected = [ids["r-neg"], ids["r-0.2"], ids["r-0.5"], ids["r-0.9"]]
    flt = "metrics.rmse < 1 and params.model = 'rf'"

    found = client.search_runs([exp_id], filter_string=flt, order_by=["metrics.rmse ASC"])
    assert [r.info.run_id for r in found] == expected
    assert found.token is None
    assert [r.data.metrics["rmse"] for r in found] == [-2.0, 0.2, 0.5, 0.9]
    assert all(r.data.params == {"model": "rf"} for r in found)
    assert all(r.info.status == "FINISHED" for r in found)

    desc = client.search_runs([exp_id], filter_string=flt, order_by=["metrics.rmse DESC"])
    assert [r.info.run_id for r in desc] == expected[::-1]

    # the fluent API (output_format="list" needs no pandas)
    fluent = mlflow.search_runs([exp_id], filter_string=flt, order_by=["metrics.rmse ASC"],
                                output_format="list")
    assert [r.info.run_id for r in fluent] == expected

    # runs without the metric sort last
    everything = client.search_runs([exp_id], order_by=["metrics.rmse ASC"])
    assert [r.info.run_id for r in everything] == [
        ids[n] for n in ("r-neg", "l-0.1", "r-0.2", "r-0.5", "r-0.9", "r-1.0", "r-1.5", "r-none")]

    # a few more filter forms
    by_name = client.search_runs([exp_id], filter_string="attributes.run_name = 'r-1.5'")
    assert [r.info.run_id for r in by_name] == [ids["r-1.5"]]
    lr = client.search_runs([exp_id], filter_string="params.model != 'rf'")
    assert [r.info.run_id for r in lr] == [ids["l-0.1"]]
    like = client.search_runs([exp_id], filter_string="attributes.run_name LIKE 'r-0.%'",
                              order_by=["attributes.run_name DESC"])
    assert [r.info.run_id for r in like] == [ids["r-0.9"], ids["r-0.5"], ids["r-0.2"]]


def test_search_runs_pages_through_2500_runs(client, experiment):
    exp_id = experiment.experiment_id
    base = now_ms() - 3_600_000
    n = 2500

    def create(i):
        # distinct start times make the default order (start_time DESC) total
        return client.create_run(exp_id, start_time=base + i).info.run_id

    with ThreadPoolExecutor(max_workers=16) as pool:
        created = list(pool.map(create, range(n)))
    assert len(set(created)) == n

    pages = []
    token = None
    while True:
        page = client.search_runs([exp_id], max_results=1000, page_token=token)
        pages.append([r.info.run_id for r in page])
        token = page.token
        if token is None:
            break
        assert isinstance(token, str) and token
        assert len(pages) <= 3, "too many pages"

    assert [len(p) for p in pages] == [1000, 1000, 500]
    seen = [rid for p in pages for rid in p]
    assert len(set(seen)) == n
    assert set(seen) == set(created)
    # default order: start_time DESC
    assert seen == created[::-1]


# --------------------------------------------------------------------------- deletion


def test_delete_and_restore_run(client, experiment):
    exp_id = experiment.experiment_id
    keep = client.create_run(exp_id).info.run_id
    gone = client.create_run(exp_id).info.run_id

    client.delete_run(gone)
    assert client.get_run(gone).info.lifecycle_stage == "deleted"
    assert client.get_run(keep).info.lifecycle_stage == "active"

    def ids(view):
        return sorted(r.info.run_id for r in client.search_runs([exp_id], run_view_type=view))

    assert ids(ViewType.ACTIVE_ONLY) == [keep]
    assert ids(ViewType.DELETED_ONLY) == [gone]
    assert ids(ViewType.ALL) == sorted([keep, gone])
    # fluent default view is ACTIVE_ONLY
    assert [r.info.run_id for r in mlflow.search_runs([exp_id], output_format="list")] == [keep]

    client.restore_run(gone)
    assert client.get_run(gone).info.lifecycle_stage == "active"
    assert ids(ViewType.ACTIVE_ONLY) == sorted([keep, gone])
    assert ids(ViewType.DELETED_ONLY) == []


def test_delete_experiment_deletes_its_runs(client):
    name = unique("delexp")
    exp_id = mlflow.set_experiment(name).experiment_id
    runs = [client.create_run(exp_id).info.run_id for _ in range(3)]

    client.delete_experiment(exp_id)

    exp = client.get_experiment_by_name(name)
    assert exp is not None
    assert exp.experiment_id == exp_id
    assert exp.lifecycle_stage == "deleted"
    assert client.get_experiment(exp_id).lifecycle_stage == "deleted"
    for rid in runs:
        assert client.get_run(rid).info.lifecycle_stage == "deleted"

    assert client.search_runs([exp_id], run_view_type=ViewType.ACTIVE_ONLY) == []
    deleted = client.search_runs([exp_id], run_view_type=ViewType.DELETED_ONLY)
    assert sorted(r.info.run_id for r in deleted) == sorted(runs)

    active_names = {e.name for e in client.search_experiments(
        view_type=ViewType.ACTIVE_ONLY, filter_string=f"name = '{name}'")}
    deleted_names = {e.name for e in client.search_experiments(
        view_type=ViewType.DELETED_ONLY, filter_string=f"name = '{name}'")}
    assert active_names == set()
    assert deleted_names == {name}

    # the name stays reserved while the experiment is deleted
    with pytest.raises(MlflowException) as err:
        client.create_experiment(name)
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"

    client.restore_experiment(exp_id)
    assert client.get_experiment_by_name(name).lifecycle_stage == "active"
    for rid in runs:
        assert client.get_run(rid).info.lifecycle_stage == "active"
