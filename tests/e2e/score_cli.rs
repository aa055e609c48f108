//! `mltrack score` as the seed's daily job uses it: the Production model from the registry scores the
//! gold data exactly as the model itself predicts, rows with unseen categories land in the skipped file
//! with their reasons, and the scoring run shows the counts.

use client::rest::TrackingClient;
use e2e::{mltrack_bin, mltrack_cli, runs_in, Server};
use model_core::dataset::{read_table, ColumnData, Table};
use polars::prelude::*;
use protocol::RunStatus;
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

fn strings(table: &Table, column: &str) -> Vec<Option<String>> {
    match &table
        .column(column)
        .unwrap_or_else(|| panic!("no column {column}"))
        .data
    {
        ColumnData::Str(v) => v.clone(),
        ColumnData::Num(_) => panic!("{column} is a number"),
    }
}

/// The first `n` gold rows as polars reads them.
fn gold_head(n: usize) -> DataFrame {
    let mut reader = model_core::table_io::TableReader::open(&e2e::gold_data(), n, &[]).unwrap();
    reader.next_batch().unwrap().unwrap().slice(0, n)
}

fn bits(v: &[Option<f64>]) -> Vec<Option<u64>> {
    v.iter().map(|x| x.map(f64::to_bits)).collect()
}

fn metric(run: &protocol::Run, key: &str) -> Option<f64> {
    run.data
        .metrics
        .iter()
        .find(|m| m.key == key)
        .map(|m| m.value)
}

#[test]
fn the_production_model_scores_gold_data_as_it_predicts_and_reports_what_it_skipped() {
    let server = Server::start(None, &[]);
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let local = work.path().join("model");
    ok(&mltrack_cli(
        &[
            "train",
            "--max-evals",
            "2",
            "--experiment",
            "price",
            "--register",
            "airbnb-price",
            "--stage",
            "Production",
            "--tracking-uri",
            &server.url,
            "--out",
            local.to_str().unwrap(),
        ],
        &cache,
    ));

    // All 7,146 gold rows through the registry's Production model.
    let gold_path = e2e::gold_data();
    let scored = work.path().join("scored.parquet");
    let stdout = ok(&mltrack_cli(
        &[
            "score",
            "--model",
            "models:/airbnb-price/Production",
            "--input",
            gold_path.to_str().unwrap(),
            "--output",
            scored.to_str().unwrap(),
            "--tracking-uri",
            &server.url,
            "--batch-rows",
            "1000",
        ],
        &cache,
    ));
    let gold = read_table(&gold_path).unwrap().table;
    let own = model_core::package::load(&local)
        .unwrap()
        .predict(&gold)
        .unwrap();
    let out = read_table(&scored).unwrap().table;
    let skipped_path = work.path().join("scored.skipped.parquet");
    // No skipped row makes an empty file, which the reader refuses as data.
    let skipped_rows = if own.skipped.is_empty() {
        0
    } else {
        read_table(&skipped_path).unwrap().table.n_rows()
    };
    assert!(skipped_path.exists());
    assert_eq!(out.n_rows() + skipped_rows, gold.n_rows(), "{stdout}");
    assert_eq!(out.n_rows(), own.values.len());
    let expected: Vec<Option<f64>> = own.values.iter().copied().map(Some).collect();
    assert_eq!(
        bits(&numbers(&out, "prediction")),
        bits(&expected),
        "predictions differ"
    );
    // Input columns pass through unchanged, row for row.
    let kept_prices: Vec<Option<f64>> = own
        .rows
        .iter()
        .map(|&r| numbers(&gold, "price")[r])
        .collect();
    assert_eq!(bits(&numbers(&out, "price")), bits(&kept_prices));
    if !own.skipped.is_empty() {
        let skipped = read_table(&skipped_path).unwrap().table;
        let skipped_rows: Vec<Option<f64>> =
            own.skipped.iter().map(|s| Some(s.row as f64)).collect();
        assert_eq!(numbers(&skipped, "row"), skipped_rows);
    }
    // Without `--experiment` the run goes to `scoring`; a parquet skipped file also gets a CSV sample
    // that the web UI previews as a table.
    let c = TrackingClient::new(&server.url).unwrap();
    let gold_run = &runs_in(&c, "scoring", "")[0];
    let files = c
        .list_artifacts(&TrackingClient::run_artifact_path(gold_run, "scoring").unwrap())
        .unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert!(names.contains(&"scored.skipped.parquet"), "{names:?}");
    assert_eq!(
        names.contains(&"skipped_sample.csv"),
        !own.skipped.is_empty(),
        "{names:?}"
    );

    // A crafted file: unseen neighbourhoods and property types, a null room type.
    let mut df = gold_head(40);
    let set = |df: &mut DataFrame, column: &str, rows: &[usize], value: Option<&str>| {
        let mut values: Vec<Option<String>> = df
            .column(column)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect();
        for &r in rows {
            values[r] = value.map(str::to_string);
        }
        df.with_column(Column::new(column.into(), values)).unwrap();
    };
    set(&mut df, "neighbourhood_cleansed", &[3, 7], Some("Atlantis"));
    set(&mut df, "property_type", &[10], Some("Spaceship"));
    set(&mut df, "room_type", &[20], None);
    let crafted = work.path().join("crafted.csv");
    CsvWriter::new(std::fs::File::create(&crafted).unwrap())
        .finish(&mut df)
        .unwrap();
    c.set_alias("airbnb-price", "champion", "1").unwrap();
    let crafted_out = work.path().join("crafted-scored.csv");
    ok(&mltrack_cli(
        &[
            "score",
            "--model",
            "models:/airbnb-price@champion",
            "--input",
            crafted.to_str().unwrap(),
            "--output",
            crafted_out.to_str().unwrap(),
            "--tracking-uri",
            &server.url,
            "--experiment",
            "daily-scoring",
        ],
        &cache,
    ));
    let skipped = read_table(&work.path().join("crafted-scored.skipped.csv"))
        .unwrap()
        .table;
    assert_eq!(
        numbers(&skipped, "row"),
        vec![Some(3.0), Some(7.0), Some(10.0), Some(20.0)]
    );
    let reasons = strings(&skipped, "reason");
    let columns = strings(&skipped, "column");
    let values = strings(&skipped, "value");
    let got: Vec<(Option<String>, Option<String>, Option<String>)> = reasons
        .into_iter()
        .zip(columns)
        .zip(values)
        .map(|((r, c), v)| (r, c, v))
        .collect();
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        got,
        vec![
            (
                s("unseen_category"),
                s("neighbourhood_cleansed"),
                s("Atlantis")
            ),
            (
                s("unseen_category"),
                s("neighbourhood_cleansed"),
                s("Atlantis")
            ),
            (s("unseen_category"), s("property_type"), s("Spaceship")),
            (s("null_category"), s("room_type"), None),
        ]
    );
    assert_eq!(read_table(&crafted_out).unwrap().table.n_rows(), 36);

    // The scoring run shows the counts and keeps the skipped rows as an artifact.
    let runs = runs_in(&c, "daily-scoring", "");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run.info.status, protocol::RunStatus::Finished);
    assert_eq!(metric(run, "rows_in"), Some(40.0));
    assert_eq!(metric(run, "rows_scored"), Some(36.0));
    assert_eq!(metric(run, "rows_skipped"), Some(4.0));
    assert_eq!(
        metric(run, "rows_skipped.column.neighbourhood_cleansed"),
        Some(2.0)
    );
    assert_eq!(
        metric(run, "rows_skipped.reason.unseen_category"),
        Some(3.0)
    );
    let params: Vec<(&str, &str)> = run
        .data
        .params
        .iter()
        .map(|p| (p.key.as_str(), p.value.as_str()))
        .collect();
    assert!(params.contains(&("model_version", "1")), "{params:?}");
    assert!(params.contains(&("model_uri", "models:/airbnb-price@champion")));
    let files = c
        .list_artifacts(&TrackingClient::run_artifact_path(run, "scoring").unwrap())
        .unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert!(
        names.contains(&"crafted-scored.skipped.csv") && names.contains(&"summary.json"),
        "{names:?}"
    );

    // A run given with `--run-id` belongs to the caller: score logs to it and leaves it running.
    let experiment = c.get_or_create_experiment("caller").unwrap();
    let caller = c
        .create_run(&experiment, Some("my pipeline"), &[])
        .unwrap()
        .info
        .run_id;
    ok(&mltrack_cli(
        &[
            "score",
            "--model",
            "models:/airbnb-price/Production",
            "--input",
            gold_path.to_str().unwrap(),
            "--output",
            work.path().join("by-caller.parquet").to_str().unwrap(),
            "--tracking-uri",
            &server.url,
            "--run-id",
            &caller,
        ],
        &cache,
    ));
    let caller_run = c.get_run(&caller).unwrap();
    assert_eq!(
        caller_run.info.status,
        RunStatus::Running,
        "{:?}",
        caller_run.info
    );
    assert!(caller_run.info.end_time.is_none());
    assert!(
        metric(&caller_run, "rows_in").is_some(),
        "{:?}",
        caller_run.data.metrics
    );

    // The same model by version number and by its run scores the gold rows identically.
    let version = c.resolve_model_uri("models:/airbnb-price/1").unwrap();
    let by_run = format!("runs:/{}/model", version.run_id.unwrap());
    for uri in ["models:/airbnb-price/1", by_run.as_str()] {
        let again = work.path().join("again.parquet");
        ok(&mltrack_cli(
            &[
                "score",
                "--model",
                uri,
                "--input",
                gold_path.to_str().unwrap(),
                "--output",
                again.to_str().unwrap(),
                "--tracking-uri",
                &server.url,
                "--no-log",
            ],
            &cache,
        ));
        let again = read_table(&again).unwrap().table;
        assert_eq!(
            bits(&numbers(&again, "prediction")),
            bits(&expected),
            "{uri}"
        );
    }
}

/// Runs `mltrack score` expecting failure: exit 1, one line naming the problem, no output file.
fn refused(args: &[&str], dir: &Path, expect: &[&str]) {
    let out = Command::new(mltrack_bin())
        .args(["score"])
        .args(args)
        .env("MLTRACK_MODEL_CACHE", dir.join("cache"))
        .env("MLTRACK_LOG", "warn")
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    for e in expect {
        assert!(err.contains(e), "{args:?}: `{e}` not in {err}");
    }
    let left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("out"))
        .collect();
    assert!(left.is_empty(), "{args:?} left {left:?}");
}

#[test]
fn score_refuses_bad_input_with_one_line_and_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A small local model, fitted here on gold rows.
    let gold = model_core::dataset::load_gold(&e2e::gold_data(), false).unwrap();
    let rows: Vec<usize> = (0..gold.table.n_rows()).step_by(4).collect();
    let model = model_core::pipeline::PricePipeline::fit(
        &gold.table.take(&rows),
        &model_core::pipeline::PipelineParams::default(),
    )
    .unwrap();
    let model_dir = d.join("model");
    model_core::package::save(
        &model,
        &model_dir,
        &model_core::package::SaveOptions::default(),
    )
    .unwrap();
    let m = model_dir.to_str().unwrap();
    let out = d.join("out.parquet");
    let out = out.to_str().unwrap();

    let mut df = gold_head(30);
    let no_bedrooms = d.join("no-bedrooms.csv");
    CsvWriter::new(std::fs::File::create(&no_bedrooms).unwrap())
        .finish(&mut df.drop("bedrooms").unwrap())
        .unwrap();
    let text_beds = d.join("text-beds.csv");
    let mut text = df.clone();
    let beds: Vec<String> = (0..text.height())
        .map(|i| if i == 5 { "two".into() } else { "1".into() })
        .collect();
    text.with_column(Column::new("beds".into(), beds)).unwrap();
    CsvWriter::new(std::fs::File::create(&text_beds).unwrap())
        .finish(&mut text)
        .unwrap();
    let good = d.join("good.csv");
    CsvWriter::new(std::fs::File::create(&good).unwrap())
        .finish(&mut df)
        .unwrap();
    let good = good.to_str().unwrap();

    refused(
        &[
            "--model",
            m,
            "--input",
            no_bedrooms.to_str().unwrap(),
            "--output",
            out,
        ],
        d,
        &["no-bedrooms.csv", "`bedrooms`"],
    );
    refused(
        &[
            "--model",
            m,
            "--input",
            text_beds.to_str().unwrap(),
            "--output",
            out,
        ],
        d,
        &["text-beds.csv", "`beds`"],
    );
    refused(
        &["--model", m, "--input", "missing.parquet", "--output", out],
        d,
        &["missing.parquet"],
    );
    refused(
        &[
            "--model",
            d.join("nope").to_str().unwrap(),
            "--input",
            good,
            "--output",
            out,
        ],
        d,
        &["nope"],
    );
    refused(
        &[
            "--model",
            "models:/airbnb-price/Production",
            "--input",
            good,
            "--output",
            out,
        ],
        d,
        &["tracking server"],
    );
    refused(
        &[
            "--model",
            "models:/airbnb-price/Production",
            "--input",
            good,
            "--output",
            out,
            "--tracking-uri",
            "http://127.0.0.1:9",
        ],
        d,
        &["127.0.0.1:9"],
    );
    let mut unseen = df.clone();
    let kinds: Vec<String> = (0..unseen.height())
        .map(|i| {
            if i == 5 {
                "Spaceship".into()
            } else {
                "House".into()
            }
        })
        .collect();
    unseen
        .with_column(Column::new("property_type".into(), kinds))
        .unwrap();
    let spaceship = d.join("spaceship.csv");
    CsvWriter::new(std::fs::File::create(&spaceship).unwrap())
        .finish(&mut unseen)
        .unwrap();
    refused(
        &[
            "--model",
            m,
            "--input",
            spaceship.to_str().unwrap(),
            "--output",
            out,
            "--handle-invalid",
            "error",
            "--batch-rows",
            "2",
        ],
        d,
        &["property_type", "row 5", "Spaceship"],
    );

    let server = Server::start(None, &[]);
    let c = TrackingClient::new(&server.url).unwrap();
    c.ensure_registered_model("empty-model").unwrap();
    for (uri, expect) in [
        ("models:/no-such-model/Production", "no-such-model"),
        ("models:/empty-model/Staging", "Staging"),
        ("models:/empty-model@champion", "champion"),
        ("models:/empty-model/7", "7"),
    ] {
        refused(
            &[
                "--model",
                uri,
                "--input",
                good,
                "--output",
                out,
                "--tracking-uri",
                &server.url,
            ],
            d,
            &[expect],
        );
    }
    // The same good input scores, and then the output exists.
    ok(&mltrack_cli(
        &["score", "--model", m, "--input", good, "--output", out],
        &d.join("cache"),
    ));
    assert!(Path::new(out).exists());
}
