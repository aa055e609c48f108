//! The in-memory column model the tests run on. It is deliberately polars-free: the statistics are plain
//! loops over `f64` slices and `u32` codes, which keeps them fast, easy to test, and usable from code that
//! already has its data in memory (the CLI converts parquet/CSV in [`crate::io`]).

use std::collections::HashMap;

use crate::error::DriftError;

/// Code that marks a missing categorical value.
pub const MISSING: u32 = u32::MAX;

/// The values of one column.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Numbers; NaN and ±inf are missing (Evidently drops both before testing).
    Numeric(Vec<f64>),
    /// Whole numbers of an integer column with no missing value (what pandas keeps as `int64`; a
    /// column with a null becomes `float64` there, so [`crate::io`] reads it as [`Values::Numeric`]).
    /// Kept apart from floats because numpy bins integer arrays differently: Sturges bins are at least
    /// one unit wide, so a 0/1 column gets a single bin and Hellinger is 0 in Evidently.
    Integer(Vec<i64>),
    /// Text interned into codes: `codes[i]` indexes `dictionary`, [`MISSING`] is a null.
    Text {
        codes: Vec<u32>,
        dictionary: Vec<String>,
    },
}

impl Values {
    /// Interns text values; `None` is a missing value. One hash lookup per row, so a categorical column of a
    /// million rows costs 4 MB of codes instead of a million `String`s.
    pub fn text<'a, I>(values: I) -> Self
    where
        I: IntoIterator<Item = Option<&'a str>>,
    {
        let mut index: HashMap<&'a str, u32> = HashMap::new();
        let mut dictionary = Vec::new();
        let codes = values
            .into_iter()
            .map(|value| match value {
                None => MISSING,
                Some(s) => *index.entry(s).or_insert_with(|| {
                    dictionary.push(s.to_owned());
                    u32::try_from(dictionary.len() - 1).unwrap_or(MISSING - 1)
                }),
            })
            .collect();
        Values::Text { codes, dictionary }
    }

    /// Number of rows, missing ones included.
    pub fn len(&self) -> usize {
        match self {
            Values::Numeric(v) => v.len(),
            Values::Integer(v) => v.len(),
            Values::Text { codes, .. } => codes.len(),
        }
    }

    /// True when the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The statistical type of a column. Decides the default test and whether values are binned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ColumnType {
    /// `"num"` in the report.
    #[serde(rename = "num")]
    Numerical,
    /// `"cat"` in the report.
    #[serde(rename = "cat")]
    Categorical,
}

impl ColumnType {
    /// Evidently's short name, used in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Numerical => "num",
            ColumnType::Categorical => "cat",
        }
    }

    /// The word used in error messages.
    pub fn word(self) -> &'static str {
        match self {
            ColumnType::Numerical => "numerical",
            ColumnType::Categorical => "categorical",
        }
    }
}

/// A table: named columns of equal length, in a fixed order (the report keeps it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dataset {
    rows: usize,
    columns: Vec<(String, Values)>,
}

impl Dataset {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a column; every column must have the same number of rows as the first.
    ///
    /// # Errors
    /// [`DriftError::RaggedColumns`] when the length differs from the columns added before.
    pub fn push(&mut self, name: impl Into<String>, values: Values) -> Result<(), DriftError> {
        let name = name.into();
        if self.columns.is_empty() {
            self.rows = values.len();
        } else if values.len() != self.rows {
            return Err(DriftError::RaggedColumns {
                column: name,
                expected: self.rows,
                found: values.len(),
            });
        }
        self.columns.push((name, values));
        Ok(())
    }

    /// Builder form of [`Dataset::push`].
    ///
    /// # Errors
    /// As [`Dataset::push`].
    pub fn with(mut self, name: impl Into<String>, values: Values) -> Result<Self, DriftError> {
        self.push(name, values)?;
        Ok(self)
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns in insertion order.
    pub fn columns(&self) -> &[(String, Values)] {
        &self.columns
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Values> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}
