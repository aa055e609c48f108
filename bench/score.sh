#!/usr/bin/env bash
# End-to-end scoring benchmark: `mltrack score` on a generated input of ROWS gold rows (drawn with
# replacement, zstd parquet in 100k-row groups, as polars writes it) with a Spark-default forest
# (20 trees, depth 5), reporting wall time, rows/s, CPU time and peak memory (GNU time).
#
#   bench/score.sh                # 5,000,000 rows
#   ROWS=1000000 bench/score.sh
#
# Builds what it needs in release mode (CARGO_TARGET_DIR is honoured). Work files go to $WORK.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROWS="${ROWS:-5000000}"
WORK="${WORK:-${TMPDIR:-/tmp}/mltrack-score-bench}"
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -q -p mltrack --bin mltrack
cargo build --release -q -p model-core --example scoring_input
mkdir -p "$WORK"
if [[ ! -f "$WORK/input-$ROWS.parquet" ]]; then
    "$TARGET/release/examples/scoring_input" "$ROWS" "$WORK/input-$ROWS.parquet" "$WORK/model"
fi
for run in 1 2 3; do
    /usr/bin/time -f '%e s wall, %U s user, %S s sys, %M KiB peak RSS' \
        "$TARGET/release/mltrack" score --model "$WORK/model" --input "$WORK/input-$ROWS.parquet" \
        --output "$WORK/scored.parquet" 2>&1 | grep -v '^$' | sed "s/^/run $run: /"
done
