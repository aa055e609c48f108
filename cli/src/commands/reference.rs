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

/// The expectations file `train` writes beside the profile, which `monitor` applies when it is not
/// given `--expect`.
pub(crate) const EXPECTATIONS_FILE: &str = "expectations.toml";

/// Expectations learned from the rows the model was fitted on, in `monitor --expect`'s format: each
/// input column present with its type (`fail`: the model cannot read it otherwise), and as `warn`
/// (counted on the batch's run, nothing set aside) never null when training had no nulls, inside
/// the training range, and among the training categories. A user who wants unseen categories or
/// out-of-range rows rejected rather than scored or skipped edits the policy to `drop` or `fail`.
pub(crate) fn learned_expectations(pipeline: &PricePipeline, table: &Table) -> String {
    use std::fmt::Write as _;
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    let mut out = String::from(
        "# Learned by `mltrack train` from the rows the model was fitted on; `mltrack monitor` applies\n\
         # these unless it is given --expect. Policies: warn (count), drop (quarantine), fail (refuse).\n",
    );
    let a = pipeline.assembler();
    let mut rule = |name: &str, column: &str, check: &str, policy: &str| {
        let _ = write!(
            out,
            "\n[[expect]]\nname = {}\ncolumn = {}\n{check}\npolicy = \"{policy}\"\n",
            quote(&format!("{column}_{name}")),
            quote(column),
        );
    };
    for name in a.categorical.iter().chain(&a.numeric) {
        let Some(column) = table.column(name) else {
            continue;
        };
        match &column.data {
            ColumnData::Str(v) => {
                rule("is_text", name, "type = \"string\"", "fail");
                if v.iter().all(Option::is_some) {
                    rule("present", name, "not_null = true", "warn");
                }
                let mut seen: Vec<&str> = v.iter().flatten().map(String::as_str).collect();
                seen.sort_unstable();
                seen.dedup();
                let list: Vec<String> = seen.iter().map(|s| quote(s)).collect();
                rule(
                    "seen_in_training",
                    name,
                    &format!("in = [{}]", list.join(", ")),
                    "warn",
                );
            }
            ColumnData::Num(v) => {
                rule("is_a_number", name, "type = \"number\"", "fail");
                if v.iter().all(Option::is_some) {
                    rule("present", name, "not_null = true", "warn");
                }
                let finite = v.iter().flatten().copied().filter(|x| x.is_finite());
                let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
                    (lo.min(x), hi.max(x))
                });
                if lo <= hi {
                    rule(
                        "in_training_range",
                        name,
                        &format!("min = {lo:?}\nmax = {hi:?}"),
                        "warn",
                    );
                }
            }
        }
    }
    out
}
