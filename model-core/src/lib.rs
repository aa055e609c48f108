//! The Airbnb price model (issue 5): Spark ML's `StringIndexer → VectorAssembler →
//! RandomForestRegressor` pipeline, re-implemented with Spark's semantics, tuned by hyperopt-style TPE,
//! and saved as an MLflow model directory.
//!
//! The pieces, in the order data flows through them:
//!
//! | module | job |
//! |---|---|
//! | [`dataset`] | read parquet/CSV (the workspace's shared `table_reader`), check the 24-column gold schema, silver clean-up |
//! | [`indexer`] | string indexer: labels by descending frequency, `handle_invalid` skip/keep/error |
//! | [`assembler`] | indexed categoricals then every numeric column into one feature matrix |
//! | [`forest`] | random-forest regressor with Spark's binning, categorical splits and bootstrap; linfa traits |
//! | [`pipeline`] | the three stages as one fitted, serialisable value |
//! | [`metrics`], [`spark_split`] | RMSE / MAE / R²; Spark's `randomSplit`, row for row |
//! | [`tpe`], [`search`] | hyperopt's TPE and the parallel trial loop |
//! | [`train`] | what `mltrack train` runs: load → split → search → refit → test |
//! | [`package`] | the MLflow model directory (`MLmodel` + `pipeline.json` + Spark's `sparkml/`) |
//! | [`spark`] | Spark ML's `PipelineModel` format, written for Spark and read from it |
//! | [`table_io`], [`scoring`] | batched parquet/CSV reading (the shared reader) and writing; scoring a batch with skipped rows kept |
//!
//! ```
//! use model_core::dataset::{Column, Table};
//! use model_core::pipeline::{PipelineParams, PricePipeline};
//!
//! # fn main() -> Result<(), model_core::ModelError> {
//! let rooms = ["Entire home/apt", "Private room", "Shared room"];
//! let table = Table::new(vec![
//!     Column::strings("room_type", (0..90).map(|i| Some(rooms[i % 3]))),
//!     Column::numbers("accommodates", (0..90u32).map(|i| Some(f64::from(i % 6 + 1)))),
//!     Column::numbers("price", (0..90u32).map(|i| Some(50.0 + 40.0 * f64::from(i % 6) + 100.0 * f64::from(u8::from(i % 3 == 0))))),
//! ])?;
//! let model = PricePipeline::fit(&table, &PipelineParams::default())?;
//! let predictions = model.predict(&table)?;
//! assert_eq!(predictions.values.len(), 90);
//! # Ok(())
//! # }
//! ```

pub mod assembler;
pub mod dataset;
pub mod error;
pub mod forest;
pub mod indexer;
pub mod metrics;
pub mod package;
pub mod pipeline;
pub mod scoring;
pub mod search;
pub mod spark;
pub mod spark_split;
pub mod table_io;
pub mod tpe;
pub mod train;

pub use error::ModelError;
