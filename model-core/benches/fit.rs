//! One forest fit (20 trees, depth 5, ~5.8k rows) against smartcore's `RandomForestRegressor` at the
//! closest settings: same feature matrix, 20 trees, smartcore `max_depth` 6 (it counts the root as
//! level 1 where Spark counts it as level 0: `DecisionTreeRegressor` in both), `m` = ceil(p / 3) features per split as Spark's `onethird`.
//! smartcore splits exactly (no bins) and treats categories as numbers; it is single-threaded.
//!
//! `cargo bench -p model-core --bench fit`

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{criterion_group, criterion_main, Criterion};
use model_core::dataset;
use model_core::forest::RandomForestParams;
use model_core::pipeline::{PipelineParams, PricePipeline};
use model_core::spark_split::spark_random_split;
use ndarray::Array2;
use smartcore::ensemble::random_forest_regressor::{
    RandomForestRegressor, RandomForestRegressorParameters,
};
use smartcore::linalg::basic::matrix::DenseMatrix;

/// The assembled training matrix: the gold file's 80 % split when present, else seeded gold-like data.
fn training_data() -> (
    Array2<f64>,
    Vec<f64>,
    Vec<String>,
    std::collections::BTreeMap<usize, usize>,
) {
    let table = match dataset::load_gold(&dataset::gold_data_path(), false) {
        Ok(g) => g.table,
        Err(e) => {
            eprintln!("gold data unavailable ({e}); benchmarking on generated data");
            common::gold_like(7146, 36, 1)
        }
    };
    let parts = spark_random_split(&table, &[0.8, 0.2], 42).expect("split");
    let train = table.take(&parts[0]);
    let model = PricePipeline::fit(&train, &PipelineParams::default()).expect("fits");
    let assembled = model
        .assembler()
        .transform(&train, model.indexers(), model.handle_invalid())
        .expect("assembles");
    let label = match &train.column("price").expect("price").data {
        dataset::ColumnData::Num(v) => assembled
            .rows
            .iter()
            .map(|&r| v[r].unwrap_or(f64::NAN))
            .collect(),
        dataset::ColumnData::Str(_) => unreachable!("price is numeric"),
    };
    let categorical = model.forest().params().categorical_features().clone();
    (
        assembled.x,
        label,
        model.forest().feature_names().to_vec(),
        categorical,
    )
}

fn fit(c: &mut Criterion) {
    let (x, y, names, categorical) = training_data();
    let p = x.ncols();
    eprintln!("fit benchmark on {} rows × {p} features", x.nrows());
    let params = RandomForestParams::new()
        .num_trees(20)
        .max_depth(5)
        .max_bins(40)
        .categorical_features(categorical)
        .check()
        .expect("valid");
    let mut group = c.benchmark_group("fit_20_trees_depth_5");
    group.sample_size(20);
    group.bench_function("model_core", |b| {
        b.iter(|| params.fit_arrays(x.view(), &y, &names).expect("fits"));
    });
    let rows: Vec<Vec<f64>> = x.rows().into_iter().map(|r| r.to_vec()).collect();
    let dense = DenseMatrix::from_2d_vec(&rows).expect("matrix");
    let sc_params = RandomForestRegressorParameters::default()
        .with_n_trees(20)
        .with_max_depth(6)
        .with_m(p.div_ceil(3))
        .with_seed(42);
    group.bench_function("smartcore", |b| {
        b.iter(|| RandomForestRegressor::fit(&dense, &y, sc_params.clone()).expect("fits"));
    });
    group.finish();
}

criterion_group!(benches, fit);
criterion_main!(benches);
