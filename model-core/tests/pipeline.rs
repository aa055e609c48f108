//! The pipeline end to end on seeded gold-like data: reading, bad input, invalid values at predict
//! time under each `handle_invalid`, packaging, and a small search.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use model_core::assembler::InvalidValue;
use model_core::dataset::{self, Column, ColumnData, Table};
use model_core::indexer::HandleInvalid;
use model_core::pipeline::{PipelineParams, PricePipeline};
use model_core::search::SearchSettings;
use model_core::train::{self, TrainOptions};
use model_core::{package, ModelError};

use common::{gold_like, with_column, write_csv};

fn params(mode: HandleInvalid) -> PipelineParams {
    PipelineParams {
        handle_invalid: mode,
        ..PipelineParams::default()
    }
}

#[test]
fn gold_csv_loads_with_integer_columns_as_features() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("gold.csv");
    write_csv(&gold_like(300, 10, 1), &path, None);
    let gold = dataset::load_gold(&path, false).expect("valid gold data");
    assert_eq!(gold.table.n_rows(), 300);
    assert_eq!(gold.silver.output_rows, 300);
    let model = PricePipeline::fit(&gold.table, &PipelineParams::default()).expect("fits");
    let names = model.forest().feature_names();
    assert_eq!(names.len(), 23, "7 indexed + 16 numeric");
    assert!(
        names[..7].iter().all(|n| n.ends_with("_index")),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n == "minimum_nights")
            && names.iter().any(|n| n == "number_of_reviews")
    );
}

#[test]
fn a_missing_column_is_a_one_line_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("gold.csv");
    write_csv(&gold_like(20, 3, 2), &path, Some("bed_type"));
    let err = dataset::load_gold(&path, false).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("`{}` has no column `bed_type`", path.display())
    );
}

#[test]
fn a_mistyped_column_is_a_one_line_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("gold.csv");
    let table = with_column(
        &gold_like(20, 3, 3),
        Column::strings("price", (0..20).map(|i| Some(format!("${i}")))),
    );
    write_csv(&table, &path, None);
    let err = dataset::load_gold(&path, false).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, ModelError::ColumnType { ref column, .. } if column == "price"),
        "{msg}"
    );
    assert!(
        msg.starts_with("column `price` in `")
            && msg.ends_with("expected a number")
            && !msg.contains('\n'),
        "{msg}"
    );
}

#[test]
fn an_empty_file_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").expect("write");
    assert!(matches!(
        dataset::read_table(&empty),
        Err(ModelError::EmptyData { .. })
    ));
    let header_only = dir.path().join("header.csv");
    write_csv(&gold_like(0, 3, 4), &header_only, None);
    let err = dataset::load_gold(&header_only, false).unwrap_err();
    assert!(
        matches!(err, ModelError::EmptyData { .. } | ModelError::Read { .. }),
        "{err}"
    );
    let missing = dir.path().join("nope.parquet");
    assert!(matches!(
        dataset::read_table(&missing),
        Err(ModelError::Read { .. })
    ));
}

#[test]
fn silver_reports_each_rule_through_load_gold() {
    let base = gold_like(50, 5, 5);
    // Rows 0..50, then a copy of row 3, a blank room type and a NaN rating.
    let mut rows: Vec<usize> = (0..50).collect();
    rows.extend([3, 4, 5]);
    let grown = base.take(&rows);
    let blank = match &grown.column("room_type").expect("column").data {
        ColumnData::Str(v) => v
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if i == 51 {
                    Some("  ".to_string())
                } else {
                    s.clone()
                }
            })
            .collect::<Vec<_>>(),
        ColumnData::Num(_) => unreachable!("room_type is a string column"),
    };
    let nan = match &grown.column("review_scores_rating").expect("column").data {
        ColumnData::Num(v) => v
            .iter()
            .enumerate()
            .map(|(i, x)| if i == 52 { Some(f64::NAN) } else { *x })
            .collect::<Vec<_>>(),
        ColumnData::Str(_) => unreachable!("a numeric column"),
    };
    let table = with_column(
        &with_column(&grown, Column::strings("room_type", blank)),
        Column::numbers("review_scores_rating", nan),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("gold.csv");
    write_csv(&table, &path, None);
    let gold = dataset::load_gold(&path, false).expect("loads");
    let s = gold.silver;
    assert_eq!(
        (
            s.input_rows,
            s.duplicates,
            s.null_or_nan,
            s.blank_strings,
            s.output_rows
        ),
        (53, 1, 1, 1, 50)
    );
}

#[test]
fn a_categorical_with_more_values_than_max_bins_fails_like_spark() {
    let table = gold_like(400, 36, 6);
    let narrow = PipelineParams {
        forest: model_core::forest::RandomForestParams::new().max_bins(32),
        ..PipelineParams::default()
    };
    let err = PricePipeline::fit(&table, &narrow).unwrap_err();
    match &err {
        ModelError::MaxBinsTooSmall {
            max_bins,
            name,
            arity,
            ..
        } => {
            assert_eq!(
                (*max_bins, name.as_str(), *arity),
                (32, "neighbourhood_cleansed_index", 36)
            );
        }
        other => panic!("expected MaxBinsTooSmall, got {other}"),
    }
    assert!(
        PricePipeline::fit(&table, &PipelineParams::default()).is_ok(),
        "maxBins 40 fits 36 values"
    );
}

/// Two extra rows: row n has an unseen room type, row n+1 a null one; both copy row 0 otherwise.
fn with_invalid_rooms(table: &Table) -> Table {
    let n = table.n_rows();
    let mut rows: Vec<usize> = (0..n).collect();
    rows.extend([0, 0]);
    let grown = table.take(&rows);
    let rooms = match &grown.column("room_type").expect("column").data {
        ColumnData::Str(v) => v.clone(),
        ColumnData::Num(_) => unreachable!("string column"),
    };
    let rooms: Vec<Option<String>> = rooms
        .into_iter()
        .enumerate()
        .map(|(i, r)| match i {
            i if i == n => Some("Treehouse".to_string()),
            i if i == n + 1 => None,
            _ => r,
        })
        .collect();
    with_column(&grown, Column::strings("room_type", rooms))
}

#[test]
fn unseen_and_null_categories_follow_handle_invalid_at_predict_time() {
    let train = gold_like(300, 8, 7);
    let test = with_invalid_rooms(&gold_like(40, 8, 8));
    let n = test.n_rows() - 2;

    let skip = PricePipeline::fit(&train, &params(HandleInvalid::Skip)).expect("fits");
    let p = skip.predict(&test).expect("predicts");
    assert_eq!(p.rows, (0..n).collect::<Vec<_>>());
    assert_eq!(p.skipped.len(), 2);
    assert_eq!(
        (p.skipped[0].row, &p.skipped[0].column),
        (n, &"room_type".to_string())
    );
    assert_eq!(
        p.skipped[0].value,
        InvalidValue::Unseen {
            value: "Treehouse".into()
        }
    );
    assert_eq!(p.skipped[1].value, InvalidValue::NullCategory);

    let keep = PricePipeline::fit(&train, &params(HandleInvalid::Keep)).expect("fits");
    let p = keep.predict(&test).expect("predicts");
    assert_eq!(p.rows.len(), n + 2, "keep predicts every row");
    assert_eq!(
        p.values[n].to_bits(),
        p.values[n + 1].to_bits(),
        "unseen and null share the extra bucket"
    );
    assert!(p.values.iter().all(|v| v.is_finite()));

    let error = PricePipeline::fit(&train, &params(HandleInvalid::Error)).expect("fits");
    let msg = error.predict(&test).unwrap_err().to_string();
    assert_eq!(
        msg,
        format!("column `room_type` row {n}: unseen category `Treehouse` (handle_invalid = error)")
    );
    let only_null = test.take(&[n + 1]);
    let msg = error.predict(&only_null).unwrap_err().to_string();
    assert_eq!(
        msg,
        "column `room_type` row 0: null category (handle_invalid = error)"
    );
}

#[test]
fn nan_features_follow_handle_invalid() {
    let train = gold_like(200, 6, 9);
    let test = gold_like(10, 6, 10);
    let beds = match &test.column("beds").expect("column").data {
        ColumnData::Num(v) => v
            .iter()
            .enumerate()
            .map(|(i, x)| if i == 4 { Some(f64::NAN) } else { *x })
            .collect::<Vec<_>>(),
        ColumnData::Str(_) => unreachable!("numeric column"),
    };
    let test = with_column(&test, Column::numbers("beds", beds));

    let err = PricePipeline::fit(&test, &params(HandleInvalid::Error)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "column `beds` row 4: value is null, NaN or infinite"
    );

    let skip = PricePipeline::fit(&train, &params(HandleInvalid::Skip)).expect("fits");
    let p = skip.predict(&test).expect("predicts");
    assert_eq!(p.skipped.len(), 1);
    assert_eq!(
        (p.skipped[0].row, p.skipped[0].value.clone()),
        (4, InvalidValue::InvalidNumber)
    );

    let keep = PricePipeline::fit(&train, &params(HandleInvalid::Keep)).expect("fits");
    let p = keep.predict(&test).expect("predicts");
    assert_eq!(
        p.rows.len(),
        10,
        "keep scores the NaN row (it goes right at every split on it)"
    );
    assert!(p.values[4].is_finite());
}

#[test]
fn a_saved_model_predicts_bit_for_bit_after_loading() {
    let train = gold_like(400, 12, 11);
    let test = gold_like(100, 12, 12);
    let model = PricePipeline::fit(
        &train,
        &PipelineParams {
            log_label: true,
            ..PipelineParams::default()
        },
    )
    .expect("fits");
    let dir = tempfile::tempdir().expect("tempdir");
    let options = package::SaveOptions {
        run_id: Some("abc123".into()),
        artifact_path: Some("model".into()),
    };
    package::save(&model, dir.path(), &options).expect("saves");
    let loaded = package::load(dir.path()).expect("loads");
    assert_eq!(loaded, model);
    let before = model.predict(&test).expect("predicts").values;
    let after = loaded.predict(&test).expect("predicts").values;
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&before), bits(&after));

    let mlmodel = std::fs::read_to_string(dir.path().join("MLmodel")).expect("MLmodel");
    assert!(
        mlmodel.contains("flavors:\n  mltrack:\n    format_version: 1\n"),
        "{mlmodel}"
    );
    assert!(mlmodel.contains("run_id: 'abc123'"));
    let inputs = mlmodel
        .lines()
        .find_map(|l| l.strip_prefix("  inputs: "))
        .expect("signature inputs");
    let inputs: serde_json::Value =
        serde_json::from_str(&inputs[1..inputs.len() - 1].replace("''", "'")).expect("json");
    assert_eq!(inputs.as_array().map(Vec::len), Some(23));
    assert_eq!(inputs[0]["name"], "host_is_superhost");
    assert_eq!(inputs[0]["type"], "string");
}

#[test]
fn a_model_directory_of_another_version_or_flavor_is_refused() {
    let model =
        PricePipeline::fit(&gold_like(100, 4, 13), &PipelineParams::default()).expect("fits");
    let dir = tempfile::tempdir().expect("tempdir");
    package::save(&model, dir.path(), &package::SaveOptions::default()).expect("saves");
    let mlmodel = dir.path().join("MLmodel");
    let text = std::fs::read_to_string(&mlmodel).expect("read");
    std::fs::write(
        &mlmodel,
        text.replace("format_version: 1", "format_version: 9"),
    )
    .expect("write");
    let msg = package::load(dir.path()).unwrap_err().to_string();
    assert!(msg.contains("format_version 9"), "{msg}");
    // Without the `mltrack` flavor the `spark` one is read (Spark's files, the same predictions).
    std::fs::write(&mlmodel, text.replace("  mltrack:", "  sklearn:")).expect("write");
    let table = gold_like(60, 5, 13);
    let from_spark = package::load(dir.path()).expect("loads the spark flavor");
    assert_eq!(
        from_spark.predict(&table).expect("predicts").values,
        model.predict(&table).expect("predicts").values
    );
    std::fs::write(
        &mlmodel,
        text.replace("  mltrack:", "  sklearn:")
            .replace("  spark:", "  onnx:"),
    )
    .expect("write");
    let msg = package::load(dir.path()).unwrap_err().to_string();
    assert!(
        msg.contains("neither the `mltrack` nor the `spark` flavor"),
        "{msg}"
    );
}

#[test]
fn a_search_reports_each_trial_and_beats_the_mean() {
    let table = gold_like(900, 10, 14);
    let calls = AtomicUsize::new(0);
    let options = TrainOptions {
        search: SearchSettings {
            max_evals: 6,
            parallelism: 2,
            ..SearchSettings::default()
        },
        ..TrainOptions::default()
    };
    let outcome = train::run_on_table(&table, dataset::SilverReport::default(), &options, |t| {
        assert!(
            t.validation.is_ok(),
            "trial {} failed: {:?}",
            t.number,
            t.validation
        );
        calls.fetch_add(1, Ordering::Relaxed);
    })
    .expect("search runs");
    assert_eq!(calls.load(Ordering::Relaxed), 6);
    assert_eq!(
        outcome.trials.iter().map(|t| t.number).collect::<Vec<_>>(),
        (0..6).collect::<Vec<_>>()
    );
    let best = outcome
        .trials
        .iter()
        .filter_map(|t| t.validation.as_ref().ok())
        .map(|m| m.rmse)
        .fold(f64::INFINITY, f64::min);
    assert_eq!(outcome.validation.rmse, best);
    assert_eq!(outcome.split_rows.iter().sum::<usize>(), 900);
    let logged = outcome.best_params.to_mlflow_params();
    let best_trial = &outcome.trials[outcome.best_trial];
    for (name, value) in best_trial.sampled.iter().filter(|(n, _)| n != "logLabel") {
        let got = logged
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.parse::<f64>().ok().map_or(v.clone(), |x| x.to_string()));
        let want = value
            .parse::<f64>()
            .ok()
            .map_or(value.clone(), |x| x.to_string());
        assert_eq!(got, Some(want), "{name}");
    }
    // The price has a spread of roughly ±100 around its mean; a useful model must be well inside it.
    assert!(outcome.test.r2 > 0.5, "test R² {}", outcome.test.r2);
}
