#!/usr/bin/env bash
# End-to-end monitoring benchmark: `mltrack monitor` over DAYS daily batches of ROWS gold rows each
# (drawn with replacement; from day 60 two columns shift, so the later batches drift and alert), with
# a live `mltrack server` on SQLite logging one run per batch (metrics, report, samples). Reports the
# wall time of the whole pass (GNU time), then of a second pass that has nothing to do.
#
#   bench/monitor.sh                    # 90 batches × 7,000 rows
#   DAYS=30 ROWS=20000 bench/monitor.sh
#
# Needs the gold data (MLTRACK_GOLD_DATA or ../shared). Builds what it needs in release mode
# (CARGO_TARGET_DIR is honoured). Work files go to $WORK, which is emptied first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DAYS="${DAYS:-90}"
ROWS="${ROWS:-7000}"
WORK="${WORK:-${TMPDIR:-/tmp}/mltrack-monitor-bench}"
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
PORT="${PORT:-5093}"
cargo build --release -q -p mltrack --bin mltrack
cargo build --release -q -p model-core --example monitor_batches
BIN="$TARGET/release/mltrack"
rm -rf "$WORK" && mkdir -p "$WORK"
"$TARGET/release/examples/monitor_batches" "$DAYS" "$ROWS" "$WORK/gold"
"$BIN" server --port "$PORT" --backend-store-uri "sqlite:///$WORK/mlruns.db" \
    --artifacts-destination "$WORK/artifacts" >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
URL="http://127.0.0.1:$PORT"
for _ in $(seq 50); do curl -sf "$URL/health" >/dev/null && break; sleep 0.2; done
export MLTRACK_LOG=warn
"$BIN" train --max-evals 1 --register bench-model --stage Production --tracking-uri "$URL" \
    --out "$WORK/model" >/dev/null
for pass in first second; do
    status=0
    /usr/bin/time -f "$pass pass: %e s wall, %U s user, %S s sys, %M KiB peak RSS" \
        "$BIN" monitor --model models:/bench-model/Production --input "$WORK/gold" --out "$WORK/out" \
        --tracking-uri "$URL" --model-cache "$WORK/cache" 2>&1 >"$WORK/$pass.txt" | grep -v '^warning' || status=$?
    tail -n 1 "$WORK/$pass.txt"
done
echo "server CPU (user+sys ticks): $(awk '{print $14 + $15}' /proc/$SERVER/stat)"
curl -s -o /dev/null -w 'monitoring page: %{time_total} s, %{size_download} bytes\n' \
    "$URL/models/bench-model/monitoring"
