//! `mlflow.pyfunc.load_model` on a model registered by `mltrack train`, in the test venv (mlflow-skinny,
//! pandas, numpy, no pyspark): the shipped loader predicts what `mltrack score` does, and rows the
//! pipeline skips come back as NaN (or are dropped under model config `skipped: drop`).

use e2e::{mltrack_cli, Server};
use model_core::dataset::{read_table, ColumnData, Table};
use polars::prelude::*;
use std::collections::BTreeMap;
use std::process::Command;

fn numbers(table: &Table, column: &str) -> Vec<Option<f64>> {
    match &table.column(column).expect("column").data {
        ColumnData::Num(v) => v.clone(),
        ColumnData::Str(_) => panic!("{column} is text"),
    }
}

const SCRIPT: &str = r#"
import sys
import mlflow.pyfunc
import pandas as pd
df = pd.read_csv(sys.argv[1], keep_default_na=False)
model = mlflow.pyfunc.load_model("models:/airbnb-price/Production")
pred = model.predict(df)
pd.DataFrame({"row_id": df["row_id"], "prediction": pred.to_numpy()}).to_csv(
    sys.argv[2], index=False, float_format="%.17g")
dropped = mlflow.pyfunc.load_model(
    "models:/airbnb-price/Production", model_config={"skipped": "drop"}).predict(df)
print("kept", len(dropped), "of", len(df))
"#;

#[test]
fn pyfunc_without_spark_predicts_what_mltrack_scores() {
    let server = Server::start(None, &[]);
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let model = work.path().join("model");
    let out = mltrack_cli(
        &[
            "train",
            "--max-evals",
            "2",
            "--experiment",
            "pyfunc",
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
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut crafted = e2e::tables::gold_with_unseen_categories();
    let n = crafted.height();
    let input = work.path().join("input.csv");
    CsvWriter::new(std::fs::File::create(&input).unwrap())
        .finish(&mut crafted)
        .unwrap();
    let scored = work.path().join("scored.csv");
    let out = mltrack_cli(
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
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let predicted = work.path().join("pyfunc.csv");
    let run = Command::new(e2e::python())
        .args(["-c", SCRIPT])
        .arg(&input)
        .arg(&predicted)
        .env("MLFLOW_TRACKING_URI", &server.url)
        .env("MLFLOW_DISABLE_TELEMETRY", "true")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let check = Command::new(e2e::python())
        .args(["-c", "import pyspark"])
        .output()
        .unwrap();
    assert!(
        !check.status.success(),
        "the pyfunc venv must not have pyspark"
    );

    let ours: BTreeMap<i64, f64> = {
        let t = read_table(&scored).unwrap().table;
        numbers(&t, "row_id")
            .into_iter()
            .zip(numbers(&t, "prediction"))
            .map(|(r, p)| (r.unwrap() as i64, p.unwrap()))
            .collect()
    };
    let theirs = read_table(&predicted).unwrap().table;
    let ids = numbers(&theirs, "row_id");
    let preds = numbers(&theirs, "prediction");
    assert_eq!(ids.len(), n, "one prediction per input row");
    let mut nan = 0;
    for (r, p) in ids.iter().zip(&preds) {
        let r = r.unwrap() as i64;
        match (ours.get(&r), p.filter(|v| !v.is_nan())) {
            (Some(a), Some(b)) => assert!(
                (a - b).abs() <= 1e-9 * a.abs(),
                "row {r}: mltrack {a}, pyfunc {b}"
            ),
            (None, None) => nan += 1,
            (a, b) => panic!("row {r}: mltrack {a:?}, pyfunc {b:?}"),
        }
    }
    assert_eq!(nan, n - ours.len());
    assert!(nan >= 3, "the three unseen-category rows are NaN");
    assert!(
        stdout.contains(&format!("kept {} of {n}", ours.len())),
        "{stdout}"
    );
}
