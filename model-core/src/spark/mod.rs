//! Spark ML's own persistence format for the price pipeline: a `PipelineModel` directory that
//! `pyspark.ml.PipelineModel.load` reads ([`write`]), and the reverse ([`read`]): a Spark-saved
//! `StringIndexer → VectorAssembler → {RandomForest, GBT, DecisionTree}RegressionModel` pipeline
//! turned into a [`PricePipeline`](crate::pipeline::PricePipeline).
//!
//! Written by hand because no crate reads or writes Spark ML's model layout: it is Spark's
//! `DefaultParamsWriter` metadata (one JSON line per stage) plus per-stage parquet files whose
//! schemas are Scala case classes (`treeModels.scala` `NodeData`, `StringIndexer.scala` `Data`).
//! The parquet itself goes through polars. The layout, schemas and parameter names below were read
//! from Spark's `ml/util/ReadWrite.scala`, `Pipeline.scala`, `tree/treeModels.scala` and what pyspark
//! 4.0.1 writes (`../shared/docs/spark-ml-format.md` in the project's notes).
//!
//! ```text
//! sparkml/
//!   metadata/part-00000                      {"class":"org.apache.spark.ml.PipelineModel", stageUids…}
//!   stages/0_StringIndexer_<12 hex>/         metadata/, data/ (labelsArray)
//!   stages/1_VectorAssembler_<12 hex>/       metadata/
//!   stages/2_RandomForestRegressor_<12 hex>/ metadata/, data/ (treeID, nodeData), treesMetadata/
//!   stages/3_SQLTransformer_<12 hex>/        metadata/  (only for log-label models: exp(prediction))
//! ```

mod files;
pub mod read;
mod trees;
pub mod write;

/// The Spark version written into every metadata file: the version whose output the writer was
/// checked against. Spark 3.x and 4.x read it alike (only `< 3` switches readers to old layouts).
pub const SPARK_VERSION: &str = "4.0.1";
/// Directory of the Spark model inside an MLflow model directory (`mlflow.spark`'s `model_data`).
pub const MODEL_DATA: &str = "sparkml";

pub(crate) const PIPELINE_CLASS: &str = "org.apache.spark.ml.PipelineModel";
pub(crate) const INDEXER_CLASS: &str = "org.apache.spark.ml.feature.StringIndexerModel";
pub(crate) const ASSEMBLER_CLASS: &str = "org.apache.spark.ml.feature.VectorAssembler";
pub(crate) const SQL_CLASS: &str = "org.apache.spark.ml.feature.SQLTransformer";
pub(crate) const GBT_CLASS: &str = "org.apache.spark.ml.regression.GBTRegressionModel";
pub(crate) const RF_CLASS: &str = "org.apache.spark.ml.regression.RandomForestRegressionModel";
pub(crate) const TREE_CLASS: &str = "org.apache.spark.ml.regression.DecisionTreeRegressionModel";

#[cfg(test)]
mod tests;
