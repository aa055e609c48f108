//! Reference profiles: the reference summarised once and reused for every new batch (what Evidently users
//! ask for in evidently#506 and #65).
//!
//! A profile holds, per column, exactly the [`Summary`] the tests read: sorted distinct values with counts
//! (numerical) or category counts (categorical). Runs against a profile are therefore bit-identical to runs
//! against the raw reference. Numbers are stored as base64 of little-endian `f64`/`u64`, so they survive
//! JSON exactly and take ~11 bytes per distinct value instead of ~20 as decimal text; counts are omitted
//! when every value occurs once.
//!
//! ```json
//! {"format": "mltrack-drift-profile", "version": 1, "rows": 1000,
//!  "columns": [{"name": "age", "column_type": "num", "kind": "int", "values": "AAAA…", "counts": "AQAA…"},
//!              {"name": "city", "column_type": "cat", "categories": ["Paris", "Rome"], "counts": [600, 400]}],
//!  "sample": [{"name": "age", "values": [31, 47, null, …]}, {"name": "city", "codes": [1, 0, -1, …]}]}
//! ```
//!
//! Both later additions are optional, so profiles saved before them still load: `kind` (`"int"` for an
//! integer column, whose bins follow numpy's integer rule; absent means float) and `sample`, up to
//! [`crate::options::Multivariate::max_rows`] reference rows drawn with a fixed seed for the multivariate
//! test (numbers with `null` for missing, categories as indexes into `categories` with -1 for missing).
//! Without a sample the multivariate test is skipped with a note in the report.

use std::path::Path;

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::data::{ColumnType, Dataset};
use crate::error::DriftError;
use crate::error::Side;
use crate::multivariate::sample::{RowSample, SampleColumn};
use crate::multivariate::REFERENCE_SEED;
use crate::options::Settings;
use crate::summary::{CatSummary, NumSummary, Summary};
use rayon::prelude::*;

/// The `format` tag of a profile file.
pub const PROFILE_FORMAT: &str = "mltrack-drift-profile";
/// The profile version this build writes and reads.
pub const PROFILE_VERSION: u32 = 1;

/// A summarised reference dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Rows in the reference the profile was made from.
    pub rows: usize,
    /// Column summaries in the reference's column order.
    pub(crate) columns: Vec<(String, Summary)>,
    /// Seeded reference rows for the multivariate test; `None` in profiles saved before it existed,
    /// or built with the test off.
    pub(crate) sample: Option<RowSample>,
}

impl Profile {
    /// Summarises `reference` with the column types of `settings` (declared, else inferred).
    ///
    /// # Errors
    /// As a drift run would fail on the reference: empty data, empty columns, text in numerical columns.
    pub fn build(reference: &Dataset, settings: &Settings) -> Result<Self, DriftError> {
        if reference.rows() == 0 {
            return Err(DriftError::EmptyDataset {
                side: crate::error::Side::Reference,
            });
        }
        let columns = summarise(reference, settings)?;
        let m = &settings.multivariate;
        let sample = (m.enabled && m.max_rows > 0).then(|| {
            let types: Vec<(&str, ColumnType)> = columns
                .iter()
                .map(|(n, s)| (n.as_str(), s.column_type()))
                .collect();
            RowSample::take(reference, &types, m.max_rows, REFERENCE_SEED)
        });
        Ok(Profile {
            rows: reference.rows(),
            columns,
            sample,
        })
    }

    /// Column names and types.
    pub fn columns(&self) -> impl Iterator<Item = (&str, ColumnType)> {
        self.columns
            .iter()
            .map(|(n, s)| (n.as_str(), s.column_type()))
    }

    /// The JSON text of the profile.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.to_file()).unwrap_or_default()
    }

    /// Writes the profile as JSON to `path`.
    ///
    /// # Errors
    /// [`DriftError::Write`] naming the file.
    pub fn save(&self, path: &Path) -> Result<(), DriftError> {
        std::fs::write(path, self.to_json()).map_err(|source| DriftError::Write {
            path: path.to_owned(),
            source,
        })
    }

    /// Parses a profile; `path` only names the file in errors.
    ///
    /// # Errors
    /// [`DriftError::BadProfile`] when the text is not a profile of this version or its data is inconsistent.
    pub fn from_json(text: &str, path: &Path) -> Result<Self, DriftError> {
        let bad = |message: String| DriftError::BadProfile {
            path: path.to_owned(),
            message,
        };
        let file: ProfileFile = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        if file.format != PROFILE_FORMAT {
            return Err(bad(format!(
                "format is `{}`, expected `{PROFILE_FORMAT}`",
                file.format
            )));
        }
        if file.version != PROFILE_VERSION {
            return Err(bad(format!(
                "version {} (this build reads {PROFILE_VERSION})",
                file.version
            )));
        }
        let mut columns = Vec::with_capacity(file.columns.len());
        for c in file.columns {
            let summary = c
                .data
                .into_summary()
                .ok_or_else(|| bad(format!("column `{}` is malformed", c.name)))?;
            if summary.is_empty() {
                return Err(bad(format!("column `{}` has no values", c.name)));
            }
            columns.push((c.name, summary));
        }
        let sample = file
            .sample
            .map(|s| decode_sample(s, &columns))
            .transpose()
            .map_err(bad)?;
        Ok(Profile {
            rows: file.rows,
            columns,
            sample,
        })
    }

    fn to_file(&self) -> ProfileFile {
        ProfileFile {
            format: PROFILE_FORMAT.to_owned(),
            version: PROFILE_VERSION,
            rows: self.rows,
            columns: self
                .columns
                .iter()
                .map(|(name, s)| ProfileColumn {
                    name: name.clone(),
                    data: ColumnData::from_summary(s),
                })
                .collect(),
            sample: self
                .sample
                .as_ref()
                .map(|s| encode_sample(s, &self.columns)),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct ProfileFile {
    format: String,
    version: u32,
    rows: usize,
    columns: Vec<ProfileColumn>,
    /// Added with the multivariate test; older files have none and still load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sample: Option<Vec<SampleFileColumn>>,
}

/// A sampled column: `values` (numbers, `null` for missing) for a numerical column, `codes` (indexes
/// into the column's `categories`, -1 for missing) for a categorical one, which keeps repeated category
/// names out of the file.
#[derive(Serialize, Deserialize)]
struct SampleFileColumn {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    values: Option<Vec<Option<f64>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    codes: Option<Vec<i64>>,
}

fn encode_sample(sample: &RowSample, columns: &[(String, Summary)]) -> Vec<SampleFileColumn> {
    sample
        .columns
        .iter()
        .map(|(name, column)| {
            let (values, codes) = match column {
                SampleColumn::Num(v) => (
                    Some(v.iter().map(|x| (!x.is_nan()).then_some(*x)).collect()),
                    None,
                ),
                SampleColumn::Cat(v) => {
                    let categories =
                        columns
                            .iter()
                            .find(|(n, _)| n == name)
                            .and_then(|(_, s)| match s {
                                Summary::Cat(c) => Some(&c.categories),
                                Summary::Num(_) => None,
                            });
                    let code = |x: &Option<String>| -> i64 {
                        match (x, categories) {
                            (Some(x), Some(cats)) => cats
                                .binary_search(x)
                                .ok()
                                .and_then(|i| i64::try_from(i).ok())
                                .unwrap_or(-1),
                            _ => -1,
                        }
                    };
                    (None, Some(v.iter().map(code).collect()))
                }
            };
            SampleFileColumn {
                name: name.clone(),
                values,
                codes,
            }
        })
        .collect()
}

fn decode_sample(
    file: Vec<SampleFileColumn>,
    columns: &[(String, Summary)],
) -> Result<RowSample, String> {
    let mut out = Vec::with_capacity(file.len());
    for c in file {
        let summary = columns
            .iter()
            .find(|(n, _)| *n == c.name)
            .map(|(_, s)| s)
            .ok_or_else(|| format!("the row sample has a column `{}` the profile lacks", c.name))?;
        let column = match (summary, c.values, c.codes) {
            (Summary::Num(_), Some(v), None) => {
                SampleColumn::Num(v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
            }
            (Summary::Cat(s), None, Some(codes)) => SampleColumn::Cat(
                codes
                    .into_iter()
                    .map(|code| match usize::try_from(code) {
                        Err(_) => Ok(None),
                        Ok(i) => s.categories.get(i).cloned().map(Some).ok_or(()),
                    })
                    .collect::<Result<_, ()>>()
                    .map_err(|()| {
                        format!("the row sample of `{}` has a code out of range", c.name)
                    })?,
            ),
            _ => return Err(format!("the row sample of `{}` is malformed", c.name)),
        };
        out.push((c.name, column));
    }
    let sample = RowSample { columns: out };
    if sample.columns.iter().any(|(_, c)| c.len() != sample.rows()) {
        return Err("the row sample's columns differ in length".into());
    }
    Ok(sample)
}

#[derive(Serialize, Deserialize)]
struct ProfileColumn {
    name: String,
    #[serde(flatten)]
    data: ColumnData,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "column_type")]
enum ColumnData {
    #[serde(rename = "num")]
    Num {
        /// `"int"` for an integer column; absent (float) in profiles written before integer columns
        /// were kept apart, which therefore still load, with the float binning they were made with.
        #[serde(default, skip_serializing_if = "NumKind::is_float")]
        kind: NumKind,
        values: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        counts: Option<String>,
    },
    #[serde(rename = "cat")]
    Cat {
        categories: Vec<String>,
        counts: Vec<u64>,
    },
}

/// The storage kind of a numerical column, which decides numpy's binning rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum NumKind {
    #[default]
    Float,
    Int,
}

impl NumKind {
    // serde's `skip_serializing_if` passes a reference.
    #[allow(clippy::trivially_copy_pass_by_ref)]
    fn is_float(&self) -> bool {
        *self == NumKind::Float
    }
}

fn encode_f64(values: &[f64]) -> String {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn encode_u64(values: &[u64]) -> String {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn decode_words(text: &str) -> Option<Vec<[u8; 8]>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?;
    if bytes.len() % 8 != 0 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(8)
            .map(|c| c.try_into().unwrap_or([0; 8]))
            .collect(),
    )
}

impl ColumnData {
    fn from_summary(s: &Summary) -> Self {
        match s {
            Summary::Num(n) => ColumnData::Num {
                kind: if n.is_integer() {
                    NumKind::Int
                } else {
                    NumKind::Float
                },
                values: encode_f64(&n.values),
                counts: (n.n != n.values.len() as u64).then(|| encode_u64(&n.counts)),
            },
            Summary::Cat(c) => ColumnData::Cat {
                categories: c.categories.clone(),
                counts: c.counts.clone(),
            },
        }
    }

    fn into_summary(self) -> Option<Summary> {
        match self {
            ColumnData::Num {
                kind,
                values,
                counts,
            } => {
                let values: Vec<f64> = decode_words(&values)?
                    .into_iter()
                    .map(f64::from_le_bytes)
                    .collect();
                let counts = match counts {
                    Some(c) => decode_words(&c)?
                        .into_iter()
                        .map(u64::from_le_bytes)
                        .collect(),
                    None => vec![1; values.len()],
                };
                NumSummary::from_parts(values, counts, kind == NumKind::Int).map(Summary::Num)
            }
            ColumnData::Cat { categories, counts } => {
                CatSummary::from_parts(categories, counts).map(Summary::Cat)
            }
        }
    }
}

/// One column to compare, with its type settled.
pub(crate) struct Planned<'a> {
    pub(crate) name: &'a str,
    pub(crate) ty: ColumnType,
    /// Present when the reference is a profile.
    pub(crate) reference: Option<&'a Summary>,
}

/// The columns of raw reference rows, typed as declared or else by their values.
pub(crate) fn plan_data<'a>(
    d: &'a Dataset,
    settings: &Settings,
) -> Result<Vec<Planned<'a>>, DriftError> {
    let mut plan = Vec::new();
    if d.rows() == 0 {
        return Err(DriftError::EmptyDataset {
            side: Side::Reference,
        });
    }
    for (name, values) in d.columns() {
        let inferred = match values {
            crate::data::Values::Numeric(_) | crate::data::Values::Integer(_) => {
                ColumnType::Numerical
            }
            crate::data::Values::Text { .. } => ColumnType::Categorical,
        };
        let ty = settings.declared(name)?.unwrap_or(inferred);
        plan.push(Planned {
            name,
            ty,
            reference: None,
        });
    }
    Ok(plan)
}

/// Summarises every column of `reference` for a [`Profile`], with the types `settings` gives.
pub(crate) fn summarise(
    reference: &Dataset,
    settings: &Settings,
) -> Result<Vec<(String, Summary)>, DriftError> {
    let plan = plan_data(reference, settings)?;
    plan.par_iter()
        .map(|p| {
            let values = reference
                .column(p.name)
                .ok_or_else(|| DriftError::MissingColumn {
                    column: p.name.to_owned(),
                    side: Side::Reference,
                })?;
            Ok((
                p.name.to_owned(),
                Summary::build(p.name, p.ty, values, Side::Reference)?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Values;

    fn dataset() -> Dataset {
        Dataset::new()
            .with("x", Values::Numeric(vec![1.5, -0.0, 1.5, f64::NAN, 3.25]))
            .and_then(|d| {
                d.with(
                    "c",
                    Values::text([Some("b"), Some("a"), None, Some("b"), Some("é")]),
                )
            })
            .unwrap_or_default()
    }

    #[test]
    fn a_profile_survives_json_unchanged() {
        let p = Profile::build(&dataset(), &Settings::default()).ok();
        let back = p
            .as_ref()
            .and_then(|p| Profile::from_json(&p.to_json(), Path::new("p.json")).ok());
        assert!(p.is_some());
        assert_eq!(p, back);
    }

    #[test]
    fn another_format_is_refused_with_the_file_name() {
        let err = Profile::from_json(
            r#"{"format":"x","version":1,"rows":0,"columns":[]}"#,
            Path::new("p.json"),
        );
        let msg = err.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("p.json") && msg.contains("format"), "{msg}");
    }

    #[test]
    fn a_profile_without_kind_or_sample_loads_as_floats_and_keeps_integers_when_told() {
        // What versions before integer columns and the multivariate test wrote.
        let old = format!(
            r#"{{"format":"{PROFILE_FORMAT}","version":1,"rows":2,"columns":[{{"name":"x","column_type":"num","values":"{}"}}]}}"#,
            encode_f64(&[0.0, 1.0])
        );
        let p = Profile::from_json(&old, Path::new("old.json")).unwrap_or_else(|e| panic!("{e}"));
        assert!(p.sample.is_none());
        assert!(matches!(&p.columns[0].1, Summary::Num(n) if !n.is_integer()));

        let ints = Dataset::new()
            .with("i", crate::data::Values::Integer(vec![0, 1, 1]))
            .unwrap_or_default();
        let text = Profile::build(&ints, &Settings::default())
            .map(|p| p.to_json())
            .unwrap_or_default();
        assert!(text.contains(r#""kind":"int""#), "{text}");
        let back = Profile::from_json(&text, Path::new("p.json")).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(&back.columns[0].1, Summary::Num(n) if n.is_integer()));
    }

    #[test]
    fn a_sample_code_out_of_range_is_malformed() {
        let text = Profile::build(&dataset(), &Settings::default())
            .map(|p| p.to_json())
            .unwrap_or_default()
            .replace(r#""codes":[1"#, r#""codes":[9"#);
        let err = Profile::from_json(&text, Path::new("p.json"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("p.json") && err.contains("out of range"),
            "{err}"
        );
    }

    #[test]
    fn unsorted_values_are_malformed() {
        let text = format!(
            r#"{{"format":"{PROFILE_FORMAT}","version":1,"rows":2,"columns":[{{"name":"x","column_type":"num","values":"{}"}}]}}"#,
            encode_f64(&[2.0, 1.0])
        );
        assert!(matches!(
            Profile::from_json(&text, Path::new("p")),
            Err(DriftError::BadProfile { .. })
        ));
    }
}
