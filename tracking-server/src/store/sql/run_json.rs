//! A search page's runs written as MLflow's JSON straight from the rows read (`runs/search`).
//!
//! Why not build the page's [`Run`](protocol::Run)s and serialise them: a 1000-run page is some
//! 15,000 params, tags and metrics, and giving each its own `String`s only to write them out and
//! free them again was a third of the answer's CPU. Here params, tags and metric keys go from the
//! database's text to the answer borrowed ([`KeyValueRef`], [`MetricRef`]), and a string that
//! needed no unescaping is copied as it is: it holds nothing JSON escapes (`"`, `\`, control
//! characters), so serde's escaping would write the same bytes. Everything else (the run info,
//! inputs, outputs, numbers, escaped strings) is written by serde exactly as the [`Run`]'s derived
//! `Serialize` writes it, and the tests hold the two byte for byte.
//!
//! [`Run`]: protocol::Run

use super::run_rows::{ChunkData, InfoRef, KeyValueRef, MetricRef};
use protocol::{RunInputs, RunOutputs};
use serde::Serialize;
use std::borrow::Cow;

/// Appends one run: what serialising its [`protocol::Run`] writes, `data` being the run at
/// position `n` of a chunk.
pub(super) fn write_run(
    out: &mut Vec<u8>,
    info: &InfoRef<'_>,
    data: &ChunkData<'_>,
    n: usize,
    inputs: &RunInputs,
    outputs: &RunOutputs,
) {
    out.extend_from_slice(b"{\"info\":");
    write_info(out, info);
    out.extend_from_slice(b",\"data\":{");
    // `RunData`'s fields in its order, each left out when empty.
    let mut fields = 0;
    let metrics = data.metrics.of(n);
    if metrics.len() > 0 {
        open_list(out, &mut fields, "metrics");
        for (i, m) in metrics.enumerate() {
            write_metric(out, i, m);
        }
        out.push(b']');
    }
    for (name, rows) in [("params", &data.params), ("tags", &data.tags)] {
        let rows = rows.of(n);
        if rows.len() > 0 {
            open_list(out, &mut fields, name);
            for (i, kv) in rows.enumerate() {
                write_pair(out, i, kv);
            }
            out.push(b']');
        }
    }
    out.extend_from_slice(b"},\"inputs\":");
    serde(out, inputs);
    out.extend_from_slice(b",\"outputs\":");
    serde(out, outputs);
    out.push(b'}');
}

/// `RunInfo`'s fields in its order, `end_time` left out when there is none.
fn write_info(out: &mut Vec<u8>, info: &InfoRef<'_>) {
    out.extend_from_slice(b"{\"run_id\":");
    string(out, &info.run_id);
    out.extend_from_slice(b",\"run_uuid\":");
    string(out, &info.run_id);
    out.extend_from_slice(b",\"run_name\":");
    string(out, &info.name);
    out.extend_from_slice(b",\"experiment_id\":\"");
    serde(out, &info.experiment_id);
    out.extend_from_slice(b"\",\"user_id\":");
    string(out, &info.user_id);
    out.extend_from_slice(b",\"status\":\"");
    out.extend_from_slice(info.status.as_str().as_bytes());
    out.extend_from_slice(b"\",\"start_time\":");
    serde(out, &info.start_time);
    if let Some(end_time) = info.end_time {
        out.extend_from_slice(b",\"end_time\":");
        serde(out, &end_time);
    }
    out.extend_from_slice(b",\"artifact_uri\":");
    string(out, &info.artifact_uri);
    out.extend_from_slice(b",\"lifecycle_stage\":");
    string(out, &info.lifecycle_stage);
    out.push(b'}');
}

/// `,"name":[` after the object's earlier fields, `"name":[` as its first.
fn open_list(out: &mut Vec<u8>, fields: &mut usize, name: &str) {
    if *fields > 0 {
        out.push(b',');
    }
    *fields += 1;
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":[");
}

/// `{"key":…,"value":…}`, as `KeyValue`'s `Serialize` writes it.
fn write_pair(out: &mut Vec<u8>, i: usize, kv: &KeyValueRef<'_>) {
    out.extend_from_slice(if i == 0 { b"{\"key\":" } else { b",{\"key\":" });
    string(out, &kv.key);
    out.extend_from_slice(b",\"value\":");
    string(out, &kv.value);
    out.push(b'}');
}

/// `{"key":…,"value":…,"timestamp":…,"step":…}`, as `Metric`'s `Serialize` writes a metric with
/// no run, model or dataset (a run's latest metrics never have one): NaN and infinities as proto3
/// JSON's strings, other values as serde writes an `f64`.
fn write_metric(out: &mut Vec<u8>, i: usize, m: &MetricRef<'_>) {
    out.extend_from_slice(if i == 0 { b"{\"key\":" } else { b",{\"key\":" });
    string(out, &m.key);
    out.extend_from_slice(b",\"value\":");
    if m.value.is_nan() {
        out.extend_from_slice(b"\"NaN\"");
    } else if m.value.is_infinite() {
        out.extend_from_slice(if m.value > 0.0 {
            b"\"Infinity\""
        } else {
            b"\"-Infinity\""
        });
    } else {
        serde(out, &m.value);
    }
    out.extend_from_slice(b",\"timestamp\":");
    serde(out, &m.timestamp);
    out.extend_from_slice(b",\"step\":");
    serde(out, &m.step);
    out.push(b'}');
}

/// A string as serde writes it. One borrowed from the database's JSON held no escape there, so it
/// has no `"`, `\` or control character (JSON must escape those) and serde would copy it unchanged.
#[allow(clippy::ptr_arg)] // not `&str`: which of the two it is is what this reads
fn string(out: &mut Vec<u8>, s: &Cow<'_, str>) {
    match s {
        Cow::Borrowed(s) => {
            out.push(b'"');
            out.extend_from_slice(s.as_bytes());
            out.push(b'"');
        }
        Cow::Owned(s) => serde(out, s),
    }
}

/// Writing to memory fails only for values JSON cannot hold (maps with non-string keys), which
/// none of these are.
fn serde<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    serde_json::to_writer(out, value).expect("run JSON writes to memory");
}

#[cfg(test)]
mod tests {
    use super::super::run_rows::{read_infos, ChunkTexts, Positions};
    use super::super::Dialect;
    use super::*;
    use protocol::{Dataset, DatasetInput, KeyValue, ModelInput, ModelOutput, Run, RunData};
    use serde_json::json;

    /// An info row as the page query writes it.
    fn info_row(n: usize, end_time: Option<i64>) -> serde_json::Value {
        let status = ["FINISHED", "RUNNING", "KILLED", "odd"][n % 4];
        json!([
            format!("r{n}"),
            7,
            format!("run \"{n}\"\n"),
            "",
            status,
            5,
            end_time,
            "mlflow-artifacts:/7/r/artifacts",
            "active"
        ])
    }

    #[test]
    fn writes_what_serialising_the_runs_writes() {
        let tricky = "a:1;\"\\\n\0\u{1f}\u{7f}é日本/</script>";
        let texts = ChunkTexts {
            params: json!([
                [1, "z", tricky],
                [0, "k", "v"],
                [1, "a", ""],
                [1, tricky, "x"]
            ])
            .to_string(),
            tags: json!([[0, "mlflow.runName", "r"], [2, "t", "\u{2028}"]]).to_string(),
            metrics: json!([
                [
                    0,
                    "loss",
                    "0.97119105295318098",
                    0,
                    1_700_000_000_000_i64,
                    3
                ],
                [0, "a\tb", "-0", 0, -1, -2],
                [0, "nan", "0", 1, 0, 0],
                [2, "inf", "Inf", 0, 0, 0],
                [2, "-inf", "-Infinity", 0, 0, 0],
                [2, "tiny", "4.9406564584124654e-324", 0, 0, 0],
                [2, "big", "1.7976931348623157e+308", 0, 0, 0],
                [2, "whole", "1", 0, 0, 0],
                [2, "exp", "1e+22", 0, 0, 0],
            ])
            .to_string(),
        };
        let ids = vec![String::new(); 4];
        let data = ChunkData::parse(&texts, &Positions::new(Dialect::Sqlite, &ids)).unwrap();
        let inputs = RunInputs {
            dataset_inputs: vec![DatasetInput {
                tags: vec![KeyValue::new("mlflow.data.context", "train")],
                dataset: Dataset {
                    name: "d".into(),
                    digest: "x".into(),
                    source_type: "local".into(),
                    source: "{}".into(),
                    schema: Some("{\"mlflow_colspec\": []}".into()),
                    profile: None,
                },
            }],
            model_inputs: vec![ModelInput {
                model_id: "m".into(),
            }],
        };
        let outputs = RunOutputs {
            model_outputs: vec![ModelOutput {
                model_id: "m".into(),
                step: 3,
            }],
        };
        let none = (RunInputs::default(), RunOutputs::default());
        let info_text = serde_json::Value::from(
            (0..4)
                .map(|n| info_row(n, (n % 2 == 0).then_some(9)))
                .collect::<Vec<_>>(),
        )
        .to_string();
        let infos = read_infos(&info_text).unwrap();
        for (n, info) in infos.iter().enumerate() {
            let (inputs, outputs) = if n == 1 {
                (&inputs, &outputs)
            } else {
                (&none.0, &none.1)
            };
            let mut written = Vec::new();
            write_run(&mut written, info, &data, n, inputs, outputs);
            let run = Run {
                info: info.to_info(),
                data: data.run_data(n),
                inputs: inputs.clone(),
                outputs: outputs.clone(),
            };
            let expected = serde_json::to_string(&run).unwrap();
            assert_eq!(String::from_utf8(written).unwrap(), expected, "run {n}");
        }
        assert_eq!(data.run_data(3), RunData::default());
        let m = data.run_data(0).metrics;
        assert_eq!(m[0].key, "a\tb");
        assert!(m[0].value == 0.0 && m[0].value.is_sign_negative());
    }
}
