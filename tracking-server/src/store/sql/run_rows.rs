//! Runs read in bulk (a search page, a run and its children) as one flat JSON array per table.
//!
//! Why not one row per run or per value: sqlx hands every row from the connection's thread to the
//! runtime separately, and that hand-off was most of a 1000-run search's time. Why flat arrays of
//! arrays (`[[run, key, value], …]`) and not a JSON object per run with its children nested: SQLite
//! re-parses every nested value, and nesting cost four times as much as reading the rows. Flat
//! arrays also beat length-prefixed text built with `||`, which SQLite evaluates one allocation per
//! operator. Child rows are aggregated with no ordering and, on SQLite, no per-run subquery (both
//! cost more than the rows; PostgreSQL looks each run's rows up on their own, for a plan that does
//! not hang on statistics: `runs_read::children_query_pg`); [`add_children`] groups them by run and
//! sorts by key. On SQLite a child row names its run by the run's position in the list asked for
//! (`ids.n`), not by its 32-character id: writing, parsing and hashing 40,000 run ids was a fifth of
//! a page of runs with 20 params and 20 metrics each. PostgreSQL would join such a list by hashing
//! the whole table, so there rows keep the run id.

use super::Dialect;
use protocol::{KeyValue, Metric, RunData, RunInfo, RunStatus};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::HashMap;

/// The info row of a runs row aliased `p` (the columns of `RUN_COLUMNS`), read by [`parse_infos`].
pub(super) fn info_row(dialect: Dialect) -> String {
    dialect.json_array(&[
        "p.run_uuid",
        "p.experiment_id",
        "p.name",
        "p.user_id",
        "p.status",
        "p.start_time",
        "p.end_time",
        "p.artifact_uri",
        "p.lifecycle_stage",
    ])
}

/// A table read per run beside the run itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Child {
    Params,
    Tags,
    Metrics,
    /// Only whether the run has dataset inputs (rare; read in full only for those runs).
    Inputs,
    /// Only whether the run has logged-model outputs (rare too).
    Outputs,
}

impl Child {
    pub(super) const ALL: [Child; 5] = [
        Child::Params,
        Child::Tags,
        Child::Metrics,
        Child::Inputs,
        Child::Outputs,
    ];

    pub(super) fn table(self) -> &'static str {
        match self {
            Child::Params => "params",
            Child::Tags => "tags",
            Child::Metrics => "latest_metrics",
            // Dataset inputs and model inputs both make the run's `inputs` worth reading.
            Child::Inputs => {
                "(SELECT run_uuid FROM run_inputs UNION ALL SELECT run_uuid FROM run_model_inputs)"
            }
            Child::Outputs => "run_outputs",
        }
    }

    /// The JSON of one row aliased `c`, starting with its run: the run's position `ids.n` on SQLite,
    /// its id on PostgreSQL and for inputs and outputs (see [`flagged_runs`]). A metric's value travels as text
    /// that reads back bit-exact (SQLite's JSON writes 15 digits; `%!.17g` is exact, and
    /// PostgreSQL's `float8` text is shortest round-trip), beside its NaN flag.
    pub(super) fn row(self, dialect: Dialect) -> String {
        match self {
            Child::Params | Child::Tags => {
                dialect.json_array(&[dialect.run_ref(), "c.key", "c.value"])
            }
            Child::Metrics => {
                let value = match dialect {
                    Dialect::Sqlite => "printf('%!.17g', c.value)",
                    Dialect::Postgres => "CAST(c.value AS TEXT)",
                };
                dialect.json_array(&[
                    dialect.run_ref(),
                    "c.key",
                    value,
                    "c.is_nan",
                    "c.timestamp",
                    "c.step",
                ])
            }
            Child::Inputs | Child::Outputs => "c.run_uuid".to_string(),
        }
    }
}

/// Text from the database that does not have the shape its query gives: the SQL and this module
/// disagree, which is a bug, never a client mistake.
#[derive(Debug)]
pub(super) struct Malformed(serde_json::Error);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed run rows from the database: {}", self.0)
    }
}

fn parse<'a, T: Deserialize<'a>>(text: &'a str) -> Result<Vec<T>, Malformed> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str(text).map_err(Malformed)
}

#[derive(Deserialize)]
struct InfoRow(
    String,
    i64,
    String,
    String,
    String,
    i64,
    Option<i64>,
    String,
    String,
);

/// The runs of an aggregate of [`info_row`]s, in its order.
pub(super) fn parse_infos(text: &str) -> Result<Vec<RunInfo>, Malformed> {
    Ok(parse::<InfoRow>(text)?
        .into_iter()
        .map(|r| RunInfo {
            run_uuid: r.0.clone(),
            run_id: r.0,
            experiment_id: r.1.to_string(),
            run_name: r.2,
            user_id: r.3,
            status: RunStatus::parse(&r.4).unwrap_or(RunStatus::Running),
            start_time: r.5,
            end_time: r.6,
            artifact_uri: r.7,
            lifecycle_stage: r.8,
        })
        .collect())
}

#[derive(Deserialize)]
struct KeyValueRow<'a>(#[serde(borrow)] RunRef<'a>, String, String);

#[derive(Deserialize)]
struct MetricRow<'a>(
    #[serde(borrow)] RunRef<'a>,
    String,
    #[serde(borrow)] Cow<'a, str>,
    i64,
    i64,
    i64,
);

impl Dialect {
    /// How a child row names its run, see the module doc.
    fn run_ref(self) -> &'static str {
        match self {
            Dialect::Sqlite => "ids.n",
            Dialect::Postgres => "c.run_uuid",
        }
    }
}

/// A child row's run: its position in the list asked for, or its id.
enum RunRef<'a> {
    At(usize),
    Id(Cow<'a, str>),
}

impl<'de: 'a, 'a> Deserialize<'de> for RunRef<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = RunRef<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a run position or a run id")
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Self::Value, E> {
                usize::try_from(n)
                    .map(RunRef::At)
                    .map_err(|_| E::custom("run position"))
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                s: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(RunRef::Id(Cow::Borrowed(s)))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(RunRef::Id(Cow::Owned(s.to_string())))
            }
        }
        d.deserialize_any(Visit)
    }
}

/// The runs of a chunk by position, and by id for rows that name them so.
pub(super) struct Positions<'a> {
    by_id: HashMap<&'a str, usize>,
}

impl<'a> Positions<'a> {
    pub(super) fn new(dialect: Dialect, ids: &'a [String]) -> Self {
        let by_id = match dialect {
            Dialect::Sqlite => HashMap::new(),
            Dialect::Postgres => ids
                .iter()
                .enumerate()
                .map(|(n, id)| (id.as_str(), n))
                .collect(),
        };
        Self { by_id }
    }

    fn of(&self, run: &RunRef<'_>) -> Option<usize> {
        match run {
            RunRef::At(n) => Some(*n),
            RunRef::Id(id) => self.by_id.get(id.as_ref()).copied(),
        }
    }
}

/// Adds the rows of an aggregate of [`Child::row`]s (params, tags or metrics) to their runs' data,
/// `data[n]` being the run at position `n` of the list asked for, then puts each run's list in key
/// order, as MLflow answers. A position outside `data` is a malformed answer.
pub(super) fn add_children(
    child: Child,
    text: &str,
    data: &mut [RunData],
    runs: &Positions<'_>,
) -> Result<(), Malformed> {
    let outside = || Malformed(serde::de::Error::custom("a row of a run not asked for"));
    match child {
        Child::Params | Child::Tags => {
            for KeyValueRow(run, key, value) in parse(text)? {
                let run = runs
                    .of(&run)
                    .and_then(|n| data.get_mut(n))
                    .ok_or_else(outside)?;
                let list = if child == Child::Params {
                    &mut run.params
                } else {
                    &mut run.tags
                };
                list.push(KeyValue { key, value });
            }
            for run in data.iter_mut() {
                let list = if child == Child::Params {
                    &mut run.params
                } else {
                    &mut run.tags
                };
                list.sort_by(|a, b| a.key.cmp(&b.key));
            }
        }
        Child::Metrics => {
            for MetricRow(run, key, value, is_nan, timestamp, step) in parse(text)? {
                let value = if is_nan == 1 {
                    f64::NAN
                } else {
                    value.parse().map_err(|_| {
                        Malformed(serde::de::Error::custom(format!("metric value {value:?}")))
                    })?
                };
                runs.of(&run)
                    .and_then(|n| data.get_mut(n))
                    .ok_or_else(outside)?
                    .metrics
                    .push(Metric {
                        key,
                        value,
                        timestamp,
                        step,
                        run_id: None,
                        ..Default::default()
                    });
            }
            for run in data.iter_mut() {
                run.metrics.sort_by(|a, b| a.key.cmp(&b.key));
            }
        }
        Child::Inputs | Child::Outputs => {}
    }
    Ok(())
}

/// The run ids of an aggregate of [`Child::Inputs`] or [`Child::Outputs`] rows: the runs whose
/// inputs or outputs are worth reading.
pub(super) fn flagged_runs(text: &str) -> Result<Vec<String>, Malformed> {
    parse(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn runs(n: usize) -> Vec<RunData> {
        vec![RunData::default(); n]
    }

    fn by_position() -> Positions<'static> {
        Positions::new(Dialect::Sqlite, &[])
    }

    #[test]
    fn finds_runs_named_by_id() {
        let ids = ["r0".to_string(), "r1".to_string()];
        let runs = Positions::new(Dialect::Postgres, &ids);
        let mut data = vec![RunData::default(); 2];
        let text = json!([["r1", "k", "v"], ["r0", "j", "w"]]).to_string();
        add_children(Child::Tags, &text, &mut data, &runs).unwrap();
        assert_eq!(
            (data[0].tags[0].key.as_str(), data[1].tags[0].key.as_str()),
            ("j", "k")
        );
        let unknown = json!([["r2", "k", "v"]]).to_string();
        assert!(add_children(Child::Tags, &unknown, &mut data, &runs).is_err());
    }

    #[test]
    fn groups_rows_by_run_position_in_key_order() {
        let tricky = "a:1;\"\\\n\0é日本";
        let text = json!([[1, "z", tricky], [0, "k", "v"], [1, "a", ""]]);
        let mut data = runs(2);
        add_children(Child::Params, &text.to_string(), &mut data, &by_position()).unwrap();
        let kv = |k: &str, v: &str| KeyValue {
            key: k.into(),
            value: v.into(),
        };
        assert_eq!(data[1].params, vec![kv("a", ""), kv("z", tricky)]);
        assert_eq!(data[0].params, vec![kv("k", "v")]);
        assert!(data[0].tags.is_empty());
    }

    #[test]
    fn reads_sqlite_and_postgres_spellings_of_metric_values() {
        for (spelled, is_nan, check) in [
            ("0", 1, f64::is_nan as fn(f64) -> bool),
            ("Inf", 0, |v: f64| v == f64::INFINITY),
            ("-Infinity", 0, |v: f64| v == f64::NEG_INFINITY),
            ("4.9406564584124654e-324", 0, |v: f64| v == 5e-324),
            ("0.30000000000000004", 0, |v: f64| v == 0.1 + 0.2),
        ] {
            let text = json!([[0, "m", spelled, is_nan, 1_700_000_000_000_i64, -3]]);
            let mut data = runs(1);
            add_children(Child::Metrics, &text.to_string(), &mut data, &by_position()).unwrap();
            let m = &data[0].metrics[0];
            assert!(check(m.value), "{spelled}");
            assert_eq!((m.timestamp, m.step), (1_700_000_000_000, -3));
        }
    }

    #[test]
    fn flags_the_runs_with_inputs() {
        assert_eq!(flagged_runs(r#"["a","b"]"#).unwrap(), ["a", "b"]);
        assert!(flagged_runs("").unwrap().is_empty());
    }

    #[test]
    fn reads_info_rows_with_and_without_end_time() {
        let row = |end: Option<i64>| {
            json!([
                "abc",
                7,
                "run",
                "ann",
                "FINISHED",
                5,
                end,
                "mlflow-artifacts:/7/abc/artifacts",
                "active"
            ])
        };
        let infos = parse_infos(&json!([row(Some(9)), row(None)]).to_string()).unwrap();
        assert_eq!(infos[0].experiment_id, "7");
        assert_eq!(infos[0].end_time, Some(9));
        assert_eq!(infos[0].status, RunStatus::Finished);
        assert_eq!(infos[1].end_time, None);
        assert!(parse_infos("").unwrap().is_empty());
    }

    #[test]
    fn refuses_rows_of_another_shape() {
        let mut data = runs(1);
        for bad in [
            r#"[[0,"k"]]"#,
            r#"[[0,"m","x",0,1,2]]"#,
            r#"[[1,"m","1",0,1,2]]"#,
            r#"[["r","m","1",0,1,2]]"#,
            "[[",
            r#"{"r":1}"#,
        ] {
            assert!(
                add_children(Child::Metrics, bad, &mut data, &by_position()).is_err(),
                "{bad}"
            );
        }
        assert!(parse_infos(r#"[["abc", "7"]]"#).is_err());
    }
}
