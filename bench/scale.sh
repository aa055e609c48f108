#!/usr/bin/env bash
# How mltrack's answers grow with the store: 10k, 100k and 1M runs (20 params and 20 metrics each,
# 100-point histories on 1 % of the runs) on SQLite and PostgreSQL.
#
#   bench/scale.sh                                  # every size on both backends, then the chart
#   SIZES="10000 100000" BACKENDS=sqlite bench/scale.sh
#
# PostgreSQL stops at PG_SIZES (default 10k and 100k): its million-run store takes ~13 GB of disk
# (127 bytes per metric point; SQLite's takes 8 GB).
#
# For each store: seed it once (bench/scale_seed.py, in SQL inside the database; cached under
# $SCALE_DIR and reused), start `mltrack server` on it with ../shared/tools/server_ctl.py (time to
# first answer, idle memory), time the answers with bench/scale_measure.py, and record the
# database's bytes per metric point. Results: bench-results/scale-<backend>-<runs>.json, then
# bench-results/scale.svg (drawn with plotters by `cargo run --release -p mltrack --example scale_chart`).
#
# Needs: a release build (`cargo build --release -p mltrack`), python3 with psycopg2 for PostgreSQL
# (MLTRACK_PYTHON, default .venv/bin/python), and MLTRACK_TEST_PG_URL for the PostgreSQL stores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$PWD"
TOOLS="${MLTRACK_SHARED:-$REPO/../shared}/tools"
TARGET="${CARGO_TARGET_DIR:-$REPO/target}"
MLTRACK="${MLTRACK_BIN:-$TARGET/release/mltrack}"
PYTHON="${MLTRACK_PYTHON:-$REPO/.venv/bin/python}"
SCALE_DIR="${SCALE_DIR:-$HOME/.cache/mltrack/bench-scale}"
PG_URL="${MLTRACK_TEST_PG_URL:-postgresql://mltrack:mltrack@127.0.0.1:5432/postgres}"
SIZES="${SIZES:-10000 100000 1000000}"
PG_SIZES="${PG_SIZES:-10000 100000}"
BACKENDS="${BACKENDS:-sqlite postgres}"
REPEAT="${REPEAT:-20}"
OUT="$REPO/bench-results"
PORT=5098
mkdir -p "$OUT" "$SCALE_DIR"

pg_db_url() { # the URL of database $1 on the server of $PG_URL
    echo "${PG_URL%/*}/$1"
}

store_uri() { # backend, runs
    case "$1" in
    sqlite) echo "sqlite:///$SCALE_DIR/sqlite-$2/mlruns.db" ;;
    postgres) pg_db_url "mltrack_scale_$2" ;;
    esac
}

start_server() { # backend, runs, json file for server_ctl's report
    rm -f "$SCALE_DIR/server.pid"
    (cd "$SCALE_DIR" && python3 "$TOOLS/server_ctl.py" start \
        --url "http://127.0.0.1:$PORT/api/2.0/mlflow/experiments/search" --idle-seconds 3 --timeout 600 \
        --pidfile "$SCALE_DIR/server.pid" --log "$SCALE_DIR/server-$1-$2.log" -- \
        "$MLTRACK" server --port "$PORT" --backend-store-uri "$(store_uri "$1" "$2")" \
        --artifacts-destination "$SCALE_DIR/artifacts") >"$3"
}

stop_server() {
    python3 "$TOOLS/server_ctl.py" stop --pid "$(cat "$SCALE_DIR/server.pid")" >/dev/null
}

seed() { # backend, runs: once; a finished store is marked with a `seeded` file
    local mark="$SCALE_DIR/$1-$2.seeded"
    [[ -f "$mark" ]] && return 0
    echo "seeding $1 with $2 runs"
    if [[ "$1" == sqlite ]]; then
        rm -rf "$SCALE_DIR/sqlite-$2" && mkdir -p "$SCALE_DIR/sqlite-$2"
    else
        "$PYTHON" - "$PG_URL" "mltrack_scale_$2" <<'EOF'
import sys, psycopg2
conn = psycopg2.connect(sys.argv[1]); conn.autocommit = True
conn.cursor().execute(f'DROP DATABASE IF EXISTS "{sys.argv[2]}"')
conn.cursor().execute(f'CREATE DATABASE "{sys.argv[2]}"')
EOF
    fi
    start_server "$1" "$2" /dev/null # the server creates the schema
    stop_server
    local target
    target="$(store_uri "$1" "$2")"
    [[ "$1" == sqlite ]] && target="$SCALE_DIR/sqlite-$2/mlruns.db"
    /usr/bin/time -f "seed: %e s wall, %M KB peak" "$PYTHON" bench/scale_seed.py "$1" "$target" "$2"
    touch "$mark"
}

db_bytes() { # backend, runs: "<bytes of the whole database> <bytes of metric_points> <points>"
    if [[ "$1" == sqlite ]]; then
        "$PYTHON" - "$SCALE_DIR/sqlite-$2/mlruns.db" <<'EOF'
import os, sqlite3, sys
path = sys.argv[1]
conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
total = os.path.getsize(path)
try:
    points_bytes = conn.execute("SELECT SUM(pgsize) FROM dbstat WHERE name = 'metric_points'").fetchone()[0]
except sqlite3.OperationalError:  # a libsqlite3 built without dbstat
    points_bytes = None
points = conn.execute("SELECT COUNT(*) FROM metric_points").fetchone()[0]
print(total, points_bytes if points_bytes is not None else "null", points)
EOF
    else
        "$PYTHON" - "$(store_uri "$1" "$2")" <<'EOF'
import sys, psycopg2
cur = psycopg2.connect(sys.argv[1]).cursor()
cur.execute("SELECT pg_database_size(current_database()), pg_total_relation_size('metric_points'), "
            "(SELECT COUNT(*) FROM metric_points)")
print(*cur.fetchone())
EOF
    fi
}

for backend in $BACKENDS; do
    sizes="$SIZES"
    [[ "$backend" == postgres ]] && sizes="$PG_SIZES"
    for runs in $sizes; do
        seed "$backend" "$runs"
        echo "== $backend, $runs runs"
        start_server "$backend" "$runs" "$OUT/scale-$backend-$runs-server.json"
        python3 bench/scale_measure.py --url "http://127.0.0.1:$PORT" --pid "$(cat "$SCALE_DIR/server.pid")" \
            --repeat "$REPEAT" --json "$OUT/scale-$backend-$runs-answers.json"
        stop_server
        read -r total points_bytes points < <(db_bytes "$backend" "$runs")
        python3 - "$OUT" "$backend" "$runs" "$total" "$points_bytes" "$points" <<'EOF'
import json, sys
out, backend, runs, total, points_bytes, points = sys.argv[1:]
server = json.load(open(f"{out}/scale-{backend}-{runs}-server.json"))
answers = json.load(open(f"{out}/scale-{backend}-{runs}-answers.json"))
points_bytes = None if points_bytes == "null" else int(points_bytes)
result = {
    "backend": backend, "runs": int(runs), "answers": answers, "server": server,
    "db_bytes": int(total), "metric_points": int(points), "metric_points_bytes": points_bytes,
    "bytes_per_point": round(points_bytes / int(points), 1) if points_bytes else None,
    "db_bytes_per_point": round(int(total) / int(points), 1),
}
json.dump(result, open(f"{out}/scale-{backend}-{runs}.json", "w"), indent=1)
print(f"  database {int(total) / 1e6:.0f} MB; metric_points {result['bytes_per_point']} bytes per point "
      f"({points} points); ready in {server.get('ready_200_s')} s")
EOF
    done
done
python3 bench/scale_table.py "$OUT" | tee "$OUT/scale.md"
if [[ "${CHART:-1}" == 1 ]]; then
    cargo run --quiet --release -p mltrack --example scale_chart -- "$OUT" "$OUT/scale.svg"
    echo "chart: $OUT/scale.svg"
fi
