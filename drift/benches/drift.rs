//! `cargo bench -p drift`: one drift run (detect + HTML) on 16 numerical + 8 categorical columns per side at 100k and
//! 1M rows per side.

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

criterion_group!(benches, wide_24_columns);
criterion_main!(benches);
