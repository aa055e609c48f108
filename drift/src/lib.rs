//! Data and prediction drift with Evidently 0.7's numbers (issue 7).
//!
//! For every column the crate picks the test Evidently would pick, computes the same score (checked
//! against Evidently 0.7.23 and scipy to 1e-9 by the fixtures in `drift/fixtures/`), and decides dataset
//! drift the same way, only much faster: columns are scored in parallel, each in one sort or one counting
//! pass.
//!
//! * **Default test** (reference rows counted after NaN/±inf are dropped; distinct values counted over
//!   both sides): ≤ 1000 reference rows → `ks` for numerical columns with > 5 values, `chisquare` for
//!   3–5 values (and categorical with > 2), `z` for ≤ 2; > 1000 rows → `wasserstein` (normed) for numerical
//!   with > 5 values, `jensenshannon` otherwise. `psi`, `kl_div`, `hellinger` can be chosen.
//! * **Thresholds**: column > type > all > the test's default (0.05 for p-values, 0.1 for distances);
//!   each test keeps Evidently's comparison (see [`stats::Direction`]).
//! * **Dataset drift**: drifted columns / columns ≥ `drift_share` (0.5), the prediction column counted.
//! * **Integer columns** keep their dtype ([`Values::Integer`]) and numpy's integer binning, as Evidently
//!   on a pandas `int64` column: Sturges bins at least one unit wide (a 0/1 column has a Hellinger
//!   distance of 0), checked against Evidently by `drift/fixtures/integers.json`.
//! * **Multivariate drift** ([`multivariate`]): a domain classifier (bagged `linfa-trees` trees) on
//!   seeded samples of both sides; drift when its held-out ROC AUC is above 0.55. It sees what the
//!   columns alone cannot, such as a correlation that flips, and counts in [`DriftReport::alert`].
//!
//! ```
//! use drift::{detect, Dataset, Reference, Settings, Values};
//!
//! let reference = Dataset::new()
//!     .with("age", Values::Numeric((0..200).map(|i| f64::from(i % 50)).collect()))?
//!     .with("city", Values::text((0..200).map(|i| Some(if i % 3 == 0 { "Paris" } else { "Rome" }))))?;
//! let current = Dataset::new()
//!     .with("age", Values::Numeric((0..200).map(|i| f64::from(i % 50) + 10.0).collect()))?
//!     .with("city", Values::text((0..200).map(|i| Some(if i % 3 == 0 { "Paris" } else { "Rome" }))))?;
//!
//! let report = detect(Reference::Data(&reference), &current, &Settings::default())?;
//! assert_eq!(report.column("age").map(|c| c.stattest.name()), Some("ks"));
//! assert!(report.column("age").is_some_and(|c| c.drift_detected));
//! assert!(!report.column("city").is_some_and(|c| c.drift_detected));
//! println!("{}", report.to_json());
//! # Ok::<(), drift::DriftError>(())
//! ```
//!
//! The JSON layout is documented in [`report`]; the profile format in [`mod@profile`]. The CLI calls
//! [`run`] (files in, report out) and [`profile()`] (reference file in, profile out).

pub mod data;
mod detect;
pub mod error;
pub mod io;
pub mod multivariate;
pub mod options;
pub mod profile;
pub mod report;
pub mod stats;
pub mod summary;

pub use data::{ColumnType, Dataset, Values};
pub use detect::{detect, Reference};
pub use error::{DriftError, Side};
pub use multivariate::{FeatureImportance, Multivariate, MultivariateDrift};
pub use options::{Correction, Scoped, Settings};
pub use profile::Profile;
pub use report::{ColumnDrift, DatasetDrift, DriftReport, PredictionDrift};
pub use stats::StatTest;

use std::path::{Path, PathBuf};

/// A drift run over files, as `mltrack drift` describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftOptions {
    /// Reference data (a parquet file, a folder of parquet part files, a `.csv` file) or a profile
    /// (`.json`) saved by [`profile()`].
    pub reference: PathBuf,
    /// Current data (a parquet file, a folder of parquet part files, a `.csv` file).
    pub current: PathBuf,
    /// Types, tests, thresholds, drift share, correction.
    pub settings: Settings,
}

/// Loads both sides and compares them.
///
/// # Errors
/// Any [`DriftError`]: unreadable files, missing or empty columns, invalid options.
pub fn run(options: &DriftOptions) -> Result<DriftReport, DriftError> {
    let categorical = &options.settings.categorical;
    let reference = io::load_reference(&options.reference, categorical)?;
    let current = io::load(&options.current, categorical)?;
    detect(reference.as_reference(), &current, &options.settings)
}

/// Summarises a reference data file into a [`Profile`] (save it with [`Profile::save`]). Later runs with
/// the profile as reference give the same report as runs with the file.
///
/// # Errors
/// As [`run`] would fail on the reference alone.
pub fn profile(reference: &Path, settings: &Settings) -> Result<Profile, DriftError> {
    settings.validate()?;
    Profile::build(&io::load(reference, &settings.categorical)?, settings)
}
