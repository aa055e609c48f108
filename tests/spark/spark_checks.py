"""The Spark half of tests/e2e/spark.rs, in one Spark session (local[2]).

    python spark_checks.py MLTRACK_MODEL_DIR INPUT_PARQUET TRAIN_PARQUET OUT_DIR [MODEL_URI]

1. Export: loads the `sparkml/` PipelineModel that `mltrack train` wrote into MLTRACK_MODEL_DIR and
   writes its predictions for INPUT_PARQUET to OUT_DIR/export.parquet (row_id, prediction).
   With MODEL_URI (a `models:/` URI on $MLFLOW_TRACKING_URI), also predicts through
   `mlflow.pyfunc.spark_udf` to OUT_DIR/udf.parquet: one row per input row, NaN where the pipeline
   skips the row.
2. Import fixtures: fits the seed's pipeline (StringIndexer over the string columns with
   handleInvalid="skip", VectorAssembler over the indexed and double columns, then a
   RandomForestRegressor(labelCol="price", maxBins=40, seed=42), a GBTRegressor and a
   DecisionTreeRegressor) on TRAIN_PARQUET, saves each to OUT_DIR/<kind>/ and its predictions for
   INPUT_PARQUET to OUT_DIR/<kind>.parquet.

The Rust test compares these with `mltrack score`. Predictions are written with pyarrow, so the
numbers are the doubles Spark computed, untouched.
"""
import json
import os
import sys

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.feature import StringIndexer, VectorAssembler
from pyspark.ml.regression import (
    DecisionTreeRegressor,
    GBTRegressor,
    RandomForestRegressor,
)
from pyspark.sql import SparkSession


def predictions(model, df, path):
    predictions_of(model.transform(df), path)


def exported_signature(model_dir):
    """The input columns of the MLmodel's signature (a JSON string inside the YAML)."""
    with open(os.path.join(model_dir, "MLmodel"), encoding="utf-8") as f:
        for line in f:
            if line.strip().startswith("inputs:"):
                return line.split(":", 1)[1].strip().strip("'").replace("''", "'")
    raise ValueError("MLmodel has no signature inputs")


def predictions_of(scored, path):
    rows = scored.select("row_id", "prediction").collect()
    table = pa.table(
        {
            "row_id": pa.array([r["row_id"] for r in rows], pa.int64()),
            "prediction": pa.array([r["prediction"] for r in rows], pa.float64()),
        }
    )
    pq.write_table(table, path)


def seed_pipeline(train, regressor):
    categorical = [f.name for f in train.schema.fields if f.dataType.typeName() == "string"]
    numeric = [
        f.name
        for f in train.schema.fields
        if f.dataType.typeName() == "double" and f.name != "price"
    ]
    indexer = StringIndexer(
        inputCols=categorical,
        outputCols=[c + "_Index" for c in categorical],
        handleInvalid="skip",
    )
    assembler = VectorAssembler(
        inputCols=[c + "_Index" for c in categorical] + numeric, outputCol="features"
    )
    return Pipeline(stages=[indexer, assembler, regressor]).fit(train)


def main():
    model_dir, input_path, train_path, out = sys.argv[1:5]
    # Python UDF workers (spark_udf) must run this venv's Python, which has pandas and mlflow.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    df = spark.read.parquet(input_path)
    exported = PipelineModel.load(os.path.join(model_dir, "sparkml"))
    predictions(exported, df, os.path.join(out, "export.parquet"))
    print("export: predicted", flush=True)
    if len(sys.argv) > 5:
        import mlflow.pyfunc

        udf = mlflow.pyfunc.spark_udf(
            spark, sys.argv[5], result_type="double", env_manager="local"
        )
        names = [c["name"] for c in json.loads(exported_signature(model_dir))]
        scored = df.withColumn("prediction", udf(*names))
        predictions_of(scored, os.path.join(out, "udf.parquet"))
        print("spark_udf: predicted", flush=True)

    train = spark.read.parquet(train_path)
    regressors = {
        "rf": RandomForestRegressor(labelCol="price", maxBins=40, seed=42),
        "gbt": GBTRegressor(labelCol="price", maxBins=40, seed=42),
        "dt": DecisionTreeRegressor(labelCol="price", maxBins=40, seed=42),
    }
    for kind, regressor in regressors.items():
        model = seed_pipeline(train, regressor)
        model.write().overwrite().save(os.path.join(out, kind))
        predictions(model, df, os.path.join(out, kind + ".parquet"))
        print(f"{kind}: fitted, saved, predicted", flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
