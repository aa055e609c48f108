//! The exit status contract of `mltrack --help`: 0 success, 1 failure, 2 usage error, 3 drift.
//! Scripts branch on these, so each is checked through the binary.

use crate::common::BIN;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output};

fn mltrack(args: &[&str], cwd: &Path) -> Output {
    Command::new(BIN)
        .current_dir(cwd)
        .args(args)
        .env_remove("MLFLOW_TRACKING_URI")
        .env_remove("MLTRACK_GOLD_DATA")
        .env("MLTRACK_LOG", "warn")
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn help_documents_the_exit_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let out = mltrack(&["--help"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "Exit status:",
        "0  success",
        "1  the command failed",
        "2  usage error",
        "3  drift detected",
    ] {
        assert!(text.contains(line), "`{line}` not in:\n{text}");
    }
}

#[test]
fn usage_errors_exit_2_and_name_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = d.join("in.csv");
    std::fs::write(&input, "a\n1\n").unwrap();
    let input = input.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["score", "--no-such-flag"], "--no-such-flag"),
        (&["frobnicate"], "frobnicate"),
        (
            &[
                "score",
                "--model",
                "m",
                "--input",
                input,
                "--output",
                "o.csv",
                "--batch-rows",
                "0",
            ],
            "--batch-rows",
        ),
        (&["train", "--max-evals", "0"], "--max-evals"),
        (
            &[
                "monitor",
                "--model",
                "m",
                "--input",
                input,
                "--out",
                "o",
                "--watch",
                "--date",
                "2026-12-04",
            ],
            "--date",
        ),
        (
            &["server", "--webhook-max-backoff", "0"],
            "--webhook-max-backoff",
        ),
        // Checks that span flags, made after clap has parsed them.
        (
            &[
                "score",
                "--model",
                "m",
                "--input",
                input,
                "--output",
                "s.csv",
                "--skipped",
                "s.csv",
            ],
            "`--output` and `--skipped` are the same file",
        ),
        (
            &["score", "--model", "m", "--input", input, "--output", input],
            "is the input",
        ),
        (&["drift"], "`--reference` and `--current` are required"),
        (
            &[
                "drift",
                "--reference",
                input,
                "--current",
                input,
                "--threshold",
                "x=high",
            ],
            "--threshold",
        ),
    ];
    for (args, expect) in cases {
        let out = mltrack(args, d);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: `{expect}` not in {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(err.contains("try '--help'"), "{args:?}: {err}");
    }
    assert!(!d.join("o.csv").exists() && !d.join("s.csv").exists());
}

/// Each choice flag refuses a value outside its list and shows the list, spelt as accepted.
#[test]
fn choice_flags_list_their_values() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "score",
                "--model",
                "m",
                "--input",
                "i",
                "--output",
                "o",
                "--handle-invalid",
                "drop",
            ],
            "[possible values: skip, keep, error]",
        ),
        (
            &["train", "--algorithm", "grid"],
            "[possible values: tpe, random]",
        ),
        (
            &["train", "--register", "m", "--stage", "Archived"],
            "[possible values: Staging, Production]",
        ),
        (
            &["drift", "--correction", "holm"],
            "[possible values: none, bonferroni, fdr]",
        ),
    ];
    for (args, expect) in cases {
        let out = mltrack(args, dir.path());
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: `{expect}` not in {err}");
    }
    // MLflow's stage names are accepted as MLflow spells them, and only so.
    let out = mltrack(
        &["train", "--register", "m", "--stage", "production"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn drift_found_under_fail_on_drift_exits_3_and_otherwise_0() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut reference, mut current) = (String::from("x\n"), String::from("x\n"));
    for i in 0..300 {
        let _ = writeln!(reference, "{}", i % 50);
        let _ = writeln!(current, "{}", i % 50 + 500);
    }
    std::fs::write(d.join("r.csv"), reference).unwrap();
    std::fs::write(d.join("c.csv"), current).unwrap();
    let args = ["drift", "--reference", "r.csv", "--current", "c.csv"];
    let out = mltrack(&args, d);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("dataset drift: DETECTED"));
    let out = mltrack(&[&args[..], &["--fail-on-drift"]].concat(), d);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let out = mltrack(
        &[
            "drift",
            "--reference",
            "r.csv",
            "--current",
            "r.csv",
            "--fail-on-drift",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn runtime_failures_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let out = mltrack(
        &[
            "drift",
            "--reference",
            "missing.csv",
            "--current",
            "missing.csv",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: ") && err.contains("missing.csv"),
        "{err}"
    );
}

/// The default gold data is looked for from where the binary runs, not where it was built: a
/// binary copied to another machine must not point into the build machine's checkout.
#[test]
fn the_default_gold_data_is_found_at_run_time_not_at_build_time() {
    let dir = tempfile::tempdir().unwrap();
    let out = mltrack(&["train", "--max-evals", "1"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let build_root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    assert!(
        !err.contains(build_root.to_str().unwrap()),
        "the build checkout leaks into: {err}"
    );
    let here = dir.path().canonicalize().unwrap();
    assert!(
        err.contains(&format!(
            "{}/../shared/data/sf-airbnb-clean.parquet",
            here.display()
        )),
        "{err}"
    );
    assert!(err.contains("MLTRACK_GOLD_DATA"), "{err}");
}

/// An import whose source is missing fails before it writes anything: no store, and no artifact
/// directory either (opening the proxy's destination creates it).
#[test]
fn a_refused_import_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let out = mltrack(&["import", "--from", "./missing-mlruns"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("missing-mlruns"), "{err}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
