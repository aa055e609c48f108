#!/usr/bin/env bash
# Import benchmark: `mltrack import` of a RUNS-run MLflow store written by MLflow 3.17.2 itself
# (tests/python/mlflow_store.py) from SQLite, PostgreSQL and the file store into mltrack on SQLite,
# plus SQLite → mltrack on PostgreSQL. Per import: wall time and peak RSS (GNU time -v), a second
# import that must change nothing (row counts of runs / params / metric_points before and after),
# then `mltrack server` on the result answering 100 random calls like MLflow on the source
# (tests/python/compare_stores.py). Ends with a markdown table.
#
#   bench/import.sh                      # 10,000 runs
#   RUNS=300 bench/import.sh             # quick
#   GEN_ONLY=1 bench/import.sh           # only write (and cache) the source stores
#   SOURCES="sqlite file" bench/import.sh
#
# Builds nothing: MLTRACK_BIN (default target/release/mltrack, $CARGO_TARGET_DIR/release/mltrack or
# ~/.cache/mltrack/target/release/mltrack, the first that exists). Needs .venv (tests/python/
# requirements.txt) and PostgreSQL at PG_URI (a role that may CREATE DATABASE). Source stores are
# cached under $BENCH_DIR/src-* (delete a directory to regenerate); import work dirs are emptied first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$PWD"
RUNS="${RUNS:-10000}"
SEED="${SEED:-7}"
CALLS="${CALLS:-100}"
PORT="${PORT:-5094}"
ARTIFACTS="${ARTIFACTS:-copy}"
SOURCES="${SOURCES:-sqlite postgres file}"
BENCH_DIR="${BENCH_DIR:-$HOME/.cache/mltrack/bench-import}"
PG_URI="${PG_URI:-postgresql://mltrack:mltrack@127.0.0.1:5432}"
PG_TARGET_DB="${PG_TARGET_DB:-mltrack_import_bench}"
PY="${PYTHON:-$REPO/.venv/bin/python}"
if [[ -z "${MLTRACK_BIN:-}" ]]; then
    for candidate in "$REPO/target/release/mltrack" "${CARGO_TARGET_DIR:-/nonexistent}/release/mltrack" \
        "$HOME/.cache/mltrack/target/release/mltrack"; do
        if [[ -x "$candidate" ]]; then MLTRACK_BIN="$candidate" && break; fi
    done
fi
MLTRACK_BIN="${MLTRACK_BIN:-$REPO/target/release/mltrack}"
mkdir -p "$BENCH_DIR"
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true MLTRACK_LOG="${MLTRACK_LOG:-warn}"

src_uri() { # source kind → the store URI MLflow (and mltrack import --from) reads
    case "$1" in
    sqlite) echo "sqlite:///$BENCH_DIR/src-sqlite-$RUNS/mlflow.db" ;;
    postgres) echo "$PG_URI/mlflow_src_bench_$RUNS" ;;
    file) echo "$BENCH_DIR/src-file-$RUNS/mlruns" ;;
    esac
}

pg_db_exists() { # database name
    [[ "$(psql "$PG_URI/postgres" -Atc "select 1 from pg_database where datname = '$1'")" == 1 ]]
}

generate() { # source kind: writes the store once; its summary JSON marks it complete
    local kind="$1" dir="$BENCH_DIR/src-$1-$RUNS"
    if [[ -f "$dir/summary.json" ]] && { [[ "$kind" != postgres ]] || pg_db_exists "mlflow_src_bench_$RUNS"; }; then
        echo "source $kind: cached ($(cat "$dir/summary.json"))" >&2
        return
    fi
    rm -rf "$dir" && mkdir -p "$dir"
    echo "source $kind: writing $RUNS runs with MLflow …" >&2
    "$PY" tests/python/mlflow_store.py --store "$(src_uri "$kind")" --artifact-root "$dir/artifacts" \
        --runs "$RUNS" --seed "$SEED" --fresh >"$dir/summary.tmp" 2>"$dir/generate.log"
    mv "$dir/summary.tmp" "$dir/summary.json"
    echo "source $kind: $(cat "$dir/summary.json")" >&2
}

counts() { # backend store URI → "runs params points"
    local q="select (select count(*) from runs) || ' ' || (select count(*) from params) || ' ' || (select count(*) from metric_points)"
    case "$1" in
    sqlite:///*) sqlite3 "${1#sqlite:///}" "$q" ;;
    postgresql://*) psql "$1" -Atc "$q" ;;
    esac
}

timed() { # label, command…: runs it under GNU time -v; sets SECONDS_TAKEN and RSS_MB
    local label="$1" report="$WORK/$1.time"
    shift
    if ! /usr/bin/time -v -o "$report" "$@" >"$WORK/$label.log" 2>&1; then
        echo "$label failed; see $WORK/$label.log" >&2
        tail -n 20 "$WORK/$label.log" >&2
        return 1
    fi
    SECONDS_TAKEN="$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0;
        for (i = 1; i <= n; i++) s = s * 60 + t[i]; printf "%.1f", s}' "$report")"
    RSS_MB="$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$report")"
}

SERVER=""
stop_server() { if [[ -n "$SERVER" ]]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; SERVER=""; fi; }
trap stop_server EXIT

ROWS=()
bench_one() { # label, source kind, target backend URI
    local label="$1" kind="$2" backend="$3"
    WORK="$BENCH_DIR/import-$label-$RUNS"
    rm -rf "$WORK" && mkdir -p "$WORK"
    local from
    from="$(src_uri "$kind")"
    local import=("$MLTRACK_BIN" import --from "$from" --artifacts "$ARTIFACTS" --backend-store-uri "$backend"
        --artifacts-destination "$WORK/mlartifacts")
    echo "== $label: ${import[*]}" >&2
    timed import "${import[@]}" || { ROWS+=("| $label | $RUNS | | failed | | | |"); return; }
    local import_s="$SECONDS_TAKEN" rss="$RSS_MB" before after
    before="$(counts "$backend")"
    timed reimport "${import[@]}" || { ROWS+=("| $label | ${before%% *} | | $import_s | $rss | failed | |"); return; }
    local reimport_s="$SECONDS_TAKEN"
    after="$(counts "$backend")"
    local unchanged="unchanged"
    [[ "$before" == "$after" ]] || unchanged="CHANGED: $before → $after"
    echo "   import $import_s s, $rss MB; re-import $reimport_s s, $unchanged (runs params points: $before)" >&2

    "$MLTRACK_BIN" server --backend-store-uri "$backend" --artifacts-destination "$WORK/mlartifacts" \
        --port "$PORT" >"$WORK/server.log" 2>&1 &
    SERVER=$!
    local result="server did not start (see $WORK/server.log)"
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
    if curl -sf "http://127.0.0.1:$PORT/health" >/dev/null; then
        result="$("$PY" tests/python/compare_stores.py --mlflow "$from" --mltrack "http://127.0.0.1:$PORT" \
            --calls "$CALLS" --seed "$SEED" >"$WORK/compare.txt" 2>&1; tail -n 1 "$WORK/compare.txt")"
    fi
    stop_server
    result="${result#compare: }"
    echo "   compare: $result (details: $WORK/compare.txt)" >&2
    read -r runs _ points <<<"$before"
    ROWS+=("| $label | $runs | $points | $import_s | $rss | $reimport_s ($unchanged) | ${result%% (*} |")
}

for kind in $SOURCES; do generate "$kind"; done
[[ -n "${GEN_ONLY:-}" ]] && exit 0
[[ -x "$MLTRACK_BIN" ]] || { echo "no mltrack binary at $MLTRACK_BIN (set MLTRACK_BIN)" >&2; exit 1; }

for kind in $SOURCES; do
    bench_one "$kind" "$kind" "sqlite:///$BENCH_DIR/import-$kind-$RUNS/mltrack.db"
done
if [[ " $SOURCES " == *" sqlite "* ]]; then
    psql "$PG_URI/postgres" -qc "drop database if exists $PG_TARGET_DB with (force)" -c "create database $PG_TARGET_DB"
    bench_one "sqlite-to-postgres" sqlite "$PG_URI/$PG_TARGET_DB"
fi

echo
echo "mltrack import of a $RUNS-run MLflow 3.17.2 store ($(nproc) cores, --artifacts $ARTIFACTS)"
echo
echo "| store | runs | points | import s | max RSS MB | re-import s | compare |"
echo "|---|---:|---:|---:|---:|---|---|"
printf '%s\n' "${ROWS[@]}"
