//! Writer and reader against each other, and the reader's refusals. Agreement with Spark itself is
//! checked end to end with pyspark (tests/e2e/spark.rs).

use std::path::Path;

use crate::dataset::{Column, Table};
use crate::forest::RandomForestParams;
use crate::pipeline::{PipelineParams, PricePipeline};

fn table(n: u32) -> Table {
    let rooms = [
        "Entire home/apt",
        "Private room",
        "Shared room",
        "Hotel room",
    ];
    let hoods = ["Mission", "Castro", "Nob Hill"];
    Table::new(vec![
        Column::numbers("accommodates", (0..n).map(|i| Some(f64::from(i % 6 + 1)))),
        Column::strings(
            "room_type",
            (0..n).map(|i| Some(rooms[(i % 7 % 4) as usize])),
        ),
        Column::numbers(
            "latitude",
            (0..n).map(|i| Some(37.7 + f64::from(i % 13) / 100.0)),
        ),
        Column::strings(
            "neighbourhood",
            (0..n).map(|i| Some(hoods[(i % 5 % 3) as usize])),
        ),
        Column::numbers(
            "price",
            (0..n).map(|i| {
                Some(
                    40.0 + 30.0 * f64::from(i % 6)
                        + 90.0 * f64::from(u8::from(i % 7 % 4 == 0))
                        + f64::from(i % 13),
                )
            }),
        ),
    ])
    .unwrap()
}

fn fitted(log_label: bool) -> PricePipeline {
    let params = PipelineParams {
        log_label,
        forest: RandomForestParams::new()
            .num_trees(7)
            .max_depth(6)
            .max_bins(40)
            .seed(3),
        ..PipelineParams::default()
    };
    PricePipeline::fit(&table(400), &params).unwrap()
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn stage_dir(root: &Path, prefix: &str) -> std::path::PathBuf {
    std::fs::read_dir(root.join("stages"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .unwrap()
}

#[test]
fn a_written_spark_pipeline_reads_back_and_predicts_bit_for_bit() {
    for log_label in [false, true] {
        let model = fitted(log_label);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sparkml");
        super::write::save(&model, &path).unwrap();
        let back = super::read::load(&path).unwrap();
        let t = table(150);
        let (a, b) = (model.predict(&t).unwrap(), back.predict(&t).unwrap());
        assert_eq!(bits(&a.values), bits(&b.values), "log_label {log_label}");
        assert_eq!(a.rows, b.rows);
        assert_eq!(back.log_label(), log_label);
        assert_eq!(back.forest().trees().len(), 7);
    }
}

#[test]
fn boosted_tree_weights_survive_the_round_trip_and_weight_the_sum() {
    let model = fitted(false);
    let f = model.forest();
    let weights: Vec<f64> = (0..f.trees().len())
        .map(|t| if t == 0 { 1.0 } else { 0.1 })
        .collect();
    let gbt = crate::forest::RandomForestModel::from_trees(
        f.params().clone(),
        f.feature_names().to_vec(),
        f.trees().to_vec(),
        Some(weights.clone()),
    )
    .unwrap();
    let row = [0.0, 1.0, 3.0, 37.75];
    let expected: f64 = f
        .trees()
        .iter()
        .zip(&weights)
        .map(|(t, w)| w * t.predict(&row))
        .sum();
    assert_eq!(gbt.predict_row(&row).to_bits(), expected.to_bits());
    let x = ndarray::Array2::from_shape_vec((1, 4), row.to_vec()).unwrap();
    assert!((gbt.predict_array(x.view()).unwrap()[0] - expected).abs() <= 1e-12 * expected.abs());

    let pipeline = PricePipeline::from_parts(
        "price".into(),
        model.handle_invalid(),
        false,
        model.indexers().to_vec(),
        model.assembler().clone(),
        gbt,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    super::write::save(&pipeline, dir.path()).unwrap();
    let meta =
        std::fs::read_to_string(stage_dir(dir.path(), "2_").join("metadata/part-00000")).unwrap();
    assert!(meta.contains(super::GBT_CLASS), "{meta}");
    let back = super::read::load(dir.path()).unwrap();
    assert_eq!(back.forest().tree_weights(), Some(weights.as_slice()));
}

fn refusal(edit: impl Fn(&Path)) -> String {
    let dir = tempfile::tempdir().unwrap();
    super::write::save(&fitted(false), dir.path()).unwrap();
    edit(dir.path());
    super::read::load(dir.path()).unwrap_err().to_string()
}

#[test]
fn a_truncated_directory_is_refused_naming_what_is_missing() {
    let e = refusal(|d| std::fs::remove_dir_all(stage_dir(d, "2_").join("data")).unwrap());
    assert!(e.contains("data"), "{e}");
    let e = refusal(|d| std::fs::remove_dir_all(stage_dir(d, "1_")).unwrap());
    assert!(e.contains("stage 1") && e.contains("missing"), "{e}");
}

#[test]
fn an_unsupported_stage_is_refused_by_name() {
    let e = refusal(|d| {
        let p = stage_dir(d, "1_").join("metadata/part-00000");
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(
            &p,
            text.replace(
                super::ASSEMBLER_CLASS,
                "org.apache.spark.ml.feature.OneHotEncoderModel",
            ),
        )
        .unwrap();
    });
    assert!(e.contains("OneHotEncoderModel"), "{e}");
}

#[test]
fn a_model_from_a_newer_spark_is_refused() {
    let e = refusal(|d| {
        let p = d.join("metadata/part-00000");
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, text.replace(super::SPARK_VERSION, "5.0.0")).unwrap();
    });
    assert!(e.contains("5.0.0") && e.contains("newer"), "{e}");
}
