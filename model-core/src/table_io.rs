//! Reading and writing tables in batches, so that scoring a file of any size keeps memory flat.
//!
//! Reading is the workspace's one reader, [`table_reader::TableReader`], re-exported here: every
//! command (`train`, `score`, `drift`) accepts the same inputs with the same type rules. Writing uses
//! polars' batched parquet and CSV writers.
//!
//! Writers write to a hidden temporary file beside the destination and rename it into place only in
//! [`TableWriter::finish`]; dropped unfinished, they delete it, so a failed run leaves no partial file.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::{ModelError, Result};

pub use table_reader::TableReader;

/// The file formats, chosen by extension: `.csv` is CSV, anything else parquet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Parquet,
    Csv,
}

impl Format {
    /// The format of `path` by its extension, as the reader decides it.
    pub fn of(path: &Path) -> Self {
        if table_reader::is_csv(path) {
            Format::Csv
        } else {
            Format::Parquet
        }
    }
}

fn write_err(path: &Path, message: impl ToString) -> ModelError {
    ModelError::Write {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
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
