//! Bad input gives a clear `DriftError` naming the column and side, never a panic.

use drift::{
    detect, ColumnType, Dataset, DriftError, Profile, Reference, Settings, Side, StatTest, Values,
};

fn num(v: Vec<f64>) -> Values {
    Values::Numeric(v)
}

fn base() -> Dataset {
    Dataset::new()
        .with("a", num((0..50).map(f64::from).collect()))
        .and_then(|d| {
            d.with(
                "b",
                Values::text((0..50).map(|i| Some(if i % 2 == 0 { "x" } else { "y" }))),
            )
        })
        .unwrap_or_default()
}

fn run(reference: &Dataset, current: &Dataset, settings: &Settings) -> DriftError {
    match detect(Reference::Data(reference), current, settings) {
        Ok(report) => panic!("expected an error, got {}", report.to_json()),
        Err(e) => e,
    }
}

#[test]
fn a_column_missing_from_current_is_named() {
    let current = Dataset::new()
        .with("a", num((0..50).map(f64::from).collect()))
        .unwrap_or_default();
    let err = run(&base(), &current, &Settings::default());
    assert!(
        matches!(&err, DriftError::MissingColumn { column, side: Side::Current } if column == "b"),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "column `b` is missing from the current data"
    );
}

#[test]
fn a_column_only_in_current_is_named() {
    let current = base().with("extra", num(vec![1.0; 50])).unwrap_or_default();
    let err = run(&base(), &current, &Settings::default());
    assert!(
        matches!(&err, DriftError::MissingColumn { column, side: Side::Reference } if column == "extra"),
        "{err}"
    );
}

#[test]
fn an_empty_current_dataset_is_refused() {
    let current = Dataset::new()
        .with("a", num(Vec::new()))
        .and_then(|d| d.with("b", Values::text(std::iter::empty())))
        .unwrap_or_default();
    let err = run(&base(), &current, &Settings::default());
    assert!(
        matches!(
            err,
            DriftError::EmptyDataset {
                side: Side::Current
            }
        ),
        "{err}"
    );
}

#[test]
fn an_all_nan_column_is_an_empty_column_on_its_side() {
    let current = Dataset::new()
        .with("a", num(vec![f64::NAN; 50]))
        .and_then(|d| d.with("b", Values::text((0..50).map(|_| Some("x")))))
        .unwrap_or_default();
    let err = run(&base(), &current, &Settings::default());
    assert!(
        matches!(&err, DriftError::EmptyColumn { column, side: Side::Current } if column == "a"),
        "{err}"
    );
    let err = run(&current, &base(), &Settings::default());
    assert!(
        matches!(&err, DriftError::EmptyColumn { column, side: Side::Reference } if column == "a"),
        "{err}"
    );
}

#[test]
fn text_in_a_numerical_column_is_refused() {
    let settings = Settings {
        numerical: vec!["b".into()],
        ..Settings::default()
    };
    let err = run(&base(), &base(), &settings);
    assert!(
        matches!(&err, DriftError::NotNumerical { column, side: Side::Reference } if column == "b"),
        "{err}"
    );
}

#[test]
fn chisquare_asked_for_on_a_numerical_column_is_refused_as_in_evidently() {
    let mut settings = Settings::default();
    settings
        .stattest
        .columns
        .insert("a".into(), StatTest::Chisquare);
    let err = run(&base(), &base(), &settings);
    assert!(
        matches!(
            err,
            DriftError::InvalidStatTest {
                test: "chisquare",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn options_for_unknown_columns_are_refused() {
    let mut settings = Settings::default();
    settings.threshold.columns.insert("nope".into(), 0.2);
    assert!(
        matches!(run(&base(), &base(), &settings), DriftError::UnknownColumn { column } if column == "nope")
    );
    let settings = Settings {
        prediction: Some("pred".into()),
        ..Settings::default()
    };
    assert!(
        matches!(run(&base(), &base(), &settings), DriftError::UnknownColumn { column } if column == "pred")
    );
}

#[test]
fn a_column_declared_twice_is_refused() {
    let settings = Settings {
        numerical: vec!["a".into()],
        categorical: vec!["a".into()],
        ..Settings::default()
    };
    assert!(matches!(
        run(&base(), &base(), &settings),
        DriftError::ConflictingDeclaration { .. }
    ));
}

#[test]
fn unknown_test_names_list_the_known_ones() {
    let err = StatTest::from_name("anderson")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("`anderson`") && err.contains("kl_div"),
        "{err}"
    );
}

#[test]
fn a_profile_keeps_its_types() {
    let profile = Profile::build(&base(), &Settings::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        profile.columns().collect::<Vec<_>>(),
        vec![("a", ColumnType::Numerical), ("b", ColumnType::Categorical)]
    );
    let settings = Settings {
        categorical: vec!["a".into()],
        ..Settings::default()
    };
    let err = detect(Reference::Profile(&profile), &base(), &settings).err();
    assert!(
        matches!(err, Some(DriftError::TypeMismatch { .. })),
        "{err:?}"
    );
}

#[test]
fn ragged_columns_are_refused_when_building_a_dataset() {
    let err = Dataset::new()
        .with("a", num(vec![1.0]))
        .and_then(|d| d.with("b", num(vec![1.0, 2.0])))
        .err();
    assert!(matches!(err, Some(DriftError::RaggedColumns { .. })));
}
