//! Spark interop (issue 15), in one Spark session (`tests/spark/spark_checks.py`, `local[2]`):
//! a model trained by `mltrack train` loads in pyspark with `PipelineModel.load` and predicts what
//! `mltrack score` does, skipping the same rows; pipelines fitted in pyspark with the seed's code
//! score in `mltrack score` with Spark's predictions.

use e2e::mltrack_cli;
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

fn numbers(table: &Table, column: &str) -> Vec<f64> {
    match &table
        .column(column)
        .unwrap_or_else(|| panic!("no column {column}"))
        .data
    {
        ColumnData::Num(v) => v.iter().map(|x| x.expect("no null")).collect(),
        ColumnData::Str(_) => panic!("{column} is text"),
    }
}

/// `row_id → prediction` of a file with both columns.
fn by_row(path: &Path) -> BTreeMap<i64, f64> {
    let t = read_table(path).unwrap().table;
    numbers(&t, "row_id")
        .into_iter()
        .map(|r| r as i64)
        .zip(numbers(&t, "prediction"))
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
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let model = work.path().join("model");
    ok(&mltrack_cli(
        &[
            "train",
            "--max-evals",
            "2",
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
        ],
        &cache,
    ));

    let out = work.path().join("spark");
    std::fs::create_dir_all(&out).unwrap();
    let script = e2e::workspace_root().join("tests/spark/spark_checks.py");
    let run = Command::new(&python)
        .arg(&script)
        .args([&model, &input, &e2e::gold_data(), &out])
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
}
