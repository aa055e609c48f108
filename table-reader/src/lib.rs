//! The one table reader of `mltrack`: `train`, `score`, `drift` and `drift profile` (and whatever
//! reads data next, such as `monitor`) open their inputs here, so every command accepts the same
//! inputs, types their columns by the same rules, and fails on the same bad inputs with the same
//! one-line error.
//!
//! Why a crate of its own: `model-core` (train, score) and `drift` both read tables, and neither may
//! depend on the other: `drift` is a general library that has no use for the price model's
//! random forest, and the model has no business knowing about drift. `client` (the binary) depends
//! on both, so the reader cannot live there either without `drift::run` and `model_core::train`
//! losing their file inputs. A polars-only crate below both is the one place without a cycle; it
//! uses the workspace's single polars feature set, so it adds no build time.
//!
//! # Inputs
//! - a `.csv` file (by its extension, any case);
//! - a parquet file (any other file; checked for parquet's `PAR1` markers, so a CSV or text file
//!   under another name is refused with a clear error instead of a decoder message);
//! - a folder of parquet part files, as Spark (`part-00000-….snappy.parquet`) and polars
//!   (`0.parquet`, `1.parquet`, …) write them, read in natural name order (`2` before `10`). Names
//!   that start with `_` or `.` (Spark's `_SUCCESS` and `_committed_*` markers, Hadoop's hidden
//!   `.crc` checksums, `.DS_Store`) and `*.crc` files are skipped. Anything else in the folder (a
//!   stray `notes.txt`, CSV parts, a `key=value` sub-folder) is an error rather than data silently
//!   left out, and so are part files whose columns or types differ.
//!
//! # Type rules
//! - parquet columns keep their stored types;
//! - CSV types are inferred from the data (the whole file by [`read_table`], the first batch by
//!   [`TableReader`]), then integer columns are widened to `f64`, so a `1.5` late in a column of
//!   whole numbers does not fail the file;
//! - CSV columns the caller names in `string_columns` (the model's categorical features, drift's
//!   `--categorical` columns) stay text whatever they look like: the zip code `02134` is `"02134"`,
//!   not `2134.0`, so it matches the same category read from parquet.
//!
//! How the frames map onto each consumer's own column model (booleans as 0/1 numbers for the price
//! model, as the categories `"false"`/`"true"` for drift) stays with the consumer.

mod error;
mod input;
mod reader;

pub use error::{Problem, ReadError};
pub use input::is_csv;
pub use reader::TableReader;

use std::path::Path;

use polars::prelude::DataFrame;

/// Reads a whole table (see the crate docs for inputs and type rules). A folder's part files are
/// concatenated in name order, so a folder gives exactly the rows, in the same order, of one file
/// holding the same parts one after the other.
///
/// # Errors
/// [`ReadError`] naming the path and the problem; [`Problem::Empty`] when there are no rows.
pub fn read_table(path: &Path, string_columns: &[String]) -> Result<DataFrame, ReadError> {
    let mut reader = TableReader::open(path, usize::MAX, string_columns)?;
    let mut table: Option<DataFrame> = None;
    while let Some(batch) = reader.next_batch()? {
        match &mut table {
            Some(t) => {
                t.vstack_mut_owned(batch)
                    .map_err(|e| ReadError::new(path, Problem::Decode(e.to_string())))?;
            }
            None => table = Some(batch),
        }
    }
    let mut table = table.ok_or_else(|| ReadError::new(path, Problem::Empty))?;
    table.rechunk_mut_par();
    Ok(table)
}

#[cfg(test)]
mod tests;
