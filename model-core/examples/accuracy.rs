//! Accuracy on the gold data: Spark's default forest (maxBins 40, 20 trees) over 5 seeds on an 80/20
//! split (Spark's own rows), then the full 32-trial TPE search (60/20/20, refit on train ∪ validation, scored on test).
//!
//! `cargo run -p model-core --release --example accuracy [-- TRIALS]`

use std::time::Instant;

use model_core::dataset;
use model_core::forest::RandomForestParams;
use model_core::pipeline::{PipelineParams, PricePipeline};
use model_core::search::SearchSettings;
use model_core::spark_split::spark_random_split;
use model_core::train::{self, TrainOptions};

fn main() -> Result<(), model_core::ModelError> {
    let trials: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(32);
    let path = dataset::gold_data_path();
    let gold = dataset::load_gold(&path, false)?;
    println!(
        "data: {} ({} rows, silver {:?})",
        path.display(),
        gold.table.n_rows(),
        gold.silver
    );

    let parts = spark_random_split(&gold.table, &[0.8, 0.2], 42)?;
    let (train_rows, test_rows) = (gold.table.take(&parts[0]), gold.table.take(&parts[1]));
    println!(
        "80/20 split seed 42: {} / {} rows",
        train_rows.n_rows(),
        test_rows.n_rows()
    );
    let mut sum = 0.0;
    for seed in [1, 2, 3, 42, 7] {
        let params = PipelineParams {
            forest: RandomForestParams::new().max_bins(40).seed(seed),
            ..PipelineParams::default()
        };
        let t0 = Instant::now();
        let model = PricePipeline::fit(&train_rows, &params)?;
        let fit = t0.elapsed();
        let (m, p) = model.evaluate(&test_rows)?;
        println!(
            "RF20 depth 5 maxBins 40 seed {seed:>2}: test RMSE {:.2}  MAE {:.2}  R² {:.4}  (n {}, skipped {}, fit {:.1} ms)",
            m.rmse,
            m.mae,
            m.r2,
            m.n,
            p.skipped.len(),
            fit.as_secs_f64() * 1e3
        );
        sum += m.rmse;
    }
    println!(
        "mean test RMSE over 5 seeds: {:.2} (Spark band 219–241)",
        sum / 5.0
    );

    let options = TrainOptions {
        data: path,
        search: SearchSettings {
            max_evals: trials,
            ..SearchSettings::default()
        },
        ..TrainOptions::default()
    };
    let outcome = train::run(&options, |t| {
        let v = t
            .validation
            .as_ref()
            .map_or_else(|e| format!("failed: {e}"), |m| format!("{:.2}", m.rmse));
        println!("trial {:>2}: val RMSE {v}  {:?}", t.number, t.sampled);
    })?;
    println!(
        "search ({trials} trials, {:.1} s): best trial {} val RMSE {:.2}; test RMSE {:.2}  MAE {:.2}  R² {:.4} (split {:?}, test skipped {})",
        outcome.seconds,
        outcome.best_trial,
        outcome.validation.rmse,
        outcome.test.rmse,
        outcome.test.mae,
        outcome.test.r2,
        outcome.split_rows,
        outcome.test_skipped
    );
    println!(
        "best params: {:?} log_label {}",
        outcome.best_params.forest, outcome.best_params.log_label
    );
    for (name, imp) in outcome.pipeline.feature_importances().iter().take(6) {
        println!("  {name:<32} {imp:.3}");
    }
    Ok(())
}
