//! Reads a Spark ML `PipelineModel` directory (string indexers, a vector assembler and a random
//! forest, GBT or decision-tree regression model) into a [`PricePipeline`] that scores as Spark does.
//!
//! The trees are taken node for node from Spark's `NodeData` rows, so prediction walks the same
//! thresholds and category sets in double precision. Spark's assembler may interleave indexed and
//! raw columns; mltrack's puts the indexed ones first, so split features are renumbered to match.
//! Spark gives the indexer and the assembler separate `handleInvalid`s; mltrack has one, taken from
//! the indexer (the one the seed sets), else from the assembler.
//!
//! Everything is checked before a pipeline is returned: a missing stage or part file, an unknown
//! stage class, a model written by Spark < 3 or > 4, and trees that do not fit together are errors
//! naming the file, so `score` stops before it writes anything.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use polars::prelude::*;
use serde_json::Value;

use super::files::{bad, read_metadata, read_parquet, Metadata};
use super::trees::{node_rows, read_ensemble, Ensemble};
use super::{
    write::LOG_PREDICTION_COL, ASSEMBLER_CLASS, GBT_CLASS, INDEXER_CLASS, PIPELINE_CLASS, RF_CLASS,
    SQL_CLASS, TREE_CLASS,
};
use crate::assembler::VectorAssembler;
use crate::error::{ModelError, Result};
use crate::forest::{RandomForestModel, RandomForestParams, Split, Tree};
use crate::indexer::{HandleInvalid, StringIndexerModel};
use crate::pipeline::PricePipeline;

/// Whether `dir` looks like a Spark ML model directory (has `metadata/` and no `MLmodel`).
pub fn is_spark_model(dir: &Path) -> bool {
    dir.join("metadata").is_dir() && !dir.join("MLmodel").exists()
}

/// Reads the Spark `PipelineModel` in `dir`.
pub fn load(dir: &Path) -> Result<PricePipeline> {
    let top = read_metadata(dir)?;
    if top.class != PIPELINE_CLASS {
        return Err(bad(
            &top.path,
            format!("is a `{}`, not a Spark PipelineModel", top.class),
        ));
    }
    let uids = top
        .strings("stageUids")?
        .ok_or_else(|| bad(&top.path, "has no `stageUids`"))?;
    let digits = uids.len().to_string().len();
    let mut indexers: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut indexer_policy = None;
    let mut assembler: Option<(Vec<String>, Option<HandleInvalid>)> = None;
    let mut model: Option<(Ensemble, String)> = None;
    let mut log_label = false;
    for (i, uid) in uids.iter().enumerate() {
        let stage = dir.join("stages").join(format!("{i:0digits$}_{uid}"));
        if !stage.is_dir() {
            return Err(bad(
                &stage,
                format!("is missing: stage {i} (`{uid}`) of the pipeline (incomplete Spark model directory)"),
            ));
        }
        let meta = read_metadata(&stage)?;
        match meta.class.as_str() {
            INDEXER_CLASS => {
                let (inputs, outputs) = match (meta.strings("inputCols")?, meta.strings("outputCols")?) {
                    (Some(i), Some(o)) => (i, o),
                    _ => (
                        vec![meta.string("inputCol").unwrap_or("").to_string()],
                        vec![meta.string("outputCol").unwrap_or("").to_string()],
                    ),
                };
                let labels = read_labels(&stage.join("data"))?;
                if labels.len() != inputs.len() || outputs.len() != inputs.len() {
                    return Err(bad(&meta.path, "input columns, output columns and label lists differ in number"));
                }
                indexer_policy = Some(policy(&meta)?);
                for ((input, output), labels) in inputs.into_iter().zip(outputs).zip(labels) {
                    indexers.push((input, output, labels));
                }
            }
            ASSEMBLER_CLASS => {
                let inputs = meta
                    .strings("inputCols")?
                    .ok_or_else(|| bad(&meta.path, "has no `inputCols`"))?;
                assembler = Some((inputs, Some(policy(&meta)?)));
            }
            RF_CLASS | GBT_CLASS => {
                let label = meta.string("labelCol").unwrap_or("label").to_string();
                model = Some((read_ensemble(&stage, &meta)?, label));
            }
            TREE_CLASS => {
                let label = meta.string("labelCol").unwrap_or("label").to_string();
                let nodes = read_parquet(&stage.join("data"))?;
                let tree = node_rows(&nodes, &stage.join("data"))?;
                model = Some((Ensemble { trees: vec![tree], weights: None, meta }, label));
            }
            // mltrack's own export of a log-label model: exp of the forest's output.
            SQL_CLASS
                if meta.string("statement")
                    == Some(&format!("SELECT *, EXP({LOG_PREDICTION_COL}) AS prediction FROM __THIS__")) =>
            {
                log_label = true;
            }
            other => {
                return Err(bad(
                    &meta.path,
                    format!(
                        "stage {i} is a `{other}`, which mltrack cannot score (it reads StringIndexerModel, VectorAssembler and RandomForest/GBT/DecisionTree regression models)"
                    ),
                ))
            }
        }
    }
    let (inputs, assembler_policy) =
        assembler.ok_or_else(|| bad(dir, "the pipeline has no VectorAssembler stage"))?;
    let (ensemble, label) = model.ok_or_else(|| {
        bad(
            dir,
            "the pipeline has no RandomForest, GBT or DecisionTree regression model",
        )
    })?;
    let handle_invalid = indexer_policy.or(assembler_policy).unwrap_or_default();
    build(
        dir,
        indexers,
        &inputs,
        handle_invalid,
        log_label,
        ensemble,
        label,
    )
}

fn policy(meta: &Metadata) -> Result<HandleInvalid> {
    meta.string("handleInvalid")
        .unwrap_or("error")
        .parse()
        .map_err(|e: ModelError| bad(&meta.path, e.to_string()))
}

fn read_labels(dir: &Path) -> Result<Vec<Vec<String>>> {
    let df = read_parquet(dir)?;
    let err = |e: PolarsError| bad(dir, format!("labelsArray: {e}"));
    let strings = |s: &Series| -> Result<Vec<String>> {
        Ok(s.str()
            .map_err(err)?
            .iter()
            .map(|v| v.unwrap_or("").to_string())
            .collect())
    };
    if let Ok(col) = df.column("labelsArray") {
        let outer = col.list().map_err(err)?;
        let row = outer
            .get_as_series(0)
            .ok_or_else(|| bad(dir, "labelsArray is empty"))?;
        let mut lists = Vec::new();
        let inner = row.list().map_err(err)?;
        for k in 0..inner.len() {
            lists.push(strings(
                &inner
                    .get_as_series(k)
                    .ok_or_else(|| bad(dir, "a label list is null"))?,
            )?);
        }
        return Ok(lists);
    }
    let col = df.column("labels").map_err(err)?;
    let row = col
        .list()
        .map_err(err)?
        .get_as_series(0)
        .ok_or_else(|| bad(dir, "labels is empty"))?;
    Ok(vec![strings(&row)?])
}

fn build(
    dir: &Path,
    indexers: Vec<(String, String, Vec<String>)>,
    inputs: &[String],
    handle_invalid: HandleInvalid,
    log_label: bool,
    ensemble: Ensemble,
    label: String,
) -> Result<PricePipeline> {
    let output_of: HashMap<&str, usize> = indexers
        .iter()
        .enumerate()
        .map(|(i, (_, o, _))| (o.as_str(), i))
        .collect();
    let mut categorical = Vec::new();
    let mut numeric = Vec::new();
    let mut models = Vec::new();
    let mut spark_slot = Vec::with_capacity(inputs.len());
    for input in inputs {
        if let Some(&i) = output_of.get(input.as_str()) {
            let (column, _, labels) = &indexers[i];
            models.push(
                StringIndexerModel::from_labels(column, labels.clone(), handle_invalid)
                    .map_err(|e| bad(dir, e.to_string()))?,
            );
            spark_slot.push((true, categorical.len()));
            categorical.push(column.clone());
        } else {
            spark_slot.push((false, numeric.len()));
            numeric.push(input.clone());
        }
    }
    if models.len() != indexers.len() {
        return Err(bad(
            dir,
            "an indexed column is not in the VectorAssembler's inputCols",
        ));
    }
    // Spark feature j → mltrack feature (indexed columns first).
    let n_cat = categorical.len();
    let perm: Vec<usize> = spark_slot
        .iter()
        .map(|&(cat, k)| if cat { k } else { n_cat + k })
        .collect();
    let mut trees = ensemble.trees;
    let mut arity: BTreeMap<usize, usize> = models
        .iter()
        .map(StringIndexerModel::arity)
        .enumerate()
        .collect();
    for tree in &mut trees {
        for node in &mut tree.nodes {
            if let Some(s) = &mut node.split {
                let f = s.rule.feature();
                let mapped = *perm.get(f).ok_or_else(|| {
                    bad(
                        &ensemble.meta.path,
                        format!(
                            "a split uses feature {f}, beyond the assembler's {} inputs",
                            perm.len()
                        ),
                    )
                })?;
                match &mut s.rule {
                    Split::Continuous { feature, .. } => *feature = mapped,
                    Split::Categorical {
                        feature,
                        categories,
                    } => {
                        *feature = mapped;
                        let top = categories.last().map_or(0, |&c| c as usize + 1);
                        let a = arity.entry(mapped).or_insert(top);
                        *a = (*a).max(top);
                    }
                }
            }
        }
    }
    let assembler = VectorAssembler {
        categorical,
        numeric,
    };
    let depth = trees.iter().map(Tree::depth).max().unwrap_or(0);
    let max_bins = ensemble
        .meta
        .param("maxBins")
        .and_then(Value::as_u64)
        .and_then(|b| usize::try_from(b).ok())
        .unwrap_or(32)
        .max(arity.values().copied().max().unwrap_or(2))
        .max(2);
    #[allow(clippy::cast_sign_loss)]
    let seed = ensemble
        .meta
        .param("seed")
        .and_then(Value::as_i64)
        .unwrap_or(0) as u64;
    let params = RandomForestParams::new()
        .num_trees(trees.len())
        .max_depth(depth.min(30))
        .max_bins(max_bins)
        .seed(seed)
        .categorical_features(arity)
        .check()
        .map_err(|e| bad(&ensemble.meta.path, e.to_string()))?;
    let forest =
        RandomForestModel::from_trees(params, assembler.feature_names(), trees, ensemble.weights)
            .map_err(|e| bad(&ensemble.meta.path, e.to_string()))?;
    PricePipeline::from_parts(label, handle_invalid, log_label, models, assembler, forest)
        .map_err(|e| bad(dir, e))
}
