#!/usr/bin/env bash
# Start the reference `mlflow server` (the real Python one) for comparison runs of the
# python acceptance tests and for benchmarks.  Not used by CI.
#
#   tests/python/reference-server.sh            # start on 127.0.0.1:5055 (fresh store)
#   tests/python/reference-server.sh stop
#   MLTRACK_URL=http://127.0.0.1:5055 .venv/bin/python -m pytest tests/python
#
# The venv lives outside the repo (~/.cache/mltrack/ref-venv) with the full `mlflow`
# package at the version the tests were validated against.
set -euo pipefail

MLFLOW_VERSION="${MLFLOW_VERSION:-3.17.2}"
REF_VENV="${REF_VENV:-$HOME/.cache/mltrack/ref-venv}"
REF_DIR="${REF_DIR:-/tmp/ref}"
PORT="${PORT:-5055}"
PIDFILE="$REF_DIR/server.pid"

stop() {
    if [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
        # the server was started with setsid: its pid is its process group, which also
        # holds the uvicorn workers it spawned
        kill -TERM -- "-$(cat "$PIDFILE")" 2>/dev/null || kill "$(cat "$PIDFILE")"
        for _ in $(seq 1 50); do kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break; sleep 0.2; done
        echo "reference server stopped"
    fi
    rm -f "$PIDFILE"
}

if [[ "${1:-start}" == stop ]]; then
    stop
    exit 0
fi

if ! "$REF_VENV/bin/python" -c "import mlflow, sys; sys.exit(mlflow.__version__ != '$MLFLOW_VERSION')" 2>/dev/null; then
    python3 -m venv "$REF_VENV"
    "$REF_VENV/bin/python" -m pip install -q --disable-pip-version-check "mlflow==$MLFLOW_VERSION"
fi

stop
if [[ "${KEEP_STORE:-0}" != 1 ]]; then
    rm -rf "$REF_DIR/mlflow.db" "$REF_DIR/mlartifacts"
fi
mkdir -p "$REF_DIR"
cd "$REF_DIR"
# setsid: its own process group, so `stop` (and the caller's shell) end only this server.
setsid "$REF_VENV/bin/mlflow" server --host 127.0.0.1 --port "$PORT" \
    --backend-store-uri "sqlite:///$REF_DIR/mlflow.db" \
    --artifacts-destination "$REF_DIR/mlartifacts" >"$REF_DIR/server.log" 2>&1 &
echo $! >"$PIDFILE"
for _ in $(seq 1 120); do
    if curl -sf "http://127.0.0.1:$PORT/health" >/dev/null; then
        echo "reference mlflow $MLFLOW_VERSION ready on http://127.0.0.1:$PORT (log: $REF_DIR/server.log)"
        exit 0
    fi
    sleep 0.5
done
echo "reference server did not become healthy; see $REF_DIR/server.log" >&2
exit 1
