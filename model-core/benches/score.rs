//! Scoring throughput of the model itself, without file I/O: a Spark-default forest (20 trees,
//! depth 5, maxBins 40) fitted on the gold data scores a 100,000-row polars batch of gold rows
//! (the unit `mltrack score` works in), through [`Scorer::score`] (string lookup, assembly, forest,
//! output frames) and through the forest alone on the assembled matrix.
//!
//! `cargo bench -p model-core --bench score`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use model_core::dataset;
use model_core::indexer::HandleInvalid;
use model_core::pipeline::{PipelineParams, PricePipeline};
use model_core::scoring::Scorer;
use model_core::table_io::TableReader;

const ROWS: usize = 100_000;

fn bench(c: &mut Criterion) {
    let path = dataset::gold_data_path();
    let gold = dataset::load_gold(&path, false).expect("gold data (MLTRACK_GOLD_DATA)");
    let model = PricePipeline::fit(&gold.table, &PipelineParams::default()).expect("fits");
    let mut reader = TableReader::open(&path, usize::MAX, &[]).expect("reads");
    let one = reader.next_batch().expect("reads").expect("rows");
    let mut batch = one.clone();
    while batch.height() < ROWS {
        batch.vstack_mut(&one).expect("same schema");
    }
    let mut batch = batch.slice(0, ROWS);
    batch.rechunk_mut();

    let mut group = c.benchmark_group("score_100k_rows");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.sample_size(20);
    group.bench_function("scorer (lookup + assemble + forest + frames)", |b| {
        b.iter(|| {
            let mut scorer = Scorer::new(&model, HandleInvalid::Skip);
            scorer.score(&batch).expect("scores").scored.height()
        });
    });
    let (table, _) = model_core::dataset::Table::from_polars(&batch).expect("converts");
    let assembled = model
        .assembler()
        .transform(&table, model.indexers(), HandleInvalid::Skip)
        .expect("assembles");
    group.bench_function("forest only (20 trees, depth 5)", |b| {
        b.iter(|| {
            model
                .forest()
                .predict_array(assembled.x.view())
                .expect("predicts")
                .len()
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
