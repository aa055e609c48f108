#!/usr/bin/env python3
"""Write an MLflow tracking + registry store with MLflow's own store code (no server).

The fixture for `mltrack import`: a store as MLflow 3.17.2 itself writes it, on SQLite, PostgreSQL
or the file store, with everything an importer must carry over -- experiments (one deleted) with
tags, runs with params / metric histories (NaN, +-inf, tiny and negative values) / tags / statuses /
parents / datasets / artifacts, deleted runs, MLflow 3 logged models (params, tags, metrics,
artifacts, READY / PENDING), and a model registry (descriptions, tags, stages, aliases, a deleted
version).

    python tests/python/mlflow_store.py --store sqlite:////tmp/src/mlflow.db \\
        --artifact-root /tmp/src/artifacts --runs 300 [--seed 7] [--fresh]

--store is `sqlite:///PATH`, `postgresql://USER:PW@HOST:PORT/DB` (the database is created when it
is missing) or a directory (the file store). --fresh removes an existing store (the SQLite file,
the database, the directory) and the artifact root first. Content is a pure function of --seed and
--runs except what MLflow assigns itself (run / model ids, creation and update times of experiments,
logged models and the registry). Run start/end times and metric timestamps are set explicitly.

Prints one JSON summary line to stdout; progress (runs/s) goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from urllib.parse import urlparse

BASE_TIME_MS = 1_700_000_000_000  # 2023-11-14T22:13:20Z: every run starts at a fixed offset from it
N_PARAMS = 20
N_METRICS = 20
N_STEPS = 10
EXPERIMENTS = [
    ("price-regression", {"team": "pricing", "project": "airbnb", "mlflow.note.content": "Price models"}),
    ("churn-classifier", {"team": "growth", "priority": "high"}),
    ("ranking / ünïcode", {"team": "search", "owner": "zoë"}),
]
DELETED_EXPERIMENT = ("abandoned-experiment", {"team": "nobody"})
STATUSES = ["FINISHED"] * 6 + ["FAILED", "KILLED", "RUNNING"]
USERS = ["alice", "bob", "carol", "dave"]
SOURCES = ["train.py", "notebooks/explore.ipynb", "pipelines/fit.py"]


def is_file_store(uri: str) -> bool:
    return "://" not in uri


def prepare_store(uri: str, artifact_root: Path, fresh: bool) -> str:
    """Normalises the store URI (absolute file-store path), removes an old store when `fresh`,
    and creates the PostgreSQL database when it is missing."""
    if fresh and artifact_root.exists():
        shutil.rmtree(artifact_root)
    artifact_root.mkdir(parents=True, exist_ok=True)
    if is_file_store(uri):
        path = Path(uri).resolve()
        if fresh and path.exists():
            shutil.rmtree(path)
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
        return str(path)
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///"):])
        if fresh and path.exists():
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        return uri
    if uri.startswith(("postgresql://", "postgresql+psycopg2://")):
        ensure_postgres_database(uri, drop=fresh)
        return sqlalchemy_uri(uri)
    sys.exit(f"unsupported --store {uri!r}: sqlite:///…, postgresql://…/db or a directory")


def sqlalchemy_uri(uri: str) -> str:
    """SQLAlchemy 2.1 maps a bare `postgresql://` to psycopg 3; the pinned driver is psycopg2."""
    if uri.startswith("postgresql://"):
        return "postgresql+psycopg2://" + uri[len("postgresql://"):]
    return uri


def ensure_postgres_database(uri: str, drop: bool) -> None:
    import psycopg2
    from psycopg2 import sql

    parsed = urlparse(uri.replace("postgresql+psycopg2://", "postgresql://"))
    dbname = parsed.path.lstrip("/")
    admin = psycopg2.connect(
        host=parsed.hostname, port=parsed.port or 5432, user=parsed.username,
        password=parsed.password, dbname="postgres",
    )
    admin.autocommit = True
    with admin.cursor() as cur:
        if drop:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
        if cur.fetchone() is None:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    admin.close()


def metric_value(rng: random.Random, run_idx: int, metric_idx: int, step: int) -> float:
    """Mostly ordinary decreasing losses; a few runs carry the values an importer trips over."""
    special = (run_idx * 31 + metric_idx * 7 + step) % 97
    if metric_idx == 17 and special < 3:
        return [math.nan, math.inf, -math.inf][special]
    if metric_idx == 18:
        return [-1.5, 1e-300, -1e-300, 0.0, -0.0, 1e300][(run_idx + step) % 6]
    if metric_idx == 19 and step == 9 and run_idx % 5 == 0:
        return math.nan
    return round(rng.uniform(0.5, 2.0) / (1 + step) - (metric_idx % 3) * 0.1, 6)


def make_datasets(rng: random.Random):
    from mlflow.entities import Dataset

    pool = []
    for i in range(6):
        schema = {"mlflow_colspec": [
            {"type": "double", "name": "bedrooms", "required": True},
            {"type": "long", "name": "price", "required": True},
            {"type": "string", "name": f"col_{i}", "required": False},
        ]}
        profile = {"num_rows": 1000 * (i + 1), "num_elements": 3000 * (i + 1)}
        pool.append(Dataset(
            name=f"dataset-{i}",
            digest=f"{rng.getrandbits(32):08x}",
            source_type=["local", "http", "delta_table"][i % 3],
            source=json.dumps({"uri": f"file:///data/set-{i}.parquet"}),
            schema=json.dumps(schema),
            profile=json.dumps(profile),
        ))
    return pool


def write_artifact_tree(root: Path, rng: random.Random, idx: int) -> None:
    (root / "plots" / "deep").mkdir(parents=True, exist_ok=True)
    (root / "model").mkdir(parents=True, exist_ok=True)
    (root / "README.txt").write_text(f"run artifact set {idx}\nsecond line ünïcode\n")
    (root / "metrics.json").write_text(json.dumps({"rmse": rng.random(), "idx": idx}, sort_keys=True))
    (root / "plots" / "loss.csv").write_text("".join(f"{s},{rng.random():.6f}\n" for s in range(50)))
    (root / "plots" / "deep" / "weights.bin").write_bytes(rng.randbytes(4096 + idx))
    (root / "model" / "MLmodel").write_text("flavors:\n  python_function:\n    loader_module: x\n")
    (root / "empty.txt").write_text("")


def fast_commits() -> None:
    """Commits without waiting for the disk (SQLite `synchronous=OFF`, PostgreSQL
    `synchronous_commit=off`): the same rows, 10-50x faster on a slow fsync; a crash mid-way only
    loses the fixture, which is regenerated anyway."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _on_connect(dbapi_conn, _record):
        module = type(dbapi_conn).__module__
        cur = dbapi_conn.cursor()
        if module.startswith("sqlite3"):
            cur.execute("PRAGMA synchronous=OFF")
        elif module.startswith("psycopg2"):
            cur.execute("SET synchronous_commit TO off")
            dbapi_conn.commit()
        cur.close()


def generate(args) -> dict:
    import mlflow  # imported after MLFLOW_ALLOW_FILE_STORE is set
    from mlflow import MlflowClient
    from mlflow.entities import DatasetInput, InputTag, LoggedModelOutput, Metric, Param, RunTag

    artifact_root = Path(args.artifact_root).resolve()
    store = prepare_store(args.store, artifact_root, args.fresh)
    if not is_file_store(store):
        fast_commits()
        # What `mlflow server --default-artifact-root` exports: the Default experiment (created by
        # the SQL store's first migration) gets `<root>/default/0` instead of ./mlruns/0 in the cwd.
        # (The file store ignores it: its Default experiment's location is the plain path <store>/0.)
        os.environ["_MLFLOW_SERVER_ARTIFACT_ROOT"] = artifact_root.as_uri() + "/default"
    # The SQL registry resolves a `models:/m-…` source through the *global* tracking URI.
    mlflow.set_tracking_uri(store)
    mlflow.set_registry_uri(store)
    client = MlflowClient(tracking_uri=store, registry_uri=store)
    rng = random.Random(args.seed)
    counts = dict(experiments=1, runs=0, deleted_runs=0, params=0, metric_points=0, datasets=0,
                  dataset_inputs=0, logged_models=0, models=0, versions=0, aliases=0, artifacts=0)
    t0 = time.monotonic()

    exp_ids = ["0"]
    for name, tags in EXPERIMENTS:
        exp_ids.append(client.create_experiment(
            f"{name}-{args.seed}", artifact_location=(artifact_root / name.split(" ")[0]).as_uri(), tags=tags))
        counts["experiments"] += 1
    deleted_exp = client.create_experiment(
        f"{DELETED_EXPERIMENT[0]}-{args.seed}",
        artifact_location=(artifact_root / "abandoned").as_uri(), tags=DELETED_EXPERIMENT[1])
    counts["experiments"] += 1

    datasets = make_datasets(rng)
    used_datasets = set()
    run_ids: list[str] = []
    run_exp: dict[str, str] = {}
    runs_with_artifacts = set(rng.sample(range(1, max(args.runs, 2)), min(5, max(args.runs - 1, 1))))
    tmp = Path(tempfile.mkdtemp(prefix="mlflow-store-"))
    last_report = time.monotonic()

    def make_run(i: int, exp_id: str, allow_parent: bool = True) -> str:
        start = BASE_TIME_MS + i * 60_000 + rng.randrange(1000)
        tags = {
            "mlflow.user": rng.choice(USERS),
            "mlflow.source.name": rng.choice(SOURCES),
            "mlflow.source.type": "LOCAL",
            "stage": rng.choice(["dev", "prod", "exp"]),
            "idx": str(i),
        }
        siblings = [r for r in run_ids if run_exp[r] == exp_id]
        if allow_parent and siblings and rng.random() < 0.10:
            tags["mlflow.parentRunId"] = rng.choice(siblings)
        run = client.create_run(exp_id, start_time=start, tags=tags, run_name=f"run-{i:05d}")
        rid = run.info.run_id
        params = [Param(f"p{k:02d}", str(rng.choice([rng.randrange(1000), round(rng.random(), 4),
                                                         "adam", "sgd", "a long value " * 3])))
                  for k in range(N_PARAMS)]
        metrics = [Metric(f"m{k:02d}", metric_value(rng, i, k, s), start + 1000 * (s + 1), s)
                   for k in range(N_METRICS) for s in range(N_STEPS)]
        client.log_batch(rid, metrics=metrics, params=params,
                         tags=[RunTag("mlflow.note.content", f"note for run {i}")] if i % 7 == 0 else [])
        counts["params"] += len(params)
        counts["metric_points"] += len(metrics)
        if rng.random() < 0.10:
            chosen = rng.sample(range(len(datasets)), rng.choice([1, 2]))
            inputs = [DatasetInput(datasets[d], tags=[InputTag("mlflow.data.context", ctx)])
                      for d, ctx in zip(chosen, ["train", "eval"])]
            client.log_inputs(rid, datasets=inputs)
            used_datasets.update(chosen)
            counts["dataset_inputs"] += len(inputs)
        if i in runs_with_artifacts:
            d = tmp / f"a{i}"
            write_artifact_tree(d, rng, i)
            client.log_artifacts(rid, str(d))
            client.log_artifact(rid, str(d / "README.txt"), artifact_path="extra/copy")
            counts["artifacts"] += sum(1 for p in d.rglob("*") if p.is_file()) + 1
        status = rng.choice(STATUSES)
        if status != "RUNNING":
            client.set_terminated(rid, status, end_time=start + 1000 * (N_STEPS + 1) + rng.randrange(5000))
        run_ids.append(rid)
        run_exp[rid] = exp_id
        counts["runs"] += 1
        return rid

    # A few runs in the Default experiment, the rest spread over the three live experiments.
    n_default = min(3, args.runs)
    for i in range(args.runs):
        exp_id = "0" if i < n_default else exp_ids[1 + rng.randrange(3)]
        make_run(i, exp_id)
        if time.monotonic() - last_report > 10:
            rate = (i + 1) / (time.monotonic() - t0)
            print(f"{i + 1}/{args.runs} runs, {rate:.1f} runs/s", file=sys.stderr, flush=True)
            last_report = time.monotonic()
    # ~2 % deleted runs (never the first, so the Default experiment keeps live runs).
    deleted_runs = set(rng.sample(run_ids[n_default:], max(1, len(run_ids) // 50) if len(run_ids) > n_default else 0))
    for rid in sorted(deleted_runs, key=run_ids.index):
        client.delete_run(rid)
        counts["deleted_runs"] += 1
    # The deleted experiment keeps two runs.
    for j in range(2):
        make_run(args.runs + j, deleted_exp, allow_parent=False)
    client.delete_experiment(deleted_exp)
    counts["datasets"] = len(used_datasets)
    gen_runs_s = time.monotonic() - t0
    print(f"{args.runs} runs in {gen_runs_s:.1f} s, {args.runs / max(gen_runs_s, 1e-9):.1f} runs/s",
          file=sys.stderr, flush=True)

    # MLflow 3 logged models: some READY, one left PENDING, one FAILED; metrics against one.
    live_runs = [r for r in run_ids if run_exp[r] != deleted_exp and r not in deleted_runs]
    logged = []
    for k in range(4):
        src = live_runs[(k * 7 + 3) % len(live_runs)]
        lm = client.create_logged_model(
            run_exp[src], name=f"model-{k}", source_run_id=src,
            params={"alpha": str(0.1 * (k + 1)), "max_depth": str(3 + k)},
            tags={"framework": ["sklearn", "xgboost"][k % 2], "k": str(k)}, model_type="regressor")
        if k == 0:
            d = tmp / "lm0"
            d.mkdir()
            (d / "MLmodel").write_text("artifact_path: model\nflavors: {}\n")
            (d / "model.pkl").write_bytes(rng.randbytes(2048))
            client.log_model_artifacts(lm.model_id, str(d))
            counts["artifacts"] += 2
        if k < 2:
            client.finalize_logged_model(lm.model_id, "READY")
        elif k == 3:
            client.finalize_logged_model(lm.model_id, "FAILED")
        client.log_outputs(src, [LoggedModelOutput(lm.model_id, step=k)])
        logged.append(lm)
        counts["logged_models"] += 1
    first = logged[0]
    for s in range(3):
        client.log_metric(first.source_run_id, "val_rmse", 0.5 - 0.1 * s, timestamp=BASE_TIME_MS + s,
                          step=s, model_id=first.model_id)
        counts["metric_points"] += 1
    client.log_metric(first.source_run_id, "val_r2", 0.87, timestamp=BASE_TIME_MS, step=0,
                      model_id=first.model_id, dataset_name=datasets[0].name,
                      dataset_digest=datasets[0].digest)
    counts["metric_points"] += 1

    # Registry: three models, versions in every stage, tags, descriptions, aliases, a deleted version.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        for m in range(3):
            name = f"registered-{m}-{args.seed}"
            client.create_registered_model(name, tags={"owner": USERS[m], "tier": str(m)},
                                           description=f"Registered model {m}: **markdown** description")
            counts["models"] += 1
            versions = []
            for v, stage in enumerate(["None", "Staging", "Production", "Archived", "Staging"]):
                if m == 0 and v == 1:
                    src_lm = logged[0]
                    mv = client.create_model_version(
                        name, f"models:/{src_lm.model_id}", run_id=src_lm.source_run_id,
                        tags={"from": "logged-model"}, description="from a logged model",
                        model_id=src_lm.model_id)
                else:
                    rid = live_runs[(m * 11 + v * 5) % len(live_runs)]
                    mv = client.create_model_version(
                        name, f"runs:/{rid}/model", run_id=rid,
                        tags={"v": str(v), "validated": str(v % 2 == 0).lower()},
                        description=f"version {v + 1} of {name}" if v % 2 == 0 else None)
                if stage != "None":
                    client.transition_model_version_stage(name, mv.version, stage)
                client.set_model_version_tag(name, mv.version, "stage_at_creation", stage)
                versions.append(mv.version)
                counts["versions"] += 1
            for alias, idx in [("champion", 2), ("challenger", 1), (f"alias-{m}", 0)][: 2 + (m == 2)]:
                client.set_registered_model_alias(name, alias, versions[idx])
                counts["aliases"] += 1
            client.delete_model_version(name, versions[-1])
            counts["versions"] -= 1
    shutil.rmtree(tmp, ignore_errors=True)
    counts["seconds"] = round(time.monotonic() - t0, 2)
    counts["runs_per_s"] = round(args.runs / max(gen_runs_s, 1e-9), 1)
    counts["store"] = store
    counts["seed"] = args.seed
    return counts


def main() -> None:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", required=True, help="sqlite:///PATH, postgresql://…/DB or a directory")
    ap.add_argument("--artifact-root", required=True, help="directory for experiment artifact locations")
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--fresh", action="store_true", help="remove an existing store and artifact root first")
    args = ap.parse_args()
    logging_quiet()
    print(json.dumps(generate(args)), flush=True)


def logging_quiet() -> None:
    import logging

    for name in ("alembic", "mlflow"):
        logging.getLogger(name).setLevel(logging.WARNING)


if __name__ == "__main__":
    main()
