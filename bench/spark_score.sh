#!/usr/bin/env bash
# Spark interop scoring benchmark: the same models scored by `mltrack score` and by Spark local[2]
# on the same ROWS gold rows (drawn with replacement, as bench/score.sh generates them).
#
#   bench/spark_score.sh              # 5,000,000 rows
#   ROWS=1000000 bench/spark_score.sh
#
# Two models: mltrack's Spark-default forest (20 trees, depth 5, maxBins 40) with its exported
# `sparkml/`, and the seed's pipeline fitted *in pyspark* (RandomForestRegressor(maxBins=40,
# seed=42)) that mltrack reads directly. Needs Java and the Spark venv (.venv-spark, see .ci/run;
# SPARK_PYTHON overrides). Prints wall time and rows/s per run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROWS="${ROWS:-5000000}"
WORK="${WORK:-${TMPDIR:-/tmp}/mltrack-score-bench}"
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
SPARK_PYTHON="${SPARK_PYTHON:-$PWD/.venv-spark/bin/python}"
GOLD="${MLTRACK_GOLD_DATA:-$PWD/../shared/data/sf-airbnb-clean.parquet}"
cargo build --release -q -p mltrack --bin mltrack
cargo build --release -q -p model-core --example scoring_input
mkdir -p "$WORK"
if [[ ! -f "$WORK/input-$ROWS.parquet" || ! -d "$WORK/model/sparkml" ]]; then
    rm -rf "$WORK/model"
    "$TARGET/release/examples/scoring_input" "$ROWS" "$WORK/input-$ROWS.parquet" "$WORK/model"
fi
[[ -d "$WORK/spark-rf" ]] || "$SPARK_PYTHON" bench/spark_score.py fit "$GOLD" "$WORK/spark-rf"
for model in model spark-rf; do
    for run in 1 2 3; do
        start=$(date +%s.%N)
        "$TARGET/release/mltrack" score --model "$WORK/$model" --input "$WORK/input-$ROWS.parquet" \
            --output "$WORK/scored.parquet" >/dev/null 2>&1
        end=$(date +%s.%N)
        awk -v s="$start" -v e="$end" -v n="$ROWS" -v m="$model" -v r="$run" \
            'BEGIN { printf "mltrack %s run %d: %.2f s = %.3f M rows/s\n", m, r, e - s, n / (e - s) / 1e6 }'
    done
done
echo "spark on mltrack's exported model (model/sparkml):"
"$SPARK_PYTHON" bench/spark_score.py score "$WORK/model/sparkml" "$WORK/input-$ROWS.parquet" "$WORK/spark-scored"
echo "spark on the pyspark-fitted model (spark-rf):"
"$SPARK_PYTHON" bench/spark_score.py score "$WORK/spark-rf" "$WORK/input-$ROWS.parquet" "$WORK/spark-scored"
