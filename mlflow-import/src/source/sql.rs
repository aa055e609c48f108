//! MLflow's SQL store (SQLite or PostgreSQL), read-only, at the alembic revisions of MLflow 2.x
//! and 3.x. Tables and columns that came later (aliases, datasets, logged models, the inputs'
//! `step`) are looked up first and read only when present.

use super::reader::{logged_model_status_name, Source, STAGE_DELETED_INTERNAL};
use anyhow::{Context, Result};
use protocol::{Dataset, KeyValue, Metric};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::collections::{HashMap, HashSet};
use tracking_server::store::import::{
    ImportExperiment, ImportInput, ImportLoggedModel, ImportModelVersion, ImportRegisteredModel,
    ImportRun,
};

/// MLflow's alembic revisions, oldest first, up to the last one of MLflow 1.x. A store at one of
/// these must be upgraded by MLflow (`mlflow db upgrade`) before it can be imported.
const MLFLOW_1_REVISIONS: &[&str] = &[
    "451aebb31d03",
    "90e64c465722",
    "181f10493468",
    "df50e92ffc5e",
    "7ac759974ad8",
    "89d4b8295536",
    "2b4d017a5e9b",
    "cfd24bdc0731",
    "0a8213491aaa",
    "728d730b5ebd",
    "27a6a02d2cf1",
    "84291f40a231",
    "a8c4a736bde6",
    "39d1c3be5f05",
    "c48cb773bb87",
    "bd07f7e963c5",
    "0c779009ac13",
    "cc1f77228345",
];

/// The revisions of MLflow 2.0 through 3.x that this reader was written against.
const KNOWN_REVISIONS: &[&str] = &[
    "97727af70f4d", // 2.0: experiments' creation and update times
    "3500859a5d39", // 2.3: model aliases
    "7f2a7d5fae7d", // 2.4: datasets and inputs
    "2d6e25af4d3e",
    "acf3f17fdcc7",
    "867495a8f9d4",
    "5b0e9adcef9c",
    "4465047574b1",
    "f5a4f2784254",
    "0584bdc529eb",
    "400f98739977", // 3.0: logged models
    "6953534de441",
    "bda7b8c39065",
    "cbc13b556ace",
    "770bee3ae1dd",
    "a1b2c3d4e5f6",
    "de4033877273",
    "1a0cddfcaa16",
    "534353b11cbc",
    "71994744cf8e",
    "3da73c924c2f",
    "bf29a5ff90ea",
    "1bd49d398cd23",
    "b7c8d9e0f1a2",
    "5d2d30f0abce",
    "c9d4e5f6a7b8",
    "2c33131f4dae",
    "d3e4f5a6b7c8",
    "d0e1f2a3b4c5",
    "c8d9e0f1a2b3",
    "1b5f0d9ad7c1",
    "e1f2a3b4c5d6",
    "76601a5f987d",
    "c3d6457b6d8a",
    "a5b4c3d2e1f0",
    "ae8bbe7743c9",
    "7d34483879f0",
    "da6fb0208061",
    "89d3d66ed43f",
    "b7e4c1a90f23",
    "a8b9c0d1e2f3",
    "c1d2e3f4a5b6",
    "c3d9e7f1a2b4",
    "6f8d9c3b2a1e",
    "1971f2d9a75b",
    "17e22815139b",
    "b7e2c1a4d9f3",
    "75868b020152",
    "dc11669786a5",
];

pub struct SqlSource {
    pool: AnyPool,
    described: String,
    postgres: bool,
    tables: HashSet<String>,
    /// `inputs.step` (MLflow 3.0+).
    input_step: bool,
    /// `model_versions.model_id` (MLflow 3.0+).
    version_model_id: bool,
}

/// A placeholder list `$a, $a+1, …` for `n` values starting at `$start`.
fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn kv(row: &AnyRow, key: usize, value: usize) -> Result<KeyValue, sqlx::Error> {
    Ok(KeyValue {
        key: row.try_get(key)?,
        value: row.try_get::<Option<String>, _>(value)?.unwrap_or_default(),
    })
}

impl SqlSource {
    pub async fn open(uri: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let (url, described, postgres) = if let Some(path) = uri.strip_prefix("sqlite:///") {
            anyhow::ensure!(
                std::path::Path::new(path).is_file(),
                "--from `{uri}`: no such SQLite file `{path}`"
            );
            (format!("sqlite://{path}?mode=ro"), uri.to_string(), false)
        } else {
            // SQLAlchemy URIs may name a driver: postgresql+psycopg2://…
            let rest = uri.split_once("://").map_or("", |(_, r)| r);
            let url = format!("postgresql://{rest}");
            let shown = match rest.split_once('@') {
                Some((_, host)) => format!("postgresql://…@{host}"),
                None => url.clone(),
            };
            (url, shown, true)
        };
        let pool = AnyPoolOptions::new()
            .max_connections(2)
            .connect(&url)
            .await
            .with_context(|| format!("cannot open MLflow store `{described}`"))?;
        let tables_sql = if postgres {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = current_schema()"
        } else {
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        };
        let tables: HashSet<String> = sqlx::query(tables_sql)
            .fetch_all(&pool)
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<Result<_, _>>()?;
        let mut source = Self {
            pool,
            described,
            postgres,
            tables,
            input_step: false,
            version_model_id: false,
        };
        source.check_revision().await?;
        source.input_step = source.has_column("inputs", "step").await?;
        source.version_model_id = source.has_column("model_versions", "model_id").await?;
        Ok(source)
    }

    async fn check_revision(&self) -> Result<()> {
        anyhow::ensure!(
            self.tables.contains("alembic_version") && self.tables.contains("runs"),
            "`{}` is not an MLflow tracking database (no alembic_version or runs table)",
            self.described
        );
        let revision: String = sqlx::query("SELECT version_num FROM alembic_version")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        if MLFLOW_1_REVISIONS.contains(&revision.as_str()) {
            anyhow::bail!(
                "`{}` is at alembic revision {revision}, an MLflow 1.x schema; mltrack reads MLflow \
                 2.x and 3.x stores: upgrade it first with `mlflow db upgrade <uri>` (MLflow 2.0 or \
                 later), then import",
                self.described
            );
        }
        if !KNOWN_REVISIONS.contains(&revision.as_str()) {
            eprintln!(
                "warning: alembic revision {revision} is newer than the MLflow versions mltrack \
                 knows (up to 3.17); importing the tables it knows"
            );
        }
        Ok(())
    }

    async fn has_column(&self, table: &str, column: &str) -> Result<bool> {
        if !self.tables.contains(table) {
            return Ok(false);
        }
        let sql = if self.postgres {
            "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1"
        } else {
            "SELECT name FROM pragma_table_info($1)"
        };
        let columns = sqlx::query(sql).bind(table).fetch_all(&self.pool).await?;
        Ok(columns
            .iter()
            .any(|r| r.try_get::<String, _>(0).is_ok_and(|c| c == column)))
    }

    /// `SELECT … WHERE column IN (ids)` in chunks, rows in one list.
    async fn rows_for(&self, select: &str, column: &str, ids: &[String]) -> Result<Vec<AnyRow>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(500) {
            let sql = format!(
                "{select} WHERE {column} IN ({})",
                placeholders(1, chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id.as_str());
            }
            out.extend(q.fetch_all(&self.pool).await?);
        }
        Ok(out)
    }

    async fn count(&self, table: &str) -> Result<i64> {
        if !self.tables.contains(table) {
            return Ok(0);
        }
        Ok(
            sqlx::query(&format!("SELECT CAST(COUNT(*) AS BIGINT) FROM {table}"))
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?,
        )
    }

    async fn inputs(&self, runs: &mut HashMap<String, ImportRun>, ids: &[String]) -> Result<()> {
        if !self.tables.contains("inputs") {
            return Ok(());
        }
        let step = if self.input_step {
            "CAST(step AS BIGINT)"
        } else {
            "CAST(0 AS BIGINT)"
        };
        let select = format!(
            "SELECT input_uuid, source_type, source_id, destination_type, destination_id, {step} \
             FROM inputs"
        );
        let mut datasets_wanted: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for column in ["destination_id", "source_id"] {
            for row in self.rows_for(&select, column, ids).await? {
                let input_uuid: String = row.try_get(0)?;
                let source_type: String = row.try_get(1)?;
                let source_id: String = row.try_get(2)?;
                let destination_id: String = row.try_get(4)?;
                match (column, source_type.as_str()) {
                    ("destination_id", "DATASET") => {
                        datasets_wanted
                            .entry(source_id)
                            .or_default()
                            .push((destination_id, input_uuid));
                    }
                    ("source_id", "RUN_INPUT") => {
                        if let Some(run) = runs.get_mut(&source_id) {
                            run.model_inputs.push(destination_id);
                        }
                    }
                    ("source_id", "RUN_OUTPUT") => {
                        if let Some(run) = runs.get_mut(&source_id) {
                            run.model_outputs.push((destination_id, row.try_get(5)?));
                        }
                    }
                    _ => {}
                }
            }
        }
        if datasets_wanted.is_empty() {
            return Ok(());
        }
        let uuids: Vec<String> = datasets_wanted.keys().cloned().collect();
        let select = "SELECT dataset_uuid, name, digest, dataset_source_type, dataset_source, \
             dataset_schema, dataset_profile FROM datasets";
        let mut datasets = HashMap::new();
        for row in self.rows_for(select, "dataset_uuid", &uuids).await? {
            let d = Dataset {
                name: row.try_get(1)?,
                digest: row.try_get(2)?,
                source_type: row.try_get(3)?,
                source: row.try_get(4)?,
                schema: row.try_get(5)?,
                profile: row.try_get(6)?,
            };
            datasets.insert(row.try_get::<String, _>(0)?, d);
        }
        let input_uuids: Vec<String> = datasets_wanted
            .values()
            .flatten()
            .map(|(_, input)| input.clone())
            .collect();
        let mut input_tags: HashMap<String, Vec<KeyValue>> = HashMap::new();
        for row in self
            .rows_for(
                "SELECT input_uuid, name, value FROM input_tags",
                "input_uuid",
                &input_uuids,
            )
            .await?
        {
            input_tags
                .entry(row.try_get(0)?)
                .or_default()
                .push(kv(&row, 1, 2)?);
        }
        for (dataset_uuid, uses) in datasets_wanted {
            let Some(dataset) = datasets.get(&dataset_uuid) else {
                continue;
            };
            for (run_id, input_uuid) in uses {
                if let Some(run) = runs.get_mut(&run_id) {
                    run.inputs.push(ImportInput {
                        dataset: dataset.clone(),
                        dataset_uuid: dataset_uuid.clone(),
                        tags: input_tags.remove(&input_uuid).unwrap_or_default(),
                    });
                }
            }
        }
        Ok(())
    }
}

fn metric_from(row: &AnyRow, value: Option<f64>, is_nan: bool) -> Result<Metric, sqlx::Error> {
    Ok(Metric {
        key: row.try_get(1)?,
        value: if is_nan {
            f64::NAN
        } else {
            value.unwrap_or(f64::NAN)
        },
        timestamp: row.try_get(3)?,
        step: row.try_get(4)?,
        ..Metric::default()
    })
}

#[async_trait::async_trait]
impl Source for SqlSource {
    fn describe(&self) -> String {
        self.described.clone()
    }

    async fn experiments(&mut self) -> Result<Vec<ImportExperiment>> {
        let rows = sqlx::query(
            "SELECT CAST(experiment_id AS BIGINT), name, artifact_location, lifecycle_stage, \
             CAST(creation_time AS BIGINT), CAST(last_update_time AS BIGINT) FROM experiments \
             ORDER BY experiment_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut tags: HashMap<i64, Vec<KeyValue>> = HashMap::new();
        for row in sqlx::query(
            "SELECT CAST(experiment_id AS BIGINT), key, value FROM experiment_tags ORDER BY key",
        )
        .fetch_all(&self.pool)
        .await?
        {
            tags.entry(row.try_get(0)?)
                .or_default()
                .push(kv(&row, 1, 2)?);
        }
        rows.iter()
            .map(|r| {
                let id: i64 = r.try_get(0)?;
                Ok(ImportExperiment {
                    experiment_id: id,
                    name: r.try_get(1)?,
                    artifact_location: r.try_get::<Option<String>, _>(2)?.unwrap_or_default(),
                    lifecycle_stage: r
                        .try_get::<Option<String>, _>(3)?
                        .unwrap_or_else(|| "active".into()),
                    creation_time: r.try_get::<Option<i64>, _>(4)?.unwrap_or(0),
                    last_update_time: r.try_get::<Option<i64>, _>(5)?.unwrap_or(0),
                    tags: tags.remove(&id).unwrap_or_default(),
                })
            })
            .collect()
    }

    async fn run_ids(&mut self) -> Result<Vec<String>> {
        Ok(
            sqlx::query("SELECT run_uuid FROM runs ORDER BY experiment_id, start_time, run_uuid")
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?,
        )
    }

    async fn runs(&mut self, ids: &[String]) -> Result<Vec<ImportRun>> {
        let select = "SELECT run_uuid, CAST(experiment_id AS BIGINT), name, user_id, status, \
             CAST(start_time AS BIGINT), CAST(end_time AS BIGINT), artifact_uri, lifecycle_stage, \
             CAST(deleted_time AS BIGINT) FROM runs";
        let mut runs = HashMap::new();
        for r in self.rows_for(select, "run_uuid", ids).await? {
            let run = ImportRun {
                run_uuid: r.try_get(0)?,
                experiment_id: r.try_get(1)?,
                name: r.try_get::<Option<String>, _>(2)?.unwrap_or_default(),
                user_id: r.try_get::<Option<String>, _>(3)?.unwrap_or_default(),
                status: r
                    .try_get::<Option<String>, _>(4)?
                    .unwrap_or_else(|| "RUNNING".into()),
                start_time: r.try_get::<Option<i64>, _>(5)?.unwrap_or(0),
                end_time: r.try_get(6)?,
                artifact_uri: r.try_get::<Option<String>, _>(7)?.unwrap_or_default(),
                lifecycle_stage: r
                    .try_get::<Option<String>, _>(8)?
                    .unwrap_or_else(|| "active".into()),
                deleted_time: r.try_get(9)?,
                ..ImportRun::default()
            };
            runs.insert(run.run_uuid.clone(), run);
        }
        for (table, is_param) in [("params", true), ("tags", false)] {
            let select = format!("SELECT run_uuid, key, value FROM {table}");
            for row in self.rows_for(&select, "run_uuid", ids).await? {
                let run_id: String = row.try_get(0)?;
                if let Some(run) = runs.get_mut(&run_id) {
                    let pair = kv(&row, 1, 2)?;
                    if is_param {
                        run.params.push(pair);
                    } else {
                        run.tags.push(pair);
                    }
                }
            }
        }
        let select =
            "SELECT run_uuid, key, CAST(value AS DOUBLE PRECISION), CAST(timestamp AS BIGINT), \
             CAST(step AS BIGINT), CASE WHEN is_nan THEN 1 ELSE 0 END FROM metrics";
        for row in self.rows_for(select, "run_uuid", ids).await? {
            let run_id: String = row.try_get(0)?;
            let is_nan = row.try_get::<Option<i32>, _>(5).map_or_else(
                |_| row.try_get::<Option<i64>, _>(5).map(|v| v == Some(1)),
                |v| Ok(v == Some(1)),
            )?;
            let metric = metric_from(&row, row.try_get(2)?, is_nan)?;
            if let Some(run) = runs.get_mut(&run_id) {
                run.metrics.push(metric);
            }
        }
        self.inputs(&mut runs, ids).await?;
        Ok(ids.iter().filter_map(|id| runs.remove(id)).collect())
    }

    async fn logged_models(&mut self) -> Result<Vec<ImportLoggedModel>> {
        if !self.tables.contains("logged_models") {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT model_id, CAST(experiment_id AS BIGINT), name, artifact_location, \
             CAST(creation_timestamp_ms AS BIGINT), CAST(last_updated_timestamp_ms AS BIGINT), \
             CAST(status AS BIGINT), model_type, source_run_id, status_message, lifecycle_stage \
             FROM logged_models ORDER BY creation_timestamp_ms, model_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut models = Vec::with_capacity(rows.len());
        let mut index = HashMap::new();
        for r in &rows {
            let m = ImportLoggedModel {
                model_id: r.try_get(0)?,
                experiment_id: r.try_get(1)?,
                name: r.try_get(2)?,
                artifact_location: r.try_get(3)?,
                creation_time: r.try_get(4)?,
                last_updated_time: r.try_get(5)?,
                status: logged_model_status_name(r.try_get(6)?).into(),
                model_type: r.try_get(7)?,
                source_run_id: r.try_get(8)?,
                status_message: r.try_get(9)?,
                lifecycle_stage: r
                    .try_get::<Option<String>, _>(10)?
                    .unwrap_or_else(|| "active".into()),
                ..ImportLoggedModel::default()
            };
            index.insert(m.model_id.clone(), models.len());
            models.push(m);
        }
        for (table, key, value, is_param) in [
            ("logged_model_tags", "tag_key", "tag_value", false),
            ("logged_model_params", "param_key", "param_value", true),
        ] {
            let sql = format!("SELECT model_id, {key}, {value} FROM {table} ORDER BY {key}");
            for row in sqlx::query(&sql).fetch_all(&self.pool).await? {
                let id: String = row.try_get(0)?;
                if let Some(&i) = index.get(&id) {
                    let pair = kv(&row, 1, 2)?;
                    if is_param {
                        models[i].params.push(pair);
                    } else {
                        models[i].tags.push(pair);
                    }
                }
            }
        }
        for row in sqlx::query(
            "SELECT model_id, metric_name, CAST(metric_value AS DOUBLE PRECISION), \
             CAST(metric_timestamp_ms AS BIGINT), CAST(metric_step AS BIGINT), run_id, \
             dataset_name, dataset_digest FROM logged_model_metrics",
        )
        .fetch_all(&self.pool)
        .await?
        {
            let id: String = row.try_get(0)?;
            if let Some(&i) = index.get(&id) {
                let mut metric = metric_from(&row, row.try_get(2)?, false)?;
                metric.run_id = row.try_get(5)?;
                metric.model_id = Some(id);
                metric.dataset_name = row.try_get(6)?;
                metric.dataset_digest = row.try_get(7)?;
                models[i].metrics.push(metric);
            }
        }
        Ok(models)
    }

    async fn registered_models(&mut self) -> Result<Vec<ImportRegisteredModel>> {
        if !self.tables.contains("registered_models") {
            return Ok(Vec::new());
        }
        let mut models = Vec::new();
        let mut index = HashMap::new();
        for r in sqlx::query(
            "SELECT name, CAST(creation_time AS BIGINT), CAST(last_updated_time AS BIGINT), \
             description FROM registered_models ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?
        {
            let m = ImportRegisteredModel {
                name: r.try_get(0)?,
                creation_time: r.try_get::<Option<i64>, _>(1)?.unwrap_or(0),
                last_updated_time: r.try_get::<Option<i64>, _>(2)?.unwrap_or(0),
                description: r.try_get(3)?,
                ..ImportRegisteredModel::default()
            };
            index.insert(m.name.clone(), models.len());
            models.push(m);
        }
        for row in sqlx::query("SELECT name, key, value FROM registered_model_tags ORDER BY key")
            .fetch_all(&self.pool)
            .await?
        {
            let name: String = row.try_get(0)?;
            if let Some(&i) = index.get(&name) {
                models[i].tags.push(kv(&row, 1, 2)?);
            }
        }
        let model_id = if self.version_model_id {
            "model_id"
        } else {
            "NULL"
        };
        let sql = format!(
            "SELECT name, CAST(version AS BIGINT), CAST(creation_time AS BIGINT), \
             CAST(last_updated_time AS BIGINT), description, user_id, current_stage, source, \
             run_id, run_link, status, status_message, {model_id} FROM model_versions \
             ORDER BY name, version"
        );
        let mut version_tags: HashMap<(String, i64), Vec<KeyValue>> = HashMap::new();
        for row in sqlx::query(
            "SELECT name, CAST(version AS BIGINT), key, value FROM model_version_tags ORDER BY key",
        )
        .fetch_all(&self.pool)
        .await?
        {
            version_tags
                .entry((row.try_get(0)?, row.try_get(1)?))
                .or_default()
                .push(kv(&row, 2, 3)?);
        }
        for r in sqlx::query(&sql).fetch_all(&self.pool).await? {
            let name: String = r.try_get(0)?;
            let Some(&i) = index.get(&name) else { continue };
            let version: i64 = r.try_get(1)?;
            models[i].max_version = models[i].max_version.max(version);
            let stage: String = r
                .try_get::<Option<String>, _>(6)?
                .unwrap_or_else(|| "None".into());
            if stage == STAGE_DELETED_INTERNAL {
                continue;
            }
            models[i].versions.push(ImportModelVersion {
                version,
                creation_time: r.try_get::<Option<i64>, _>(2)?.unwrap_or(0),
                last_updated_time: r.try_get::<Option<i64>, _>(3)?.unwrap_or(0),
                description: r.try_get(4)?,
                user_id: r.try_get(5)?,
                current_stage: stage,
                source: r.try_get::<Option<String>, _>(7)?.unwrap_or_default(),
                run_id: r.try_get(8)?,
                run_link: r.try_get(9)?,
                status: r
                    .try_get::<Option<String>, _>(10)?
                    .unwrap_or_else(|| "READY".into()),
                status_message: r.try_get(11)?,
                model_id: r.try_get(12)?,
                tags: version_tags.remove(&(name, version)).unwrap_or_default(),
            });
        }
        if self.tables.contains("registered_model_aliases") {
            for row in sqlx::query(
                "SELECT name, alias, CAST(version AS BIGINT) FROM registered_model_aliases \
                 ORDER BY alias",
            )
            .fetch_all(&self.pool)
            .await?
            {
                let name: String = row.try_get(0)?;
                if let Some(&i) = index.get(&name) {
                    models[i].aliases.push((row.try_get(1)?, row.try_get(2)?));
                }
            }
        }
        Ok(models)
    }

    async fn left_out(&mut self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for (table, what) in [
            ("trace_info", "traces (mltrack does not store traces)"),
            (
                "webhooks",
                "webhooks (their secrets are encrypted with the MLflow server's key: create them again)",
            ),
        ] {
            let n = self.count(table).await?;
            if n > 0 {
                out.push(format!("{n} {what}"));
            }
        }
        Ok(out)
    }
}
