//! The one error type of the crate.
//!
//! Every message is a single line that names what is wrong: the file, the column, the row or the
//! parameter. The CLI prints it as is, and a TPE trial whose sampled parameters are invalid records it
//! as a failed trial instead of panicking.

use std::path::PathBuf;

/// Everything that can go wrong while reading data, fitting, predicting, searching or packaging.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A data or model file could not be opened or parsed.
    #[error("cannot read `{}`: {message}", .path.display())]
    Read { path: PathBuf, message: String },
    /// A file or directory could not be written.
    #[error("cannot write `{}`: {message}", .path.display())]
    Write { path: PathBuf, message: String },
    /// The input has no rows (or no bytes).
    #[error("`{}` is empty: it has no rows", .path.display())]
    EmptyData { path: PathBuf },
    /// A column the gold schema requires is absent.
    #[error("`{}` has no column `{column}`", .path.display())]
    MissingColumn { path: PathBuf, column: String },
    /// A column has the wrong type for the gold schema.
    #[error("column `{column}` in `{}` has type {found}, expected {expected}", .path.display())]
    ColumnType {
        path: PathBuf,
        column: String,
        found: String,
        expected: &'static str,
    },
    /// Two columns of a table have different lengths, or a name repeats.
    #[error("malformed table: {0}")]
    Table(String),
    /// A hyper-parameter is out of its range.
    #[error("invalid parameter `{name}` = {value}: {reason}")]
    InvalidParam {
        name: &'static str,
        value: String,
        reason: String,
    },
    /// Spark's check that every categorical feature fits into `maxBins` bins.
    #[error(
        "maxBins (= {max_bins}) must be at least the number of values of every categorical feature, \
         but feature {feature} `{name}` has {arity} values"
    )]
    MaxBinsTooSmall {
        max_bins: usize,
        feature: usize,
        name: String,
        arity: usize,
    },
    /// A category not seen at fit time, under `handle_invalid = error`.
    #[error("column `{column}` row {row}: unseen category `{value}` (handle_invalid = error)")]
    UnseenCategory {
        column: String,
        row: usize,
        value: String,
    },
    /// A null category, under `handle_invalid = error`.
    #[error("column `{column}` row {row}: null category (handle_invalid = error)")]
    NullCategory { column: String, row: usize },
    /// A numeric value that is null, NaN or infinite where a number is required.
    #[error("column `{column}` row {row}: value is null, NaN or infinite")]
    InvalidNumber { column: String, row: usize },
    /// A categorical feature value outside `0..arity` handed to the forest directly.
    #[error(
        "feature {feature} row {row}: categorical value {value} is not an index below {arity}"
    )]
    BadCategory {
        feature: usize,
        row: usize,
        value: f64,
        arity: usize,
    },
    /// Nothing left to fit or score.
    #[error("{0}: no rows left")]
    NoRows(String),
    /// Shapes of features, targets or models disagree.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A model directory is malformed or of an unknown version.
    #[error("model package `{}`: {message}", .path.display())]
    Package { path: PathBuf, message: String },
    /// A hyper-parameter search that produced no usable trial.
    #[error("search: {0}")]
    Search(String),
    /// An error raised by linfa's dataset machinery.
    #[error("linfa: {0}")]
    Linfa(String),
}

/// The shared reader's errors keep their wording: an empty input is [`ModelError::EmptyData`], any
/// other problem [`ModelError::Read`] about the same path.
impl From<table_reader::ReadError> for ModelError {
    fn from(err: table_reader::ReadError) -> Self {
        let path = err.path().to_path_buf();
        match err.problem() {
            table_reader::Problem::Empty => ModelError::EmptyData { path },
            problem => ModelError::Read {
                path,
                message: problem.to_string(),
            },
        }
    }
}

impl From<linfa::Error> for ModelError {
    fn from(err: linfa::Error) -> Self {
        ModelError::Linfa(err.to_string())
    }
}

/// Shorthand used across the crate.
pub type Result<T, E = ModelError> = std::result::Result<T, E>;

pub(crate) fn invalid_param(name: &'static str, value: impl ToString, reason: &str) -> ModelError {
    ModelError::InvalidParam {
        name,
        value: value.to_string(),
        reason: reason.to_string(),
    }
}
