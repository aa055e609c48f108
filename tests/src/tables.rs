//! Tables for the tests of commands that read data: a seeded table with the gold schema, written as
//! one parquet file or as the folders of part files Spark and polars write.

use model_core::dataset::{ColumnKind, GOLD_SCHEMA};
use polars::prelude::*;
use std::path::Path;

/// A table with the gold schema (24 columns, `minimum_nights` and `number_of_reviews` as `i64` like
/// Spark's `long`), seeded; `shift` moves the numbers, so a current batch can drift.
pub fn gold_like(rows: usize, seed: u64, shift: f64) -> DataFrame {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005) | 1;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as f64 / (1u64 << 31) as f64
    };
    let words = [
        "t",
        "f",
        "Apartment",
        "House",
        "Mission",
        "Real Bed",
        "94110",
    ];
    let columns = GOLD_SCHEMA
        .iter()
        .enumerate()
        .map(|(i, (name, kind))| match (kind, *name) {
            (ColumnKind::Categorical, _) => Column::new(
                (*name).into(),
                (0..rows)
                    .map(|_| words[(next() * (2.0 + (i % 5) as f64)) as usize % words.len()])
                    .collect::<Vec<_>>(),
            ),
            (ColumnKind::Numeric, "minimum_nights" | "number_of_reviews") => Column::new(
                (*name).into(),
                (0..rows)
                    .map(|_| (next() * 30.0 + shift) as i64)
                    .collect::<Vec<_>>(),
            ),
            // Prices are positive, as the real ones (the model may train on their log).
            (ColumnKind::Numeric, "price") => Column::new(
                (*name).into(),
                (0..rows)
                    .map(|_| (10.0 + next() * 300.0 + shift * 10.0).round())
                    .collect::<Vec<_>>(),
            ),
            (ColumnKind::Numeric, _) => Column::new(
                (*name).into(),
                (0..rows)
                    .map(|_| (next() * 100.0 + shift * 10.0).round() / 10.0)
                    .collect::<Vec<_>>(),
            ),
        })
        .collect();
    DataFrame::new(rows, columns).unwrap()
}

pub fn write_parquet(df: &DataFrame, path: &Path) {
    ParquetWriter::new(std::fs::File::create(path).unwrap())
        .finish(&mut df.clone())
        .unwrap();
}

/// The folder Spark writes: snappy part files with their hidden `.crc` checksums, `_SUCCESS` and its
/// checksum. One part is empty, as Spark writes for an empty partition.
pub fn write_spark_folder(df: &DataFrame, folder: &Path, rows_per_part: &[usize]) {
    std::fs::create_dir_all(folder).unwrap();
    let mut offset = 0;
    for (i, &len) in rows_per_part.iter().enumerate() {
        let name = format!("part-{i:05}-5c3d407c-c844-4016-97ad-2edec446aa62-c000.snappy.parquet");
        write_parquet(&df.slice(offset, len), &folder.join(&name));
        std::fs::write(folder.join(format!(".{name}.crc")), "crc").unwrap();
        offset += len as i64;
    }
    assert_eq!(offset as usize, df.height(), "the parts hold every row");
    std::fs::write(folder.join("_SUCCESS"), "").unwrap();
    std::fs::write(folder.join("._SUCCESS.crc"), "crc").unwrap();
}

/// The folder polars writes when it splits by size: `0.parquet`, `1.parquet`, … `10.parquet`.
pub fn write_polars_folder(df: &DataFrame, folder: &Path, parts: usize) {
    std::fs::create_dir_all(folder).unwrap();
    let per = df.height().div_ceil(parts);
    for i in 0..parts {
        write_parquet(
            &df.slice((i * per) as i64, per),
            &folder.join(format!("{i}.parquet")),
        );
    }
}

/// Every row of [`crate::gold_data`] with a `row_id` (int64), and three rows whose categories no
/// training row has (`property_type` `Spaceship` in rows 0 and 1, `neighbourhood_cleansed`
/// `Atlantis` in row 2), for checks that two scorers keep and skip the same rows.
pub fn gold_with_unseen_categories() -> DataFrame {
    let mut reader =
        model_core::table_io::TableReader::open(&crate::gold_data(), 1 << 20, &[]).unwrap();
    let mut df = reader.next_batch().unwrap().unwrap();
    while let Some(more) = reader.next_batch().unwrap() {
        df.vstack_mut(&more).unwrap();
    }
    let set = |df: &mut DataFrame, column: &str, rows: &[usize], value: &str| {
        let mut values: Vec<Option<String>> = df
            .column(column)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect();
        for &r in rows {
            values[r] = Some(value.to_string());
        }
        df.with_column(Column::new(column.into(), values)).unwrap();
    };
    set(&mut df, "property_type", &[0, 1], "Spaceship");
    set(&mut df, "neighbourhood_cleansed", &[2], "Atlantis");
    let ids: Vec<i64> = (0..df.height() as i64).collect();
    df.with_column(Column::new("row_id".into(), ids)).unwrap();
    df
}
