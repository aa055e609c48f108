//! Reading a table batch by batch, so that scoring a file of any size keeps memory flat.
//!
//! Polars 0.55 has no batched *readers* without its streaming engine (a large build we keep out), so:
//! - parquet is read a run of whole row groups at a time (`with_slice` on row-group boundaries, so
//!   no row group is decoded twice), part file after part file for a folder;
//! - CSV is cut into chunks of whole records by a quote-aware scanner (a quoted field may hold a
//!   newline), and each chunk is parsed by polars with the schema inferred from the first chunk.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Cursor};
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::{Problem, ReadError};
use crate::input::{self, Input, Part};

/// One part file and how far it has been read.
struct PartCursor {
    part: Part,
    next_group: usize,
    offset: usize,
}

enum Source {
    Parquet(VecDeque<PartCursor>),
    Csv(CsvChunks),
}

/// A table read batch by batch: iterating yields data frames of about `batch_rows` rows (a parquet
/// batch is whole row groups, so it is larger when one row group is).
pub struct TableReader {
    source: Source,
    batch_rows: usize,
    total_rows: Option<usize>,
    size_bytes: u64,
    schema: Option<Schema>,
}

impl TableReader {
    /// Opens a parquet file, a folder of parquet part files, or a `.csv` file (see the crate docs
    /// for what a folder may hold). A folder's part files are checked up front: all parquet, all
    /// with the same columns. CSV columns named in `string_columns` are read as text even when they
    /// look like numbers (a category such as a zip code must not become `94110.0`); parquet columns
    /// keep their stored types.
    ///
    /// # Errors
    /// [`ReadError`] naming the path (or the part file) and the problem.
    pub fn open(
        path: &Path,
        batch_rows: usize,
        string_columns: &[String],
    ) -> Result<Self, ReadError> {
        let batch_rows = batch_rows.max(1);
        match input::resolve(path)? {
            Input::Csv { bytes } => Ok(TableReader {
                source: Source::Csv(CsvChunks::open(path, batch_rows, string_columns)?),
                batch_rows,
                total_rows: None,
                size_bytes: bytes,
                schema: None,
            }),
            Input::Parquet(parts) => Ok(TableReader {
                batch_rows,
                total_rows: Some(parts.iter().flat_map(|p| &p.groups).sum()),
                size_bytes: parts.iter().map(|p| p.bytes).sum(),
                schema: parts.first().map(|p| p.schema.clone()),
                source: Source::Parquet(
                    parts
                        .into_iter()
                        .map(|part| PartCursor {
                            part,
                            next_group: 0,
                            offset: 0,
                        })
                        .collect(),
                ),
            }),
        }
    }

    /// Rows in the input, when the format says so up front (parquet).
    pub fn total_rows(&self) -> Option<usize> {
        self.total_rows
    }

    /// The columns and their types, when the format says so up front (parquet).
    pub fn schema(&self) -> Option<&Schema> {
        self.schema.as_ref()
    }

    /// Bytes of input (for progress on CSV).
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// Bytes consumed so far (CSV only; parquet progress is by rows).
    pub fn bytes_read(&self) -> u64 {
        match &self.source {
            Source::Csv(c) => c.bytes_read,
            Source::Parquet(_) => 0,
        }
    }

    /// The next batch, or `None` at the end.
    ///
    /// # Errors
    /// [`ReadError`] naming the file (and, for CSV, the line) that could not be decoded.
    pub fn next_batch(&mut self) -> Result<Option<DataFrame>, ReadError> {
        match &mut self.source {
            Source::Csv(chunks) => chunks.next_frame(),
            Source::Parquet(parts) => {
                while let Some(cursor) = parts.front_mut() {
                    let groups = &cursor.part.groups;
                    if cursor.next_group >= groups.len() {
                        parts.pop_front();
                        continue;
                    }
                    let mut rows = 0usize;
                    let mut end = cursor.next_group;
                    while end < groups.len()
                        && (rows == 0 || rows.saturating_add(groups[end]) <= self.batch_rows)
                    {
                        rows += groups[end];
                        end += 1;
                    }
                    let path = &cursor.part.path;
                    let file = File::open(path).map_err(|e| ReadError::io(path, &e))?;
                    let df = ParquetReader::new(file)
                        .with_slice(Some((cursor.offset, rows)))
                        .finish()
                        .map_err(|e| ReadError::decode(path, e))?;
                    cursor.next_group = end;
                    cursor.offset += rows;
                    if df.height() > 0 {
                        return Ok(Some(df));
                    }
                }
                Ok(None)
            }
        }
    }
}

/// CSV cut into chunks of whole records, each parsed with the first chunk's schema.
struct CsvChunks {
    path: PathBuf,
    reader: BufReader<File>,
    header: Vec<u8>,
    batch_rows: usize,
    schema: Option<SchemaRef>,
    string_columns: Vec<String>,
    bytes_read: u64,
    /// 1-based line number of the first record of the next chunk (for error messages).
    next_line: usize,
}

impl CsvChunks {
    fn open(path: &Path, batch_rows: usize, string_columns: &[String]) -> Result<Self, ReadError> {
        let file = File::open(path).map_err(|e| ReadError::io(path, &e))?;
        let mut chunks = CsvChunks {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(1 << 20, file),
            header: Vec::new(),
            batch_rows,
            schema: None,
            string_columns: string_columns.to_vec(),
            bytes_read: 0,
            next_line: 2,
        };
        let mut header = Vec::new();
        if chunks.read_record(&mut header)? == 0 || header.iter().all(u8::is_ascii_whitespace) {
            return Err(ReadError::new(path, Problem::Empty));
        }
        if !header.ends_with(b"\n") {
            header.push(b'\n');
        }
        chunks.header = header;
        Ok(chunks)
    }

    /// Appends one record (one line, or several when a quoted field holds newlines) to `buf`;
    /// returns the bytes read (0 at the end of the file).
    fn read_record(&mut self, buf: &mut Vec<u8>) -> Result<usize, ReadError> {
        let start = buf.len();
        let mut quotes_open = false;
        loop {
            let line_start = buf.len();
            let n = self
                .reader
                .read_until(b'\n', buf)
                .map_err(|e| ReadError::io(&self.path, &e))?;
            if n == 0 {
                break;
            }
            let quotes = buf[line_start..].iter().filter(|&&b| b == b'"').count();
            quotes_open ^= quotes % 2 == 1;
            if !quotes_open {
                break;
            }
        }
        let n = buf.len() - start;
        self.bytes_read += n as u64;
        Ok(n)
    }

    fn next_frame(&mut self) -> Result<Option<DataFrame>, ReadError> {
        let mut buf = self.header.clone();
        let mut records = 0;
        while records < self.batch_rows {
            let before = buf.len();
            if self.read_record(&mut buf)? == 0 {
                break;
            }
            if buf[before..].iter().all(u8::is_ascii_whitespace) {
                buf.truncate(before);
                continue;
            }
            records += 1;
        }
        if records == 0 {
            return Ok(None);
        }
        let first_line = self.next_line;
        self.next_line += records;
        let mut options = CsvReadOptions::default().with_has_header(true);
        options = match &self.schema {
            Some(schema) => options.with_schema(Some(schema.clone())),
            None => options
                .with_infer_schema_length(None)
                .with_schema_overwrite(Some(std::sync::Arc::new(
                    self.string_columns
                        .iter()
                        .map(|c| (c.as_str().into(), DataType::String))
                        .collect(),
                ))),
        };
        let df = options
            .into_reader_with_file_handle(Cursor::new(buf))
            .finish()
            .map_err(|e| {
                ReadError::decode(
                    &self.path,
                    format!("records from line {first_line} on: {e}"),
                )
            })?;
        if self.schema.is_none() {
            let schema = widen_integers(df.schema());
            let df = cast_to(df, &schema).map_err(|e| ReadError::decode(&self.path, e))?;
            self.schema = Some(schema);
            return Ok(Some(df));
        }
        Ok(Some(df))
    }
}

/// Integer columns inferred from the first chunk become floats, so a later `1.5` in a column whose
/// first chunk held only whole numbers parses instead of failing the whole file.
fn widen_integers(schema: &SchemaRef) -> SchemaRef {
    let widened: Schema = schema
        .iter()
        .map(|(name, dtype)| {
            let dtype = if dtype.is_integer() {
                DataType::Float64
            } else {
                dtype.clone()
            };
            (name.clone(), dtype)
        })
        .collect();
    std::sync::Arc::new(widened)
}

fn cast_to(df: DataFrame, schema: &SchemaRef) -> Result<DataFrame, String> {
    let columns = df
        .columns()
        .iter()
        .map(|c| match schema.get(c.name()) {
            Some(dtype) if dtype != c.dtype() => c
                .cast(dtype)
                .map_err(|e| format!("column `{}`: {e}", c.name())),
            _ => Ok(c.clone()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    DataFrame::new(df.height(), columns).map_err(|e| e.to_string())
}
