//! Reading the gold listings, checking their schema, and the silver clean-up step.
//!
//! Files are decoded by the workspace's one reader ([`table_reader`], shared with `mltrack drift`), and
//! polars is used only at that edge. Everything after that works on
//! [`Table`], a small column store of strings and `f64`s: it keeps the rest of the crate independent of
//! polars' fast-moving API, and lets tests and the scorer build inputs by hand.
//!
//! The gold schema is the 24 columns of the Databricks-cleaned SF Airbnb listings (`price` is the
//! label). Integer columns are accepted wherever the schema has a number: the reference pipeline kept
//! only `double` columns and so silently lost `minimum_nights` and `number_of_reviews`, which are `long`
//! in the gold table.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::{ModelError, Result};

/// The label column.
pub const LABEL: &str = "price";

/// Environment variable naming the gold data (a parquet file or directory, or a CSV file).
pub const GOLD_DATA_ENV: &str = "MLTRACK_GOLD_DATA";

/// Whether a gold column holds categories or numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// A string column, indexed by the string indexer.
    Categorical,
    /// Any integer or floating-point column, used as `f64`.
    Numeric,
}

use ColumnKind::{Categorical as C, Numeric as N};

/// The gold schema in its published order (`sf-airbnb-clean.parquet` from Databricks' Learning Spark v2 repository).
pub const GOLD_SCHEMA: [(&str, ColumnKind); 24] = [
    ("host_is_superhost", C),
    ("cancellation_policy", C),
    ("instant_bookable", C),
    ("host_total_listings_count", N),
    ("neighbourhood_cleansed", C),
    ("latitude", N),
    ("longitude", N),
    ("property_type", C),
    ("room_type", C),
    ("accommodates", N),
    ("bathrooms", N),
    ("bedrooms", N),
    ("beds", N),
    ("bed_type", C),
    ("minimum_nights", N),
    ("number_of_reviews", N),
    ("review_scores_rating", N),
    ("review_scores_accuracy", N),
    ("review_scores_cleanliness", N),
    ("review_scores_checkin", N),
    ("review_scores_communication", N),
    ("review_scores_location", N),
    ("review_scores_value", N),
    (LABEL, N),
];

/// The values of one column.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    /// Strings; `None` is null.
    Str(Vec<Option<String>>),
    /// Numbers as `f64`; `None` is null (NaN stays NaN).
    Num(Vec<Option<f64>>),
}

impl ColumnData {
    fn len(&self) -> usize {
        match self {
            ColumnData::Str(v) => v.len(),
            ColumnData::Num(v) => v.len(),
        }
    }

    fn kind(&self) -> ColumnKind {
        match self {
            ColumnData::Str(_) => ColumnKind::Categorical,
            ColumnData::Num(_) => ColumnKind::Numeric,
        }
    }
}

/// A named column. `dtype` is the source type's name (`str`, `i64`, `f64`…), kept for error messages.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub dtype: String,
    pub data: ColumnData,
}

impl Column {
    /// A string column.
    pub fn strings<S: Into<String>>(
        name: &str,
        values: impl IntoIterator<Item = Option<S>>,
    ) -> Self {
        Column {
            name: name.to_string(),
            dtype: "str".to_string(),
            data: ColumnData::Str(values.into_iter().map(|v| v.map(Into::into)).collect()),
        }
    }

    /// A numeric column.
    pub fn numbers(name: &str, values: impl IntoIterator<Item = Option<f64>>) -> Self {
        Column {
            name: name.to_string(),
            dtype: "f64".to_string(),
            data: ColumnData::Num(values.into_iter().collect()),
        }
    }
}

/// A rectangular table of string and numeric columns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    columns: Vec<Column>,
    n_rows: usize,
}

impl Table {
    /// Builds a table; columns must have equal lengths and distinct names.
    pub fn new(columns: Vec<Column>) -> Result<Self> {
        let n_rows = columns.first().map_or(0, |c| c.data.len());
        let mut seen = HashSet::new();
        for c in &columns {
            if c.data.len() != n_rows {
                return Err(ModelError::Table(format!(
                    "column `{}` has {} rows, the first column has {n_rows}",
                    c.name,
                    c.data.len()
                )));
            }
            if !seen.insert(c.name.as_str()) {
                return Err(ModelError::Table(format!(
                    "column `{}` appears twice",
                    c.name
                )));
            }
        }
        Ok(Table { columns, n_rows })
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// The columns in order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// A column by name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The rows at `rows`, in that order.
    pub fn take(&self, rows: &[usize]) -> Table {
        let columns = self
            .columns
            .iter()
            .map(|c| Column {
                name: c.name.clone(),
                dtype: c.dtype.clone(),
                data: match &c.data {
                    ColumnData::Str(v) => {
                        ColumnData::Str(rows.iter().map(|&r| v[r].clone()).collect())
                    }
                    ColumnData::Num(v) => ColumnData::Num(rows.iter().map(|&r| v[r]).collect()),
                },
            })
            .collect();
        Table {
            columns,
            n_rows: rows.len(),
        }
    }

    /// Converts a polars frame. String columns become [`ColumnData::Str`]; integer, float and
    /// boolean columns become [`ColumnData::Num`]. Columns of other types are kept out and listed in
    /// the second value, so that only a *required* column of an odd type is an error.
    pub fn from_polars(df: &DataFrame) -> Result<(Table, Vec<(String, String)>)> {
        let mut columns = Vec::new();
        let mut unsupported = Vec::new();
        for col in df.columns() {
            let name = col.name().to_string();
            let series = col.as_materialized_series();
            let dtype = series.dtype().clone();
            let dtype_name = dtype.to_string();
            let data = if matches!(dtype, DataType::String) {
                let ca = series.str().map_err(|e| ModelError::Table(e.to_string()))?;
                ColumnData::Str(ca.iter().map(|v| v.map(str::to_string)).collect())
            } else if dtype.is_primitive_numeric() || matches!(dtype, DataType::Boolean) {
                let cast = series
                    .cast(&DataType::Float64)
                    .map_err(|e| ModelError::Table(format!("column `{name}`: {e}")))?;
                let ca = cast.f64().map_err(|e| ModelError::Table(e.to_string()))?;
                ColumnData::Num(ca.iter().collect())
            } else {
                unsupported.push((name, dtype_name));
                continue;
            };
            columns.push(Column {
                name,
                dtype: dtype_name,
                data,
            });
        }
        Ok((Table::new(columns)?, unsupported))
    }
}

/// A table read from a file, with the columns whose type the crate cannot use.
#[derive(Debug, Clone)]
pub struct RawTable {
    pub path: PathBuf,
    pub table: Table,
    pub unsupported: Vec<(String, String)>,
}

/// Reads a table through the shared reader ([`table_reader`]: a parquet file, a folder of parquet
/// part files, or a `.csv` file). CSV columns the gold schema calls categorical are read as text
/// whatever they look like, as `mltrack score` reads a model's categorical columns.
pub fn read_table(path: &Path) -> Result<RawTable> {
    let categorical: Vec<String> = GOLD_SCHEMA
        .iter()
        .filter(|(_, kind)| *kind == ColumnKind::Categorical)
        .map(|(name, _)| (*name).to_string())
        .collect();
    let df = table_reader::read_table(path, &categorical)?;
    let (table, unsupported) = Table::from_polars(&df)?;
    Ok(RawTable {
        path: path.to_path_buf(),
        table,
        unsupported,
    })
}

/// Checks the gold schema and returns the 24 gold columns in schema order. With `keep_extra`, other
/// usable columns (such as the public file's ten `*_na` indicators) follow them; otherwise they are
/// dropped, so the model sees exactly the gold features.
pub fn validate_gold(raw: &RawTable, keep_extra: bool) -> Result<Table> {
    let mut columns = Vec::with_capacity(GOLD_SCHEMA.len());
    for (name, kind) in GOLD_SCHEMA {
        let expected = match kind {
            ColumnKind::Categorical => "string",
            ColumnKind::Numeric => "a number",
        };
        let Some(col) = raw.table.column(name) else {
            if let Some((_, dtype)) = raw.unsupported.iter().find(|(n, _)| n == name) {
                return Err(mistyped(&raw.path, name, dtype, expected));
            }
            return Err(ModelError::MissingColumn {
                path: raw.path.clone(),
                column: name.to_string(),
            });
        };
        if col.data.kind() != kind {
            return Err(mistyped(&raw.path, name, &col.dtype, expected));
        }
        columns.push(col.clone());
    }
    if keep_extra {
        let gold: HashSet<&str> = GOLD_SCHEMA.iter().map(|(n, _)| *n).collect();
        columns.extend(
            raw.table
                .columns()
                .iter()
                .filter(|c| !gold.contains(c.name.as_str()))
                .cloned(),
        );
    }
    Table::new(columns)
}

fn mistyped(path: &Path, column: &str, found: &str, expected: &'static str) -> ModelError {
    ModelError::ColumnType {
        path: path.to_path_buf(),
        column: column.to_string(),
        found: found.to_string(),
        expected,
    }
}

/// How many rows each silver rule removed, applied in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct SilverReport {
    pub input_rows: usize,
    /// Exact duplicates of an earlier row (all columns equal; the first copy stays).
    pub duplicates: usize,
    /// Rows with a null in any column, or NaN/±inf in a numeric column (Spark's `dropna` drops NaN too).
    pub null_or_nan: usize,
    /// Rows with an empty or all-whitespace string in any string column.
    pub blank_strings: usize,
    pub output_rows: usize,
}

/// The silver step: drop exact duplicates, then rows with nulls/NaN, then rows with blank strings.
pub fn silver(table: &Table) -> (Table, SilverReport) {
    let mut report = SilverReport {
        input_rows: table.n_rows(),
        ..SilverReport::default()
    };
    let mut seen = HashSet::new();
    let mut keep = Vec::with_capacity(table.n_rows());
    for row in 0..table.n_rows() {
        if !seen.insert(row_key(table, row)) {
            report.duplicates += 1;
        } else if has_null_or_nan(table, row) {
            report.null_or_nan += 1;
        } else if has_blank(table, row) {
            report.blank_strings += 1;
        } else {
            keep.push(row);
        }
    }
    report.output_rows = keep.len();
    (table.take(&keep), report)
}

#[derive(Hash, PartialEq, Eq)]
enum Cell<'a> {
    Str(Option<&'a str>),
    /// Bits of the value, with -0.0 folded into 0.0 and every NaN into one, so equal values hash equal.
    Num(Option<u64>),
}

fn row_key(table: &Table, row: usize) -> Vec<Cell<'_>> {
    table
        .columns()
        .iter()
        .map(|c| match &c.data {
            ColumnData::Str(v) => Cell::Str(v[row].as_deref()),
            ColumnData::Num(v) => Cell::Num(v[row].map(|x| {
                if x.is_nan() {
                    f64::NAN.to_bits()
                } else {
                    (x + 0.0).to_bits()
                }
            })),
        })
        .collect()
}

fn has_null_or_nan(table: &Table, row: usize) -> bool {
    table.columns().iter().any(|c| match &c.data {
        ColumnData::Str(v) => v[row].is_none(),
        ColumnData::Num(v) => v[row].is_none_or(|x| !x.is_finite()),
    })
}

fn has_blank(table: &Table, row: usize) -> bool {
    table.columns().iter().any(|c| match &c.data {
        ColumnData::Str(v) => v[row].as_deref().is_some_and(|s| s.trim().is_empty()),
        ColumnData::Num(_) => false,
    })
}

/// Gold data ready for modelling.
#[derive(Debug, Clone)]
pub struct GoldData {
    pub path: PathBuf,
    pub table: Table,
    pub silver: SilverReport,
}

/// Reads, validates and cleans gold data in one call.
pub fn load_gold(path: &Path, keep_extra: bool) -> Result<GoldData> {
    let raw = read_table(path)?;
    let gold = validate_gold(&raw, keep_extra)?;
    let (table, silver) = silver(&gold);
    if table.n_rows() == 0 {
        return Err(ModelError::NoRows(format!(
            "`{}` after the silver step",
            path.display()
        )));
    }
    Ok(GoldData {
        path: path.to_path_buf(),
        table,
        silver,
    })
}

/// The gold data's default place, relative to the repository root. The file is third-party (CC0,
/// Databricks' Learning Spark v2 repository) and is never committed to this repository, so it lives
/// in a `shared/` folder beside the checkout.
pub const GOLD_DATA_DEFAULT: &str = "../shared/data/sf-airbnb-clean.parquet";

/// Where the gold data is by default for a process working in `dir`: [`GOLD_DATA_DEFAULT`] under the
/// repository `dir` is in (its nearest ancestor holding `.git`), else under `dir` itself.
///
/// Resolved at run time from the working directory, never from the build machine's paths, so a
/// binary built elsewhere looks where its user is. The `mltrack` binary applies this (and
/// [`GOLD_DATA_ENV`] before it) once in its settings; this crate only ever takes the path as a
/// parameter.
pub fn default_gold_data_in(dir: &Path) -> PathBuf {
    let root = dir
        .ancestors()
        .find(|a| a.join(".git").exists())
        .unwrap_or(dir);
    root.join(GOLD_DATA_DEFAULT)
}

/// `$MLTRACK_GOLD_DATA`, else [`default_gold_data_in`] the current directory: the same rule as the
/// binary's, for tests, benches and examples (which cargo runs inside the repository).
pub fn gold_data_path() -> PathBuf {
    match std::env::var_os(GOLD_DATA_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => default_gold_data_in(&std::env::current_dir().unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Table {
        Table::new(vec![
            Column::strings("room", [Some("a"), Some("a"), Some(" "), None, Some("b")]),
            Column::numbers(
                "x",
                [Some(1.0), Some(1.0), Some(2.0), Some(3.0), Some(f64::NAN)],
            ),
        ])
        .expect("valid table")
    }

    #[test]
    fn silver_counts_each_rule_once_in_order() {
        let (clean, report) = silver(&small());
        assert_eq!(
            report,
            SilverReport {
                input_rows: 5,
                duplicates: 1,
                null_or_nan: 2,
                blank_strings: 1,
                output_rows: 1
            }
        );
        assert_eq!(clean.n_rows(), 1);
    }

    #[test]
    fn csv_categories_that_look_like_numbers_stay_text() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("listings.csv");
        std::fs::write(
            &path,
            "neighbourhood_cleansed,accommodates\n94110,2\n02134,3\n",
        )
        .expect("write");
        let raw = read_table(&path).expect("reads");
        assert_eq!(
            raw.table.column("neighbourhood_cleansed").map(|c| &c.data),
            Some(&ColumnData::Str(vec![
                Some("94110".into()),
                Some("02134".into())
            ]))
        );
        assert_eq!(
            raw.table.column("accommodates").map(|c| &c.data),
            Some(&ColumnData::Num(vec![Some(2.0), Some(3.0)]))
        );
    }

    #[test]
    fn reader_errors_keep_the_crate_s_wording() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = read_table(dir.path()).expect_err("an empty folder");
        assert!(matches!(err, ModelError::Read { .. }), "{err}");
        assert!(err.to_string().contains("no parquet part files"), "{err}");
        let header = dir.path().join("h.csv");
        std::fs::write(&header, "a,b\n").expect("write");
        assert!(matches!(
            read_table(&header),
            Err(ModelError::EmptyData { .. })
        ));
    }

    #[test]
    fn columns_of_unequal_length_are_rejected() {
        let err = Table::new(vec![
            Column::numbers("x", [Some(1.0)]),
            Column::numbers("y", [Some(1.0), Some(2.0)]),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("`y`"), "{err}");
    }

    #[test]
    fn the_default_gold_data_is_found_from_the_working_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = dir.path().join("checkout");
        let deep = repo.join("crate/src");
        std::fs::create_dir_all(&deep).expect("mkdir");
        assert_eq!(default_gold_data_in(&deep), deep.join(GOLD_DATA_DEFAULT));
        // A worktree's `.git` is a file; either marks the repository root.
        std::fs::write(repo.join(".git"), "gitdir: elsewhere\n").expect("write");
        assert_eq!(default_gold_data_in(&deep), repo.join(GOLD_DATA_DEFAULT));
        assert_eq!(default_gold_data_in(&repo), repo.join(GOLD_DATA_DEFAULT));
    }
}
