//! Reading and writing tables in batches, so that scoring a file of any size keeps memory flat.
//!
//! Polars 0.55 has batched *writers* for parquet and CSV but, without its streaming engine (a large
//! build we keep out), no batched *readers*. So:
//! - parquet is read a run of whole row groups at a time (`with_slice` on row-group boundaries, so
//!   no row group is decoded twice), file after file for a Spark-style directory of part files;
//! - CSV is cut into chunks of whole records by a quote-aware scanner (a quoted field may hold a
//!   newline), and each chunk is parsed by polars with the schema inferred from the first chunk.
//!
//! Writers write to a hidden temporary file beside the destination and rename it into place only in
//! [`TableWriter::finish`]; dropped unfinished, they delete it, so a failed run leaves no partial file.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor};
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::{ModelError, Result};

/// The file formats, chosen by extension: `.csv` is CSV, anything else parquet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Parquet,
    Csv,
}

impl Format {
    /// The format of `path` by its extension.
    pub fn of(path: &Path) -> Self {
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        {
            Format::Csv
        } else {
            Format::Parquet
        }
    }
}

fn read_err(path: &Path, message: impl ToString) -> ModelError {
    ModelError::Read {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

fn write_err(path: &Path, message: impl ToString) -> ModelError {
    ModelError::Write {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// One parquet file: its row-group sizes and how far it has been read.
struct ParquetPart {
    path: PathBuf,
    groups: Vec<usize>,
    next_group: usize,
    offset: usize,
}

enum Source {
    Parquet(Vec<ParquetPart>),
    Csv(CsvChunks),
}

/// A table read batch by batch: iterating yields data frames of about `batch_rows` rows (a parquet
/// batch is whole row groups, so it is larger when one row group is).
pub struct TableReader {
    source: Source,
    batch_rows: usize,
    total_rows: Option<usize>,
    size_bytes: u64,
}

impl TableReader {
    /// Opens a parquet file, a directory of `*.parquet` part files, or a `.csv` file. CSV columns
    /// named in `string_columns` are read as text even when they look like numbers (a category
    /// such as a zip code must not become `94110.0`).
    pub fn open(path: &Path, batch_rows: usize, string_columns: &[String]) -> Result<Self> {
        let batch_rows = batch_rows.max(1);
        let meta = std::fs::metadata(path).map_err(|e| read_err(path, e))?;
        let files = if meta.is_dir() {
            crate::dataset::parquet_parts(path)?
        } else if meta.len() == 0 {
            return Err(ModelError::EmptyData {
                path: path.to_path_buf(),
            });
        } else if Format::of(path) == Format::Csv {
            return Ok(TableReader {
                source: Source::Csv(CsvChunks::open(path, batch_rows, string_columns)?),
                batch_rows,
                total_rows: None,
                size_bytes: meta.len(),
            });
        } else {
            vec![path.to_path_buf()]
        };
        let mut parts = Vec::with_capacity(files.len());
        let mut total = 0;
        let mut size_bytes = 0;
        for file in files {
            let handle = File::open(&file).map_err(|e| read_err(&file, e))?;
            size_bytes += handle.metadata().map_or(0, |m| m.len());
            let groups: Vec<usize> = ParquetReader::new(handle)
                .get_metadata()
                .map_err(|e| read_err(&file, e))?
                .row_groups
                .iter()
                .map(|g| g.num_rows())
                .collect();
            total += groups.iter().sum::<usize>();
            parts.push(ParquetPart {
                path: file,
                groups,
                next_group: 0,
                offset: 0,
            });
        }
        Ok(TableReader {
            source: Source::Parquet(parts),
            batch_rows,
            total_rows: Some(total),
            size_bytes,
        })
    }

    /// Rows in the input, when the format says so up front (parquet).
    pub fn total_rows(&self) -> Option<usize> {
        self.total_rows
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
    pub fn next_batch(&mut self) -> Result<Option<DataFrame>> {
        match &mut self.source {
            Source::Csv(chunks) => chunks.next_frame(),
            Source::Parquet(parts) => {
                while let Some(part) = parts.first_mut() {
                    if part.next_group >= part.groups.len() {
                        parts.remove(0);
                        continue;
                    }
                    let mut rows = 0;
                    let mut end = part.next_group;
                    while end < part.groups.len()
                        && (rows == 0 || rows + part.groups[end] <= self.batch_rows)
                    {
                        rows += part.groups[end];
                        end += 1;
                    }
                    let file = File::open(&part.path).map_err(|e| read_err(&part.path, e))?;
                    let df = ParquetReader::new(file)
                        .with_slice(Some((part.offset, rows)))
                        .finish()
                        .map_err(|e| read_err(&part.path, e))?;
                    part.next_group = end;
                    part.offset += rows;
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
    fn open(path: &Path, batch_rows: usize, string_columns: &[String]) -> Result<Self> {
        let file = File::open(path).map_err(|e| read_err(path, e))?;
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
            return Err(ModelError::EmptyData {
                path: path.to_path_buf(),
            });
        }
        if !header.ends_with(b"\n") {
            header.push(b'\n');
        }
        chunks.header = header;
        Ok(chunks)
    }

    /// Appends one record (one line, or several when a quoted field holds newlines) to `buf`;
    /// returns the bytes read (0 at the end of the file).
    fn read_record(&mut self, buf: &mut Vec<u8>) -> Result<usize> {
        let start = buf.len();
        let mut quotes_open = false;
        loop {
            let line_start = buf.len();
            let n = self
                .reader
                .read_until(b'\n', buf)
                .map_err(|e| read_err(&self.path, e))?;
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

    fn next_frame(&mut self) -> Result<Option<DataFrame>> {
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
                read_err(
                    &self.path,
                    format!("records from line {first_line} on: {e}"),
                )
            })?;
        if self.schema.is_none() {
            self.schema = Some(widen_integers(df.schema()));
            return Ok(Some(cast_to(df, self.schema.as_ref())?));
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

fn cast_to(df: DataFrame, schema: Option<&SchemaRef>) -> Result<DataFrame> {
    let Some(schema) = schema else { return Ok(df) };
    let columns = df
        .columns()
        .iter()
        .map(|c| match schema.get(c.name()) {
            Some(dtype) if dtype != c.dtype() => c
                .cast(dtype)
                .map_err(|e| ModelError::Table(format!("column `{}`: {e}", c.name()))),
            _ => Ok(c.clone()),
        })
        .collect::<Result<Vec<_>>>()?;
    DataFrame::new(df.height(), columns).map_err(|e| ModelError::Table(e.to_string()))
}

enum Sink {
    Parquet(Box<polars::io::parquet::write::BatchedWriter<File>>),
    Csv(polars::io::csv::write::BatchedWriter<File>),
}

/// A parquet or CSV file written batch by batch, visible under its name only once finished.
pub struct TableWriter {
    path: PathBuf,
    temp: PathBuf,
    sink: Option<Sink>,
    rows: usize,
}

impl TableWriter {
    /// Starts writing `path` (format by extension) with `schema`.
    pub fn create(path: &Path, schema: &Schema) -> Result<Self> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(write_err(path, "its directory does not exist"));
        }
        let name = path
            .file_name()
            .ok_or_else(|| write_err(path, "not a file name"))?
            .to_string_lossy();
        let temp = dir.join(format!(".{name}.partial-{}", std::process::id()));
        let file = File::create(&temp).map_err(|e| write_err(path, e))?;
        let sink = match Format::of(path) {
            // Snappy, Spark's default: output is written once per batch on the scoring path,
            // where zstd's compressor costs more CPU than the forest itself.
            Format::Parquet => ParquetWriter::new(file)
                .with_compression(ParquetCompression::Snappy)
                .batched(schema)
                .map(|w| Sink::Parquet(Box::new(w))),
            Format::Csv => CsvWriter::new(file).batched(schema).map(Sink::Csv),
        };
        let sink = match sink {
            Ok(s) => s,
            Err(e) => {
                let _ = std::fs::remove_file(&temp);
                return Err(write_err(path, e));
            }
        };
        Ok(TableWriter {
            path: path.to_path_buf(),
            temp,
            sink: Some(sink),
            rows: 0,
        })
    }

    /// Appends a batch (its columns must match the schema given to [`TableWriter::create`]).
    pub fn write(&mut self, df: &DataFrame) -> Result<()> {
        if df.height() == 0 {
            return Ok(());
        }
        // Polars' parquet writer needs every column split into the same chunks, which a filtered
        // frame with an added column need not be.
        let aligned;
        let df = if df.should_rechunk() {
            let mut d = df.clone();
            d.align_chunks();
            aligned = d;
            &aligned
        } else {
            df
        };
        let result = match self.sink.as_mut() {
            Some(Sink::Parquet(w)) => w.write_batch(df),
            Some(Sink::Csv(w)) => w.write_batch(df),
            None => return Err(write_err(&self.path, "already finished")),
        };
        result.map_err(|e| write_err(&self.path, e))?;
        self.rows += df.height();
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Completes the file, flushes it to disk, and renames it into place.
    pub fn finish(mut self) -> Result<PathBuf> {
        let done = match self.sink.take() {
            Some(Sink::Parquet(w)) => w.finish().map(|_| ()),
            Some(Sink::Csv(mut w)) => w.finish(),
            None => Ok(()),
        };
        done.map_err(|e| write_err(&self.path, e))?;
        File::open(&self.temp)
            .and_then(|f| f.sync_all())
            .and_then(|()| std::fs::rename(&self.temp, &self.path))
            .map_err(|e| write_err(&self.path, e))?;
        Ok(self.path.clone())
    }
}

impl Drop for TableWriter {
    fn drop(&mut self) {
        // After a successful `finish` the temporary name no longer exists; after anything else it
        // does, and must not be left behind.
        if self.temp.exists() {
            self.sink = None;
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

#[cfg(test)]
#[path = "table_io_tests.rs"]
mod tests;
