#!/usr/bin/env python3
"""Ask MLflow (its own store code, in-process) and mltrack the same questions; report differences.

    python tests/python/compare_stores.py --mlflow sqlite:////tmp/src/mlflow.db \\
        --mltrack http://127.0.0.1:5000 [--calls 100] [--seed 1]

--mlflow is a store URI (`sqlite:///…`, `postgresql://…/db` or a file-store directory); a
MlflowClient on it answers exactly what `mlflow server` on that store would. --mltrack is the
mltrack server's URL -- or another store URI, which makes a self-test: a store compared with itself
must be all equal, two stores written with different seeds must not.

What exists is discovered from the MLflow side; then --calls seeded random calls (call kinds taken
in turn, arguments drawn at random) go to both sides and the answers are compared field by field.
Errors are answers too (compared by error code). Prints every difference and a final line
`compare: N calls, E equal, D different`; exits 1 when anything differs.

The one deliberate difference normalised away: after `mltrack import --artifacts copy`, artifact
URIs point into mltrack's store (`mlflow-artifacts:/…`). Then a run's `artifact_uri` and a logged
model's `artifact_location` are compared from the run / model id on, an experiment's
`artifact_location` not at all; artifacts themselves are compared by listing and content.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import random
import sys
import tempfile
import warnings
from enum import Enum
from pathlib import Path
from urllib.parse import unquote, urlparse

warnings.simplefilter("ignore", FutureWarning)
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

RELOCATED = "mlflow-artifacts:"


# ---------------------------------------------------------------- clients and plain values
def store_uri(uri: str) -> str:
    if uri.startswith("postgresql://"):  # SQLAlchemy 2.1 maps bare postgresql:// to psycopg 3
        return "postgresql+psycopg2://" + uri[len("postgresql://"):]
    if "://" not in uri:
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
        return str(Path(uri).resolve())
    return uri


def client_for(uri: str):
    """A MlflowClient on a server URL or directly on a store (tracking and registry alike)."""
    from mlflow import MlflowClient

    uri = store_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def wire(x):
    """An entity's properties as a REST client gets them from `mlflow server`: through its protobuf
    message and back (a version number becomes "2", an unset string "", …), so that MLflow's store
    answers in-process exactly what its server would send."""
    to_proto, from_proto = getattr(x, "to_proto", None), getattr(type(x), "from_proto", None)
    if to_proto is not None and from_proto is not None:
        try:
            x = from_proto(to_proto())
        except (TypeError, ValueError, AttributeError, NotImplementedError):
            pass  # an entity without a faithful round trip is compared as it is
    return iter(x)


def plain(x):
    """Entities → dicts/lists/scalars; NaN → "NaN" so that NaN equals NaN."""
    from mlflow.entities._mlflow_object import _MlflowObject

    if isinstance(x, float):
        return "NaN" if math.isnan(x) else x
    if x is None or isinstance(x, (str, int, bool, bytes)):
        return x
    if isinstance(x, Enum):
        return x.name
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if isinstance(x, _MlflowObject):
        return {k: plain(v) for k, v in wire(x)}
    if hasattr(x, "to_dictionary"):
        return plain(x.to_dictionary())
    if hasattr(x, "items"):  # a protobuf map
        return {str(k): plain(v) for k, v in x.items()}
    try:  # a protobuf repeated field, as entities read over REST hold them (upb's have no __iter__)
        return [plain(v) for v in iter(x)]
    except TypeError:
        return repr(x)


# Set when --mlflow is a file store; see file_store_view.
FILE_STORE = False


def file_store_view(x):
    """MLflow's two backends answer two things differently, and mltrack answers as its SQL store
    does. With a file store as the reference, mltrack's answer is read the file store's way:
    a logged model's `metrics` keep only the latest point per (key, dataset) (the file store
    reduces them so; the SQL store returns every point), and metric-history points do not
    carry the `run_id` only the file store sets (the MLflow side's is cleared instead)."""
    if isinstance(x, list):
        return [file_store_view(v) for v in x]
    if not isinstance(x, dict):
        return x
    x = {k: file_store_view(v) for k, v in x.items()}
    if "model_id" in x and isinstance(x.get("metrics"), list):
        latest = {}
        for m in x["metrics"]:
            group = (m.get("key"), m.get("dataset_name"), m.get("dataset_digest"))
            order = (m.get("step"), m.get("timestamp"), repr(m.get("value")))
            if group not in latest or order > latest[group][0]:
                latest[group] = (order, m)
        x["metrics"] = [m for _, m in latest.values()]
    return x


# (model name, version) → its aliases, from MLflow's alias table; see fill_aliases.
KNOWN_ALIASES: dict[tuple[str, str], list[str]] = {}


def fill_aliases(x):
    """MLflow's SQL store leaves a version's `aliases` empty in search_model_versions and in a
    model's latest_versions (MLflow issue #9783; the fix, PR #22841, is not released), while its
    get_model_version fills them. mltrack fills them everywhere. The MLflow side gets them from
    MLflow's own alias table, so the comparison still checks that mltrack's are the right ones."""
    if isinstance(x, dict):
        if {"name", "version", "aliases"} <= x.keys() and x["aliases"] == []:
            x["aliases"] = KNOWN_ALIASES.get((x["name"], str(x["version"])), [])
        for v in x.values():
            fill_aliases(v)
    elif isinstance(x, list):
        for v in x:
            fill_aliases(v)
    return x


def diff(a, b, path=""):
    """Yields (path, a, b) for every leaf that differs."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            yield from diff(a.get(k, "<missing>"), b.get(k, "<missing>"), f"{path}.{k}" if path else k)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            yield (f"{path}.len", len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            yield from diff(x, y, f"{path}[{i}]")
    elif a != b or type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
        yield (path, a, b)


UNORDERED = {"metrics", "dataset_inputs", "model_inputs", "model_outputs", "tags", "aliases", "latest_versions"}


def unordered(x):
    """Sorts the lists whose order MLflow leaves unspecified (a logged model's metrics, a run's
    inputs / outputs, input tags, a version's aliases, a model's latest_versions)."""
    if isinstance(x, dict):
        return {k: sorted((unordered(v) for v in x[k]), key=repr) if k in UNORDERED and isinstance(x[k], list)
                else unordered(x[k]) for k in x}
    if isinstance(x, list):
        return [unordered(v) for v in x]
    return x


def relocate(a, b):
    """The one deliberate difference: artifact locations rewritten into mltrack's store. Where one
    side says mlflow-artifacts:/… and the other does not, keep the tail from the run / model id on
    (`<run_id>/artifacts`), or drop the value (an experiment's root has no such id)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in set(a) & set(b):
            va, vb = a[k], b[k]
            if (k in ("artifact_uri", "artifact_location") and isinstance(va, str) and isinstance(vb, str)
                    and va != vb and (va.startswith(RELOCATED) != vb.startswith(RELOCATED))):
                anchor = a.get("run_id") or a.get("model_id")
                if anchor and anchor in va and anchor in vb:
                    a[k], b[k] = va[va.index(anchor):], vb[vb.index(anchor):]
                else:
                    a[k] = b[k] = "<relocated>"
            else:
                relocate(va, vb)
    elif isinstance(a, list) and isinstance(b, list):
        for x, y in zip(a, b):
            relocate(x, y)


def ask(fn):
    """Runs one side of a call; an exception is an answer (its error code)."""
    from mlflow.tracking._tracking_service import utils

    # MLflow caches artifact repositories process-wide by run / model id alone: without this the
    # second side would read the first side's artifacts.
    utils._artifact_repos_cache.clear()
    from mlflow.exceptions import MlflowException

    try:
        return plain(fn())
    except (MlflowException, OSError) as e:  # both sides' failures are compared; other errors are bugs here
        return {"error": getattr(e, "error_code", type(e).__name__)}


# ---------------------------------------------------------------- what exists (MLflow side)
class Catalog:
    def __init__(self, client, rng: random.Random):
        from mlflow.entities import ViewType

        self.experiments = page_all(lambda tok: client.search_experiments(
            view_type=ViewType.ALL, max_results=1000, page_token=tok))
        self.exp_ids = [e.experiment_id for e in self.experiments]
        self.runs = list(client.search_runs(self.exp_ids, run_view_type=ViewType.ALL, max_results=50000))
        self.run_ids = [r.info.run_id for r in self.runs]
        self.metric_keys = sorted({k for r in self.runs for k in r.data.metrics})
        self.param_values = sorted({(k, v) for r in self.runs[:500] for k, v in r.data.params.items()})
        self.tag_values = sorted({(k, v) for r in self.runs[:500] for k, v in r.data.tags.items()
                                  if len(v) < 100})
        self.dataset_runs = [r.info.run_id for r in self.runs if r.inputs and r.inputs.dataset_inputs]
        self.artifact_runs = find_artifact_runs(client, self.runs, rng)
        self.models = page_all(lambda tok: client.search_registered_models(max_results=1000, page_token=tok))
        self.model_names = [m.name for m in self.models]
        self.versions = list(client.search_model_versions(max_results=10000))
        self.aliases = [(m.name, a) for m in self.models for a in m.aliases]
        self.logged_models = page_all(lambda tok: client.search_logged_models(
            self.exp_ids, max_results=100, page_token=tok))
        print(f"catalog: {len(self.experiments)} experiments, {len(self.runs)} runs, "
              f"{len(self.artifact_runs)} with artifacts, {len(self.dataset_runs)} with datasets, "
              f"{len(self.models)} models, {len(self.versions)} versions, {len(self.aliases)} aliases, "
              f"{len(self.logged_models)} logged models", file=sys.stderr)


def page_all(fetch):
    out, tok = [], None
    while True:
        page = fetch(tok)
        out.extend(page)
        tok = page.token
        if not tok:
            return out


def find_artifact_runs(client, runs, rng, want=20):
    """Runs with artifacts: a directory listing for local artifact URIs, else list_artifacts on a
    sample."""
    found = []
    for r in runs:
        uri = r.info.artifact_uri or ""
        if uri.startswith("file:") or uri.startswith("/"):
            p = Path(unquote(urlparse(uri).path) if uri.startswith("file:") else uri)
            if p.is_dir() and any(p.iterdir()):
                found.append(r.info.run_id)
    if not found:
        for r in rng.sample(runs, min(200, len(runs))):
            if client.list_artifacts(r.info.run_id):
                found.append(r.info.run_id)
            if len(found) >= want:
                break
    return sorted(found)


# ---------------------------------------------------------------- the calls
def walk_artifacts(client, list_fn, path=None):
    """Recursive listing: (path, is_dir, file_size), sorted."""
    out = []
    for f in list_fn(path):
        out.append((f.path, f.is_dir, f.file_size))
        if f.is_dir:
            out.extend(walk_artifacts(client, list_fn, f.path))
    return sorted(out)


def download_all(client, run_id):
    """Downloads every file of a run's artifacts: {path: sha256}."""
    files = [p for p, is_dir, _ in walk_artifacts(client, lambda p: client.list_artifacts(run_id, p)) if not is_dir]
    with tempfile.TemporaryDirectory() as dst:
        return {p: hashlib.sha256(Path(client.download_artifacts(run_id, p, dst)).read_bytes()).hexdigest()
                for p in files}


def search_runs_paged(client, exp_ids, filt, order, page_size, pages=3):
    from mlflow.entities import ViewType

    out, tok = [], None
    for _ in range(pages):
        page = client.search_runs(exp_ids, filt, ViewType.ALL, page_size, order, tok)
        out.append({"runs": list(page), "more": bool(page.token)})
        tok = page.token
        if not tok:
            break
    return out


def by(key):
    return lambda xs: sorted(xs, key=key)


def choose_filter(rng, cat):
    k, v = rng.choice(cat.param_values)
    tk, tv = rng.choice(cat.tag_values)
    m = rng.choice(cat.metric_keys)
    return rng.choice([
        "",
        f"params.{k} = '{v}'",
        f"metrics.{m} > {rng.uniform(0, 1.5):.3f}",
        f"metrics.{m} <= 0.2 and params.{k} != '{v}'",
        f"tags.`{tk}` = '{tv}'",
        "attributes.status = 'FINISHED'",
        rng.choice(["attributes.status = 'FAILED'", "attributes.status != 'RUNNING'"]),
        f"attributes.run_name LIKE 'run-00{rng.randrange(10)}%'",
        "tags.`mlflow.parentRunId` != ''",
        f"attributes.start_time > {1_700_000_000_000 + rng.randrange(len(cat.runs) + 1) * 60_000}",
        f"datasets.name = 'dataset-{rng.randrange(6)}'",
    ])


def choose_order(rng, cat):
    m = rng.choice(cat.metric_keys)
    return rng.choice([
        None, [f"metrics.{m} DESC"], [f"metrics.{m}"], ["params.p03 ASC"], ["start_time ASC"],
        ["attributes.start_time DESC"], ["attributes.run_name"], ["params.p01", "metrics.m02 DESC"],
    ])


# Each kind: draws its arguments from (rng, catalog), returns (description, call(client) -> value).
def k_get_run(rng, cat):
    rid = rng.choice(cat.run_ids)
    return f"get_run({rid})", lambda c: c.get_run(rid)


def k_run_inputs(rng, cat):
    rid = rng.choice(cat.dataset_runs or cat.run_ids)
    return f"get_run({rid}).inputs", lambda c: by(lambda d: (d["dataset"]["name"], d["dataset"]["digest"]))(
        plain(c.get_run(rid).inputs.dataset_inputs))


def k_search_runs(rng, cat):
    exps = rng.sample(cat.exp_ids, rng.randint(1, len(cat.exp_ids)))
    filt, order, size = choose_filter(rng, cat), choose_order(rng, cat), rng.choice([5, 50, 1000])
    return (f"search_runs({exps}, {filt!r}, order_by={order}, max_results={size})",
            lambda c: search_runs_paged(c, exps, filt, order, size))


def k_metric_history(rng, cat):
    rid, key = rng.choice(cat.run_ids), rng.choice(cat.metric_keys + ["no_such_metric"])
    return (f"get_metric_history({rid}, {key})",
            lambda c: by(lambda m: (m["step"], m["timestamp"], str(m["value"])))(plain(c.get_metric_history(rid, key))))


def k_get_experiment(rng, cat):
    eid = rng.choice(cat.exp_ids + ["987654"])
    return f"get_experiment({eid})", lambda c: c.get_experiment(eid)


def k_experiment_by_name(rng, cat):
    name = rng.choice([e.name for e in cat.experiments] + ["no such experiment"])
    return f"get_experiment_by_name({name!r})", lambda c: c.get_experiment_by_name(name)


def k_search_experiments(rng, cat):
    from mlflow.entities import ViewType

    view = rng.choice([ViewType.ACTIVE_ONLY, ViewType.DELETED_ONLY, ViewType.ALL])
    filt = rng.choice([None, "tags.team = 'pricing'", "name LIKE '%-%'", "name ILIKE 'CHURN%'"])
    order = rng.choice([None, ["name ASC"], ["creation_time DESC"], ["experiment_id"]])
    size = rng.choice([2, 100])
    return (f"search_experiments({view}, {filt!r}, {order}, max_results={size})",
            lambda c: page_all(lambda tok: c.search_experiments(view, size, filt, order, tok)))


def k_registered_model(rng, cat):
    name = rng.choice(cat.model_names + ["no-such-model"])
    return f"get_registered_model({name})", lambda c: c.get_registered_model(name)


def k_search_registered_models(rng, cat):
    filt = rng.choice([None, "name LIKE 'registered-%'", f"name = '{rng.choice(cat.model_names)}'"])
    return (f"search_registered_models({filt!r})",
            lambda c: by(lambda m: m["name"])(plain(c.search_registered_models(filt))))


def k_search_model_versions(rng, cat):
    mv = rng.choice(cat.versions)
    filt = rng.choice([f"name = '{mv.name}'", f"run_id = '{mv.run_id}'", None])
    return (f"search_model_versions({filt!r})",
            lambda c: by(lambda v: (v["name"], int(v["version"])))(plain(c.search_model_versions(filt))))


def k_model_version(rng, cat):
    mv = rng.choice(cat.versions)
    version = rng.choice([mv.version] * 4 + ["5", "99"])  # 5 is the deleted version of each model
    return f"get_model_version({mv.name}, {version})", lambda c: c.get_model_version(mv.name, version)


def k_version_by_alias(rng, cat):
    name, alias = rng.choice(cat.aliases + [(cat.model_names[0], "no-such-alias")])
    return (f"get_model_version_by_alias({name}, {alias})",
            lambda c: c.get_model_version_by_alias(name, alias))


def k_latest_versions(rng, cat):
    name = rng.choice(cat.model_names)
    stages = rng.choice([None, ["Production"], ["Staging", "None"], ["Archived"]])
    return (f"get_latest_versions({name}, {stages})",
            lambda c: by(lambda v: int(v["version"]))(plain(c.get_latest_versions(name, stages))))


def k_list_artifacts(rng, cat):
    rid = rng.choice(cat.artifact_runs or cat.run_ids)
    return (f"list_artifacts({rid}, recursive)",
            lambda c: {p: {"is_dir": d, "file_size": n} for p, d, n in walk_artifacts(c, lambda p: c.list_artifacts(rid, p))})


def k_download_artifacts(rng, cat):
    rid = rng.choice(cat.artifact_runs or cat.run_ids)
    return f"download_artifacts({rid}, every file)", lambda c: download_all(c, rid)


def k_logged_model(rng, cat):
    mid = rng.choice([m.model_id for m in cat.logged_models] + ["m-0000"])
    return f"get_logged_model({mid})", lambda c: c.get_logged_model(mid)


def k_search_logged_models(rng, cat):
    # Not `status = 'READY'`: MLflow's backends disagree on it (its SQLite store matches nothing,
    # PostgreSQL fails with BAD_REQUEST, the file store matches the READY models), so there is no
    # one answer to compare with. mltrack answers as the file store does.
    filt = rng.choice([None, "name = 'model-0'", "params.alpha = '0.2'", "tags.framework = 'sklearn'",
                       "metrics.val_rmse < 0.45", "model_type = 'sklearn'"])
    return (f"search_logged_models({filt!r})",
            lambda c: by(lambda m: m["model_id"])(plain(page_all(lambda tok: c.search_logged_models(
                cat.exp_ids, filter_string=filt, max_results=50, page_token=tok)))))


def k_logged_model_artifacts(rng, cat):
    mid = rng.choice([m.model_id for m in cat.logged_models])
    return (f"list_logged_model_artifacts({mid}, recursive)",
            lambda c: {p: {"is_dir": d, "file_size": n}
                       for p, d, n in walk_artifacts(c, lambda p: c.list_logged_model_artifacts(mid, p))})


CALLS = {
    "get_run": k_get_run,
    "run_inputs": k_run_inputs,
    "search_runs": k_search_runs,
    "get_metric_history": k_metric_history,
    "get_experiment": k_get_experiment,
    "get_experiment_by_name": k_experiment_by_name,
    "search_experiments": k_search_experiments,
    "get_registered_model": k_registered_model,
    "search_registered_models": k_search_registered_models,
    "search_model_versions": k_search_model_versions,
    "get_model_version": k_model_version,
    "get_model_version_by_alias": k_version_by_alias,
    "get_latest_versions": k_latest_versions,
    "list_artifacts": k_list_artifacts,
    "download_artifacts": k_download_artifacts,
    "get_logged_model": k_logged_model,
    "search_logged_models": k_search_logged_models,
    "list_logged_model_artifacts": k_logged_model_artifacts,
}


# ---------------------------------------------------------------- main
def compare(desc, call, mlflow_client, mltrack_client, verbose=False, max_shown=20) -> tuple[bool, bool]:
    """(equal, MLflow's answer was an error)."""
    a = fill_aliases(ask(lambda: call(mlflow_client)))
    b = ask(lambda: call(mltrack_client))
    if FILE_STORE:
        b = file_store_view(b)
        if desc.startswith("get_metric_history") and isinstance(a, list):
            a = [{**m, "run_id": None} for m in a]
    a, b = unordered(a), unordered(b)
    relocate(a, b)
    diffs = list(diff(a, b))
    if verbose:
        print(f"{'ok  ' if not diffs else 'DIFF'} {desc} -> {short(a, 100)}")
    for path, va, vb in diffs[:max_shown]:
        print(f"DIFF {desc}\n     {path or '<value>'}: mlflow={short(va)} mltrack={short(vb)}")
    if len(diffs) > max_shown:
        print(f"     … {len(diffs) - max_shown} more differences in this call")
    return not diffs, isinstance(a, dict) and set(a) == {"error"}


def short(v, n=160):
    s = repr(v)
    return s if len(s) <= n else s[:n] + "…"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mlflow", required=True, help="the source store URI (sqlite:///…, postgresql://…, a directory)")
    ap.add_argument("--mltrack", required=True, help="http://127.0.0.1:PORT, or another store URI")
    ap.add_argument("--calls", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-v", "--verbose", action="store_true", help="print every call and MLflow's answer")
    ap.add_argument("--kinds", help="comma-separated subset of: " + ", ".join(CALLS))
    args = ap.parse_args()
    import logging

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    rng = random.Random(args.seed)
    # The global tracking URI is MLflow's store, as in `mlflow server`: MLflow's registry stores
    # read a version's logged model (its metrics and params) through it, not through the client's.
    # Left unset it would be ./mlflow.db, created in the cwd.
    import mlflow

    mlflow.set_tracking_uri(store_uri(args.mlflow))
    mlflow_client, mltrack_client = client_for(args.mlflow), client_for(args.mltrack)
    global FILE_STORE
    FILE_STORE = "://" not in args.mlflow
    cat = Catalog(mlflow_client, rng)
    for m in cat.models:
        for alias, version in m.aliases.items():
            KNOWN_ALIASES.setdefault((m.name, str(version)), []).append(alias)
    for aliases in KNOWN_ALIASES.values():
        aliases.sort()
    kinds = args.kinds.split(",") if args.kinds else list(CALLS)
    equal = errors = 0
    per_kind: dict[str, list[int]] = {}
    for i in range(args.calls):
        kind = kinds[i % len(kinds)]
        desc, call = CALLS[kind](rng, cat)
        ok, err = compare(desc, call, mlflow_client, mltrack_client, args.verbose)
        equal += ok
        errors += err
        per_kind.setdefault(kind, [0, 0])[0 if ok else 1] += 1
    bad = {k: v for k, v in per_kind.items() if v[1]}
    if bad:
        print("different by kind: " + ", ".join(f"{k} {v[1]}/{sum(v)}" for k, v in sorted(bad.items())))
    print(f"compare: {args.calls} calls, {equal} equal, {args.calls - equal} different "
          f"({errors} calls were errors on the MLflow side, e.g. a missing name)")
    return 0 if equal == args.calls else 1


if __name__ == "__main__":
    sys.exit(main())
