//! The domain-classifier test: it flags a change in how columns relate that no column test sees, and
//! stays quiet on two halves of one shuffled sample. Data are generated here from fixed seeds.

use std::path::Path;

use drift::{detect, Dataset, Multivariate, Profile, Reference, Settings, Values};

/// `SplitMix64` and Box–Muller: enough randomness for fixtures, with no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        (-2.0 * self.unit().ln()).sqrt() * (std::f64::consts::TAU * self.unit()).cos()
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[usize::try_from(self.next() % items.len() as u64).unwrap_or(0)]
    }
}

const CITIES: [&str; 4] = ["Lyon", "Nice", "Paris", "Rome"];

/// `rows` rows of x ~ N(0, 1), y = sign · x + small noise, an unrelated z and a city. With sign −1,
/// y is x mirrored: every column keeps its distribution (x and −x have the same law), only the
/// relation between x and y flips.
fn correlated(rows: usize, sign: f64, seed: u64) -> Dataset {
    let mut rng = Rng(seed);
    let (mut x, mut y, mut z, mut city) = (vec![], vec![], vec![], vec![]);
    for _ in 0..rows {
        let a = rng.normal();
        x.push(a);
        y.push(sign * a + 0.2 * rng.normal());
        z.push(rng.normal() * 3.0 + 10.0);
        city.push(rng.pick(&CITIES));
    }
    Dataset::new()
        .with("x", Values::Numeric(x))
        .and_then(|d| d.with("y", Values::Numeric(y)))
        .and_then(|d| d.with("z", Values::Numeric(z)))
        .and_then(|d| d.with("city", Values::text(city.into_iter().map(Some))))
        .expect("dataset")
}

fn tested(m: Option<&Multivariate>) -> &drift::MultivariateDrift {
    match m {
        Some(Multivariate::Tested(t)) => t,
        other => panic!("multivariate test did not run: {other:?}"),
    }
}

#[test]
fn a_flipped_correlation_is_flagged_although_every_column_passes() {
    let reference = correlated(3000, 1.0, 11);
    let current = correlated(3000, -1.0, 12);
    let report = detect(Reference::Data(&reference), &current, &Settings::default()).expect("run");

    // The premise: the column tests see nothing.
    let drifted: Vec<&str> = report
        .columns
        .iter()
        .filter(|c| c.drift_detected)
        .map(|c| c.name.as_str())
        .collect();
    assert!(drifted.is_empty(), "univariate drift in {drifted:?}");
    assert!(!report.dataset.dataset_drift);

    let m = tested(report.multivariate.as_ref());
    assert!(m.drift_detected, "AUC {}", m.roc_auc);
    assert!(m.roc_auc > 0.8, "AUC {}", m.roc_auc);
    assert_eq!(m.threshold, 0.55);
    assert_eq!(
        m.rows_per_side, 1000,
        "both sides are capped at the default sample"
    );
    // The classifier must have relied on x and y, not on the unrelated columns.
    let top: Vec<&str> = m
        .features
        .iter()
        .take(2)
        .map(|f| f.column.as_str())
        .collect();
    assert!(top.contains(&"x") && top.contains(&"y"), "{:?}", m.features);
    assert!(report.alert(), "multivariate drift alone raises the alert");
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("json");
    assert_eq!(json["multivariate"]["drift_detected"], true);
    assert_eq!(json["multivariate"]["method"], "domain_classifier");
    let html = report.to_html();
    assert!(
        html.contains("Multivariate drift: <span class=\"yes\">detected</span>"),
        "the HTML report shows the verdict"
    );
    assert!(html.contains("<code>x</code>") && html.contains("<code>y</code>"));
}

#[test]
fn two_halves_of_one_shuffled_sample_are_not_flagged() {
    // `correlated` draws rows independently, so consecutive halves are two halves of a shuffle.
    let all = correlated(6000, 1.0, 21);
    let half = |from: usize| {
        let mut d = Dataset::new();
        for (name, values) in all.columns() {
            let part = match values {
                Values::Numeric(v) => Values::Numeric(v[from..from + 3000].to_vec()),
                Values::Text { codes, dictionary } => Values::Text {
                    codes: codes[from..from + 3000].to_vec(),
                    dictionary: dictionary.clone(),
                },
                Values::Integer(v) => Values::Integer(v[from..from + 3000].to_vec()),
            };
            d.push(name.clone(), part).expect("column");
        }
        d
    };
    let (a, b) = (half(0), half(3000));
    let report = detect(Reference::Data(&a), &b, &Settings::default()).expect("run");
    let m = tested(report.multivariate.as_ref());
    assert!(!m.drift_detected, "AUC {}", m.roc_auc);
    assert!((m.roc_auc - 0.5).abs() < 0.05, "AUC {}", m.roc_auc);
    assert!(!report.alert());
}

#[test]
fn the_test_is_deterministic_and_a_profile_gives_the_same_result_as_the_rows() {
    let reference = correlated(2500, 1.0, 31);
    let current = correlated(1500, -1.0, 32);
    let settings = Settings::default();
    let first = detect(Reference::Data(&reference), &current, &settings).expect("run");
    let again = detect(Reference::Data(&reference), &current, &settings).expect("run");
    assert_eq!(first.multivariate, again.multivariate);

    let profile = Profile::build(&reference, &settings).expect("profile");
    let profile = Profile::from_json(&profile.to_json(), Path::new("p.json")).expect("round trip");
    let from_profile = detect(Reference::Profile(&profile), &current, &settings).expect("run");
    assert_eq!(from_profile.multivariate, first.multivariate);
    assert_eq!(tested(first.multivariate.as_ref()).rows_per_side, 1000);
}

#[test]
fn a_profile_without_a_row_sample_loads_and_skips_the_test_with_a_reason() {
    let reference = correlated(500, 1.0, 41);
    let current = correlated(500, -1.0, 42);
    let mut settings = Settings::default();
    settings.multivariate.enabled = false;
    // A profile built with the test off is what older versions wrote: no `sample` key.
    let text = Profile::build(&reference, &settings)
        .expect("profile")
        .to_json();
    assert!(!text.contains("\"sample\""), "{text}");
    let old = Profile::from_json(&text, Path::new("old.json")).expect("an old profile loads");

    let report = detect(Reference::Profile(&old), &current, &Settings::default()).expect("run");
    match &report.multivariate {
        Some(Multivariate::Skipped { skipped }) => {
            assert!(skipped.contains("no row sample"), "{skipped}");
        }
        other => panic!("expected a skipped test, got {other:?}"),
    }
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("json");
    assert!(json["multivariate"]["skipped"].is_string());
    // The column tests still run.
    assert_eq!(report.columns.len(), 4);
}

#[test]
fn the_threshold_decides_and_the_test_can_be_switched_off() {
    let reference = correlated(1000, 1.0, 51);
    let current = correlated(1000, 1.0, 52);
    let mut settings = Settings::default();
    settings.multivariate.threshold = 0.0;
    let report = detect(Reference::Data(&reference), &current, &settings).expect("run");
    let m = tested(report.multivariate.as_ref());
    assert!(m.drift_detected && m.threshold == 0.0, "AUC {}", m.roc_auc);

    settings.multivariate.enabled = false;
    let report = detect(Reference::Data(&reference), &current, &settings).expect("run");
    assert_eq!(report.multivariate, None);
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("json");
    assert!(json["multivariate"].is_null());

    settings.multivariate.enabled = true;
    settings.multivariate.threshold = 1.5;
    let err = detect(Reference::Data(&reference), &current, &settings)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("multivariate threshold") && err.contains("1.5"),
        "{err}"
    );
}

#[test]
fn too_few_rows_skip_the_test_with_a_reason() {
    let reference = correlated(150, 1.0, 61);
    let current = correlated(150, -1.0, 62);
    let report = detect(Reference::Data(&reference), &current, &Settings::default()).expect("run");
    assert!(
        matches!(&report.multivariate, Some(Multivariate::Skipped { skipped }) if skipped.contains("too few rows")),
        "{:?}",
        report.multivariate
    );
}
