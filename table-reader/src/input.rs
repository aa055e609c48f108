//! What a path is: a CSV file, a parquet file, or a folder of parquet part files, checked before a
//! single row is decoded, so a bad input fails at once with its path and not halfway through a job.

use std::cmp::Ordering;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::{Problem, ReadError};

/// `.csv` (any case) is CSV; every other file is read as parquet.
pub fn is_csv(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// One parquet file, as its footer describes it.
pub(crate) struct Part {
    pub path: PathBuf,
    /// Rows of each row group, in file order.
    pub groups: Vec<usize>,
    pub schema: Schema,
    pub bytes: u64,
}

/// A resolved input.
pub(crate) enum Input {
    Csv { bytes: u64 },
    Parquet(Vec<Part>),
}

/// Checks `path` and, for parquet, reads every part's footer: the part files are there, they are
/// parquet, and they all have the same columns of the same types.
pub(crate) fn resolve(path: &Path) -> Result<Input, ReadError> {
    let meta = std::fs::metadata(path).map_err(|e| ReadError::io(path, &e))?;
    if meta.is_dir() {
        let parts = part_files(path)?
            .iter()
            .map(|p| open_part(p))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(difference) = schema_difference(&parts) {
            return Err(ReadError::new(path, Problem::MixedSchemas(difference)));
        }
        return Ok(Input::Parquet(parts));
    }
    if meta.len() == 0 {
        return Err(ReadError::new(path, Problem::Empty));
    }
    if is_csv(path) {
        return Ok(Input::Csv { bytes: meta.len() });
    }
    Ok(Input::Parquet(vec![open_part(path)?]))
}

/// Entries of a data folder that writers leave beside the part files: Spark's `_SUCCESS` and
/// `_committed_*`/`_started_*` markers, `_common_metadata`, hidden files (Hadoop's `.part-….crc`,
/// `.DS_Store`) and checksum files.
fn ignored(name: &str) -> bool {
    name.starts_with(['_', '.']) || name.to_ascii_lowercase().ends_with(".crc")
}

/// The part files of a folder in natural name order, so that polars' `0.parquet … 10.parquet`
/// are read in the order they were written (Spark's zero-padded names sort the same either way).
fn part_files(dir: &Path) -> Result<Vec<PathBuf>, ReadError> {
    let mut parts = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| ReadError::io(dir, &e))? {
        let entry = entry.map_err(|e| ReadError::io(dir, &e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if ignored(&name) {
            continue;
        }
        // `metadata` follows symlinks: a linked part file counts as a file.
        let path = entry.path();
        let meta = std::fs::metadata(&path).map_err(|e| ReadError::io(&path, &e))?;
        let stray = |folder| {
            ReadError::new(
                dir,
                Problem::Stray {
                    name: name.clone(),
                    folder,
                },
            )
        };
        if meta.is_dir() {
            return Err(stray(true));
        }
        if !name.to_ascii_lowercase().ends_with(".parquet") {
            return Err(stray(false));
        }
        parts.push(path);
    }
    if parts.is_empty() {
        return Err(ReadError::new(dir, Problem::NoPartFiles));
    }
    parts.sort_by(|a, b| natural_cmp(&file_name(a), &file_name(b)));
    Ok(parts)
}

pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

/// Compares names with runs of digits compared as numbers (`2` < `10`), then plainly as a tie-break.
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a, b);
    loop {
        let (Some(cx), Some(cy)) = (x.chars().next(), y.chars().next()) else {
            return x.len().cmp(&y.len()).then_with(|| a.cmp(b));
        };
        if cx.is_ascii_digit() && cy.is_ascii_digit() {
            let (dx, rx) = split_digits(x);
            let (dy, ry) = split_digits(y);
            let (nx, ny) = (dx.trim_start_matches('0'), dy.trim_start_matches('0'));
            let order = nx.len().cmp(&ny.len()).then_with(|| nx.cmp(ny));
            if order != Ordering::Equal {
                return order;
            }
            (x, y) = (rx, ry);
        } else {
            if cx != cy {
                return cx.cmp(&cy);
            }
            (x, y) = (&x[cx.len_utf8()..], &y[cy.len_utf8()..]);
        }
    }
}

fn split_digits(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s.split_at(end)
}

/// Checks parquet's `PAR1` at both ends, then reads the footer.
fn open_part(path: &Path) -> Result<Part, ReadError> {
    let mut file = File::open(path).map_err(|e| ReadError::io(path, &e))?;
    let bytes = file.metadata().map_err(|e| ReadError::io(path, &e))?.len();
    if !has_parquet_markers(&mut file, bytes).map_err(|e| ReadError::io(path, &e))? {
        return Err(ReadError::new(path, Problem::NotParquet));
    }
    file.seek(SeekFrom::Start(0))
        .map_err(|e| ReadError::io(path, &e))?;
    let mut reader = ParquetReader::new(file);
    let arrow = reader.schema().map_err(|e| ReadError::decode(path, e))?;
    // The method path would name polars-parquet, which is not a dependency of ours.
    #[allow(clippy::redundant_closure_for_method_calls)]
    let groups = reader
        .get_metadata()
        .map_err(|e| ReadError::decode(path, e))?
        .row_groups
        .iter()
        .map(|g| g.num_rows())
        .collect();
    Ok(Part {
        path: path.to_path_buf(),
        groups,
        schema: Schema::from_arrow_schema(&arrow),
        bytes,
    })
}

fn has_parquet_markers(file: &mut File, bytes: u64) -> std::io::Result<bool> {
    // Magic, footer length and magic: the smallest parquet file is longer than that.
    if bytes < 12 {
        return Ok(false);
    }
    let (mut head, mut tail) = ([0u8; 4], [0u8; 4]);
    file.read_exact(&mut head)?;
    file.seek(SeekFrom::End(-4))?;
    file.read_exact(&mut tail)?;
    Ok(&head == b"PAR1" && &tail == b"PAR1")
}

/// How the first part file that differs from the first one differs from it, if any does.
fn schema_difference(parts: &[Part]) -> Option<String> {
    let (first, rest) = parts.split_first()?;
    let f = file_name(&first.path);
    for part in rest {
        let o = file_name(&part.path);
        for (name, dtype) in first.schema.iter() {
            match part.schema.get(name) {
                None => return Some(format!("`{o}` has no column `{name}`, which `{f}` has")),
                Some(t) if t != dtype => {
                    return Some(format!(
                        "column `{name}` is {t} in `{o}` but {dtype} in `{f}`"
                    ))
                }
                Some(_) => {}
            }
        }
        if let Some(extra) = part.schema.iter_names().find(|n| !first.schema.contains(n)) {
            return Some(format!("`{o}` has a column `{extra}` that `{f}` has not"));
        }
        if !part.schema.iter_names().eq(first.schema.iter_names()) {
            return Some(format!("`{o}` has its columns in another order than `{f}`"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_with_numbers_as_numbers() {
        let mut names = vec![
            "10.parquet",
            "2.parquet",
            "0.parquet",
            "part-00001-a.snappy.parquet",
            "part-00000-b.snappy.parquet",
            "00000002.parquet",
        ];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            vec![
                "0.parquet",
                "00000002.parquet",
                "2.parquet",
                "10.parquet",
                "part-00000-b.snappy.parquet",
                "part-00001-a.snappy.parquet",
            ]
        );
    }

    #[test]
    fn writer_leftovers_are_ignored_and_nothing_else_is() {
        for name in [
            "_SUCCESS",
            "._SUCCESS.crc",
            ".part-00000-x.snappy.parquet.crc",
            "_committed_123",
            ".DS_Store",
            "part-0.parquet.CRC",
        ] {
            assert!(ignored(name), "{name}");
        }
        for name in ["part-0.parquet", "notes.txt", "part-0.csv"] {
            assert!(!ignored(name), "{name}");
        }
    }
}
