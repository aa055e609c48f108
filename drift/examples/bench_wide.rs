//! Times one drift run on the benchmark shape and prints phase timings; run under `/usr/bin/time -v` for
//! peak memory:
//!
//! ```sh
//! cargo build --release -p drift --example bench_wide
//! /usr/bin/time -v target/release/examples/bench_wide 1000000 [report.html]
//! ```

#[path = "common/wide.rs"]
mod wide;

use std::time::Instant;

use drift::{detect, Reference, Settings};

/// CPU seconds (user + system) of this process so far, from /proc (Linux); the wall time alone says
/// little on a shared machine.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    // After the command name: field 14 (utime) and 15 (stime) of proc(5) are at 11 and 12; 100 ticks/s.
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let rows: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let t = Instant::now();
    let reference = wide::side(rows, 7, false);
    let current = wide::side(rows, 8, true);
    let generated = t.elapsed();
    let input_mb = (rows * (16 * 8 + 8 * 4) * 2) as f64 / 1e6;

    let t = Instant::now();
    let cpu = cpu_seconds();
    let report = match detect(Reference::Data(&reference), &current, &Settings::default()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let compute = t.elapsed();
    let compute_cpu = cpu_seconds() - cpu;
    let t = Instant::now();
    let html = report.to_html();
    let json = report.to_json();
    let render = t.elapsed();
    println!(
        "rows per side {rows}: input {input_mb:.0} MB, generate {:.2} s, detect {:.3} s wall / {:.2} s CPU, html+json {:.3} s \
         ({} KB html), drifted {}/{} (share {:.3}, dataset drift {})",
        generated.as_secs_f64(),
        compute.as_secs_f64(),
        compute_cpu,
        render.as_secs_f64(),
        html.len() / 1024,
        report.dataset.number_of_drifted_columns,
        report.dataset.number_of_columns,
        report.dataset.share_of_drifted_columns,
        report.dataset.dataset_drift,
    );
    drop(json);
    // The multivariate step alone: the same run with it off, and the difference.
    let off = Settings {
        multivariate: drift::options::Multivariate {
            enabled: false,
            ..drift::options::Multivariate::default()
        },
        ..Settings::default()
    };
    let t = Instant::now();
    let cpu = cpu_seconds();
    let columns_only = detect(Reference::Data(&reference), &current, &off);
    let (off_wall, off_cpu) = (t.elapsed(), cpu_seconds() - cpu);
    if let (Ok(_), Some(m)) = (
        columns_only,
        report.multivariate.as_ref().and_then(|m| m.tested()),
    ) {
        println!(
            "multivariate: AUC {:.4} on {} rows a side, drift {}, top {:?}; detect without it {:.3} s wall / {:.2} s CPU \
             (the step: +{:.3} s wall / +{:.2} s CPU)",
            m.roc_auc,
            m.rows_per_side,
            m.drift_detected,
            m.features.iter().map(|f| f.column.as_str()).collect::<Vec<_>>(),
            off_wall.as_secs_f64(),
            off_cpu,
            compute.as_secs_f64() - off_wall.as_secs_f64(),
            compute_cpu - off_cpu,
        );
    }
    if let Some(path) = std::env::args().nth(2) {
        if let Err(e) = std::fs::write(&path, html) {
            eprintln!("error: cannot write `{path}`: {e}");
            std::process::exit(1);
        }
    }
}
