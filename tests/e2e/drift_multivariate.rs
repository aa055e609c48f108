//! `mltrack drift`'s multivariate test as a user meets it: two columns whose relation flips while each
//! keeps exactly its values are drift by exit code, summary and JSON, through a profile too; the flags
//! set the threshold or switch the test off, and a bad threshold is a one-line usage error.

use e2e::mltrack_bin;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// 1200 rows: x runs over 0..1200 in a scrambled order; y = x in the reference and 1199 − x in the
/// current, so x and y hold exactly the same values on both sides and only their relation changes.
fn write_flip(dir: &Path) -> (PathBuf, PathBuf) {
    let (mut reference, mut current) = (String::from("x,y\n"), String::from("x,y\n"));
    for i in 0..1200u32 {
        let x = i * 7919 % 1200;
        let _ = writeln!(reference, "{x},{x}");
        let _ = writeln!(current, "{x},{}", 1199 - x);
    }
    let (r, c) = (dir.join("reference.csv"), dir.join("current.csv"));
    std::fs::write(&r, reference).unwrap();
    std::fs::write(&c, current).unwrap();
    (r, c)
}

fn drift(reference: &Path, current: &Path, json: &Path, extra: &[&str]) -> Output {
    Command::new(mltrack_bin())
        .args(["drift", "--fail-on-drift", "--reference"])
        .arg(reference)
        .arg("--current")
        .arg(current)
        .arg("--json")
        .arg(json)
        .args(extra)
        .output()
        .unwrap()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn drift_flags_a_flipped_correlation_that_no_column_shows() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (reference, current) = write_flip(d);

    let out = drift(&reference, &current, &d.join("a.json"), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("multivariate drift: DETECTED"), "{stdout}");
    let report = json(&d.join("a.json"));
    assert_eq!(
        report["dataset"]["number_of_drifted_columns"], 0,
        "no column drifts"
    );
    assert_eq!(report["multivariate"]["drift_detected"], true);
    assert!(report["multivariate"]["roc_auc"].as_f64().unwrap() > 0.9);

    // A saved profile carries the reference sample, so it finds the same.
    let profile = d.join("profile.json");
    let saved = Command::new(mltrack_bin())
        .args(["drift", "profile", "--reference"])
        .arg(&reference)
        .arg("--out")
        .arg(&profile)
        .output()
        .unwrap();
    assert!(
        saved.status.success(),
        "{}",
        String::from_utf8_lossy(&saved.stderr)
    );
    let out = drift(&profile, &current, &d.join("b.json"), &[]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        json(&d.join("b.json"))["multivariate"],
        report["multivariate"]
    );

    // Off, or above any AUC: no drift.
    let out = drift(
        &reference,
        &current,
        &d.join("c.json"),
        &["--no-multivariate"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(json(&d.join("c.json"))["multivariate"].is_null());
    let out = drift(
        &reference,
        &current,
        &d.join("e.json"),
        &["--multivariate-threshold", "1"],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&d.join("e.json"))["multivariate"]["threshold"], 1.0);
}

#[test]
fn a_threshold_that_is_not_an_auc_is_a_one_line_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let (reference, current) = write_flip(dir.path());
    let report = dir.path().join("r.json");
    let out = drift(
        &reference,
        &current,
        &report,
        &["--multivariate-threshold", "1.5"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.contains("--multivariate-threshold") && first.contains("1.5"),
        "{stderr}"
    );
    assert!(!report.exists(), "nothing is written");
}
