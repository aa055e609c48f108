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
use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde_json::{Map, Value};

use super::{
    write::LOG_PREDICTION_COL, ASSEMBLER_CLASS, GBT_CLASS, INDEXER_CLASS, PIPELINE_CLASS, RF_CLASS,
    SQL_CLASS, TREE_CLASS,
};
use crate::assembler::VectorAssembler;
use crate::error::{ModelError, Result};
use crate::forest::{Node, NodeSplit, RandomForestModel, RandomForestParams, Split, Tree};
use crate::indexer::{HandleInvalid, StringIndexerModel};
use crate::pipeline::PricePipeline;

/// Whether `dir` looks like a Spark ML model directory (has `metadata/` and no `MLmodel`).
pub fn is_spark_model(dir: &Path) -> bool {
    dir.join("metadata").is_dir() && !dir.join("MLmodel").exists()
}

fn bad(path: &Path, message: impl Into<String>) -> ModelError {
    ModelError::Package {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// One stage's (or the pipeline's) `DefaultParamsWriter` metadata.
struct Metadata {
    class: String,
    uid: String,
    params: Map<String, Value>,
    defaults: Map<String, Value>,
    all: Value,
    path: PathBuf,
}

impl Metadata {
    /// A set param, else its default.
    fn param(&self, name: &str) -> Option<&Value> {
        self.params.get(name).or_else(|| self.defaults.get(name))
    }

    fn string(&self, name: &str) -> Option<&str> {
        self.param(name).and_then(Value::as_str)
    }

    fn strings(&self, name: &str) -> Result<Option<Vec<String>>> {
        match self.param(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_string).ok_or_else(|| {
                        bad(
                            &self.path,
                            format!("param `{name}` is not a list of strings"),
                        )
                    })
                })
                .collect::<Result<Vec<_>>>()
                .map(Some),
            Some(_) => Err(bad(&self.path, format!("param `{name}` is not a list"))),
        }
    }
}

/// The visible part files of a Spark output folder (Spark and Hadoop skip `_…` and `.…` files).
fn part_files(dir: &Path, suffix: &str) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| bad(dir, format!("cannot read: {e}")))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('_') && !n.starts_with('.') && n.ends_with(suffix))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(bad(
            dir,
            "has no part file: the Spark model directory is incomplete",
        ));
    }
    Ok(files)
}

fn read_metadata(stage: &Path) -> Result<Metadata> {
    let dir = stage.join("metadata");
    let file = part_files(&dir, "")?.remove(0);
    let text = std::fs::read_to_string(&file).map_err(|e| ModelError::Read {
        path: file.clone(),
        message: e.to_string(),
    })?;
    let line = text.lines().next().unwrap_or("");
    let all: Value = serde_json::from_str(line)
        .map_err(|e| bad(&file, format!("is not Spark ML metadata JSON: {e}")))?;
    let obj = |key: &str| {
        all.get(key)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let meta = Metadata {
        class: all
            .get("class")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        uid: all
            .get("uid")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        params: obj("paramMap"),
        defaults: obj("defaultParamMap"),
        path: file.clone(),
        all: all.clone(),
    };
    let version = all
        .get("sparkVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let major: Option<u32> = version.split('.').next().and_then(|m| m.parse().ok());
    match major {
        Some(3 | 4) => Ok(meta),
        Some(m) if m > 4 => Err(bad(
            &file,
            format!("was written by Spark {version}, a newer model format than mltrack reads (Spark 3.x and 4.x)"),
        )),
        _ => Err(bad(
            &file,
            format!("was written by Spark `{version}`; mltrack reads models of Spark 3.x and 4.x"),
        )),
    }
}

fn read_parquet(dir: &Path) -> Result<DataFrame> {
    let mut out: Option<DataFrame> = None;
    for file in part_files(dir, ".parquet")? {
        let f = File::open(&file).map_err(|e| ModelError::Read {
            path: file.clone(),
            message: e.to_string(),
        })?;
        let df = ParquetReader::new(f)
            .finish()
            .map_err(|e| bad(&file, format!("is not readable parquet: {e}")))?;
        out = Some(match out {
            None => df,
            Some(mut acc) => {
                acc.vstack_mut(&df).map_err(|e| bad(&file, e.to_string()))?;
                acc
            }
        });
    }
    out.ok_or_else(|| bad(dir, "has no parquet part file"))
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

struct Ensemble {
    trees: Vec<Tree>,
    weights: Option<Vec<f64>>,
    meta: Metadata,
}

fn read_ensemble(stage: &Path, meta: &Metadata) -> Result<Ensemble> {
    let data_dir = stage.join("data");
    let df = read_parquet(&data_dir)?;
    let err = |e: PolarsError| bad(&data_dir, e.to_string());
    let ids = df
        .column("treeID")
        .map_err(err)?
        .i32()
        .map_err(err)?
        .clone();
    let nodes = df
        .column("nodeData")
        .map_err(err)?
        .struct_()
        .map_err(err)?
        .clone();
    let mut by_tree: BTreeMap<i32, Vec<u32>> = BTreeMap::new();
    for (row, id) in ids.iter().enumerate() {
        let id = id.ok_or_else(|| bad(&data_dir, "null treeID"))?;
        by_tree
            .entry(id)
            .or_default()
            .push(u32::try_from(row).unwrap_or(u32::MAX));
    }
    let frame = nodes.clone().unnest();
    let mut trees = Vec::with_capacity(by_tree.len());
    for rows in by_tree.values() {
        let idx = IdxCa::from_vec("".into(), rows.clone());
        let part = frame.take(&idx).map_err(err)?;
        trees.push(node_rows(&part, &data_dir)?);
    }
    let meta_dir = stage.join("treesMetadata");
    let tm = read_parquet(&meta_dir)?;
    let terr = |e: PolarsError| bad(&meta_dir, e.to_string());
    let mut weights: Vec<(i32, f64)> = tm
        .column("treeID")
        .map_err(terr)?
        .i32()
        .map_err(terr)?
        .iter()
        .zip(
            tm.column("weights")
                .map_err(terr)?
                .f64()
                .map_err(terr)?
                .iter(),
        )
        .map(|(t, w)| (t.unwrap_or(-1), w.unwrap_or(f64::NAN)))
        .collect();
    weights.sort_by_key(|w| w.0);
    let expected: Vec<i32> = by_tree.keys().copied().collect();
    if weights.iter().map(|w| w.0).collect::<Vec<_>>() != expected {
        return Err(bad(&meta_dir, "its trees do not match the trees in data/"));
    }
    let declared = meta.all.get("numTrees").and_then(Value::as_u64);
    if declared.is_some_and(|n| usize::try_from(n).ok() != Some(trees.len())) {
        return Err(bad(
            &meta.path,
            format!(
                "says {} trees but data/ holds {}",
                declared.unwrap_or(0),
                trees.len()
            ),
        ));
    }
    let weights = (meta.class == GBT_CLASS).then(|| weights.iter().map(|w| w.1).collect());
    Ok(Ensemble {
        trees,
        weights,
        meta: Metadata {
            class: meta.class.clone(),
            uid: meta.uid.clone(),
            params: meta.params.clone(),
            defaults: meta.defaults.clone(),
            all: meta.all.clone(),
            path: meta.path.clone(),
        },
    })
}

/// One tree from Spark `NodeData` rows (any order; ids must be 0..n in pre-order).
fn node_rows(df: &DataFrame, path: &Path) -> Result<Tree> {
    let err = |e: PolarsError| bad(path, format!("node data: {e}"));
    let i32s = |name: &str| -> Result<Vec<i32>> {
        Ok(df
            .column(name)
            .map_err(err)?
            .i32()
            .map_err(err)?
            .iter()
            .map(|v| v.unwrap_or(-1))
            .collect())
    };
    let f64s = |name: &str| -> Result<Vec<f64>> {
        Ok(df
            .column(name)
            .map_err(err)?
            .f64()
            .map_err(err)?
            .iter()
            .map(|v| v.unwrap_or(f64::NAN))
            .collect())
    };
    let ids = i32s("id")?;
    let prediction = f64s("prediction")?;
    let impurity = f64s("impurity")?;
    let gain = f64s("gain")?;
    let left = i32s("leftChild")?;
    let right = i32s("rightChild")?;
    let stats = df
        .column("impurityStats")
        .map_err(err)?
        .list()
        .map_err(err)?
        .clone();
    let split = df
        .column("split")
        .map_err(err)?
        .struct_()
        .map_err(err)?
        .clone()
        .unnest();
    let feature: Vec<i32> = split
        .column("featureIndex")
        .map_err(err)?
        .i32()
        .map_err(err)?
        .iter()
        .map(|v| v.unwrap_or(-1))
        .collect();
    let arity: Vec<i32> = split
        .column("numCategories")
        .map_err(err)?
        .i32()
        .map_err(err)?
        .iter()
        .map(|v| v.unwrap_or(-1))
        .collect();
    let sets = split
        .column("leftCategoriesOrThreshold")
        .map_err(err)?
        .list()
        .map_err(err)?
        .clone();
    let n = ids.len();
    let mut slot = vec![usize::MAX; n];
    for (row, &id) in ids.iter().enumerate() {
        match usize::try_from(id) {
            Ok(id) if id < n && slot[id] == usize::MAX => slot[id] = row,
            _ => {
                return Err(bad(
                    path,
                    format!("node id {id} is out of range or repeated"),
                ))
            }
        }
    }
    let mut nodes = Vec::with_capacity(n);
    let child = |c: i32, id: usize| -> Result<u32> {
        usize::try_from(c)
            .ok()
            .filter(|&c| c > id && c < n)
            .and_then(|c| u32::try_from(c).ok())
            .ok_or_else(|| bad(path, format!("node {id} has child {c}, outside its tree")))
    };
    for (id, &row) in slot.iter().enumerate() {
        let weight = stats
            .get_as_series(row)
            .and_then(|s| s.f64().ok().and_then(|c| c.get(0)))
            .unwrap_or(0.0);
        let split = if left[row] == -1 {
            None
        } else {
            let f = usize::try_from(feature[row]).map_err(|_| {
                bad(
                    path,
                    format!("node {id} splits on feature {}", feature[row]),
                )
            })?;
            let values: Vec<f64> = sets
                .get_as_series(row)
                .and_then(|s| s.f64().ok().map(|c| c.iter().flatten().collect()))
                .unwrap_or_default();
            let rule = if arity[row] < 0 {
                let threshold = *values
                    .first()
                    .ok_or_else(|| bad(path, format!("node {id} has no threshold")))?;
                Split::Continuous {
                    feature: f,
                    threshold,
                }
            } else {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let mut categories: Vec<u32> = values.iter().map(|&c| c as u32).collect();
                categories.sort_unstable();
                Split::Categorical {
                    feature: f,
                    categories,
                }
            };
            Some(NodeSplit {
                rule,
                gain: gain[row],
                left: child(left[row], id)?,
                right: child(right[row], id)?,
            })
        };
        nodes.push(Node {
            prediction: prediction[row],
            impurity: impurity[row],
            weight,
            split,
        });
    }
    // Categorical arity travels with the tree via the splits; remember it per feature.
    let _ = arity;
    Ok(Tree { nodes })
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
