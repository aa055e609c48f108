//! The model registry: registered models, versions, stages, aliases, and `models:/` URIs.

use super::{ClientError, ClientResult, TrackingClient};
use protocol::{
    DownloadUriResponse, ModelVersion, ModelVersionResponse, ModelVersionsResponse,
    RegisteredModel, RegisteredModelResponse,
};
use reqwest::Method;
use serde_json::{json, Value};

impl TrackingClient {
    // ---- model registry ----------------------------------------------------------------------

    /// Creates the registered model, or returns the existing one (as `register_model` does).
    pub fn ensure_registered_model(&self, name: &str) -> ClientResult<RegisteredModel> {
        match self.call::<_, RegisteredModelResponse>(
            Method::POST,
            "registered-models/create",
            &json!({"name": name}),
        ) {
            Ok(r) => Ok(r.registered_model),
            Err(e) if e.code() == Some("RESOURCE_ALREADY_EXISTS") => {
                self.get_registered_model(name)
            }
            Err(e) => Err(e),
        }
    }

    pub fn get_registered_model(&self, name: &str) -> ClientResult<RegisteredModel> {
        let r: RegisteredModelResponse =
            self.call(Method::GET, "registered-models/get", &json!({"name": name}))?;
        Ok(r.registered_model)
    }

    pub fn create_model_version(
        &self,
        name: &str,
        source: &str,
        run_id: Option<&str>,
    ) -> ClientResult<ModelVersion> {
        let r: ModelVersionResponse = self.call(
            Method::POST,
            "model-versions/create",
            &json!({"name": name, "source": source, "run_id": run_id}),
        )?;
        Ok(r.model_version)
    }

    pub fn get_model_version(&self, name: &str, version: &str) -> ClientResult<ModelVersion> {
        let r: ModelVersionResponse = self.call(
            Method::GET,
            "model-versions/get",
            &json!({"name": name, "version": version}),
        )?;
        Ok(r.model_version)
    }

    pub fn transition_stage(
        &self,
        name: &str,
        version: &str,
        stage: &str,
        archive_existing: bool,
    ) -> ClientResult<ModelVersion> {
        let r: ModelVersionResponse = self.call(
            Method::POST,
            "model-versions/transition-stage",
            &json!({"name": name, "version": version, "stage": stage, "archive_existing_versions": archive_existing}),
        )?;
        Ok(r.model_version)
    }

    pub fn set_alias(&self, name: &str, alias: &str, version: &str) -> ClientResult<()> {
        self.call::<_, Value>(
            Method::POST,
            "registered-models/alias",
            &json!({"name": name, "alias": alias, "version": version}),
        )?;
        Ok(())
    }

    pub fn get_version_by_alias(&self, name: &str, alias: &str) -> ClientResult<ModelVersion> {
        let r: ModelVersionResponse = self.call(
            Method::GET,
            "registered-models/alias",
            &json!({"name": name, "alias": alias}),
        )?;
        Ok(r.model_version)
    }

    /// The newest version in each of `stages` (every stage when empty).
    pub fn get_latest_versions(
        &self,
        name: &str,
        stages: &[&str],
    ) -> ClientResult<Vec<ModelVersion>> {
        let r: ModelVersionsResponse = self.call(
            Method::POST,
            "registered-models/get-latest-versions",
            &json!({"name": name, "stages": stages}),
        )?;
        Ok(r.model_versions)
    }

    pub fn get_download_uri(&self, name: &str, version: &str) -> ClientResult<String> {
        let r: DownloadUriResponse = self.call(
            Method::GET,
            "model-versions/get-download-uri",
            &json!({"name": name, "version": version}),
        )?;
        Ok(r.artifact_uri)
    }

    /// Resolves `models:/name/<version|stage>` or `models:/name@alias` to a version.
    pub fn resolve_model_uri(&self, uri: &str) -> ClientResult<ModelVersion> {
        let bad = || ClientError::Protocol {
            url: uri.to_string(),
            message: "expected models:/<name>/<version or stage> or models:/<name>@<alias>".into(),
        };
        let rest = uri.strip_prefix("models:/").ok_or_else(bad)?;
        if let Some((name, alias)) = rest.split_once('@') {
            return self.get_version_by_alias(name, alias);
        }
        let (name, which) = rest.rsplit_once('/').ok_or_else(bad)?;
        if which.chars().all(|c| c.is_ascii_digit()) {
            return self.get_model_version(name, which);
        }
        self.get_latest_versions(name, &[which])?
            .into_iter()
            .next()
            .ok_or_else(|| ClientError::Api {
                status: 404,
                code: "RESOURCE_DOES_NOT_EXIST".into(),
                message: format!("no version of model '{name}' is in stage '{which}'"),
            })
    }
}
