//! Runs read in bulk (a search page, a run and its children) as one flat JSON array per table.
//!
//! Why not one row per run or per value: sqlx hands every row from the connection's thread to the
//! runtime separately, and that hand-off was most of a 1000-run search's time. Why flat arrays of
//! arrays (`[[run, key, value], …]`) and not a JSON object per run with its children nested: SQLite
//! re-parses every nested value, and nesting cost four times as much as reading the rows. Flat
//! arrays also beat length-prefixed text built with `||`, which SQLite evaluates one allocation per
//! operator. Child rows are aggregated with no ordering and, on SQLite, no per-run subquery (both
//! cost more than the rows; PostgreSQL looks each run's rows up on their own, for a plan that does
//! not hang on statistics: `runs_read::children_query_pg`); [`ChunkData::parse`] groups them by run and
//! sorts by key. On SQLite a child row names its run by the run's position in the list asked for
//! (`ids.n`), not by its 32-character id: writing, parsing and hashing 40,000 run ids was a fifth of
//! a page of runs with 20 params and 20 metrics each. PostgreSQL would join such a list by hashing
//! the whole table, so there rows keep the run id.

pub(super) use super::json_rows::Malformed;
use super::json_rows::Rows;
use super::Dialect;
use protocol::{KeyValue, Metric, RunData, RunInfo, RunStatus};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::HashMap;

/// The info row of a runs row aliased `p` (the columns of `RUN_COLUMNS`), read by [`read_infos`].
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

fn parse<'a, T: Deserialize<'a>>(text: &'a str) -> Result<Vec<T>, Malformed> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str(text).map_err(Malformed)
}

/// A run's info row as read, its strings borrowed like [`KeyValueRef`]'s.
pub(super) struct InfoRef<'a> {
    pub(super) run_id: Cow<'a, str>,
    pub(super) experiment_id: i64,
    pub(super) name: Cow<'a, str>,
    pub(super) user_id: Cow<'a, str>,
    /// An unknown status reads as running, as MLflow's entities do.
    pub(super) status: RunStatus,
    pub(super) start_time: i64,
    pub(super) end_time: Option<i64>,
    pub(super) artifact_uri: Cow<'a, str>,
    pub(super) lifecycle_stage: Cow<'a, str>,
}

impl InfoRef<'_> {
    pub(super) fn to_info(&self) -> RunInfo {
        RunInfo {
            run_id: self.run_id.to_string(),
            run_uuid: self.run_id.to_string(),
            run_name: self.name.to_string(),
            experiment_id: self.experiment_id.to_string(),
            user_id: self.user_id.to_string(),
            status: self.status,
            start_time: self.start_time,
            end_time: self.end_time,
            artifact_uri: self.artifact_uri.to_string(),
            lifecycle_stage: self.lifecycle_stage.to_string(),
        }
    }
}

/// The runs of an aggregate of [`info_row`]s, in its order, borrowing from it.
pub(super) fn read_infos(text: &str) -> Result<Vec<InfoRef<'_>>, Malformed> {
    let mut rows = Rows::new(text)?;
    let mut infos = Vec::new();
    while rows.next_row()? {
        infos.push(InfoRef {
            run_id: rows.string()?,
            experiment_id: rows.int()?,
            name: rows.string()?,
            user_id: rows.string()?,
            status: RunStatus::parse(&rows.string()?).unwrap_or(RunStatus::Running),
            start_time: rows.int()?,
            end_time: rows.opt_int()?,
            artifact_uri: rows.string()?,
            lifecycle_stage: rows.string()?,
        });
        rows.end_row()?;
    }
    Ok(infos)
}

/// The runs of an aggregate of [`info_row`]s, in its order.
pub(super) fn parse_infos(text: &str) -> Result<Vec<RunInfo>, Malformed> {
    Ok(read_infos(text)?.iter().map(InfoRef::to_info).collect())
}

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

impl<'a> RunRef<'a> {
    /// A row's first element.
    fn read(rows: &mut Rows<'a>) -> Result<Self, Malformed> {
        match rows.string_or_int()? {
            Ok(id) => Ok(RunRef::Id(id)),
            Err(n) => usize::try_from(n)
                .map(RunRef::At)
                .map_err(|_| Malformed(serde::de::Error::custom("run position"))),
        }
    }
}

/// The runs of a chunk by position, and by id for rows that name them so.
pub(super) struct Positions<'a> {
    runs: usize,
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
        Self {
            runs: ids.len(),
            by_id,
        }
    }

    /// The position of a row's run; one outside the list asked for is a malformed answer.
    fn of(&self, run: &RunRef<'_>) -> Result<usize, Malformed> {
        match run {
            RunRef::At(n) => Some(*n),
            RunRef::Id(id) => self.by_id.get(id.as_ref()).copied(),
        }
        .filter(|n| *n < self.runs)
        .ok_or_else(|| Malformed(serde::de::Error::custom("a row of a run not asked for")))
    }
}

/// The params, tags and latest metrics of a chunk of runs as the database answered them: one JSON
/// text per table, of [`Child::row`]s.
pub(super) struct ChunkTexts {
    pub(super) params: String,
    pub(super) tags: String,
    pub(super) metrics: String,
}

/// A param or tag as read. Its strings borrow from the database's text unless they held an escape,
/// so a borrowed one has nothing JSON escapes (see `run_json`).
pub(super) struct KeyValueRef<'a> {
    pub(super) key: Cow<'a, str>,
    pub(super) value: Cow<'a, str>,
}

/// A latest metric as read, its key borrowed like [`KeyValueRef`]'s.
pub(super) struct MetricRef<'a> {
    pub(super) key: Cow<'a, str>,
    pub(super) value: f64,
    pub(super) timestamp: i64,
    pub(super) step: i64,
}

/// One table's rows of a chunk, grouped by run: run `n`'s are `rows[starts[n]..starts[n + 1]]`,
/// in key order, as MLflow answers.
pub(super) struct ByRun<T> {
    rows: Vec<(usize, T)>,
    starts: Vec<usize>,
}

impl<T> ByRun<T> {
    /// Groups rows tagged with their run's position (each below `runs`).
    ///
    /// The rows come grouped and in key order already (each run's are read off the primary key
    /// `(run_uuid, key)`, and on SQLite the runs in list order), which the stable sort checks in
    /// one pass; it sorts only if the database ever answers in another order.
    fn new(mut rows: Vec<(usize, T)>, runs: usize, key: fn(&T) -> &str) -> Self {
        rows.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| key(&a.1).cmp(key(&b.1))));
        let mut starts = vec![0; runs + 1];
        for (n, _) in &rows {
            starts[n + 1] += 1;
        }
        for n in 0..runs {
            starts[n + 1] += starts[n];
        }
        Self { rows, starts }
    }

    /// The rows of the run at position `n`.
    pub(super) fn of(&self, n: usize) -> impl ExactSizeIterator<Item = &T> {
        self.rows[self.starts[n]..self.starts[n + 1]]
            .iter()
            .map(|(_, row)| row)
    }
}

/// The params, tags and latest metrics of a chunk of runs, by run position.
pub(super) struct ChunkData<'a> {
    pub(super) params: ByRun<KeyValueRef<'a>>,
    pub(super) tags: ByRun<KeyValueRef<'a>>,
    pub(super) metrics: ByRun<MetricRef<'a>>,
}

impl<'a> ChunkData<'a> {
    /// Reads a chunk's texts, borrowing from them.
    pub(super) fn parse(texts: &'a ChunkTexts, runs: &Positions<'_>) -> Result<Self, Malformed> {
        let pairs = |text: &'a str| -> Result<ByRun<KeyValueRef<'a>>, Malformed> {
            let mut rows = Rows::new(text)?;
            let mut pairs = Vec::new();
            while rows.next_row()? {
                let run = runs.of(&RunRef::read(&mut rows)?)?;
                let key = rows.string()?;
                let value = rows.string()?;
                rows.end_row()?;
                pairs.push((run, KeyValueRef { key, value }));
            }
            Ok(ByRun::new(pairs, runs.runs, |kv| &kv.key))
        };
        let mut rows = Rows::new(&texts.metrics)?;
        let mut metrics = Vec::new();
        while rows.next_row()? {
            let run = runs.of(&RunRef::read(&mut rows)?)?;
            let key = rows.string()?;
            let value = rows.string()?;
            let is_nan = rows.int()?;
            let metric = MetricRef {
                key,
                value: if is_nan == 1 {
                    f64::NAN
                } else {
                    value.parse().map_err(|_| {
                        Malformed(serde::de::Error::custom(format!("metric value {value:?}")))
                    })?
                },
                timestamp: rows.int()?,
                step: rows.int()?,
            };
            rows.end_row()?;
            metrics.push((run, metric));
        }
        Ok(Self {
            params: pairs(&texts.params)?,
            tags: pairs(&texts.tags)?,
            metrics: ByRun::new(metrics, runs.runs, |m| &m.key),
        })
    }

    /// The data of the run at position `n`, owned.
    pub(super) fn run_data(&self, n: usize) -> RunData {
        let pairs = |rows: &ByRun<KeyValueRef<'_>>| {
            rows.of(n)
                .map(|kv| KeyValue {
                    key: kv.key.to_string(),
                    value: kv.value.to_string(),
                })
                .collect()
        };
        RunData {
            metrics: self
                .metrics
                .of(n)
                .map(|m| Metric {
                    key: m.key.to_string(),
                    value: m.value,
                    timestamp: m.timestamp,
                    step: m.step,
                    ..Default::default()
                })
                .collect(),
            params: pairs(&self.params),
            tags: pairs(&self.tags),
        }
    }
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

    /// The data of each run of `runs` from one table's text.
    fn read(child: Child, text: &str, runs: &Positions<'_>) -> Result<Vec<RunData>, Malformed> {
        let mut texts = ChunkTexts {
            params: String::new(),
            tags: String::new(),
            metrics: String::new(),
        };
        *match child {
            Child::Params => &mut texts.params,
            Child::Tags => &mut texts.tags,
            _ => &mut texts.metrics,
        } = text.to_string();
        let data = ChunkData::parse(&texts, runs)?;
        Ok((0..runs.runs).map(|n| data.run_data(n)).collect())
    }

    fn ids(n: usize) -> Vec<String> {
        vec![String::new(); n]
    }

    #[test]
    fn finds_runs_named_by_id() {
        let ids = ["r0".to_string(), "r1".to_string()];
        let runs = Positions::new(Dialect::Postgres, &ids);
        let text = json!([["r1", "k", "v"], ["r0", "j", "w"]]).to_string();
        let data = read(Child::Tags, &text, &runs).unwrap();
        assert_eq!(
            (data[0].tags[0].key.as_str(), data[1].tags[0].key.as_str()),
            ("j", "k")
        );
        let unknown = json!([["r2", "k", "v"]]).to_string();
        assert!(read(Child::Tags, &unknown, &runs).is_err());
    }

    #[test]
    fn groups_rows_by_run_position_in_key_order() {
        let tricky = "a:1;\"\\\n\0é日本";
        let text = json!([[1, "z", tricky], [0, "k", "v"], [1, "a", ""]]);
        let ids = ids(3);
        let data = read(
            Child::Params,
            &text.to_string(),
            &Positions::new(Dialect::Sqlite, &ids),
        );
        let data = data.unwrap();
        let kv = |k: &str, v: &str| KeyValue {
            key: k.into(),
            value: v.into(),
        };
        assert_eq!(data[1].params, vec![kv("a", ""), kv("z", tricky)]);
        assert_eq!(data[0].params, vec![kv("k", "v")]);
        assert!(data[0].tags.is_empty());
        assert!(data[2].params.is_empty());
    }

    #[test]
    fn reads_sqlite_and_postgres_spellings_of_metric_values() {
        let ids = ids(1);
        for (spelled, is_nan, check) in [
            ("0", 1, f64::is_nan as fn(f64) -> bool),
            ("Inf", 0, |v: f64| v == f64::INFINITY),
            ("-Infinity", 0, |v: f64| v == f64::NEG_INFINITY),
            ("4.9406564584124654e-324", 0, |v: f64| v == 5e-324),
            ("0.30000000000000004", 0, |v: f64| v == 0.1 + 0.2),
        ] {
            let text = json!([[0, "m", spelled, is_nan, 1_700_000_000_000_i64, -3]]);
            let runs = Positions::new(Dialect::Sqlite, &ids);
            let data = read(Child::Metrics, &text.to_string(), &runs).unwrap();
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
        let ids = ids(1);
        let runs = Positions::new(Dialect::Sqlite, &ids);
        for bad in [
            r#"[[0,"k"]]"#,
            r#"[[0,"m","x",0,1,2]]"#,
            r#"[[1,"m","1",0,1,2]]"#,
            r#"[["r","m","1",0,1,2]]"#,
            "[[",
            r#"{"r":1}"#,
        ] {
            assert!(read(Child::Metrics, bad, &runs).is_err(), "{bad}");
        }
        assert!(parse_infos(r#"[["abc", "7"]]"#).is_err());
    }
}
