//! Inputs for the scoring benchmark: a Spark-default price model (20 trees, depth 5, maxBins 40) fitted
//! on the gold data, and N gold rows drawn with replacement (seeded), written as parquet in row groups
//! of 100,000 rows so that memory stays flat while writing however large N is.
//!
//! `cargo run -p model-core --release --example scoring_input -- ROWS OUT.parquet MODEL_DIR`

// Test and benchmark fixtures index rows and build values from small counts.
#![allow(
    clippy::cast_possible_wrap,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use std::path::PathBuf;

use model_core::dataset;
use model_core::package::{self, SaveOptions};
use model_core::pipeline::{PipelineParams, PricePipeline};
use model_core::table_io::{TableReader, TableWriter};
use polars::prelude::*;
use rand::{Rng, SeedableRng};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rows: usize = args.next().ok_or("ROWS")?.parse()?;
    let out = PathBuf::from(args.next().ok_or("OUT.parquet")?);
    let model_dir = PathBuf::from(args.next().ok_or("MODEL_DIR")?);

    let gold_path = dataset::gold_data_path();
    let gold = dataset::load_gold(&gold_path, false)?;
    let model = PricePipeline::fit(&gold.table, &PipelineParams::default())?;
    package::save(&model, &model_dir, &SaveOptions::default())?;

    let mut reader = TableReader::open(&gold_path, usize::MAX, &[])?;
    let mut all = reader.next_batch()?.ok_or("gold data is empty")?;
    while let Some(more) = reader.next_batch()? {
        all.vstack_mut(&more)?;
    }
    let mut writer = TableWriter::create(&out, all.schema())?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut left = rows;
    while left > 0 {
        let n = left.min(100_000);
        let idx: Vec<IdxSize> = (0..n)
            .map(|_| rng.gen_range(0..all.height()) as IdxSize)
            .collect();
        let batch = all.take(&IdxCa::from_vec("idx".into(), idx))?;
        writer.write(&batch)?;
        left -= n;
    }
    writer.finish()?;
    println!(
        "wrote {rows} rows to {} and the model to {}",
        out.display(),
        model_dir.display()
    );
    Ok(())
}
