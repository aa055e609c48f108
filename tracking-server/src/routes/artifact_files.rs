//! Artifact files addressed by their owner rather than by a proxy path: `/get-artifact` (a run's
//! file, as MLflow's UI and older clients fetch it), `/model-versions/get-artifact`, the UI's
//! `upload-artifact`, and a logged model's files. Each resolves the owner's artifact root through
//! `ArtifactSource`, so proxied, HTTP-proxied and local roots behave alike.

use crate::artifact_source::ArtifactSource;
use crate::artifacts::Download;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{MlflowJson, MlflowPath, MlflowQuery};
use crate::state::AppState;
use crate::validation::{validate_artifact_path, validate_run_id};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use protocol::ListArtifactsResponse;
use serde::Deserialize;

/// MLflow's UI uploads small files through this endpoint only (`upload_artifact_handler`).
const MAX_UI_UPLOAD_BYTES: usize = 10 * 1024 * 1024;

/// Paths outside the API prefixes.
pub(super) fn root_router() -> Router<AppState> {
    Router::new()
        .route("/get-artifact", get(get_run_artifact))
        .route(
            "/model-versions/get-artifact",
            get(get_model_version_artifact),
        )
}

/// Paths under both API prefixes.
pub(super) fn api_router() -> Router<AppState> {
    Router::new()
        .route("/upload-artifact", post(upload_run_artifact))
        .route(
            "/logged-models/{model_id}/artifacts/directories",
            get(list_logged_model_artifacts),
        )
        .route(
            "/logged-models/{model_id}/artifacts/files",
            get(get_logged_model_artifact),
        )
}

fn source_of(s: &AppState, uri: &str) -> ApiResult<ArtifactSource> {
    ArtifactSource::of_uri(s, uri).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotImplemented,
            format!(
                "This server cannot read artifacts at '{uri}'; read them from that store directly"
            ),
        )
    })
}

#[derive(Deserialize, Default)]
struct RunArtifactQuery {
    run_id: Option<String>,
    run_uuid: Option<String>,
    path: Option<String>,
}

async fn get_run_artifact(
    State(s): State<AppState>,
    MlflowQuery(q): MlflowQuery<RunArtifactQuery>,
) -> ApiResult<Response> {
    let id = crate::validation::run_id(q.run_id, q.run_uuid)?;
    let path = crate::validation::required(q.path, "path")?;
    validate_artifact_path(&path)?;
    let run = s.store.get_run(&id).await?;
    let download = source_of(&s, &run.info.artifact_uri)?
        .open(&s, &path)
        .await?;
    Ok(attachment(&path, download))
}

#[derive(Deserialize, Default)]
struct VersionArtifactQuery {
    name: Option<String>,
    version: Option<String>,
    path: Option<String>,
}

async fn get_model_version_artifact(
    State(s): State<AppState>,
    MlflowQuery(q): MlflowQuery<VersionArtifactQuery>,
) -> ApiResult<Response> {
    let name = crate::validation::required(q.name, "name")?;
    let version = crate::service::registry::version(q.version.as_deref())?;
    let path = crate::validation::required(q.path, "path")?;
    validate_artifact_path(&path)?;
    let mv = s.store.get_model_version(&name, version).await?;
    let root = crate::service::registry::download_uri(&s, &mv.source).await?;
    let download = source_of(&s, &root)?.open(&s, &path).await?;
    Ok(attachment(&path, download))
}

async fn upload_run_artifact(
    State(s): State<AppState>,
    MlflowQuery(q): MlflowQuery<RunArtifactQuery>,
    req: Request,
) -> ApiResult<Json<serde_json::Value>> {
    let id = q
        .run_uuid
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::invalid("Request must specify run_uuid."))?;
    let path = q
        .path
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::invalid("Request must specify path."))?;
    validate_artifact_path(&path)?;
    let too_large = || ApiError::invalid("Artifact size is too large. Max size is 10MB.");
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|n| n > MAX_UI_UPLOAD_BYTES) {
        return Err(too_large());
    }
    let body = axum::body::to_bytes(req.into_body(), MAX_UI_UPLOAD_BYTES)
        .await
        .map_err(|_| too_large())?;
    if body.is_empty() {
        return Err(ApiError::invalid("Request must specify data."));
    }
    validate_run_id(&id)?;
    let run = s.store.get_run(&id).await?;
    let chunk = futures_util::stream::iter([Ok::<_, std::io::Error>(body)]);
    match source_of(&s, &run.info.artifact_uri)? {
        ArtifactSource::Proxied(base) => {
            let store = s
                .artifacts
                .as_ref()
                .ok_or_else(|| ApiError::not_found("This server does not serve artifacts"))?;
            let rel = if base.is_empty() {
                path
            } else {
                format!("{base}/{path}")
            };
            store.put(&rel, chunk).await?;
        }
        ArtifactSource::Local(root) => {
            let store = crate::artifacts::ArtifactStore::open(&root).map_err(|e| {
                ApiError::internal(format!("cannot open the run's artifact directory: {e}"))
            })?;
            store.put(&path, chunk).await?;
        }
    }
    Ok(super::reply::empty())
}

#[derive(Deserialize, Default)]
struct LoggedModelArtifactQuery {
    artifact_directory_path: Option<String>,
    artifact_file_path: Option<String>,
}

async fn list_logged_model_artifacts(
    State(s): State<AppState>,
    MlflowPath(model_id): MlflowPath<String>,
    MlflowJson(q): MlflowJson<LoggedModelArtifactQuery>,
) -> ApiResult<Json<ListArtifactsResponse>> {
    let rel = q.artifact_directory_path.unwrap_or_default();
    validate_artifact_path(&rel)?;
    let model = s.store.get_logged_model(&model_id, false).await?;
    let root_uri = model.info.artifact_uri;
    let rel = rel.trim_matches('/').to_string();
    let files = source_of(&s, &root_uri)?
        .list_named(&s, &rel, |name| {
            if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            }
        })
        .await?;
    Ok(Json(ListArtifactsResponse {
        root_uri: Some(root_uri),
        files,
        next_page_token: None,
    }))
}

async fn get_logged_model_artifact(
    State(s): State<AppState>,
    MlflowPath(model_id): MlflowPath<String>,
    MlflowQuery(q): MlflowQuery<LoggedModelArtifactQuery>,
) -> ApiResult<Response> {
    let path = q
        .artifact_file_path
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                "Request must include the \"artifact_file_path\" query parameter.",
            )
        })?;
    validate_artifact_path(&path)?;
    let model = s.store.get_logged_model(&model_id, false).await?;
    let download = source_of(&s, &model.info.artifact_uri)?
        .open(&s, &path)
        .await?;
    Ok(attachment(&path, download))
}

/// A file sent as MLflow sends one (`_send_artifact`): always an attachment, so a browser never
/// renders it on our origin, with MLflow's content type and `nosniff`.
pub(crate) fn attachment(path: &str, (stream, len): Download) -> Response {
    let name = path.rsplit('/').next().unwrap_or("artifact");
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(guess_mime(name)),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(&content_disposition(name)) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// Werkzeug's `attachment; filename=…`: bare when the name is an HTTP token, quoted otherwise,
/// plus an RFC 5987 `filename*` for names that are not ASCII.
fn content_disposition(name: &str) -> String {
    let token = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if token {
        return format!("attachment; filename={name}");
    }
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '_'
            }
        })
        .filter(|c| *c != '"' && *c != '\\')
        .collect();
    if name.is_ascii() {
        return format!("attachment; filename=\"{ascii}\"");
    }
    let encoded = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// MLflow's `_guess_mime_type`: its list of text extensions (and the extension-less `MLmodel` and
/// `mlproject`) are `text/plain`; the rest as Python's `mimetypes` knows them, else binary.
pub(crate) fn guess_mime(name: &str) -> &'static str {
    const TEXT: &[&str] = &[
        "txt",
        "log",
        "err",
        "cfg",
        "conf",
        "cnf",
        "cf",
        "ini",
        "properties",
        "prop",
        "hocon",
        "toml",
        "yaml",
        "yml",
        "xml",
        "json",
        "js",
        "py",
        "py3",
        "csv",
        "tsv",
        "md",
        "rst",
        "MLmodel",
        "mlproject",
    ];
    let ext = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext,
        _ => name,
    };
    if TEXT.contains(&ext) {
        return "text/plain";
    }
    match ext.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "tar" => "application/x-tar",
        "wav" => "audio/x-wav",
        "mp3" => "audio/mpeg",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_types_follow_mlflow() {
        assert_eq!(guess_mime("a.txt"), "text/plain");
        assert_eq!(guess_mime("MLmodel"), "text/plain");
        assert_eq!(guess_mime("mlproject"), "text/plain");
        assert_eq!(guess_mime("conda.yaml"), "text/plain");
        assert_eq!(guess_mime("m.json"), "text/plain");
        assert_eq!(guess_mime("b.pkl"), "application/octet-stream");
        assert_eq!(guess_mime("c.png"), "image/png");
        assert_eq!(guess_mime("d.pdf"), "application/pdf");
        assert_eq!(guess_mime("r.html"), "text/html");
        assert_eq!(guess_mime(".hidden"), "application/octet-stream");
    }

    #[test]
    fn content_disposition_is_bare_for_tokens() {
        assert_eq!(
            content_disposition("dog%step%100%timestamp%100.png"),
            "attachment; filename=dog%step%100%timestamp%100.png"
        );
        assert_eq!(
            content_disposition("a b.txt"),
            "attachment; filename=\"a b.txt\""
        );
        assert!(content_disposition("é.txt").contains("filename*=UTF-8''%C3%A9%2Etxt"));
    }
}
