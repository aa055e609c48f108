//! Spark interop (issue 15), in one Spark session (`tests/spark/spark_checks.py`, `local[2]`):
//! a model trained by `mltrack train` loads in pyspark with `PipelineModel.load` and predicts what
//! `mltrack score` does, skipping the same rows; pipelines fitted in pyspark with the seed's code
//! score in `mltrack score` with Spark's predictions.

use e2e::{mltrack_cli, Server};
use model_core::dataset::{read_table, ColumnData, Table};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn numbers(table: &Table, column: &str) -> Vec<Option<f64>> {
    match &table
        .column(column)
        .unwrap_or_else(|| panic!("no column {column}"))
        .data
    {
        ColumnData::Num(v) => v.clone(),
        ColumnData::Str(_) => panic!("{column} is text"),
    }
}

/// `row_id → prediction` of a file with both columns; a missing (null or NaN) prediction is `None`.
fn maybe_by_row(path: &Path) -> BTreeMap<i64, Option<f64>> {
    let t = read_table(path).unwrap().table;
    numbers(&t, "row_id")
        .into_iter()
        .map(|r| r.expect("row_id") as i64)
        .zip(
            numbers(&t, "prediction")
                .into_iter()
                .map(|p| p.filter(|v| v.is_finite())),
        )
        .collect()
}

/// `row_id → prediction` of a file in which every row has a finite prediction.
fn by_row(path: &Path) -> BTreeMap<i64, f64> {
    maybe_by_row(path)
        .into_iter()
        .map(|(r, p)| {
            (
                r,
                p.unwrap_or_else(|| panic!("{}: row {r} has no prediction", path.display())),
            )
        })
        .collect()
}

/// Same rows kept, and each prediction within 1e-9 relative.
fn assert_same(what: &str, ours: &BTreeMap<i64, f64>, spark: &BTreeMap<i64, f64>, n: usize) {
    assert!(!ours.is_empty(), "{what}: nothing scored");
    assert!(
        ours.len() < n,
        "{what}: the unseen categories were not skipped"
    );
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        spark.keys().collect::<Vec<_>>(),
        "{what}: mltrack and Spark keep different rows"
    );
    let worst = ours
        .iter()
        .map(|(r, a)| {
            let b = spark[r];
            ((a - b).abs() / b.abs().max(1e-300), *r)
        })
        .fold((0.0_f64, -1), |m, x| if x.0 > m.0 { x } else { m });
    println!(
        "{what}: {} rows agree, {} skipped, worst relative difference {:.3e} (row {})",
        ours.len(),
        n - ours.len(),
        worst.0,
        worst.1
    );
    assert!(
        worst.0 <= 1e-9,
        "{what}: row {} differs by {:e}",
        worst.1,
        worst.0
    );
}

#[test]
fn spark_and_mltrack_score_each_others_pipelines_alike() {
    let Some(python) = e2e::spark_python_or_skip() else {
        return;
    };
    let server = Server::start(None, &[]);
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let model = work.path().join("model");
    ok(&mltrack_cli(
        &[
            "train",
            "--max-evals",
            "2",
            "--experiment",
            "spark",
            "--register",
            "airbnb-price",
            "--stage",
            "Production",
            "--tracking-uri",
            &server.url,
            "--out",
            model.to_str().unwrap(),
        ],
        &cache,
    ));
    let mlmodel = std::fs::read_to_string(model.join("MLmodel")).unwrap();
    assert!(mlmodel.contains("  spark:\n"), "{mlmodel}");
    assert!(mlmodel.contains("model_data: sparkml"), "{mlmodel}");

    let input = work.path().join("input.parquet");
    let crafted = e2e::tables::gold_with_unseen_categories();
    let n = crafted.height();
    e2e::tables::write_parquet(&crafted, &input);
    let scored = work.path().join("scored.parquet");
    ok(&mltrack_cli(
        &[
            "score",
            "--model",
            model.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            scored.to_str().unwrap(),
            "--no-log",
        ],
        &cache,
    ));

    let out = work.path().join("spark");
    std::fs::create_dir_all(&out).unwrap();
    let script = e2e::workspace_root().join("tests/spark/spark_checks.py");
    let run = Command::new(&python)
        .arg(&script)
        .args([&model, &input, &e2e::gold_data(), &out])
        .arg("models:/airbnb-price/Production")
        .env("MLFLOW_TRACKING_URI", &server.url)
        .env("MLFLOW_DISABLE_TELEMETRY", "true")
        .output()
        .unwrap();
    println!("{}", String::from_utf8_lossy(&run.stdout));
    assert!(
        run.status.success(),
        "spark_checks.py failed:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );

    // mltrack → Spark.
    assert_same(
        "mltrack model in Spark",
        &by_row(&scored),
        &by_row(&out.join("export.parquet")),
        n,
    );

    // mltrack → Spark through the registry: mlflow.pyfunc.spark_udf, NaN for the skipped rows.
    let ours = by_row(&scored);
    let udf = maybe_by_row(&out.join("udf.parquet"));
    assert_eq!(udf.len(), n, "spark_udf returns one prediction per row");
    let kept: BTreeMap<i64, f64> = udf.iter().filter_map(|(r, p)| p.map(|p| (*r, p))).collect();
    assert_same("mltrack model through spark_udf", &ours, &kept, n);

    // Spark → mltrack: the seed's pipeline with each regressor, as Spark saved it.
    for kind in ["rf", "gbt", "dt"] {
        let scored = work.path().join(format!("{kind}-scored.parquet"));
        ok(&mltrack_cli(
            &[
                "score",
                "--model",
                out.join(kind).to_str().unwrap(),
                "--input",
                input.to_str().unwrap(),
                "--output",
                scored.to_str().unwrap(),
            ],
            &cache,
        ));
        assert_same(
            &format!("Spark {kind} pipeline in mltrack"),
            &by_row(&scored),
            &by_row(&out.join(format!("{kind}.parquet"))),
            n,
        );
    }

    // `monitor` takes the Spark directory too (its drift reference given, as a Spark model has no
    // profile of its training rows), and its predictions are Spark's.
    let monitored = work.path().join("monitor");
    let run = mltrack_cli(
        &[
            "monitor",
            "--model",
            out.join("rf").to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--out",
            monitored.to_str().unwrap(),
            "--reference",
            e2e::gold_data().to_str().unwrap(),
            "--date",
            "2026-12-01",
        ],
        &cache,
    );
    assert!(
        matches!(run.status.code(), Some(0 | 3)),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_same(
        "Spark rf pipeline in mltrack monitor",
        &by_row(&monitored.join("predictions/date=2026-12-01/part-0.parquet")),
        &by_row(&out.join("rf.parquet")),
        n,
    );

    // The same Spark pipeline as an MLflow model that has only the `spark` flavor.
    let logged = work.path().join("logged");
    copy_dir(&out.join("rf"), &logged.join("sparkml"));
    std::fs::write(
        logged.join("MLmodel"),
        "flavors:\n  spark:\n    model_data: sparkml\n    pyspark_version: 4.0.1\n",
    )
    .unwrap();
    let scored = work.path().join("logged-scored.parquet");
    ok(&mltrack_cli(
        &[
            "score",
            "--model",
            logged.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            scored.to_str().unwrap(),
        ],
        &cache,
    ));
    assert_same(
        "Spark rf as an MLflow spark-flavor model in mltrack",
        &by_row(&scored),
        &by_row(&out.join("rf.parquet")),
        n,
    );

    // `model import-spark` packages and registers the Spark pipeline; the registered version scores
    // with Spark's predictions.
    let package = work.path().join("imported");
    ok(&mltrack_cli(
        &[
            "model",
            "import-spark",
            out.join("gbt").to_str().unwrap(),
            "--register",
            "spark-price",
            "--stage",
            "Production",
            "--tracking-uri",
            &server.url,
            "--out",
            package.to_str().unwrap(),
        ],
        &cache,
    ));
    assert!(package.join("sparkml/metadata").is_dir() && package.join("pipeline.json").is_file());
    let scored = work.path().join("registered-scored.parquet");
    ok(&mltrack_cli(
        &[
            "score",
            "--model",
            "models:/spark-price/Production",
            "--tracking-uri",
            &server.url,
            "--input",
            input.to_str().unwrap(),
            "--output",
            scored.to_str().unwrap(),
            "--no-log",
        ],
        &cache,
    ));
    assert_same(
        "Spark gbt imported and registered, scored by mltrack",
        &by_row(&scored),
        &by_row(&out.join("gbt.parquet")),
        n,
    );

    // A truncated copy: a clear error naming what is missing, and no output.
    let truncated = work.path().join("truncated");
    copy_dir(&out.join("gbt"), &truncated);
    let stage = std::fs::read_dir(truncated.join("stages"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("GBT"))
        .unwrap();
    std::fs::remove_dir_all(stage.join("treesMetadata")).unwrap();
    let scored = work.path().join("truncated-scored.parquet");
    let failed = mltrack_cli(
        &[
            "score",
            "--model",
            truncated.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            scored.to_str().unwrap(),
        ],
        &cache,
    );
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success());
    assert!(stderr.contains("treesMetadata"), "{stderr}");
    assert!(!scored.exists(), "nothing is written for a broken model");
}

/// Without Spark (so it runs everywhere): a Spark directory with a stage mltrack cannot score, or
/// from a newer Spark, is refused by `score` with one line naming it, and nothing is written;
/// `import-spark` refuses it too and leaves no package.
#[test]
fn score_and_import_spark_refuse_spark_models_they_cannot_read() {
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let gold = model_core::dataset::load_gold(&e2e::gold_data(), false).unwrap();
    let model = model_core::pipeline::PricePipeline::fit(
        &gold.table,
        &model_core::pipeline::PipelineParams {
            forest: model_core::forest::RandomForestParams::new()
                .num_trees(3)
                .max_bins(40),
            ..Default::default()
        },
    )
    .unwrap();
    let input = work.path().join("input.parquet");
    e2e::tables::write_parquet(&e2e::tables::gold_with_unseen_categories(), &input);
    let edit = |name: &str, file: &dyn Fn(&Path) -> std::path::PathBuf, from: &str, to: &str| {
        let dir = work.path().join(name);
        model_core::spark::write::save(&model, &dir).unwrap();
        let path = file(&dir);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{text}");
        std::fs::write(&path, text.replace(from, to)).unwrap();
        dir
    };
    let assembler_metadata = |dir: &Path| {
        let stage = std::fs::read_dir(dir.join("stages"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().contains("VectorAssembler"))
            .unwrap();
        stage.join("metadata/part-00000")
    };
    let cases = [
        (
            edit(
                "unsupported",
                &assembler_metadata,
                "org.apache.spark.ml.feature.VectorAssembler",
                "org.apache.spark.ml.feature.OneHotEncoderModel",
            ),
            "OneHotEncoderModel",
        ),
        (
            edit(
                "newer",
                &|d: &Path| d.join("metadata/part-00000"),
                "\"sparkVersion\":\"4.0.1\"",
                "\"sparkVersion\":\"5.1.0\"",
            ),
            "Spark 5.1.0",
        ),
    ];
    for (dir, expect) in &cases {
        let output = work.path().join("scored.parquet");
        let run = mltrack_cli(
            &[
                "score",
                "--model",
                dir.to_str().unwrap(),
                "--input",
                input.to_str().unwrap(),
                "--output",
                output.to_str().unwrap(),
            ],
            &cache,
        );
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(expect), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(!output.exists(), "nothing written for {expect}");
        let package = work.path().join("package");
        let run = mltrack_cli(
            &[
                "model",
                "import-spark",
                dir.to_str().unwrap(),
                "--out",
                package.to_str().unwrap(),
            ],
            &cache,
        );
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(expect), "{stderr}");
        assert!(!package.exists(), "no package for {expect}");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}
