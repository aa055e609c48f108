"""The Spark half of tests/e2e/spark.rs, in one Spark session (local[2]).

    python spark_checks.py MLTRACK_MODEL_DIR INPUT_PARQUET TRAIN_PARQUET OUT_DIR

1. Export: loads the `sparkml/` PipelineModel that `mltrack train` wrote into MLTRACK_MODEL_DIR and
   writes its predictions for INPUT_PARQUET to OUT_DIR/export.parquet (row_id, prediction).
2. Import fixtures: fits the seed's pipeline (StringIndexer over the string columns with
   handleInvalid="skip", VectorAssembler over the indexed and double columns, then a
   RandomForestRegressor(labelCol="price", maxBins=40, seed=42), a GBTRegressor and a
   DecisionTreeRegressor) on TRAIN_PARQUET, saves each to OUT_DIR/<kind>/ and its predictions for
   INPUT_PARQUET to OUT_DIR/<kind>.parquet.

The Rust test compares these with `mltrack score`. Predictions are written with pyarrow, so the
numbers are the doubles Spark computed, untouched.
"""
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
    rows = model.transform(df).select("row_id", "prediction").collect()
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
