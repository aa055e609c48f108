//! The one error type of the crate. Every message names the column (and the side or file) it is about,
//! because a drift run usually covers dozens of columns and "empty column" alone would not say which.

use std::path::PathBuf;

/// Which of the two datasets a problem was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The reference (baseline) data or profile.
    Reference,
    /// The current (new) data.
    Current,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Reference => "reference",
            Side::Current => "current",
        })
    }
}

/// Everything that can go wrong in a drift run. None of these is a bug in the crate: each is a property of
/// the input or the options, so callers (the CLI) report them as user errors.
#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    /// A column exists in one dataset and not in the other.
    #[error("column `{column}` is missing from the {side} data")]
    MissingColumn { column: String, side: Side },
    /// A dataset has no rows at all.
    #[error("the {side} data has no rows")]
    EmptyDataset { side: Side },
    /// A dataset has no columns to compare.
    #[error("there are no columns to compare")]
    NoColumns,
    /// A column has no finite value left after NaN and ±inf are dropped (Evidently raises the same).
    #[error("column `{column}` has no finite values in the {side} data")]
    EmptyColumn { column: String, side: Side },
    /// A column declared (or profiled) numerical holds text.
    #[error("column `{column}` is numerical but holds text in the {side} data")]
    NotNumerical { column: String, side: Side },
    /// A column has a different type in the reference profile than the one requested now.
    #[error("column `{column}` is {expected} in the reference profile but was declared {found}")]
    TypeMismatch {
        column: String,
        expected: &'static str,
        found: &'static str,
    },
    /// The same column was declared both numerical and categorical.
    #[error("column `{column}` is declared both numerical and categorical")]
    ConflictingDeclaration { column: String },
    /// A test name Evidently does not have (or this crate does not implement).
    #[error("unknown stattest `{name}`; expected one of ks, chisquare, z, wasserstein, jensenshannon, psi, kl_div, hellinger")]
    UnknownStatTest { name: String },
    /// A test that Evidently does not allow on this column type (`chisquare` on a numerical column, say).
    #[error("stattest `{test}` cannot be used on {column_type} column `{column}`")]
    InvalidStatTest {
        test: &'static str,
        column: String,
        column_type: &'static str,
    },
    /// A per-column option names a column that is not compared.
    #[error("option for column `{column}` names a column that is not in the data")]
    UnknownColumn { column: String },
    /// A threshold or drift share outside its domain.
    #[error("invalid {what} `{value}`: {why}")]
    InvalidOption {
        what: &'static str,
        value: String,
        why: &'static str,
    },
    /// Two datasets were built with columns of different lengths.
    #[error("column `{column}` has {found} rows but the dataset has {expected}")]
    RaggedColumns {
        column: String,
        expected: usize,
        found: usize,
    },
    /// A file could not be read or parsed.
    #[error("cannot read `{}`: {message}", path.display())]
    Read { path: PathBuf, message: String },
    /// A data file, or folder of part files, that the shared table reader refused (its message
    /// names the path and the problem, worded as for every other `mltrack` command).
    #[error(transparent)]
    Table(#[from] table_reader::ReadError),
    /// A file could not be written.
    #[error("cannot write `{}`: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A profile file is not a profile, or of a version this build does not read.
    #[error("`{}` is not a drift profile this version reads: {message}", path.display())]
    BadProfile { path: PathBuf, message: String },
}
