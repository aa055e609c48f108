#!/usr/bin/env bash
# Side-by-side benchmark: `mltrack server` and the Python `mlflow server`, both on SQLite, driven by
# the shared load generator (20 workers, keep-alive) with the same cases and durations.
#
#   bench/tracking.sh                 # all cases, 20 s each, 20k runs in the search experiment
#   DURATION=10 CASES=create_run bench/tracking.sh
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
PORT="${PORT:-5099}"
mkdir -p "$OUT"

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
    python3 "$TOOLS/tracking_bench.py" --url "http://127.0.0.1:$PORT" --cases "$CASES" \
        --duration "$DURATION" --seed-runs "$SEED_RUNS" --server-pid "$pid" --json "$OUT/$name.json" \
        --max-total-seconds 3000
    python3 "$TOOLS/server_ctl.py" mem --pid "$pid" > "$OUT/$name-mem-after.json"
    python3 "$TOOLS/server_ctl.py" stop --pid "$pid" >/dev/null
    rm -rf "$work"
}

SERVERS="${SERVERS:-mltrack mlflow}"   # SERVERS=mltrack re-measures only mltrack
for server in $SERVERS; do
    case "$server" in
    mltrack) bench_one mltrack "$MLTRACK" server --port "$PORT" --backend-store-uri "sqlite:///mlruns.db" ;;
    mlflow) bench_one mlflow "$REF_VENV/bin/mlflow" server --port "$PORT" --backend-store-uri "sqlite:///mlflow.db" \
        --artifacts-destination ./mlartifacts ;;
    esac
done
python3 "$TOOLS/tracking_bench.py" --compare "$OUT/mlflow.json" "$OUT/mltrack.json" | tee "$OUT/compare.txt"
