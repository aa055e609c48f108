//! Tree ensembles in Spark's layout: `data/` node rows (`treeID`, `nodeData` struct, or the bare
//! `NodeData` of a single decision tree) and `treesMetadata/` weights, turned into [`Tree`]s.

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;
use serde_json::Value;

use super::files::{bad, read_parquet, Metadata};
use super::GBT_CLASS;
use crate::error::Result;
use crate::forest::{Node, NodeSplit, Split, Tree};

pub(super) struct Ensemble {
    pub(super) trees: Vec<Tree>,
    pub(super) weights: Option<Vec<f64>>,
    pub(super) meta: Metadata,
}

pub(super) fn read_ensemble(stage: &Path, meta: &Metadata) -> Result<Ensemble> {
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
pub(super) fn node_rows(df: &DataFrame, path: &Path) -> Result<Tree> {
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
