#!/usr/bin/env bash
# Side-by-side benchmark: `mltrack server` and the Python `mlflow server`, both on SQLite (default)
# or both on one PostgreSQL server, driven by the shared load generator (20 workers, keep-alive)
# with the same cases and durations.
#
#   bench/tracking.sh                 # all cases, 20 s each, 20k runs in the search experiment
#   DURATION=10 CASES=create_run bench/tracking.sh
#   BACKEND=postgres SEED_RUNS=2000 bench/tracking.sh
#
# PostgreSQL mode: each server gets its own fresh database (PG_DB_PREFIX + server name, created
# through PG_URL and dropped afterwards unless KEEP_DB=1); MLflow runs twice, with its defaults
# (`mlflow`) and with a SQLAlchemy pool of 20 connections per worker, no overflow (`mlflow-pool20`).
# The load goes through bench/pg_cpu_bench.py, which adds the database server's own CPU per
# request (`db` in the JSON; how it is counted is in that file's docstring).
#
# Needs: a release build (`cargo build --release -p mltrack`), the full `mlflow` package in
# $REF_VENV (tests/python/reference-server.sh creates it), and ../shared/tools. Results land in
# bench-results/ (mltrack.json, mlflow.json, *-server.json with time-to-ready and idle memory).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$PWD"
TOOLS="${MLTRACK_SHARED:-$REPO/../shared}/tools"
REF_VENV="${REF_VENV:-$HOME/.cache/mltrack/ref-venv}"
TARGET="${CARGO_TARGET_DIR:-$REPO/target}"
MLTRACK="${MLTRACK_BIN:-$TARGET/release/mltrack}"
OUT="$REPO/bench-results"
DURATION="${DURATION:-20}"
CASES="${CASES:-create_run,log_metric_batch10,log_metric_batch500,log_param_batch10,log_param_batch100,search_experiments,get_metric_history,search_runs}"
SEED_RUNS="${SEED_RUNS:-20000}"
BACKEND="${BACKEND:-sqlite}"
PG_URL="${PG_URL:-postgresql://mltrack:mltrack@127.0.0.1:5432/postgres}" # any database; used to create and drop
PG_DB_PREFIX="${PG_DB_PREFIX:-mltrack_bench_}"
PORT="${PORT:-5099}"
mkdir -p "$OUT"
BENCH=("$TOOLS/tracking_bench.py")

bench_one() { # name, then the server command
    local name="$1"
    shift
    local work
    work="$(mktemp -d)"
    (cd "$work" && python3 "$TOOLS/server_ctl.py" start --url "http://127.0.0.1:$PORT/api/2.0/mlflow/experiments/search" \
        --idle-seconds 5 --timeout 120 --pidfile "$work/server.pid" --log "$work/server.log" -- "$@") \
        | tee "$OUT/$name-server.json"
    local pid
    pid="$(cat "$work/server.pid")"
    python3 "${BENCH[@]}" --url "http://127.0.0.1:$PORT" --cases "$CASES" \
        --duration "$DURATION" --seed-runs "$SEED_RUNS" --server-pid "$pid" --json "$OUT/$name.json" \
        --max-total-seconds 3000
    python3 "$TOOLS/server_ctl.py" mem --pid "$pid" > "$OUT/$name-mem-after.json"
    python3 "$TOOLS/server_ctl.py" stop --pid "$pid" >/dev/null
    rm -rf "$work"
}

pg_db() { # name of the server's database
    echo "${PG_DB_PREFIX}${1//-/_}"
}

pg_fresh() { # server name: drops and creates its database, prints its URL
    local db
    db="$(pg_db "$1")"
    psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >&2
    echo "${PG_URL%/*}/$db"
}

if [[ "$BACKEND" == postgres ]]; then
    SERVERS="${SERVERS:-mltrack mlflow mlflow-pool20}"
    for server in $SERVERS; do
        url="$(pg_fresh "$server")"
        BENCH=("$REPO/bench/pg_cpu_bench.py")
        export PG_BENCH_DB
        PG_BENCH_DB="$(pg_db "$server")"
        case "$server" in
        mltrack) bench_one pg-mltrack "$MLTRACK" server --port "$PORT" --backend-store-uri "$url" ;;
        # MLflow's SQLAlchemy picks psycopg 3 for a bare postgresql:// URI; the ref venv has psycopg2
        mlflow) bench_one pg-mlflow "$REF_VENV/bin/mlflow" server --port "$PORT" \
            --backend-store-uri "${url/postgresql:/postgresql+psycopg2:}" --artifacts-destination ./mlartifacts ;;
        mlflow-pool20) bench_one pg-mlflow-pool20 env MLFLOW_SQLALCHEMYSTORE_POOL_SIZE=20 \
            MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW=0 "$REF_VENV/bin/mlflow" server --port "$PORT" \
            --backend-store-uri "${url/postgresql:/postgresql+psycopg2:}" --artifacts-destination ./mlartifacts ;;
        esac
        [[ "${KEEP_DB:-0}" == 1 ]] || psql -q "$PG_URL" -c "DROP DATABASE $PG_BENCH_DB WITH (FORCE)"
    done
    files=()
    for server in mlflow mlflow-pool20 mltrack; do
        [[ -f "$OUT/pg-$server.json" ]] && files+=("$OUT/pg-$server.json")
    done
    python3 "$REPO/bench/pg_cpu_bench.py" --summary "${files[@]}" | tee "$OUT/pg-compare.md"
    exit 0
fi

SERVERS="${SERVERS:-mltrack mlflow}"   # SERVERS=mltrack re-measures only mltrack
for server in $SERVERS; do
    case "$server" in
    mltrack) bench_one mltrack "$MLTRACK" server --port "$PORT" --backend-store-uri "sqlite:///mlruns.db" ;;
    mlflow) bench_one mlflow "$REF_VENV/bin/mlflow" server --port "$PORT" --backend-store-uri "sqlite:///mlflow.db" \
        --artifacts-destination ./mlartifacts ;;
    esac
done
python3 "$TOOLS/tracking_bench.py" --compare "$OUT/mlflow.json" "$OUT/mltrack.json" | tee "$OUT/compare.txt"
