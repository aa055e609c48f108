//! Checks on the real gold file (`MLTRACK_GOLD_DATA`, default `../shared/data/sf-airbnb-clean.parquet`).
//! The file is third-party and not in the repository: without it these tests say so and pass, except
//! under CI (`CI=true`), where its absence is a failure.

use model_core::dataset::{self, ColumnData, GoldData};
use model_core::forest::RandomForestParams;
use model_core::indexer::{HandleInvalid, StringIndexerModel};
use model_core::pipeline::{PipelineParams, PricePipeline};
use model_core::spark_split::spark_random_split;
use model_core::ModelError;

fn gold() -> Option<GoldData> {
    let path = dataset::gold_data_path();
    if !path.exists() {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "gold data missing at `{}` under CI",
            path.display()
        );
        let what = format!(
            "the gold data (none at `{}`; set MLTRACK_GOLD_DATA)",
            path.display()
        );
        eprintln!("skipped: {what}");
        // Counted by .ci/run at the end of the run, so a skip never passes silently.
        if let Some(log) = std::env::var_os("MLTRACK_SKIP_LOG") {
            use std::io::Write;
            let test = std::thread::current()
                .name()
                .unwrap_or("a test")
                .to_string();
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
            {
                let _ = writeln!(f, "model-core {test}: {what}");
            }
        }
        return None;
    }
    Some(dataset::load_gold(&path, false).expect("gold data loads"))
}

#[test]
fn the_gold_file_has_the_schema_and_nothing_for_silver_to_remove() {
    let Some(g) = gold() else { return };
    assert_eq!(g.table.n_rows(), 7146);
    assert_eq!(g.table.columns().len(), 24);
    assert_eq!(
        (
            g.silver.duplicates,
            g.silver.null_or_nan,
            g.silver.blank_strings
        ),
        (0, 0, 0)
    );
}

#[test]
fn labels_are_ordered_as_spark_orders_them() {
    let Some(g) = gold() else { return };
    let ColumnData::Str(values) = &g.table.column("cancellation_policy").expect("column").data
    else {
        panic!("cancellation_policy is a string column");
    };
    let m =
        StringIndexerModel::fit("cancellation_policy", values, HandleInvalid::Skip).expect("fits");
    assert_eq!(
        m.labels(),
        [
            "strict_14_with_grace_period",
            "moderate",
            "flexible",
            "super_strict_30",
            "strict",
            "super_strict_60"
        ]
    );
}

#[test]
fn spark_default_max_bins_is_too_small_for_the_neighbourhoods() {
    let Some(g) = gold() else { return };
    let params = PipelineParams {
        forest: RandomForestParams::new(),
        ..PipelineParams::default()
    };
    let err = PricePipeline::fit(&g.table, &params).unwrap_err();
    assert!(
        matches!(&err, ModelError::MaxBinsTooSmall { name, arity: 36, max_bins: 32, .. } if name == "neighbourhood_cleansed_index"),
        "{err}"
    );
}

#[test]
fn the_split_is_sparks_row_for_row() {
    let Some(g) = gold() else { return };
    // pyspark 4.0 `randomSplit` on the gold data: 80/20 seed 42 → 5,780 / 1,366; 60/20/20 seed 42 → 4,390 / 1,390 / 1,366.
    let sizes = |w: &[f64]| {
        spark_random_split(&g.table, w, 42)
            .expect("splits")
            .iter()
            .map(Vec::len)
            .collect::<Vec<_>>()
    };
    assert_eq!(sizes(&[0.8, 0.2]), [5780, 1366]);
    assert_eq!(sizes(&[0.6, 0.2, 0.2]), [4390, 1390, 1366]);
}

/// Spark-default forest (20 trees, depth 5) with maxBins 40 on an 80/20 split, RF seeds 1, 2, 3, 42,
/// 7, on Spark's own 80/20 rows: the mean test RMSE must be inside the band pyspark gives for those seeds
/// (219–241, mean ≤ 230). Run with `--nocapture` to see the numbers.
#[test]
fn spark_default_forest_is_inside_sparks_seed_band() {
    let Some(g) = gold() else { return };
    let parts = spark_random_split(&g.table, &[0.8, 0.2], 42).expect("splits");
    let (train, test) = (g.table.take(&parts[0]), g.table.take(&parts[1]));
    let mut rmses = Vec::new();
    for seed in [1, 2, 3, 42, 7] {
        let params = PipelineParams {
            forest: RandomForestParams::new().max_bins(40).seed(seed),
            ..PipelineParams::default()
        };
        let model = PricePipeline::fit(&train, &params).expect("fits");
        let (m, _) = model.evaluate(&test).expect("scores");
        eprintln!(
            "seed {seed}: test RMSE {:.2}, R² {:.4}, n {}",
            m.rmse, m.r2, m.n
        );
        rmses.push(m.rmse);
    }
    let mean = rmses.iter().sum::<f64>() / 5.0;
    eprintln!("mean test RMSE over 5 seeds: {mean:.2}");
    assert!(mean <= 230.0, "mean RMSE {mean}");
}

/// The default 32-trial TPE search on Spark's 60/20/20 rows, refitted on train ∪ validation: test RMSE
/// must reach the bar (≤ 210; best published RF 214.0). About 8 s in release, 35 s in debug:
/// `cargo test -p model-core --release --test gold -- --ignored --nocapture`.
#[test]
#[ignore = "32-trial search; run in release"]
fn the_default_search_beats_the_published_forest() {
    let Some(g) = gold() else { return };
    let options = model_core::train::TrainOptions::default();
    let outcome =
        model_core::train::run_on_table(&g.table, g.silver, &options, |_| {}).expect("search runs");
    eprintln!(
        "best trial {} val RMSE {:.2}; test RMSE {:.2}, R² {:.4} in {:.1} s",
        outcome.best_trial,
        outcome.validation.rmse,
        outcome.test.rmse,
        outcome.test.r2,
        outcome.seconds
    );
    assert_eq!(outcome.split_rows, [4390, 1390, 1366]);
    assert!(
        outcome.test.rmse <= 210.0,
        "test RMSE {}",
        outcome.test.rmse
    );
}
