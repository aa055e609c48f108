use super::*;
use crate::dataset::Column as TableColumn;
use crate::pipeline::PipelineParams;

const ROOMS: [&str; 3] = ["Entire home/apt", "Private room", "Shared room"];

fn model() -> PricePipeline {
    let table = Table::new(vec![
        TableColumn::strings("room_type", (0..90).map(|i| Some(ROOMS[i % 3]))),
        TableColumn::numbers(
            "accommodates",
            (0..90u32).map(|i| Some(f64::from(i % 6 + 1))),
        ),
        TableColumn::numbers(
            "price",
            (0..90u32).map(|i| {
                Some(50.0 + 40.0 * f64::from(i % 6) + 100.0 * f64::from(u8::from(i % 3 == 0)))
            }),
        ),
    ])
    .unwrap();
    PricePipeline::fit(&table, &PipelineParams::default()).unwrap()
}

fn batch(rooms: &[Option<&str>], accommodates: &[Option<f64>]) -> DataFrame {
    let ids: Vec<i64> = (0..i64::try_from(rooms.len()).unwrap()).collect();
    df!(
        "id" => ids,
        "room_type" => rooms,
        "accommodates" => accommodates,
    )
    .unwrap()
}

#[test]
fn every_row_is_scored_or_skipped_with_its_reason_and_global_row_number() {
    let model = model();
    let mut scorer = Scorer::new(&model, HandleInvalid::Skip);
    let first = batch(
        &[Some("Private room"), Some("Boat"), None],
        &[Some(2.0), Some(3.0), Some(1.0)],
    );
    let second = batch(
        &[Some("Shared room"), Some("Entire home/apt")],
        &[Some(f64::NAN), Some(4.0)],
    );
    let a = scorer.score(&first).unwrap();
    let b = scorer.score(&second).unwrap();

    assert_eq!((a.scored.height(), a.skipped.height()), (1, 2));
    assert_eq!((b.scored.height(), b.skipped.height()), (1, 1));
    let rows: Vec<_> = a
        .skipped
        .column("row")
        .unwrap()
        .u64()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    assert_eq!(rows, vec![1, 2]);
    let reasons: Vec<_> = a
        .skipped
        .column("reason")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    assert_eq!(reasons, vec!["unseen_category", "null_category"]);
    let values: Vec<_> = a
        .skipped
        .column("value")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(values, vec![Some("Boat"), None]);
    // The second batch's row numbers continue from the first's.
    let row = b.skipped.column("row").unwrap().u64().unwrap().get(0);
    assert_eq!(row, Some(3));
    assert_eq!(
        b.skipped.column("reason").unwrap().str().unwrap().get(0),
        Some("invalid_number")
    );
    assert_eq!(
        b.skipped.column("column").unwrap().str().unwrap().get(0),
        Some("accommodates")
    );
    assert_eq!(
        b.skipped.column("value").unwrap().str().unwrap().get(0),
        Some("NaN")
    );

    let totals = scorer.totals();
    assert_eq!((totals.rows_in, totals.scored, totals.skipped), (5, 2, 3));
    assert_eq!(totals.skipped_by_column.get("room_type"), Some(&2));
    assert_eq!(totals.skipped_by_column.get("accommodates"), Some(&1));

    // Predictions equal the pipeline's own, and the input columns pass through.
    let table = Table::new(vec![
        TableColumn::strings("room_type", [Some("Private room"), Some("Entire home/apt")]),
        TableColumn::numbers("accommodates", [Some(2.0), Some(4.0)]),
    ])
    .unwrap();
    let own = model.predict(&table).unwrap().values;
    let got: Vec<f64> = [&a, &b]
        .iter()
        .map(|s| {
            s.scored
                .column(PREDICTION)
                .unwrap()
                .f64()
                .unwrap()
                .get(0)
                .unwrap()
        })
        .collect();
    assert_eq!(got, own);
    assert_eq!(
        a.scored.column("id").unwrap().i64().unwrap().get(0),
        Some(0)
    );
    let (scored_schema, skipped_schema) = Scorer::output_schemas(first.schema());
    assert_eq!(a.scored.schema().as_ref(), &scored_schema);
    assert_eq!(a.skipped.schema().as_ref(), &skipped_schema);
}

#[test]
fn keep_scores_unseen_rows_and_error_names_the_row() {
    let model = model();
    let df = batch(
        &[Some("Private room"), Some("Boat")],
        &[Some(2.0), Some(3.0)],
    );
    let kept = Scorer::new(&model, HandleInvalid::Keep).score(&df).unwrap();
    assert_eq!((kept.scored.height(), kept.skipped.height()), (2, 0));

    let mut strict = Scorer::new(&model, HandleInvalid::Error);
    strict.score(&df.slice(0, 1)).unwrap();
    let err = strict.score(&df).unwrap_err().to_string();
    assert!(
        err.contains("room_type") && err.contains("row 2") && err.contains("Boat"),
        "{err}"
    );
}

#[test]
fn schema_errors_name_the_file_and_column() {
    let model = model();
    let scorer = Scorer::new(&model, HandleInvalid::Skip);
    let path = Path::new("in.parquet");
    let no_rooms = df!("accommodates" => [1.0]).unwrap();
    let err = scorer
        .check_schema(no_rooms.schema(), path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("in.parquet") && err.contains("room_type"),
        "{err}"
    );
    let text_number = df!("room_type" => ["x"], "accommodates" => ["two"]).unwrap();
    let err = scorer
        .check_schema(text_number.schema(), path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("accommodates") && err.contains("number"),
        "{err}"
    );
    let clash = df!("room_type" => ["x"], "accommodates" => [1i32], "prediction" => [1.0]).unwrap();
    let err = scorer
        .check_schema(clash.schema(), path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`prediction`"), "{err}");
    let fine = df!("room_type" => ["x"], "accommodates" => [1i32], "extra" => [true]).unwrap();
    scorer.check_schema(fine.schema(), path).unwrap();
}
