//! Experiments, runs, params, metrics and tags.

use super::{now_ms, ClientResult, Page, TrackingClient};
use protocol::limits::{MAX_BATCH_METRICS, MAX_BATCH_PARAMS, MAX_BATCH_TAGS};
use protocol::{
    CreateExperimentResponse, Experiment, ExperimentResponse, KeyValue, Metric, MetricsResponse,
    Run, RunInfo, RunResponse, RunStatus, SearchExperimentsResponse, SearchRunsResponse,
    UpdateRunResponse, ViewType,
};
use reqwest::Method;
use serde_json::{json, Value};

impl TrackingClient {
    // ---- experiments -------------------------------------------------------------------------

    pub fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[KeyValue],
    ) -> ClientResult<String> {
        let r: CreateExperimentResponse = self.call(
            Method::POST,
            "experiments/create",
            &json!({"name": name, "artifact_location": artifact_location, "tags": tags}),
        )?;
        Ok(r.experiment_id)
    }

    pub fn get_experiment(&self, id: &str) -> ClientResult<Experiment> {
        let r: ExperimentResponse = self.call(
            Method::GET,
            "experiments/get",
            &json!({"experiment_id": id}),
        )?;
        Ok(r.experiment)
    }

    /// `None` when no experiment has that name (the server's 404).
    pub fn get_experiment_by_name(&self, name: &str) -> ClientResult<Option<Experiment>> {
        match self.call::<_, ExperimentResponse>(
            Method::GET,
            "experiments/get-by-name",
            &json!({"experiment_name": name}),
        ) {
            Ok(r) => Ok(Some(r.experiment)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The id of the experiment named `name`, creating it if needed (as `mlflow.set_experiment`).
    pub fn get_or_create_experiment(&self, name: &str) -> ClientResult<String> {
        if let Some(exp) = self.get_experiment_by_name(name)? {
            return Ok(exp.experiment_id);
        }
        match self.create_experiment(name, None, &[]) {
            Err(e) if e.code() == Some("RESOURCE_ALREADY_EXISTS") => self
                .get_experiment_by_name(name)?
                .map(|e| e.experiment_id)
                .ok_or(e),
            other => other,
        }
    }

    pub fn search_experiments(
        &self,
        filter: Option<&str>,
        max_results: i64,
        page_token: Option<&str>,
    ) -> ClientResult<Page<Experiment>> {
        let r: SearchExperimentsResponse = self.call(
            Method::POST,
            "experiments/search",
            &json!({"filter": filter, "max_results": max_results, "page_token": page_token}),
        )?;
        Ok(Page {
            items: r.experiments,
            next_page_token: r.next_page_token,
        })
    }

    pub fn rename_experiment(&self, id: &str, new_name: &str) -> ClientResult<()> {
        self.call::<_, Value>(
            Method::POST,
            "experiments/update",
            &json!({"experiment_id": id, "new_name": new_name}),
        )?;
        Ok(())
    }

    pub fn delete_experiment(&self, id: &str) -> ClientResult<()> {
        self.call::<_, Value>(
            Method::POST,
            "experiments/delete",
            &json!({"experiment_id": id}),
        )?;
        Ok(())
    }

    pub fn restore_experiment(&self, id: &str) -> ClientResult<()> {
        self.call::<_, Value>(
            Method::POST,
            "experiments/restore",
            &json!({"experiment_id": id}),
        )?;
        Ok(())
    }

    pub fn set_experiment_tag(&self, id: &str, key: &str, value: &str) -> ClientResult<()> {
        self.call::<_, Value>(
            Method::POST,
            "experiments/set-experiment-tag",
            &json!({"experiment_id": id, "key": key, "value": value}),
        )?;
        Ok(())
    }

    pub fn delete_experiment_tag(&self, id: &str, key: &str) -> ClientResult<()> {
        self.call::<_, Value>(
            Method::POST,
            "experiments/delete-experiment-tag",
            &json!({"experiment_id": id, "key": key}),
        )?;
        Ok(())
    }

    // ---- runs --------------------------------------------------------------------------------

    pub fn create_run(
        &self,
        experiment_id: &str,
        run_name: Option<&str>,
        tags: &[KeyValue],
    ) -> ClientResult<Run> {
        let r: RunResponse = self.call(
            Method::POST,
            "runs/create",
            &json!({
                "experiment_id": experiment_id,
                "run_name": run_name,
                "start_time": now_ms(),
                "user_id": std::env::var("USER").unwrap_or_default(),
                "tags": tags,
            }),
        )?;
        Ok(r.run)
    }

    pub fn get_run(&self, run_id: &str) -> ClientResult<Run> {
        let r: RunResponse = self.call(Method::GET, "runs/get", &json!({"run_id": run_id}))?;
        Ok(r.run)
    }

    pub fn update_run(
        &self,
        run_id: &str,
        status: RunStatus,
        end_time: Option<i64>,
    ) -> ClientResult<RunInfo> {
        let r: UpdateRunResponse = self.call(
            Method::POST,
            "runs/update",
            &json!({"run_id": run_id, "status": status, "end_time": end_time}),
        )?;
        Ok(r.run_info)
    }

    /// Marks a run finished (or failed) now.
    pub fn end_run(&self, run_id: &str, status: RunStatus) -> ClientResult<RunInfo> {
        self.update_run(run_id, status, Some(now_ms()))
    }

    pub fn delete_run(&self, run_id: &str) -> ClientResult<()> {
        self.call::<_, Value>(Method::POST, "runs/delete", &json!({"run_id": run_id}))?;
        Ok(())
    }

    pub fn restore_run(&self, run_id: &str) -> ClientResult<()> {
        self.call::<_, Value>(Method::POST, "runs/restore", &json!({"run_id": run_id}))?;
        Ok(())
    }

    pub fn search_runs(
        &self,
        experiment_ids: &[&str],
        filter: &str,
        order_by: &[&str],
        view: ViewType,
        max_results: i64,
        page_token: Option<&str>,
    ) -> ClientResult<Page<Run>> {
        let r: SearchRunsResponse = self.call(
            Method::POST,
            "runs/search",
            &json!({
                "experiment_ids": experiment_ids, "filter": filter, "order_by": order_by,
                "run_view_type": view, "max_results": max_results, "page_token": page_token,
            }),
        )?;
        Ok(Page {
            items: r.runs,
            next_page_token: r.next_page_token,
        })
    }

    pub fn log_metric(&self, run_id: &str, key: &str, value: f64, step: i64) -> ClientResult<()> {
        let value = protocol::json::f64_value(value);
        self.call::<_, Value>(
            Method::POST,
            "runs/log-metric",
            &json!({"run_id": run_id, "key": key, "value": value, "timestamp": now_ms(), "step": step}),
        )?;
        Ok(())
    }

    pub fn log_param(&self, run_id: &str, key: &str, value: &str) -> ClientResult<()> {
        self.call::<_, Value>(
            Method::POST,
            "runs/log-parameter",
            &json!({"run_id": run_id, "key": key, "value": value}),
        )?;
        Ok(())
    }

    pub fn set_tag(&self, run_id: &str, key: &str, value: &str) -> ClientResult<()> {
        self.call::<_, Value>(
            Method::POST,
            "runs/set-tag",
            &json!({"run_id": run_id, "key": key, "value": value}),
        )?;
        Ok(())
    }

    pub fn delete_tag(&self, run_id: &str, key: &str) -> ClientResult<()> {
        self.call::<_, Value>(
            Method::POST,
            "runs/delete-tag",
            &json!({"run_id": run_id, "key": key}),
        )?;
        Ok(())
    }

    /// Logs in chunks within the server's batch limits ([`protocol::limits`]).
    pub fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[KeyValue],
        tags: &[KeyValue],
    ) -> ClientResult<()> {
        for chunk in params.chunks(MAX_BATCH_PARAMS) {
            self.call::<_, Value>(
                Method::POST,
                "runs/log-batch",
                &json!({"run_id": run_id, "params": chunk}),
            )?;
        }
        for chunk in tags.chunks(MAX_BATCH_TAGS) {
            self.call::<_, Value>(
                Method::POST,
                "runs/log-batch",
                &json!({"run_id": run_id, "tags": chunk}),
            )?;
        }
        for chunk in metrics.chunks(MAX_BATCH_METRICS) {
            self.call::<_, Value>(
                Method::POST,
                "runs/log-batch",
                &json!({"run_id": run_id, "metrics": chunk}),
            )?;
        }
        Ok(())
    }

    pub fn log_inputs(&self, run_id: &str, datasets: &Value) -> ClientResult<()> {
        self.call::<_, Value>(
            Method::POST,
            "runs/log-inputs",
            &json!({"run_id": run_id, "datasets": datasets}),
        )?;
        Ok(())
    }

    /// The whole history of one metric, following page tokens.
    pub fn get_metric_history(&self, run_id: &str, key: &str) -> ClientResult<Vec<Metric>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let r: MetricsResponse = self.call(
                Method::GET,
                "metrics/get-history",
                &json!({"run_id": run_id, "metric_key": key, "max_results": 25000, "page_token": token}),
            )?;
            out.extend(r.metrics);
            match r.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }

    /// Down-sampled history of one metric for several runs (`get-history-bulk-interval`).
    pub fn get_metric_history_sampled(
        &self,
        run_ids: &[&str],
        key: &str,
        max_results: i64,
    ) -> ClientResult<Vec<Metric>> {
        let r: MetricsResponse = self.call(
            Method::GET,
            "metrics/get-history-bulk-interval",
            &json!({"run_ids": run_ids, "metric_key": key, "max_results": max_results}),
        )?;
        Ok(r.metrics)
    }
}
