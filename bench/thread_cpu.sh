#!/usr/bin/env bash
# One case against a fresh `mltrack server` on SQLite, with the server's CPU per request split by
# thread (from /proc: the SQLite writer connection's thread, the tokio workers, the batch writer),
# to compare builds on the write path.
#
#   bench/thread_cpu.sh BIN [CASE] [SECONDS]     # default: log_metric_batch500 for 15 s
#   PAGE_SIZE=4096 bench/thread_cpu.sh BIN       # a store created with another page size
#
# Run builds alternately: on this 2-core machine two runs of one build differ by up to 10 %.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BIN="$(realpath "$1")"
CASE="${2:-log_metric_batch500}"
SECONDS_="${3:-15}"
PORT="${PORT:-5097}"
TOOLS="${MLTRACK_SHARED:-$PWD/../shared}/tools"
work="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
if [[ -n "${PAGE_SIZE:-}" ]]; then
    python3 -c "import sqlite3,sys; c=sqlite3.connect('mlruns.db'); c.execute('PRAGMA page_size=$PAGE_SIZE'); c.execute('PRAGMA journal_mode=WAL'); c.execute('CREATE TABLE t(a)'); c.execute('DROP TABLE t'); c.close()"
fi
"$BIN" server --port "$PORT" > server.log 2>&1 &
pid=$!
sleep 1
snap() { for t in /proc/"$pid"/task/*; do echo "$(basename "$t") $(tr ' ' _ < "$t/comm") $(awk '{print $14+$15}' "$t/stat")"; done; }
snap > before
python3 "$TOOLS/tracking_bench.py" --url "http://127.0.0.1:$PORT" --cases "$CASE" --duration "$SECONDS_" \
    --server-pid "$pid" --json bench.json | grep "req/s  mean"
snap > after
python3 - <<'PY'
import json, os
requests = None
def find(o):
    global requests
    if isinstance(o, dict):
        for k, v in o.items():
            if k in ("requests", "ok") and isinstance(v, int) and requests is None:
                requests = v
            find(v)
    elif isinstance(o, list):
        for x in o:
            find(x)
find(json.load(open("bench.json")))
tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
read = lambda f: {l.split()[0]: (l.split()[1], int(l.split()[2])) for l in open(f)}
a, b = read("before"), read("after")
used = sorted(((v - a.get(t, (c, 0))[1], c) for t, (c, v) in b.items()), reverse=True)
print(f"requests {requests}; server CPU ms per request by thread:",
      " ".join(f"{c}:{d * tick_ms / requests:.2f}" for d, c in used[:5] if d > 0))
PY
