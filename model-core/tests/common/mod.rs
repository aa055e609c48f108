//! Seeded gold-like data for the integration tests.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::Path;

use model_core::dataset::{Column, ColumnData, Table, GOLD_SCHEMA};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A table with the 24 gold columns. Price depends on accommodates, room type and neighbourhood, so a
/// model has something to learn; `hoods` sets the neighbourhood cardinality.
pub(crate) fn gold_like(n: usize, hoods: usize, seed: u64) -> Table {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let rooms = ["Entire home/apt", "Private room", "Shared room"];
    let mut columns = Vec::new();
    let mut accommodates = Vec::with_capacity(n);
    let mut room = Vec::with_capacity(n);
    let mut hood = Vec::with_capacity(n);
    for _ in 0..n {
        accommodates.push(f64::from(rng.gen_range(1..=8u8)));
        room.push(rng.gen_range(0..3usize));
        hood.push(rng.gen_range(0..hoods));
    }
    for (name, _) in GOLD_SCHEMA {
        let column = match name {
            "host_is_superhost" | "instant_bookable" => Column::strings(
                name,
                (0..n).map(|_| Some(if rng.gen_bool(0.4) { "t" } else { "f" })),
            ),
            "cancellation_policy" => {
                let p = [
                    "strict_14_with_grace_period",
                    "moderate",
                    "flexible",
                    "strict",
                ];
                Column::strings(name, (0..n).map(|_| Some(p[rng.gen_range(0..4)])))
            }
            "neighbourhood_cleansed" => {
                Column::strings(name, hood.iter().map(|h| Some(format!("hood {h}"))))
            }
            "property_type" => {
                let p = ["Apartment", "House", "Condominium", "Guest suite", "Loft"];
                Column::strings(name, (0..n).map(|_| Some(p[rng.gen_range(0..5)])))
            }
            "room_type" => Column::strings(name, room.iter().map(|&r| Some(rooms[r]))),
            "bed_type" => Column::strings(
                name,
                (0..n).map(|_| {
                    Some(if rng.gen_bool(0.9) {
                        "Real Bed"
                    } else {
                        "Futon"
                    })
                }),
            ),
            "accommodates" => Column::numbers(name, accommodates.iter().map(|&a| Some(a))),
            "minimum_nights" | "number_of_reviews" => {
                let mut c = Column::numbers(
                    name,
                    (0..n).map(|_| Some(f64::from(rng.gen_range(1..60u8)))),
                );
                c.dtype = "i64".to_string();
                c
            }
            "price" => Column::numbers(
                name,
                (0..n).map(|i| {
                    #[allow(clippy::cast_precision_loss)]
                    let h = (hood[i] % 7) as f64;
                    let r = [120.0, 40.0, 0.0][room[i]];
                    Some(30.0 + 25.0 * accommodates[i] + r + 15.0 * h + rng.gen_range(-20.0..20.0))
                }),
            ),
            _ => Column::numbers(
                name,
                (0..n).map(|_| Some((rng.gen::<f64>() * 100.0).round() / 10.0)),
            ),
        };
        columns.push(column);
    }
    Table::new(columns).expect("generated table is rectangular")
}

/// Replaces one column of a table.
pub(crate) fn with_column(table: &Table, column: Column) -> Table {
    let columns = table
        .columns()
        .iter()
        .map(|c| {
            if c.name == column.name {
                column.clone()
            } else {
                c.clone()
            }
        })
        .collect();
    Table::new(columns).expect("same shape")
}

/// Writes a table as CSV (strings quoted, integer-typed columns without a decimal point).
pub(crate) fn write_csv(table: &Table, path: &Path, skip_column: Option<&str>) {
    let cols: Vec<_> = table
        .columns()
        .iter()
        .filter(|c| Some(c.name.as_str()) != skip_column)
        .collect();
    let mut out = cols
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for r in 0..table.n_rows() {
        let cells: Vec<String> = cols
            .iter()
            .map(|c| match &c.data {
                ColumnData::Str(v) => v[r]
                    .as_ref()
                    .map(|s| format!("\"{s}\""))
                    .unwrap_or_default(),
                ColumnData::Num(v) => match v[r] {
                    Some(x) if c.dtype == "i64" => format!("{x:.0}"),
                    Some(x) => format!("{x:?}"),
                    None => String::new(),
                },
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join(","));
    }
    std::fs::write(path, out).expect("write csv");
}
