//! The MLflow model directory: `MLmodel` plus the pipeline as versioned JSON.
//!
//! ```text
//! model/
//!   MLmodel         YAML: flavors.mltrack (pipeline file, format version), signature, uuid, time
//!   pipeline.json   {"format_version": 1, "pipeline": {labels, feature order, trees…}}
//!   sparkml/        the same pipeline as Spark ML's PipelineModel (flavors.spark; see `spark`)
//!   code/mltrack_pyfunc.py   flavors.python_function's loader: numpy + pandas, reads pipeline.json
//! ```
//!
//! `MLmodel` is written by hand (it is a handful of keys, and MLflow stores the signature as JSON
//! strings inside YAML anyway) and read back only for the `mltrack` and `spark` flavors' keys, so
//! no YAML crate is needed. Floats are written by `serde_json`'s shortest round-trip form and read with
//! `float_roundtrip`, so a loaded pipeline predicts bit for bit what the saved one did.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
use crate::pipeline::PricePipeline;

/// The flavor name in `MLmodel`.
pub const FLAVOR: &str = "mltrack";
/// Version of `pipeline.json`; bumped on any incompatible change, refused when unknown.
pub const FORMAT_VERSION: u32 = 1;
/// The pipeline file's name.
pub const PIPELINE_FILE: &str = "pipeline.json";

/// The `python_function` flavor's loader module (numpy + pandas only), shipped in the model
/// directory under [`PYFUNC_CODE_DIR`] so Python needs nothing from mltrack to load the model.
pub const PYFUNC_LOADER: &str = "mltrack_pyfunc";
/// MLflow's `code` directory, put on `sys.path` before the loader module is imported.
pub const PYFUNC_CODE_DIR: &str = "code";
const PYFUNC_SOURCE: &str = include_str!("spark/mltrack_pyfunc.py");

/// Optional MLmodel fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SaveOptions {
    /// The MLflow run that produced the model.
    pub run_id: Option<String>,
    /// `artifact_path` in MLmodel (MLflow's convention is `model`).
    pub artifact_path: Option<String>,
}

#[derive(Serialize)]
struct PipelineFileOut<'a> {
    format_version: u32,
    mltrack_version: &'static str,
    pipeline: &'a PricePipeline,
}

#[derive(Deserialize)]
struct PipelineFileIn {
    format_version: u32,
    pipeline: PricePipeline,
}

/// Writes `pipeline` into `dir` (created if absent; existing files of the same names are replaced).
pub fn save(pipeline: &PricePipeline, dir: &Path, options: &SaveOptions) -> Result<()> {
    let write_err = |path: &Path, e: &dyn std::fmt::Display| ModelError::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| write_err(dir, &e))?;
    let json = serde_json::to_vec(&PipelineFileOut {
        format_version: FORMAT_VERSION,
        mltrack_version: env!("CARGO_PKG_VERSION"),
        pipeline,
    })
    .map_err(|e| write_err(dir, &e))?;
    let pipeline_path = dir.join(PIPELINE_FILE);
    std::fs::write(&pipeline_path, json).map_err(|e| write_err(&pipeline_path, &e))?;
    crate::spark::write::save(pipeline, &dir.join(crate::spark::MODEL_DATA))?;
    let code = dir.join(PYFUNC_CODE_DIR);
    std::fs::create_dir_all(&code).map_err(|e| write_err(&code, &e))?;
    let loader = code.join(format!("{PYFUNC_LOADER}.py"));
    std::fs::write(&loader, PYFUNC_SOURCE).map_err(|e| write_err(&loader, &e))?;
    let mlmodel_path = dir.join("MLmodel");
    std::fs::write(&mlmodel_path, mlmodel_text(pipeline, options))
        .map_err(|e| write_err(&mlmodel_path, &e))?;
    Ok(())
}

/// Reads a model directory written by [`save`]; also a Spark ML `PipelineModel` directory, and an
/// MLflow model with only the `spark` flavor (a pipeline logged by `mlflow.spark`), through
/// [`crate::spark::read`].
pub fn load(dir: &Path) -> Result<PricePipeline> {
    let bad = |message: String| ModelError::Package {
        path: dir.to_path_buf(),
        message,
    };
    if crate::spark::read::is_spark_model(dir) {
        return crate::spark::read::load(dir);
    }
    let mlmodel_path = dir.join("MLmodel");
    let mlmodel = std::fs::read_to_string(&mlmodel_path).map_err(|e| ModelError::Read {
        path: mlmodel_path.clone(),
        message: e.to_string(),
    })?;
    let Some(flavor) = flavor_keys(&mlmodel, FLAVOR) else {
        let spark = flavor_keys(&mlmodel, "spark").ok_or_else(|| {
            bad(format!(
                "MLmodel has neither the `{FLAVOR}` nor the `spark` flavor"
            ))
        })?;
        let data = spark
            .iter()
            .find(|(k, _)| k == "model_data")
            .map_or(crate::spark::MODEL_DATA, |(_, v)| v.as_str());
        if data.contains("..") || Path::new(data).is_absolute() {
            return Err(bad(format!(
                "spark model_data `{data}` leaves the model directory"
            )));
        }
        return crate::spark::read::load(&dir.join(data));
    };
    let version = flavor
        .iter()
        .find(|(k, _)| k == "format_version")
        .map(|(_, v)| v.as_str());
    if version != Some(FORMAT_VERSION.to_string().as_str()) {
        return Err(bad(format!(
            "format_version {} is not supported (expected {FORMAT_VERSION})",
            version.unwrap_or("missing")
        )));
    }
    let file = flavor
        .iter()
        .find(|(k, _)| k == "pipeline")
        .map_or(PIPELINE_FILE, |(_, v)| v.as_str());
    if file.contains("..") || Path::new(file).is_absolute() {
        return Err(bad(format!(
            "pipeline path `{file}` leaves the model directory"
        )));
    }
    let pipeline_path: PathBuf = dir.join(file);
    let bytes = std::fs::read(&pipeline_path).map_err(|e| ModelError::Read {
        path: pipeline_path.clone(),
        message: e.to_string(),
    })?;
    let parsed: PipelineFileIn = serde_json::from_slice(&bytes).map_err(|e| ModelError::Read {
        path: pipeline_path.clone(),
        message: e.to_string(),
    })?;
    if parsed.format_version != FORMAT_VERSION {
        return Err(bad(format!(
            "{file} has format_version {}",
            parsed.format_version
        )));
    }
    parsed.pipeline.validate().map_err(bad)?;
    Ok(parsed.pipeline)
}

/// The `key: value` pairs under `flavors:` → `<name>:`.
fn flavor_keys(mlmodel: &str, name: &str) -> Option<Vec<(String, String)>> {
    let mut lines = mlmodel.lines().skip_while(|l| l.trim_end() != "flavors:");
    lines.next()?;
    let mut in_flavor = false;
    let mut keys = Vec::new();
    for line in lines {
        let indent = line.len() - line.trim_start().len();
        if indent == 0 && !line.trim().is_empty() {
            break;
        }
        if indent == 2 {
            in_flavor = line.trim() == format!("{name}:");
        } else if in_flavor && indent == 4 {
            if let Some((k, v)) = line.trim().split_once(':') {
                keys.push((
                    k.trim().to_string(),
                    v.trim().trim_matches('\'').to_string(),
                ));
            }
        }
    }
    (!keys.is_empty()).then_some(keys)
}

/// MLflow's column-based signature: the inputs the pipeline reads, and the label as output.
pub fn signature(pipeline: &PricePipeline) -> (String, String) {
    let col =
        |name: &str, ty: &str| serde_json::json!({"type": ty, "name": name, "required": true});
    let inputs: Vec<_> = pipeline
        .assembler()
        .categorical
        .iter()
        .map(|c| col(c, "string"))
        .chain(
            pipeline
                .assembler()
                .numeric
                .iter()
                .map(|c| col(c, "double")),
        )
        .collect();
    let outputs = vec![col(pipeline.label(), "double")];
    (
        serde_json::Value::Array(inputs).to_string(),
        serde_json::Value::Array(outputs).to_string(),
    )
}

fn yaml_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn mlmodel_text(pipeline: &PricePipeline, options: &SaveOptions) -> String {
    let (inputs, outputs) = signature(pipeline);
    let mut out = String::new();
    if let Some(a) = &options.artifact_path {
        let _ = writeln!(out, "artifact_path: {}", yaml_quote(a));
    }
    out.push_str("flavors:\n");
    let _ = writeln!(out, "  {FLAVOR}:");
    let _ = writeln!(out, "    format_version: {FORMAT_VERSION}");
    let _ = writeln!(out, "    mltrack_version: {}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(out, "    pipeline: {PIPELINE_FILE}");
    let _ = writeln!(out, "    label: {}", yaml_quote(pipeline.label()));
    let _ = writeln!(out, "    log_label: {}", pipeline.log_label());
    let _ = writeln!(out, "    handle_invalid: {}", pipeline.handle_invalid());
    let _ = writeln!(out, "    num_trees: {}", pipeline.forest().trees().len());
    // mlflow.spark's flavor: `mlflow.spark.load_model` and `spark_udf` load `model_data` with
    // `PipelineModel.load`.
    // MLflow's pyfunc flavor: `code` goes on sys.path, `data` is passed to `_load_pyfunc`.
    out.push_str("  python_function:\n");
    let _ = writeln!(out, "    code: {PYFUNC_CODE_DIR}");
    let _ = writeln!(out, "    data: {PIPELINE_FILE}");
    let _ = writeln!(out, "    loader_module: {PYFUNC_LOADER}");
    out.push_str("    config:\n      skipped: nan\n");
    out.push_str("  spark:\n    code: null\n    model_class: pyspark.ml.pipeline.PipelineModel\n");
    let _ = writeln!(out, "    model_data: {}", crate::spark::MODEL_DATA);
    let _ = writeln!(out, "    pyspark_version: {}", crate::spark::SPARK_VERSION);
    let _ = writeln!(out, "model_uuid: {}", uuid::Uuid::new_v4().simple());
    if let Some(r) = &options.run_id {
        let _ = writeln!(out, "run_id: {}", yaml_quote(r));
    }
    out.push_str("signature:\n");
    let _ = writeln!(out, "  inputs: {}", yaml_quote(&inputs));
    let _ = writeln!(out, "  outputs: {}", yaml_quote(&outputs));
    out.push_str("  params: null\n");
    let _ = writeln!(out, "utc_time_created: {}", yaml_quote(&utc_now()));
    out
}

/// `YYYY-MM-DD HH:MM:SS.ffffff`, MLflow's format, from the system clock (no date crate needed).
fn utc_now() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:06}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_micros()
    )
}
