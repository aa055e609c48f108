//! Endpoint paths. The server mounts every REST route under both prefixes (the `mlflow` client uses
//! `/api/2.0`, MLflow's own web UI `/ajax-api/2.0`); clients use [`API`].

/// The REST API's prefix, as the `mlflow` client calls it.
pub const API: &str = "/api/2.0/mlflow";
/// The same routes under the prefix MLflow's web UI uses.
pub const AJAX_API: &str = "/ajax-api/2.0/mlflow";
/// The artifact proxy (`mlflow-artifacts`): `{ARTIFACTS}/artifacts/<path>`.
pub const ARTIFACTS: &str = "/api/2.0/mlflow-artifacts";
/// The artifact proxy under the web UI's prefix.
pub const AJAX_ARTIFACTS: &str = "/ajax-api/2.0/mlflow-artifacts";

/// `{base}{API}/{endpoint}`, e.g. `api_url("http://h:5000", "runs/create")`.
pub fn api_url(base: &str, endpoint: &str) -> String {
    format!(
        "{}{API}/{}",
        base.trim_end_matches('/'),
        endpoint.trim_start_matches('/')
    )
}

/// `{base}{ARTIFACTS}/artifacts/{path}`; `path` is already percent-encoded.
pub fn artifact_url(base: &str, path: &str) -> String {
    let path = path.trim_start_matches('/');
    let base = base.trim_end_matches('/');
    if path.is_empty() {
        format!("{base}{ARTIFACTS}/artifacts")
    } else {
        format!("{base}{ARTIFACTS}/artifacts/{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_join_without_doubled_slashes() {
        assert_eq!(
            api_url("http://h:1/", "runs/get"),
            "http://h:1/api/2.0/mlflow/runs/get"
        );
        assert_eq!(
            artifact_url("http://h:1", "1/abc/artifacts/m"),
            "http://h:1/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/m"
        );
        assert_eq!(
            artifact_url("http://h:1", ""),
            "http://h:1/api/2.0/mlflow-artifacts/artifacts"
        );
    }
}
