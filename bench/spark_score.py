"""Spark's side of bench/spark_score.sh, in one Spark session (local[2]).

    python bench/spark_score.py fit GOLD OUT_DIR          # the seed's RF pipeline, saved by Spark
    python bench/spark_score.py score MODEL_DIR INPUT OUT  # time transform + parquet write, 3 runs
    python bench/spark_score.py memory GOLD ROWS           # no files: fit, then score cached rows
    python bench/spark_score.py input GOLD ROWS OUT        # ROWS gold rows drawn with replacement

`score` prints one line per run: rows, seconds, rows/s (session start and model load excluded;
each run reads the input, predicts and writes the scored rows as Snappy parquet, as mltrack score
does).
"""
import os
import sys
import time

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.feature import StringIndexer, VectorAssembler
from pyspark.ml.regression import RandomForestRegressor
from pyspark.sql import SparkSession


def session():
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "4g")
        # The 71 MB input would be one partition (one core) under the 128 MB default.
        .config("spark.sql.files.maxPartitionBytes", str(16 << 20))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def fit(gold, out):
    spark = session()
    seed_pipeline(spark.read.parquet(gold)).write().overwrite().save(out)


def seed_pipeline(train):
    categorical = [f.name for f in train.schema.fields if f.dataType.typeName() == "string"]
    numeric = [
        f.name
        for f in train.schema.fields
        if f.dataType.typeName() == "double" and f.name != "price"
    ]
    stages = [
        StringIndexer(
            inputCols=categorical,
            outputCols=[c + "_Index" for c in categorical],
            handleInvalid="skip",
        ),
        VectorAssembler(inputCols=[c + "_Index" for c in categorical] + numeric, outputCol="features"),
        RandomForestRegressor(labelCol="price", maxBins=40, seed=42),
    ]
    return Pipeline(stages=stages).fit(train)


def score(model_dir, input_path, out):
    spark = session()
    model = PipelineModel.load(model_dir)
    for run in (1, 2, 3):
        start = time.perf_counter()
        df = spark.read.parquet(input_path)
        scored = model.transform(df).drop("features")
        scored = scored.drop(*[c for c in scored.columns if c.endswith("_Index")])
        scored.write.mode("overwrite").parquet(out)
        seconds = time.perf_counter() - start
        rows = spark.read.parquet(out).count()
        print(f"spark run {run}: {rows} rows in {seconds:.2f} s = {rows / seconds / 1e6:.3f} M rows/s", flush=True)


def memory(gold, rows):
    """The seed's RF fitted on GOLD, scoring ROWS gold rows drawn with replacement and cached in
    memory, into Spark's `noop` sink: Spark's scoring alone, without parquet decode or encode."""
    spark = session()
    train = spark.read.parquet(gold)
    model = seed_pipeline(train)
    fraction = int(rows) / train.count()
    # Two partitions, one per core of local[2] (the gold file is one partition).
    df = train.sample(withReplacement=True, fraction=fraction, seed=7).repartition(2).cache()
    n = df.count()
    for run in (1, 2, 3):
        start = time.perf_counter()
        model.transform(df).write.format("noop").mode("overwrite").save()
        seconds = time.perf_counter() - start
        print(f"spark memory run {run}: {n} rows in {seconds:.2f} s = {n / seconds / 1e6:.3f} M rows/s", flush=True)


def make_input(gold, rows, out):
    """ROWS gold rows drawn with replacement (seeded) in random order (Spark's sampler repeats a
    row in place, which parquet's run-length encoding would make unrealistically cheap), as one
    Snappy parquet file."""
    from pyspark.sql.functions import rand

    spark = session()
    train = spark.read.parquet(gold)
    fraction = int(rows) / train.count()
    drawn = train.sample(withReplacement=True, fraction=fraction, seed=7)
    # 4 MB row groups (~280k rows): Spark's default 128 MB would make the whole file one group.
    drawn.orderBy(rand(11)).coalesce(1).write.option("parquet.block.size", 4 << 20).mode(
        "overwrite"
    ).parquet(out)


if __name__ == "__main__":
    {"fit": fit, "score": score, "memory": memory, "input": make_input}[sys.argv[1]](*sys.argv[2:])
