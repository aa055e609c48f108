//! TPE against random search at equal budget on the gold data: mean best validation RMSE over
//! seeds (default 10 seeds × 32 trials, the default search space and 60/20/20 split).
//!
//! `cargo run -p model-core --release --example tpe_vs_random [-- SEEDS TRIALS]`

use std::time::Instant;

use model_core::dataset;
use model_core::search::{Algorithm, SearchSettings};
use model_core::train::{self, TrainOptions};

fn main() -> Result<(), model_core::ModelError> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>().ok());
    let seeds = args.next().flatten().unwrap_or(10);
    let trials = args.next().flatten().unwrap_or(32);
    let gold = dataset::load_gold(&dataset::gold_data_path(), false)?;
    for (name, algorithm) in [("tpe", Algorithm::default()), ("random", Algorithm::Random)] {
        let t0 = Instant::now();
        let mut bests = Vec::new();
        for seed in 0..seeds as u64 {
            let options = TrainOptions {
                search: SearchSettings {
                    max_evals: trials,
                    seed,
                    algorithm: algorithm.clone(),
                    ..SearchSettings::default()
                },
                refit_on_train_val: false,
                ..TrainOptions::default()
            };
            let outcome = train::run_on_table(&gold.table, gold.silver, &options, |_| {})?;
            bests.push(outcome.validation.rmse);
        }
        #[allow(clippy::cast_precision_loss)]
        let mean = bests.iter().sum::<f64>() / bests.len() as f64;
        let text: Vec<String> = bests.iter().map(|b| format!("{b:.1}")).collect();
        println!(
            "{name:>6}: mean best validation RMSE {mean:.2} over {seeds} seeds × {trials} trials [{}] ({:.1} s)",
            text.join(", "),
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
