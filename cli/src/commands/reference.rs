//! The drift reference a model carries: `train` profiles the rows the model was fitted on, with the
//! model's own predictions, into `reference_profile.json` beside `MLmodel`, so that `monitor` compares
//! each day's batch with what the model saw and said at train time, without the training data.

use drift::{Dataset, Profile, Settings, Values};
use model_core::dataset::{ColumnData, Table};
use model_core::pipeline::PricePipeline;
use model_core::scoring::PREDICTION;

/// The profile's file name inside the model directory.
pub(crate) const REFERENCE_PROFILE_FILE: &str = "reference_profile.json";

/// Drift settings for a model's data: its categorical inputs compared as categories (a zip code is
/// not a number), its prediction column named as such.
pub(crate) fn drift_settings(pipeline: &PricePipeline) -> Settings {
    Settings {
        categorical: pipeline.assembler().categorical.clone(),
        prediction: Some(PREDICTION.to_string()),
        ..Settings::default()
    }
}

/// The profile of `rows` of `table`: the model's input columns and its prediction for each row it
/// could score. Columns named in `integers` (integer columns of the source file) are profiled as
/// integers when every value is present, as drift reads such a column from a batch.
pub(crate) fn build(
    pipeline: &PricePipeline,
    table: &Table,
    integers: &[String],
) -> anyhow::Result<Profile> {
    let predictions = pipeline.predict(table)?;
    let a = pipeline.assembler();
    let mut data = Dataset::new();
    for name in a.categorical.iter().chain(&a.numeric) {
        let Some(column) = table.column(name) else {
            anyhow::bail!("the training data has no column `{name}`");
        };
        let values = match &column.data {
            ColumnData::Str(v) => Values::text(predictions.rows.iter().map(|&r| v[r].as_deref())),
            ColumnData::Num(v) => {
                let picked: Vec<Option<f64>> = predictions.rows.iter().map(|&r| v[r]).collect();
                let whole = picked.iter().all(|x| x.is_some_and(|x| x.fract() == 0.0));
                if whole && integers.contains(name) {
                    #[allow(clippy::cast_possible_truncation)]
                    Values::Integer(picked.iter().map(|x| x.unwrap_or(0.0) as i64).collect())
                } else {
                    Values::Numeric(picked.iter().map(|x| x.unwrap_or(f64::NAN)).collect())
                }
            }
        };
        data.push(name.clone(), values)?;
    }
    data.push(PREDICTION, Values::Numeric(predictions.values))?;
    Ok(Profile::build(&data, &drift_settings(pipeline))?)
}
