//! The reader's one error: the path it is about and what was wrong with it, printed on one line.

use std::fmt;
use std::path::{Path, PathBuf};

/// Why an input could not be read. The CLI prints [`ReadError`] as is, so every variant says what a
/// user can act on rather than which decoder gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The file system refused: no such path, no permission, a read failed.
    Io(String),
    /// No rows (a zero-byte file, a CSV with only a header, parquet with no rows).
    Empty,
    /// A folder without a single `*.parquet` part file (empty, or only markers and hidden files).
    NoPartFiles,
    /// A folder entry that is neither a part file nor something writers leave beside them.
    Stray { name: String, folder: bool },
    /// Part files of one folder whose columns or column types differ.
    MixedSchemas(String),
    /// A file read as parquet that lacks parquet's `PAR1` markers.
    NotParquet,
    /// The file is parquet or CSV but could not be decoded.
    Decode(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Io(m) | Problem::Decode(m) => f.write_str(m),
            Problem::Empty => f.write_str("it has no rows"),
            Problem::NoPartFiles => {
                f.write_str("the folder holds no parquet part files (`*.parquet`)")
            }
            Problem::Stray { name, folder: true } => write!(
                f,
                "`{name}` is a sub-folder: only a flat folder of `*.parquet` part files is read \
                 (partitioned `key=value` folders are not)"
            ),
            Problem::Stray {
                name,
                folder: false,
            } => write!(
                f,
                "`{name}` is not a parquet part file: a data folder may hold only `*.parquet` \
                 files, `_*` markers, `*.crc` checksums and hidden files"
            ),
            Problem::MixedSchemas(m) => write!(f, "its part files disagree: {m}"),
            Problem::NotParquet => f.write_str(
                "not a parquet file (it lacks parquet's `PAR1` markers); CSV files need a `.csv` \
                 extension",
            ),
        }
    }
}

/// A table that could not be read: `cannot read `PATH`: PROBLEM`, or `` `PATH` is empty: it has no
/// rows`` (the wording `mltrack` has always used for empty inputs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    path: PathBuf,
    problem: Problem,
}

impl ReadError {
    /// An error about `path` (a file, a folder, or one part file of a folder).
    pub fn new(path: &Path, problem: Problem) -> Self {
        ReadError {
            path: path.to_path_buf(),
            problem,
        }
    }

    /// A decoding error; polars' multi-line messages are folded onto one line.
    pub(crate) fn decode(path: &Path, message: impl fmt::Display) -> Self {
        Self::new(path, Problem::Decode(one_line(message)))
    }

    /// A file-system error; "not found" is said in words.
    pub(crate) fn io(path: &Path, err: &std::io::Error) -> Self {
        let message = match err.kind() {
            std::io::ErrorKind::NotFound => "no such file or folder".to_string(),
            _ => one_line(err),
        };
        Self::new(path, Problem::Io(message))
    }

    /// The path the problem is about.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What was wrong.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.problem {
            Problem::Empty => write!(f, "`{}` is empty: it has no rows", self.path.display()),
            p => write!(f, "cannot read `{}`: {p}", self.path.display()),
        }
    }
}

impl std::error::Error for ReadError {}

fn one_line(message: impl fmt::Display) -> String {
    message
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
