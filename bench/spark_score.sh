#!/usr/bin/env bash
# Spark interop scoring benchmark: the seed's pipeline fitted *in pyspark*
# (RandomForestRegressor(labelCol="price", maxBins=40, seed=42): 20 trees, depth 5) scored by
# `mltrack score` (which reads Spark's directory directly) and by Spark local[2], on the same ROWS
# gold rows drawn with replacement (one Snappy parquet file, 4 MB row groups, written by Spark).
#
#   bench/spark_score.sh              # 5,000,000 rows
#   ROWS=1000000 bench/spark_score.sh
#
# Needs Java and the Spark venv (.venv-spark, see .ci/run; SPARK_PYTHON overrides). Work files go to
# $WORK. Prints wall time and rows/s per run; Spark's runs exclude session start and model load.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROWS="${ROWS:-5000000}"
WORK="${WORK:-${TMPDIR:-/tmp}/mltrack-spark-bench}"
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
SPARK_PYTHON="${SPARK_PYTHON:-$PWD/.venv-spark/bin/python}"
GOLD="${MLTRACK_GOLD_DATA:-$PWD/../shared/data/sf-airbnb-clean.parquet}"
cargo build --release -q -p mltrack --bin mltrack
mkdir -p "$WORK"
[[ -d "$WORK/input-$ROWS" ]] || "$SPARK_PYTHON" bench/spark_score.py input "$GOLD" "$ROWS" "$WORK/input-$ROWS"
[[ -d "$WORK/spark-rf" ]] || "$SPARK_PYTHON" bench/spark_score.py fit "$GOLD" "$WORK/spark-rf"
for run in 1 2 3; do
    /usr/bin/time -f "mltrack run $run: %e s wall, %U s user, %S s sys, %M KiB peak RSS" \
        "$TARGET/release/mltrack" score --model "$WORK/spark-rf" --input "$WORK/input-$ROWS" \
        --output "$WORK/scored.parquet" 2>&1 | grep 'run '
done
"$SPARK_PYTHON" bench/spark_score.py score "$WORK/spark-rf" "$WORK/input-$ROWS" "$WORK/spark-scored"
