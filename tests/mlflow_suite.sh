#!/usr/bin/env bash
# MLflow's own live-server REST tests (3.10.1: test_rest_tracking.py, test_model_registry.py,
# test_mlflow_artifacts.py; 119 in scope) against `mltrack server`, one fresh server per test, on
# SQLite or on PostgreSQL (a fresh database per server).
#
#   tests/mlflow_suite.sh sqlite [-- extra run_suite.sh args, e.g. -k test_log_batch]
#   MLTRACK_TEST_PG_URL=postgresql://user:pw@127.0.0.1:5432/postgres tests/mlflow_suite.sh postgres
#
# Needs the runner in ../shared/tools/mlflow-suite and its test files restored once (its README:
# `restore.sh` from a git copy of MLflow's 3.10.1 release commit; they are third-party and never
# committed). Uses $MLTRACK_BIN, else target/release/mltrack, else target/debug/mltrack. Results
# (summary.json, junit.xml, one log per server) land in $OUT (default /tmp/mlflow-suite-<backend>).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$PWD"
RUNNER="${MLTRACK_SHARED:-$REPO/../shared}/tools/mlflow-suite"
BACKEND="${1:-sqlite}"
shift || true
[[ "${1:-}" == "--" ]] && shift
TARGET="${CARGO_TARGET_DIR:-$REPO/target}"
BIN="${MLTRACK_BIN:-}"
if [[ -z "$BIN" ]]; then
    for candidate in "$TARGET/release/mltrack" "$TARGET/debug/mltrack"; do
        [[ -x "$candidate" ]] && BIN="$candidate" && break
    done
fi
[[ -x "$BIN" ]] || { echo "mlflow_suite: no mltrack binary; run cargo build -p mltrack" >&2; exit 2; }
# A copy, so a rebuild while the suite runs does not swap the server under it.
COPY="$(mktemp -d)/mltrack"
cp "$BIN" "$COPY"
OUT="${OUT:-/tmp/mlflow-suite-$BACKEND}"
COMMON="--default-artifact-root {artifact_root} --artifacts-destination {artifacts_destination}"

case "$BACKEND" in
sqlite)
    TEMPLATE="exec $COPY server --host {host} --port {port} --backend-store-uri sqlite:///{workdir}/mlruns.db $COMMON"
    ;;
postgres)
    ADMIN="${MLTRACK_TEST_PG_URL:?set MLTRACK_TEST_PG_URL to a server where databases may be created}"
    BASE="${ADMIN%/*}"
    # The database name comes from the per-test work directory, so each server starts empty.
    TEMPLATE="db=suite_\$(printf %s {workdir} | md5sum | cut -c1-16); \
psql '$ADMIN' -qc \"DROP DATABASE IF EXISTS \$db\" >/dev/null 2>&1; \
psql '$ADMIN' -qc \"CREATE DATABASE \$db\" >/dev/null; \
exec $COPY server --host {host} --port {port} --backend-store-uri $BASE/\$db $COMMON"
    ;;
*)
    echo "mlflow_suite: backend must be sqlite or postgres, not '$BACKEND'" >&2
    exit 2
    ;;
esac

status=0
bash "$RUNNER/run_suite.sh" --out "$OUT" \
    --also-deselect "$RUNNER/deselect-drift-3.17.txt" "$@" "$TEMPLATE" || status=$?
if [[ "$BACKEND" == postgres ]]; then
    # One database per test: drop them all once the run is over.
    for db in $(psql "$ADMIN" -qtAc "SELECT datname FROM pg_database WHERE datname LIKE 'suite\_%'"); do
        psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
    done
fi
exit "$status"
