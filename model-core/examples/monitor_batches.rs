//! Inputs for the monitoring benchmark (`bench/monitor.sh`): DAYS daily batches of ROWS gold rows
//! drawn with replacement (seeded by the day), named `YYYY-MM-DD.parquet` from 2026-09-01; from day
//! 60 `accommodates` and `review_scores_rating` shift, as in the season test of `mltrack monitor`.
//!
//! `cargo run -p model-core --release --example monitor_batches -- DAYS ROWS OUT_DIR`

#![allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]

use model_core::dataset;
use model_core::table_io::{TableReader, TableWriter};
use polars::prelude::*;
use rand::{Rng, SeedableRng};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let days: u32 = args.next().ok_or("DAYS")?.parse()?;
    let rows: usize = args.next().ok_or("ROWS")?.parse()?;
    let out = PathBuf::from(args.next().ok_or("OUT_DIR")?);
    std::fs::create_dir_all(&out)?;
    let mut reader = TableReader::open(&dataset::gold_data_path(), usize::MAX, &[])?;
    let mut gold = reader.next_batch()?.ok_or("gold data is empty")?;
    while let Some(more) = reader.next_batch()? {
        gold.vstack_mut(&more)?;
    }
    let n = gold.height();
    for day in 1..=days {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(u64::from(day));
        let picks: Vec<IdxSize> = (0..rows).map(|_| rng.gen_range(0..n) as IdxSize).collect();
        let mut batch = gold.take(&IdxCa::from_vec("rows".into(), picks))?;
        if day >= 60 {
            for (column, by) in [("accommodates", 6.0), ("review_scores_rating", -25.0)] {
                let shifted = batch.column(column)?.cast(&DataType::Float64)? + by;
                batch.with_column(shifted.with_name(column.into()))?;
            }
        }
        let date = civil(20_697 + i64::from(day) - 1);
        let mut writer = TableWriter::create(&out.join(format!("{date}.parquet")), batch.schema())?;
        writer.write(&batch)?;
        writer.finish()?;
    }
    Ok(())
}

/// `YYYY-MM-DD` of a day count since 1970-01-01 (Hinnant's `civil_from_days`).
fn civil(z: i64) -> String {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    format!("{:04}-{m:02}-{d:02}", yoe + era * 400 + i64::from(m <= 2))
}
