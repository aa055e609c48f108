"""Seeds MLflow's own SQL store with the UI benchmark's experiment (10,000 runs x 20 params x 20
metrics, same names and values as tracking-server/benches/ui.rs), so that `mlflow server` and its UI
can be measured on the same data.  Writes through mlflow's SqlAlchemyStore in-process (no HTTP).

    ~/.cache/mltrack/ref-venv/bin/python bench/ui_seed_mlflow.py sqlite:////tmp/mlflow-ui/mlflow.db
"""

import sys
import time

from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

RUNS, PARAMS, METRICS = 10_000, 20, 20


def main(uri: str) -> None:
    store = SqlAlchemyStore(uri, "./mlartifacts")
    if store.get_experiment_by_name("ui-bench") is not None:
        print("already seeded")
        return
    started = time.time()
    exp = store.create_experiment("ui-bench")
    for i in range(RUNS):
        t = 1_700_000_000_000 + i * 1000
        run = store.create_run(exp, "bench", t, [RunTag("mlflow.source.name", "train.py")], f"run-{i:05d}")
        rid = run.info.run_id
        params = [Param(f"p{p:02d}", str((i * 7 + p) % 13)) for p in range(PARAMS)]
        metrics = [Metric(f"m{m:02d}", ((i * 31 + m * 17) % 1000) / 1000.0, t, 0) for m in range(METRICS)]
        store.log_batch(rid, metrics, params, [])
        store.update_run_info(rid, RunStatus.FINISHED, t + 60_000, None)
        if i % 1000 == 0:
            print(f"{i} runs, {time.time() - started:.0f}s", flush=True)
    print(f"seeded in {time.time() - started:.0f}s experiment {exp}")


if __name__ == "__main__":
    main(sys.argv[1])
