#!/usr/bin/env python3
"""Seed an mltrack store with N runs for the scale bench (bench/scale.sh), in SQL, inside the database.

The store must already carry mltrack's schema (start `mltrack server` on it once). Every row is made by
`INSERT … SELECT` over generated integers, so seeding a million runs takes minutes, not the hours the REST
API would; the rows are the ones the API writes (one `metric_series` per run and key, one point per step,
`latest_metrics` holding each series' last point), checked by the bench's own answers.

One experiment, `scale`, holds every run:
- run i (0-based): start_time = T0 + i seconds, FINISHED, tags `mlflow.runName` and `mlflow.user`;
- params p00…p19: `p00` = "v<i mod 100>" (so `params.p00 = 'v7'` matches 1 % of the runs), others numeric text;
- metrics m00…m19: one point at step 0 per run, except every 100th run (1 %), which gets 100 points (steps
  0…99) per metric; values are a deterministic hash of (run, key, step) in [0, 1).

  scale_seed.py sqlite PATH N
  scale_seed.py postgres URL N      # needs psycopg2 (the test venv has it)
"""
import sys
import time

T0 = 1_700_000_000_000  # ms
KEYS = 20
HISTORY_EVERY = 100  # every 100th run has 100-point histories
HISTORY_POINTS = 100

# A run's id: 32 hex digits. The first 8 are (i * 2654435761) mod 2^32, a bijection on 32-bit integers, so
# ids are unique and scattered through the key space the way uuid4s are.
HEX_SQLITE = (
    "printf('%08x%08x%08x%08x', (i * 2654435761) % 4294967296, (i * 40503 + 12345) % 4294967296, "
    "(i * 69069 + 1) % 4294967296, (i * 1103515245 + 12345) % 4294967296)"
)
HEX_PG = (
    "lpad(to_hex((i * 2654435761) % 4294967296), 8, '0') || lpad(to_hex((i * 40503 + 12345) % 4294967296), 8, '0') "
    "|| lpad(to_hex((i * 69069 + 1) % 4294967296), 8, '0') || lpad(to_hex((i * 1103515245 + 12345) % 4294967296), 8, '0')"
)


def value_expr(run_i: str, key_k: str, step: str) -> str:
    """A value in [0, 1) from (run, key, step), the same in both dialects (integer arithmetic only)."""
    return f"((({run_i}) * 7919 + ({key_k}) * 104729 + ({step}) * 1299709) % 1000003) / 1000003.0"


def statements(dialect: str, n: int) -> list:
    pg = dialect == "postgres"
    if pg:
        ints = lambda hi: f"generate_series(0::bigint, {hi} - 1) AS g(i)"  # noqa: E731
    else:
        ints = lambda hi: f"(WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i + 1 < {hi}) SELECT i FROM c) AS g"  # noqa: E731
    hex_id = HEX_PG if pg else HEX_SQLITE
    # a run's index back from its start time
    run_i = f"((r.start_time - {T0}) / 1000)"
    fmt_key = (lambda p, k: f"'{p}' || lpad(({k})::text, 2, '0')") if pg else (lambda p, k: f"printf('{p}%02d', {k})")
    # SQLite stores a point's timestamp as an offset from its series' first (migration 0009): the API
    # bases a series at its first point, here the run's start time.
    if pg:
        series_base_column, series_base = "", ""
        point_time, point_time_value, latest_time = "timestamp", "r.start_time + st.i * 100", "p.timestamp"
    else:
        series_base_column, series_base = ", base_timestamp", ", r.start_time"
        point_time, point_time_value, latest_time = "ts_offset", "st.i * 100", "s.base_timestamp + p.ts_offset"
    return [
        (
            "experiment",
            "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time) "
            f"VALUES (1, 'scale', 'mlflow-artifacts:/1', 'active', {T0}, {T0})",
        ),
        (
            "runs",
            "INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage) "
            f"SELECT {hex_id}, 1, 'run-' || i, 'bench', 'FINISHED', {T0} + i * 1000, {T0} + i * 1000 + 60000, "
            f"'mlflow-artifacts:/1/' || {hex_id} || '/artifacts', 'active' FROM {ints(n)}",
        ),
        (
            "tags",
            "INSERT INTO tags (run_uuid, key, value) "
            "SELECT r.run_uuid, t.key, CASE t.key WHEN 'mlflow.runName' THEN r.name ELSE 'bench' END "
            "FROM runs r CROSS JOIN (SELECT 'mlflow.runName' AS key UNION ALL SELECT 'mlflow.user') t ORDER BY r.run_uuid, t.key",
        ),
        (
            "params",
            "INSERT INTO params (run_uuid, key, value) "
            f"SELECT r.run_uuid, {fmt_key('p', 'k.i')}, CASE WHEN k.i = 0 THEN 'v' || ({run_i} % 100) "
            f"ELSE ({run_i} * 31 + k.i * 17) % 1000 || '' END FROM runs r CROSS JOIN {ints(KEYS).replace('AS g', 'AS k')} "
            "ORDER BY r.run_uuid, 2",
        ),
        (
            "metric_series",
            f"INSERT INTO metric_series (run_uuid, key{series_base_column}) "
            f"SELECT r.run_uuid, {fmt_key('m', 'k.i')}{series_base} FROM runs r "
            f"CROSS JOIN {ints(KEYS).replace('AS g', 'AS k')} ORDER BY r.run_uuid, 2",
        ),
        (
            "metric_points",
            f"INSERT INTO metric_points (series_id, {point_time}, step, value, is_nan) "
            f"SELECT s.series_id, {point_time_value}, st.i, "
            f"{value_expr(run_i, 'CAST(substr(s.key, 2) AS INTEGER)' if not pg else 'substr(s.key, 2)::int', 'st.i')}, 0 "
            f"FROM metric_series s JOIN runs r ON r.run_uuid = s.run_uuid "
            f"JOIN {ints(HISTORY_POINTS).replace('AS g', 'AS st')} "
            f"ON st.i = 0 OR {run_i} % {HISTORY_EVERY} = 0 ORDER BY s.series_id, st.i",
        ),
        (
            "latest_metrics",
            "INSERT INTO latest_metrics (run_uuid, key, value, is_nan, timestamp, step) "
            f"SELECT s.run_uuid, s.key, p.value, p.is_nan, {latest_time}, p.step FROM metric_series s "
            "JOIN metric_points p ON p.series_id = s.series_id "
            "WHERE p.step = (SELECT MAX(q.step) FROM metric_points q WHERE q.series_id = s.series_id) "
            "ORDER BY s.run_uuid, s.key",
        ),
    ]


def main() -> None:
    if len(sys.argv) != 4 or sys.argv[1] not in ("sqlite", "postgres"):
        raise SystemExit(__doc__)
    dialect, target, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if dialect == "sqlite":
        import sqlite3

        conn = sqlite3.connect(target, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -2000000")  # 2 GB: random-order index inserts stay in memory
        conn.execute("PRAGMA temp_store = MEMORY")
        run = conn.execute
        begin, commit = (lambda: run("BEGIN")), (lambda: run("COMMIT"))
    else:
        import psycopg2

        conn = psycopg2.connect(target)
        cur = conn.cursor()
        cur.execute("SET synchronous_commit = off")
        cur.execute("SET work_mem = '256MB'")
        cur.execute("SET maintenance_work_mem = '1GB'")
        run = cur.execute
        begin, commit = (lambda: None), conn.commit
    start = time.monotonic()
    for name, sql in statements(dialect, n):
        t = time.monotonic()
        begin()
        run(sql)
        commit()
        print(f"  {name}: {time.monotonic() - t:.1f} s", flush=True)
    if dialect == "sqlite":
        run("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        conn.autocommit = True
        cur.execute("SELECT setval(pg_get_serial_sequence('experiments', 'experiment_id'), 1)")
        cur.execute("VACUUM ANALYZE")
    print(f"seeded {n} runs in {time.monotonic() - start:.1f} s", flush=True)


if __name__ == "__main__":
    main()
