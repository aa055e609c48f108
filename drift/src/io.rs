//! Reading parquet and CSV files into the column model, and loading a reference that may be a profile.
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

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Loads a reference: a `.json` file is read as a [`Profile`], anything else as data.
///
/// # Errors
/// [`DriftError::Read`] or [`DriftError::BadProfile`], naming the file.
pub fn load_reference(path: &Path) -> Result<LoadedReference, DriftError> {
    if extension(path) == "json" {
        let text = std::fs::read_to_string(path).map_err(|e| read_error(path, e))?;
        return Ok(LoadedReference::Profile(Profile::from_json(&text, path)?));
    }
    load(path).map(LoadedReference::Data)
}

/// Reads a `.parquet` or `.csv` file.
///
/// # Errors
/// [`DriftError::Read`] naming the file (and the column, for an unsupported type).
pub fn load(path: &Path) -> Result<Dataset, DriftError> {
    let ext = extension(path);
    let file = std::fs::File::open(path).map_err(|e| read_error(path, e))?;
    let frame = match ext.as_str() {
        "parquet" | "pq" => ParquetReader::new(file).finish(),
        "csv" => CsvReader::new(file).finish(),
        _ => {
            return Err(read_error(
                path,
                format!("unknown extension `.{ext}`; expected .parquet or .csv"),
            ))
        }
    }
    .map_err(|e| read_error(path, e))?;
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
            DataType::Float64
            | DataType::Float32
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64 => {
                let cast = column.cast(&DataType::Float64).map_err(|e| read_error(path, e))?;
                let ca = cast.f64().map_err(|e| read_error(path, e))?;
                Values::Numeric(ca.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
            }
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
        let d = load(&p).unwrap_or_else(|e| panic!("{e}"));
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
        let d = load(&p).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.column("i"), Some(&Values::Numeric(vec![1.0, 2.0, 3.0])));
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
    fn a_missing_file_is_named_in_the_error() {
        let err = load(Path::new("/nonexistent/ref.parquet"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("/nonexistent/ref.parquet") && !err.contains('\n'),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_extension_is_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = write(dir.path(), "d.xlsx", "");
        let err = load(&p).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains(".xlsx"), "{err}");
    }
}
