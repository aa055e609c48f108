//! `cargo bench -p drift`: one drift run (detect + HTML) on 16 numerical + 8 categorical columns per side at 100k and
//! 1M rows per side, and the multivariate step's share of it (`multivariate_step`: the same run with the
//! domain classifier on and off, 100k rows per side; its cost does not grow with the rows, which are
//! sampled).

#[path = "../examples/common/wide.rs"]
mod wide;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use drift::{detect, Reference, Settings};

fn wide_24_columns(c: &mut Criterion) {
    let mut group = c.benchmark_group("detect_24_columns");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    for rows in [100_000usize, 1_000_000] {
        let reference = wide::side(rows, 7, false);
        let current = wide::side(rows, 8, true);
        group.bench_function(format!("{rows}_rows"), |b| {
            b.iter(|| {
                let report = detect(Reference::Data(&reference), &current, &Settings::default())
                    .expect("valid input");
                report.to_html().len()
            });
        });
    }
    group.finish();
}

fn multivariate_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("multivariate_step");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    let reference = wide::side(100_000, 7, false);
    let current = wide::side(100_000, 8, true);
    for enabled in [true, false] {
        let mut settings = Settings::default();
        settings.multivariate.enabled = enabled;
        let name = if enabled { "on" } else { "off" };
        group.bench_function(format!("detect_100000_rows_multivariate_{name}"), |b| {
            b.iter(|| {
                detect(Reference::Data(&reference), &current, &settings)
                    .expect("valid input")
                    .dataset
                    .number_of_drifted_columns
            });
        });
    }
    group.finish();
}

criterion_group!(benches, wide_24_columns, multivariate_step);
criterion_main!(benches);
