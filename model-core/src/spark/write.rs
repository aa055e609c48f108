//! Writes a [`PricePipeline`] as a Spark ML `PipelineModel` directory.
//!
//! Every stage gets Spark's metadata line (class, uid, `paramMap`, `defaultParamMap`, extras) and,
//! where Spark has one, its parquet data with Spark's column names and types: the reader maps parquet
//! columns onto case classes by name, so names and physical types (int32 ids, int64 `rawCount`,
//! list<double>, nested structs) must match. polars marks every field nullable where Spark marks
//! some `required`; Spark's reader accepts both.
//!
//! The forest is written as a `RandomForestRegressionModel` whose trees are mltrack's trees node for
//! node, so Spark walks the same thresholds and category sets and predicts the same mean.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use polars::prelude::*;
use serde_json::{json, Map, Value};

use super::{
    ASSEMBLER_CLASS, GBT_CLASS, INDEXER_CLASS, PIPELINE_CLASS, RF_CLASS, SPARK_VERSION, SQL_CLASS,
    TREE_CLASS,
};
use crate::error::{ModelError, Result};
use crate::forest::{RandomForestModel, Split, Tree};
use crate::pipeline::PricePipeline;

/// The column the assembler writes and the forest reads.
pub const FEATURES_COL: &str = "features";
/// The column holding the forest's raw output when a log-label model needs `exp` afterwards.
pub const LOG_PREDICTION_COL: &str = "log_prediction";

/// Writes `pipeline` to `dir` as a Spark `PipelineModel`. The directory is built beside `dir` and
/// renamed into place, so a failure leaves no partial model (an existing `dir` is replaced).
pub fn save(pipeline: &PricePipeline, dir: &Path) -> Result<()> {
    let name = dir
        .file_name()
        .map_or_else(|| "sparkml".into(), |n| n.to_string_lossy().into_owned());
    let staging = dir.with_file_name(format!(".{name}.partial-{}", uuid::Uuid::new_v4().simple()));
    let result = write_all(pipeline, &staging).and_then(|()| {
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|e| write_err(dir, &e))?;
        }
        std::fs::rename(&staging, dir).map_err(|e| write_err(dir, &e))
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

fn write_err(path: &Path, e: &dyn std::fmt::Display) -> ModelError {
    ModelError::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// The stages mltrack writes, in pipeline order.
#[derive(Clone, Copy)]
enum Stage {
    Indexer,
    Assembler,
    Forest,
    Exp,
}

impl Stage {
    /// The uid prefix Spark gives the estimator that made the stage.
    fn prefix(self) -> &'static str {
        match self {
            Stage::Indexer => "StringIndexer",
            Stage::Assembler => "VectorAssembler",
            Stage::Forest => "RandomForestRegressor",
            Stage::Exp => "SQLTransformer",
        }
    }
}

fn write_all(pipeline: &PricePipeline, dir: &Path) -> Result<()> {
    let mut stages = Vec::new();
    if !pipeline.assembler().categorical.is_empty() {
        stages.push(Stage::Indexer);
    }
    stages.extend([Stage::Assembler, Stage::Forest]);
    if pipeline.log_label() {
        stages.push(Stage::Exp);
    }
    let uids: Vec<String> = stages.iter().map(|s| new_uid(s.prefix())).collect();
    let digits = stages.len().to_string().len();
    for (i, (stage, uid)) in stages.iter().zip(&uids).enumerate() {
        let path = dir.join("stages").join(format!("{i:0digits$}_{uid}"));
        match stage {
            Stage::Indexer => write_indexer(pipeline, &path, uid)?,
            Stage::Assembler => write_assembler(pipeline, &path, uid)?,
            Stage::Forest => write_forest(pipeline, &path, uid)?,
            Stage::Exp => write_exp(&path, uid)?,
        }
    }
    write_metadata(
        dir,
        PIPELINE_CLASS,
        &new_uid("PipelineModel"),
        json!({ "stageUids": uids }),
        json!({}),
        Map::new(),
    )
}

/// `<ClassSimpleName>_<12 hex>`, Spark's `Identifiable.randomUID`.
fn new_uid(prefix: &str) -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}_{}", &hex[..12])
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0))
}

/// Spark's `DefaultParamsWriter.getMetadataToSave` as one JSON object.
fn metadata_json(
    class: &str,
    uid: &str,
    params: Value,
    defaults: Value,
    extra: Map<String, Value>,
) -> Value {
    let mut m = Map::new();
    m.insert("class".into(), class.into());
    m.insert("timestamp".into(), now_ms().into());
    m.insert("sparkVersion".into(), SPARK_VERSION.into());
    m.insert("uid".into(), uid.into());
    m.insert("paramMap".into(), params);
    m.insert("defaultParamMap".into(), defaults);
    m.extend(extra);
    Value::Object(m)
}

/// `metadata/part-00000`: the one line Spark's `sc.textFile(…).first()` reads.
fn write_metadata(
    stage: &Path,
    class: &str,
    uid: &str,
    params: Value,
    defaults: Value,
    extra: Map<String, Value>,
) -> Result<()> {
    let dir = stage.join("metadata");
    std::fs::create_dir_all(&dir).map_err(|e| write_err(&dir, &e))?;
    let path = dir.join("part-00000");
    let line = metadata_json(class, uid, params, defaults, extra).to_string();
    std::fs::write(&path, line + "\n").map_err(|e| write_err(&path, &e))
}

/// One parquet file `part-00000.snappy.parquet` in `stage/<sub>/`.
fn write_parquet(stage: &Path, sub: &str, df: &mut DataFrame) -> Result<()> {
    let dir = stage.join(sub);
    std::fs::create_dir_all(&dir).map_err(|e| write_err(&dir, &e))?;
    let path: PathBuf = dir.join("part-00000.snappy.parquet");
    let file = File::create(&path).map_err(|e| write_err(&path, &e))?;
    ParquetWriter::new(file)
        .with_compression(ParquetCompression::Snappy)
        .finish(df)
        .map_err(|e| write_err(&path, &e))?;
    Ok(())
}

fn polars_err(path: &Path) -> impl Fn(PolarsError) -> ModelError + '_ {
    move |e| write_err(path, &e)
}

fn write_indexer(pipeline: &PricePipeline, stage: &Path, uid: &str) -> Result<()> {
    let assembler = pipeline.assembler();
    let outputs: Vec<String> = assembler
        .feature_names()
        .into_iter()
        .take(assembler.categorical.len())
        .collect();
    write_metadata(
        stage,
        INDEXER_CLASS,
        uid,
        json!({
            "handleInvalid": pipeline.handle_invalid().to_string(),
            "inputCols": assembler.categorical,
            "outputCols": outputs,
            "stringOrderType": "frequencyDesc",
        }),
        json!({
            "outputCol": format!("{uid}__output"),
            "handleInvalid": "error",
            "stringOrderType": "frequencyDesc",
        }),
        Map::new(),
    )?;
    let lists: Vec<Series> = pipeline
        .indexers()
        .iter()
        .map(|i| Series::new("".into(), i.labels()))
        .collect();
    let labels = Series::new("labelsArray".into(), &[Series::new("".into(), &lists)]);
    let mut df = DataFrame::new(1, vec![labels.into()]).map_err(polars_err(stage))?;
    write_parquet(stage, "data", &mut df)
}

fn write_assembler(pipeline: &PricePipeline, stage: &Path, uid: &str) -> Result<()> {
    write_metadata(
        stage,
        ASSEMBLER_CLASS,
        uid,
        json!({
            "inputCols": pipeline.assembler().feature_names(),
            "outputCol": FEATURES_COL,
            "handleInvalid": pipeline.handle_invalid().to_string(),
        }),
        json!({ "handleInvalid": "error", "outputCol": format!("{uid}__output") }),
        Map::new(),
    )
}

/// Spark 4.0.1's defaults for a `DecisionTreeRegressionModel` (the ensemble adds its own).
fn tree_defaults(seed: i64) -> Map<String, Value> {
    let v = json!({
        "minInstancesPerNode": 1, "labelCol": "label", "seed": seed, "maxMemoryInMB": 256,
        "featuresCol": "features", "checkpointInterval": 10, "maxDepth": 5, "impurity": "variance",
        "leafCol": "", "cacheNodeIds": false, "minInfoGain": 0.0, "minWeightFractionPerNode": 0.0,
        "maxBins": 32, "predictionCol": "prediction",
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn write_forest(pipeline: &PricePipeline, stage: &Path, uid: &str) -> Result<()> {
    let forest = pipeline.forest();
    let p = forest.params();
    // Spark's seed is a Java long; mltrack's u64 keeps its bits.
    #[allow(clippy::cast_possible_wrap)]
    let seed = p.seed() as i64;
    let prediction_col = if pipeline.log_label() {
        LOG_PREDICTION_COL
    } else {
        "prediction"
    };
    let tree_params = json!({
        "labelCol": pipeline.label(), "featuresCol": FEATURES_COL, "predictionCol": prediction_col,
        "maxDepth": p.max_depth(), "maxBins": p.max_bins(), "seed": seed,
        "minInstancesPerNode": p.min_instances_per_node(), "minInfoGain": p.min_info_gain(),
        "impurity": "variance",
    });
    let mut params = tree_params.clone();
    if let Value::Object(m) = &mut params {
        m.insert("numTrees".into(), forest.trees().len().into());
        m.insert("subsamplingRate".into(), p.subsampling_rate().into());
        m.insert(
            "featureSubsetStrategy".into(),
            p.feature_subset_strategy().to_string().into(),
        );
        m.insert("bootstrap".into(), p.bootstrap().into());
    }
    let mut defaults = tree_defaults(seed);
    defaults.insert("subsamplingRate".into(), 1.0.into());
    let weights = forest.tree_weights();
    let class = if weights.is_some() {
        // A boosted ensemble read from Spark goes back as one: GBT has `maxIter`, not `numTrees`,
        // and no `bootstrap`.
        if let Value::Object(m) = &mut params {
            m.remove("bootstrap");
            if let Some(n) = m.remove("numTrees") {
                m.insert("maxIter".into(), n);
            }
        }
        defaults.insert("featureSubsetStrategy".into(), "all".into());
        defaults.insert("maxIter".into(), 20.into());
        defaults.insert("stepSize".into(), 0.1.into());
        defaults.insert("lossType".into(), "squared".into());
        defaults.insert("validationTol".into(), 0.01.into());
        GBT_CLASS
    } else {
        defaults.insert("numTrees".into(), 20.into());
        defaults.insert("featureSubsetStrategy".into(), "auto".into());
        defaults.insert("bootstrap".into(), true.into());
        RF_CLASS
    };
    let mut extra = Map::new();
    extra.insert("numFeatures".into(), forest.feature_names().len().into());
    extra.insert("numTrees".into(), forest.trees().len().into());
    write_metadata(stage, class, uid, params, Value::Object(defaults), extra)?;
    let n_trees = forest.trees().len();
    let tree_meta: Vec<String> = (0..n_trees)
        .map(|_| {
            metadata_json(
                TREE_CLASS,
                &new_uid("dtr"),
                tree_params.clone(),
                Value::Object(tree_defaults(seed)),
                Map::new(),
            )
            .to_string()
        })
        .collect();
    let ids: Vec<i32> = (0..i32::try_from(n_trees).map_err(|e| write_err(stage, &e))?).collect();
    let mut meta = DataFrame::new(
        n_trees,
        vec![
            Series::new("treeID".into(), &ids).into(),
            Series::new("metadata".into(), &tree_meta).into(),
            Series::new(
                "weights".into(),
                weights.map_or_else(|| vec![1.0_f64; n_trees], <[f64]>::to_vec),
            )
            .into(),
        ],
    )
    .map_err(polars_err(stage))?;
    write_parquet(stage, "treesMetadata", &mut meta)?;
    let mut nodes = node_frame(forest, stage)?;
    write_parquet(stage, "data", &mut nodes)
}

/// Node rows in Spark's `NodeData` layout, every tree, ids in pre-order from 0 per tree.
fn node_frame(forest: &RandomForestModel, stage: &Path) -> Result<DataFrame> {
    let arity = forest.params().categorical_features();
    let mut rows = NodeColumns::default();
    for (t, tree) in forest.trees().iter().enumerate() {
        let t = i32::try_from(t).map_err(|e| write_err(stage, &e))?;
        let order = preorder(tree);
        let mut id_of = vec![0_i32; tree.nodes.len()];
        for (id, &n) in order.iter().enumerate() {
            id_of[n] = i32::try_from(id).map_err(|e| write_err(stage, &e))?;
        }
        for (id, &n) in order.iter().enumerate() {
            let node = &tree.nodes[n];
            rows.tree.push(t);
            rows.id.push(id_of[n]);
            debug_assert_eq!(usize::try_from(id_of[n]).ok(), Some(id));
            rows.prediction.push(node.prediction);
            rows.impurity.push(node.impurity);
            // Variance statistics (count, sum, sum of squares), rebuilt from mean and variance.
            let w = node.weight;
            rows.stats.push(Series::new(
                "".into(),
                [
                    w,
                    w * node.prediction,
                    w * (node.impurity + node.prediction * node.prediction),
                ],
            ));
            #[allow(clippy::cast_possible_truncation)]
            rows.raw_count.push(w.round() as i64);
            match &node.split {
                None => {
                    rows.gain.push(-1.0);
                    rows.left.push(-1);
                    rows.right.push(-1);
                    rows.feature.push(-1);
                    rows.left_set
                        .push(Series::new("".into(), Vec::<f64>::new()));
                    rows.num_categories.push(-1);
                }
                Some(s) => {
                    rows.gain.push(s.gain);
                    rows.left.push(id_of[s.left as usize]);
                    rows.right.push(id_of[s.right as usize]);
                    rows.feature
                        .push(i32::try_from(s.rule.feature()).map_err(|e| write_err(stage, &e))?);
                    match &s.rule {
                        Split::Continuous { threshold, .. } => {
                            rows.left_set.push(Series::new("".into(), [*threshold]));
                            rows.num_categories.push(-1);
                        }
                        Split::Categorical {
                            feature,
                            categories,
                        } => {
                            let max = categories.iter().max().map_or(0, |&c| c as usize + 1);
                            let k = arity.get(feature).copied().unwrap_or(max).max(max);
                            rows.left_set.push(Series::new(
                                "".into(),
                                categories.iter().map(|&c| f64::from(c)).collect::<Vec<_>>(),
                            ));
                            rows.num_categories
                                .push(i32::try_from(k).map_err(|e| write_err(stage, &e))?);
                        }
                    }
                }
            }
        }
    }
    rows.into_frame().map_err(polars_err(stage))
}

/// Node indices in pre-order (node, left subtree, right subtree), the order Spark numbers them in.
fn preorder(tree: &Tree) -> Vec<usize> {
    let mut order = Vec::with_capacity(tree.nodes.len());
    let mut stack = vec![0_usize];
    while let Some(n) = stack.pop() {
        order.push(n);
        if let Some(s) = &tree.nodes[n].split {
            stack.push(s.right as usize);
            stack.push(s.left as usize);
        }
    }
    order
}

#[derive(Default)]
struct NodeColumns {
    tree: Vec<i32>,
    id: Vec<i32>,
    prediction: Vec<f64>,
    impurity: Vec<f64>,
    stats: Vec<Series>,
    raw_count: Vec<i64>,
    gain: Vec<f64>,
    left: Vec<i32>,
    right: Vec<i32>,
    feature: Vec<i32>,
    left_set: Vec<Series>,
    num_categories: Vec<i32>,
}

impl NodeColumns {
    fn into_frame(self) -> PolarsResult<DataFrame> {
        let n = self.id.len();
        let split = StructChunked::from_series(
            "split".into(),
            n,
            [
                Series::new("featureIndex".into(), self.feature),
                Series::new("leftCategoriesOrThreshold".into(), self.left_set),
                Series::new("numCategories".into(), self.num_categories),
            ]
            .iter(),
        )?
        .into_series();
        let node = StructChunked::from_series(
            "nodeData".into(),
            n,
            [
                Series::new("id".into(), self.id),
                Series::new("prediction".into(), self.prediction),
                Series::new("impurity".into(), self.impurity),
                Series::new("impurityStats".into(), self.stats),
                Series::new("rawCount".into(), self.raw_count),
                Series::new("gain".into(), self.gain),
                Series::new("leftChild".into(), self.left),
                Series::new("rightChild".into(), self.right),
                split,
            ]
            .iter(),
        )?
        .into_series();
        DataFrame::new(
            n,
            vec![Series::new("treeID".into(), self.tree).into(), node.into()],
        )
    }
}

/// Log-label models predict ln(label): a SQL stage turns the forest's output into the label.
fn write_exp(stage: &Path, uid: &str) -> Result<()> {
    write_metadata(
        stage,
        SQL_CLASS,
        uid,
        json!({
            "statement": format!("SELECT *, EXP({LOG_PREDICTION_COL}) AS prediction FROM __THIS__")
        }),
        json!({}),
        Map::new(),
    )
}
