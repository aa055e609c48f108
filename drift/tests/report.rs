//! The report: JSON layout, dataset rule, threshold precedence, HTML, and the file-level API.

// Test and benchmark fixtures index rows and build values from small counts.
#![allow(
    clippy::cast_possible_wrap,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use drift::{detect, Correction, Dataset, DriftOptions, Reference, Settings, StatTest, Values};
use serde_json::Value;
use std::fmt::Write as _;

/// A tiny seeded generator (xorshift + Box–Muller): the tests need repeatable data, not a dependency.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        mean + sd * (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    fn normals(&mut self, n: usize, mean: f64, sd: f64) -> Values {
        Values::Numeric((0..n).map(|_| self.normal(mean, sd)).collect())
    }

    fn cats(&mut self, n: usize, k: usize, skew: f64) -> Values {
        let labels: Vec<String> = (0..k).map(|i| format!("v{i}")).collect();
        let picks: Vec<usize> = (0..n)
            .map(|_| ((self.uniform().powf(skew)) * k as f64) as usize % k)
            .collect();
        Values::text(picks.iter().map(|&i| Some(labels[i].as_str())))
    }
}

/// 16 numerical + 8 categorical columns; in current, n0..n3 shift, n4..n5 widen, c0..c1 change weights
/// (the shape of the drift benchmark).
fn wide(rows: usize, seed: u64) -> (Dataset, Dataset) {
    let mut rng = Rng(seed);
    let (mut r, mut c) = (Dataset::new(), Dataset::new());
    for i in 0..16 {
        let (shift, scale) = match i {
            0..=3 => (0.5, 1.0),
            4 | 5 => (0.0, 1.6),
            _ => (0.0, 1.0),
        };
        r.push(format!("n{i}"), rng.normals(rows, 0.0, 1.0))
            .unwrap_or_default();
        c.push(format!("n{i}"), rng.normals(rows, shift, scale))
            .unwrap_or_default();
    }
    for i in 0..8 {
        let k = 4 + 2 * i;
        r.push(format!("c{i}"), rng.cats(rows, k, 1.5))
            .unwrap_or_default();
        c.push(
            format!("c{i}"),
            rng.cats(rows, k, if i < 2 { 0.5 } else { 1.5 }),
        )
        .unwrap_or_default();
    }
    (r, c)
}

#[test]
fn the_json_has_exactly_the_documented_fields() {
    let (r, c) = wide(1500, 7);
    let settings = Settings {
        prediction: Some("n0".into()),
        ..Settings::default()
    };
    let report = detect(Reference::Data(&r), &c, &settings).unwrap_or_else(|e| panic!("{e}"));
    let json: Value = serde_json::from_str(&report.to_json()).unwrap_or_default();
    let keys = |v: &Value| {
        v.as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    assert_eq!(
        keys(&json),
        ["columns", "dataset", "multivariate", "prediction"]
    );
    assert_eq!(
        keys(&json["multivariate"]),
        [
            "drift_detected",
            "features",
            "method",
            "roc_auc",
            "rows_per_side",
            "threshold"
        ]
    );
    assert_eq!(
        keys(&json["dataset"]),
        [
            "dataset_drift",
            "drift_share",
            "number_of_columns",
            "number_of_drifted_columns",
            "share_of_drifted_columns"
        ]
    );
    assert_eq!(
        keys(&json["columns"]["n7"]),
        [
            "column_type",
            "drift_detected",
            "drift_score",
            "stattest",
            "threshold"
        ]
    );
    assert_eq!(
        keys(&json["prediction"]),
        [
            "column",
            "drift_detected",
            "drift_score",
            "stattest",
            "threshold"
        ]
    );
    assert_eq!(json["columns"]["n7"]["column_type"], "num");
    assert_eq!(json["columns"]["c3"]["column_type"], "cat");
    assert_eq!(json["columns"]["n7"]["stattest"], "wasserstein");
    assert_eq!(json["columns"]["c3"]["stattest"], "jensenshannon");
    assert_eq!(json["prediction"]["column"], "n0");
    // Column order is the reference's, not alphabetical.
    let text = report.to_json();
    assert!(text.find("\"n10\"") > text.find("\"n9\""));
    assert_eq!(json["dataset"]["number_of_columns"], 24);
}

#[test]
fn the_benchmark_shape_drifts_in_eight_columns() {
    let (r, c) = wide(1500, 11);
    let report =
        detect(Reference::Data(&r), &c, &Settings::default()).unwrap_or_else(|e| panic!("{e}"));
    let drifted: Vec<&str> = report
        .columns
        .iter()
        .filter(|c| c.drift_detected)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(drifted, ["n0", "n1", "n2", "n3", "n4", "n5", "c0", "c1"]);
    assert!(!report.dataset.dataset_drift);
    assert!(report.prediction.is_none());
    assert!(
        serde_json::from_str::<Value>(&report.to_json()).is_ok_and(|v| v["prediction"].is_null())
    );
}

#[test]
fn half_the_columns_drifting_is_dataset_drift() {
    let mut rng = Rng(3);
    let r = Dataset::new()
        .with("a", rng.normals(400, 0.0, 1.0))
        .and_then(|d| d.with("b", rng.normals(400, 0.0, 1.0)));
    let c = Dataset::new()
        .with("a", rng.normals(400, 2.0, 1.0))
        .and_then(|d| d.with("b", rng.normals(400, 0.0, 1.0)));
    let (r, c) = (r.unwrap_or_default(), c.unwrap_or_default());
    let report =
        detect(Reference::Data(&r), &c, &Settings::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.dataset.number_of_drifted_columns, 1);
    assert_eq!(report.dataset.share_of_drifted_columns, 0.5);
    assert!(report.dataset.dataset_drift);
    let stricter = Settings {
        drift_share: 0.51,
        ..Settings::default()
    };
    assert!(!detect(Reference::Data(&r), &c, &stricter).is_ok_and(|rep| rep.dataset.dataset_drift));
}

#[test]
fn thresholds_resolve_column_then_type_then_all_then_default() {
    let (r, c) = wide(300, 5);
    let mut settings = Settings::default();
    settings.threshold.all = Some(0.2);
    settings.threshold.cat = Some(0.01);
    settings.threshold.columns.insert("n1".into(), 0.001);
    settings.stattest.columns.insert("n2".into(), StatTest::Psi);
    let report = detect(Reference::Data(&r), &c, &settings).unwrap_or_else(|e| panic!("{e}"));
    let threshold = |name: &str| report.column(name).map(|c| c.threshold);
    assert_eq!(threshold("n1"), Some(0.001));
    assert_eq!(threshold("c0"), Some(0.01));
    assert_eq!(threshold("n7"), Some(0.2));
    assert_eq!(report.column("n2").map(|c| c.stattest), Some(StatTest::Psi));
    let defaults =
        detect(Reference::Data(&r), &c, &Settings::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        defaults.column("n7").map(|c| (c.stattest, c.threshold)),
        Some((StatTest::Ks, 0.05))
    );
    assert_eq!(
        defaults.column("c7").map(|c| (c.stattest, c.threshold)),
        Some((StatTest::Chisquare, 0.05))
    );
}

#[test]
fn bonferroni_multiplies_p_values_by_the_number_of_p_value_columns() {
    let (r, c) = wide(300, 9);
    let plain =
        detect(Reference::Data(&r), &c, &Settings::default()).unwrap_or_else(|e| panic!("{e}"));
    let settings = Settings {
        correction: Correction::Bonferroni,
        ..Settings::default()
    };
    let corrected = detect(Reference::Data(&r), &c, &settings).unwrap_or_else(|e| panic!("{e}"));
    for (a, b) in plain.columns.iter().zip(&corrected.columns) {
        assert_eq!(
            a.drift_score.to_bits(),
            b.drift_score.to_bits(),
            "raw scores are kept"
        );
        let q = b.adjusted_p_value.unwrap_or(f64::NAN);
        assert_eq!(q, (a.drift_score * 24.0).min(1.0), "{}", a.name);
        assert_eq!(b.drift_detected, b.stattest.detects(q, b.threshold));
    }
    let json: Value = serde_json::from_str(&corrected.to_json()).unwrap_or_default();
    assert_eq!(json["dataset"]["correction"], "bonferroni");
    assert!(json["columns"]["n0"]["adjusted_p_value"].is_number());
}

#[test]
fn the_html_is_small_self_contained_and_lists_drifted_columns_first() {
    let (r, c) = wide(20_000, 13);
    let report =
        detect(Reference::Data(&r), &c, &Settings::default()).unwrap_or_else(|e| panic!("{e}"));
    let html = report.to_html();
    assert!(html.len() <= 500 * 1024, "{} bytes", html.len());
    assert_eq!(html.matches("<svg").count(), 24);
    assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("href=\"http"));
    let body = &html[html.find("<tbody>").unwrap_or(0)..html.find("</tbody>").unwrap_or(0)];
    let first_clean = body.find("class=\"no\"").unwrap_or(usize::MAX);
    let last_drifted = body.rfind("class=\"yes\"").unwrap_or(0);
    assert!(last_drifted < first_clean, "drifted rows come first");
    assert!(body.find(">n0<") < body.find(">n6<"));
}

#[test]
fn run_reads_csv_files_and_a_saved_profile_gives_the_same_report() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut rng = Rng(21);
    let mut write = |name: &str, shift: f64| {
        let mut text = String::from("price,city,flag\n");
        for i in 0..1200 {
            let city = ["paris", "rome", "oslo"][i % 3];
            let _ = writeln!(text, "{:.3},{city},{}", rng.normal(shift, 1.0), i % 2);
        }
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
        path
    };
    let (reference, current) = (write("ref.csv", 0.0), write("cur.csv", 0.4));
    let settings = Settings {
        categorical: vec!["flag".into()],
        prediction: Some("price".into()),
        ..Settings::default()
    };
    let options = DriftOptions {
        reference: reference.clone(),
        current: current.clone(),
        settings: settings.clone(),
    };
    let report = drift::run(&options).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        report.column("flag").map(|c| c.column_type.as_str()),
        Some("cat")
    );
    assert_eq!(
        report.column("price").map(|c| c.stattest.name()),
        Some("wasserstein")
    );
    assert!(report.alert(), "the price shift is prediction drift");

    let profile_path = dir.path().join("ref-profile.json");
    drift::profile(&reference, &settings)
        .and_then(|p| p.save(&profile_path))
        .unwrap_or_else(|e| panic!("{e}"));
    let from_profile = drift::run(&DriftOptions {
        reference: profile_path,
        current,
        settings,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(from_profile.to_json(), report.to_json());
    assert_eq!(from_profile.to_html(), report.to_html());
}

#[test]
fn run_and_profile_read_a_folder_of_part_files_as_the_same_rows_in_one_file() {
    use polars::prelude::{df, DataFrame, ParquetWriter};
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut rng = Rng(5);
    let frame = |rng: &mut Rng, shift: f64| -> DataFrame {
        let n = 1500;
        let x: Vec<f64> = (0..n).map(|_| rng.normal(shift, 1.0)).collect();
        let k: Vec<i64> = (0..n as i64).map(|i| i % 4).collect();
        let city: Vec<Option<&str>> = (0..n)
            .map(|i| [Some("paris"), Some("rome"), None][i % 3])
            .collect();
        df!("x" => x, "k" => k, "city" => city).unwrap_or_else(|e| panic!("{e}"))
    };
    let save = |df: &DataFrame, path: &std::path::Path| {
        let file = std::fs::File::create(path).unwrap_or_else(|e| panic!("{e}"));
        ParquetWriter::new(file)
            .finish(&mut df.clone())
            .unwrap_or_else(|e| panic!("{e}"));
    };
    let mut paths = Vec::new();
    for (side, shift) in [("ref", 0.0), ("cur", 0.3)] {
        let df = frame(&mut rng, shift);
        let single = dir.path().join(format!("{side}.parquet"));
        save(&df, &single);
        let folder = dir.path().join(format!("{side}-parts"));
        std::fs::create_dir(&folder).unwrap_or_else(|e| panic!("{e}"));
        for (i, (offset, len)) in [(0, 700), (700, 0), (700, 800)].into_iter().enumerate() {
            save(
                &df.slice(offset, len),
                &folder.join(format!("part-{i:05}.snappy.parquet")),
            );
        }
        std::fs::write(folder.join("_SUCCESS"), "").unwrap_or_else(|e| panic!("{e}"));
        paths.push((single, folder));
    }
    let settings = Settings {
        categorical: vec!["k".into()],
        ..Settings::default()
    };
    let report = |reference: &std::path::Path, current: &std::path::Path| {
        drift::run(&DriftOptions {
            reference: reference.to_path_buf(),
            current: current.to_path_buf(),
            settings: settings.clone(),
        })
        .unwrap_or_else(|e| panic!("{e}"))
        .to_json()
    };
    let [(ref_file, ref_dir), (cur_file, cur_dir)] = &paths[..] else {
        panic!("two sides")
    };
    let expected = report(ref_file, cur_file);
    assert_eq!(report(ref_dir, cur_dir), expected);
    assert_eq!(report(ref_file, cur_dir), expected);
    let profile = |p: &std::path::Path| {
        drift::profile(p, &settings)
            .unwrap_or_else(|e| panic!("{e}"))
            .to_json()
    };
    assert_eq!(profile(ref_dir), profile(ref_file));
}
