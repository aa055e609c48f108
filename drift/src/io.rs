//! Reading data into the column model, and loading a reference that may be a profile.
//!
//! Files are read by the workspace's one table reader ([`table_reader`], shared with `mltrack train`
//! and `score`): a parquet file, a folder of parquet part files (Spark's or polars' layout), or a
//! `.csv` file, with its type rules; columns declared categorical are read from CSV as text, so a
//! zip code `02134` stays the category `02134`.
//!
//! Integer columns (parquet's, polars') stay integers ([`Values::Integer`]) when they have no null, because
//! numpy bins integer arrays differently; with a null they are floats, as pandas holds them. CSV
//! integers arrive as floats: the table reader widens them so that a late `1.5` parses.
//!
//! Column types follow the rule for undeclared columns: numbers (integers, floats) are numerical,
//! strings and booleans are categorical (booleans become the categories `"false"`/`"true"`). Declared types
//! are applied later by [`crate::detect`]; a string column declared numerical is reported there as "holds
//! text". Other types (dates, lists…) are refused with the file and column named, rather than compared as
//! if every timestamp were a category.

use std::path::Path;

use polars::prelude::*;

use crate::data::{Dataset, Values};
use crate::error::DriftError;
use crate::profile::Profile;

/// A reference: raw data, or a profile saved by [`crate::profile()`] and [`Profile::save`].
#[derive(Debug, Clone)]
pub enum LoadedReference {
    /// Rows read from parquet or CSV.
    Data(Dataset),
    /// A reference profile.
    Profile(Profile),
}

impl LoadedReference {
    /// Borrows it as the [`crate::Reference`] that [`crate::detect`] takes.
    pub fn as_reference(&self) -> crate::Reference<'_> {
        match self {
            LoadedReference::Data(d) => crate::Reference::Data(d),
            LoadedReference::Profile(p) => crate::Reference::Profile(p),
        }
    }
}

fn read_error(path: &Path, message: impl std::fmt::Display) -> DriftError {
    // polars messages can span lines; the CLI prints errors on one line.
    let message = message
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    DriftError::Read {
        path: path.to_owned(),
        message,
    }
}

/// Loads a reference: a `.json` file is read as a [`Profile`], anything else as data (see [`load`]).
///
/// # Errors
/// [`DriftError::Read`], [`DriftError::Table`] or [`DriftError::BadProfile`], naming the file.
pub fn load_reference(path: &Path, categorical: &[String]) -> Result<LoadedReference, DriftError> {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        let text = std::fs::read_to_string(path).map_err(|e| read_error(path, e))?;
        return Ok(LoadedReference::Profile(Profile::from_json(&text, path)?));
    }
    load(path, categorical).map(LoadedReference::Data)
}

/// Reads a parquet file, a folder of parquet part files or a `.csv` file; CSV columns named in
/// `categorical` are read as text.
///
/// # Errors
/// [`DriftError::Table`] naming the path and the problem (an empty folder, part files that
/// disagree, a file that is not parquet…); [`DriftError::Read`] for a column of a type drift does
/// not compare.
pub fn load(path: &Path, categorical: &[String]) -> Result<Dataset, DriftError> {
    let frame = table_reader::read_table(path, categorical)?;
    from_frame(&frame, path)
}

/// Converts a polars frame; `path` only names the source in errors.
///
/// # Errors
/// [`DriftError::Read`] for a column of a type drift does not compare.
pub fn from_frame(frame: &DataFrame, path: &Path) -> Result<Dataset, DriftError> {
    let mut out = Dataset::new();
    for column in frame.columns() {
        let name = column.name().to_string();
        let values = match column.dtype() {
            dt if dt.is_integer() => match integers(column) {
                Some(v) => Values::Integer(v),
                None => floats(column, path)?,
            },
            DataType::Float64 | DataType::Float32 => floats(column, path)?,
            DataType::String => {
                let ca = column.str().map_err(|e| read_error(path, e))?;
                Values::text(ca.iter())
            }
            DataType::Boolean => {
                let ca = column.bool().map_err(|e| read_error(path, e))?;
                Values::text(ca.iter().map(|v| v.map(|b| if b { "true" } else { "false" })))
            }
            other => {
                return Err(read_error(
                    path,
                    format!("column `{name}` has type {other}, which drift does not compare (numbers, text and booleans only)"),
                ))
            }
        };
        out.push(name, values)?;
    }
    Ok(out)
}

/// An integer column with no null, as `i64`. A column with a null is `None`: pandas (and so
/// Evidently) holds such a column as `float64` and bins it as floats; so does an unsigned column with
/// values past `i64::MAX`, which numpy would not compare as `int64` either.
fn integers(column: &Column) -> Option<Vec<i64>> {
    if column.null_count() > 0 {
        return None;
    }
    let cast = column.cast(&DataType::Int64).ok()?;
    if cast.null_count() > 0 {
        return None;
    }
    let ca = cast.i64().ok()?;
    Some(ca.into_no_null_iter().collect())
}

fn floats(column: &Column, path: &Path) -> Result<Values, DriftError> {
    let cast = column
        .cast(&DataType::Float64)
        .map_err(|e| read_error(path, e))?;
    let ca = cast.f64().map_err(|e| read_error(path, e))?;
    Ok(Values::Numeric(
        ca.iter().map(|v| v.unwrap_or(f64::NAN)).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
        p
    }

    #[test]
    fn csv_numbers_are_numerical_and_strings_categorical() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = write(
            dir.path(),
            "d.csv",
            "a,b,c\n1,x,true\n2.5,,false\n,y,true\n",
        );
        let d = load(&p, &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.rows(), 3);
        match d.column("a") {
            Some(Values::Numeric(v)) => {
                assert_eq!(&v[..2], &[1.0, 2.5]);
                assert!(v[2].is_nan());
            }
            other => panic!("a: {other:?}"),
        }
        assert!(
            matches!(d.column("b"), Some(Values::Text { dictionary, .. }) if dictionary.len() == 2)
        );
        assert!(matches!(d.column("c"), Some(Values::Text { .. })));
    }

    #[test]
    fn parquet_integers_are_numerical_and_strings_categorical() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = dir.path().join("d.parquet");
        let mut frame = df!("i" => [1i64, 2, 3], "s" => [Some("x"), None, Some("x")], "f" => [0.5f32, 1.5, 2.5])
            .unwrap_or_else(|e| panic!("{e}"));
        let file = std::fs::File::create(&p).unwrap_or_else(|e| panic!("{e}"));
        ParquetWriter::new(file)
            .finish(&mut frame)
            .unwrap_or_else(|e| panic!("{e}"));
        let d = load(&p, &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.column("i"), Some(&Values::Integer(vec![1, 2, 3])));
        assert_eq!(d.column("f"), Some(&Values::Numeric(vec![0.5, 1.5, 2.5])));
        assert_eq!(
            d.column("s"),
            Some(&Values::Text {
                codes: vec![0, crate::data::MISSING, 0],
                dictionary: vec!["x".into()]
            })
        );
    }

    #[test]
    fn an_integer_column_with_a_null_is_read_as_floats_as_pandas_reads_it() {
        let frame = df!("i" => [Some(1i32), None, Some(3)], "u" => [7u32, 8, 9])
            .unwrap_or_else(|e| panic!("{e}"));
        let d = from_frame(&frame, Path::new("mem")).unwrap_or_else(|e| panic!("{e}"));
        match d.column("i") {
            Some(Values::Numeric(v)) => assert!(v[0] == 1.0 && v[1].is_nan() && v[2] == 3.0),
            other => panic!("i: {other:?}"),
        }
        assert_eq!(d.column("u"), Some(&Values::Integer(vec![7, 8, 9])));
    }

    #[test]
    fn a_missing_file_is_named_in_the_error() {
        let err = load(Path::new("/nonexistent/ref.parquet"), &[])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("/nonexistent/ref.parquet") && !err.contains('\n'),
            "{err}"
        );
    }

    #[test]
    fn a_file_that_is_not_parquet_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = write(dir.path(), "d.xlsx", "a,b\n1,2\n");
        let err = load(&p, &[])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("d.xlsx") && err.contains("not a parquet file"),
            "{err}"
        );
    }

    #[test]
    fn declared_categorical_csv_columns_stay_text() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = write(dir.path(), "d.csv", "zip,n\n02134,1\n94110,2\n");
        let d = load(&p, &["zip".to_string()]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            d.column("zip"),
            Some(&Values::Text {
                codes: vec![0, 1],
                dictionary: vec!["02134".into(), "94110".into()]
            })
        );
        // The table reader widens CSV integers to floats (a `1.5` may come late in the file).
        assert_eq!(d.column("n"), Some(&Values::Numeric(vec![1.0, 2.0])));
    }

    #[test]
    fn a_folder_of_part_files_loads_as_the_same_rows_in_one_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let frame = df!("x" => [1.5f64, 2.0, f64::NAN, 4.0], "s" => [Some("a"), None, Some("b"), Some("a")])
            .unwrap_or_else(|e| panic!("{e}"));
        let save = |df: &DataFrame, p: &Path| {
            let mut df = df.clone();
            let file = std::fs::File::create(p).unwrap_or_else(|e| panic!("{e}"));
            ParquetWriter::new(file)
                .finish(&mut df)
                .unwrap_or_else(|e| panic!("{e}"));
        };
        let single = dir.path().join("one.parquet");
        save(&frame, &single);
        let folder = dir.path().join("parts.parquet");
        std::fs::create_dir(&folder).unwrap_or_else(|e| panic!("{e}"));
        save(
            &frame.slice(0, 3),
            &folder.join("part-00000.snappy.parquet"),
        );
        save(
            &frame.slice(3, 1),
            &folder.join("part-00001.snappy.parquet"),
        );
        write(&folder, "_SUCCESS", "");
        let (a, b) = (load(&single, &[]), load(&folder, &[]));
        let (a, b) = (
            a.unwrap_or_else(|e| panic!("{e}")),
            b.unwrap_or_else(|e| panic!("{e}")),
        );
        // NaN != NaN, so compare the numbers bit for bit.
        let bits = |d: &Dataset| match d.column("x") {
            Some(Values::Numeric(v)) => v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            other => panic!("x: {other:?}"),
        };
        assert_eq!(bits(&a), bits(&b));
        assert_eq!(a.column("s"), b.column("s"));
        assert_eq!(a.rows(), 4);
    }
}
