//! The web UI: server-rendered pages for experiments, runs, charts, artifacts and the model registry.
//!
//! Every page is HTML rendered from askama templates (checked at compile time) and reads the same
//! store traits as the REST API; writes are plain form POSTs that go through the API's validation, so
//! the UI cannot do anything the API would refuse. Pages work with JavaScript off; `app.js` only adds
//! sorting without a reload, collapsing nested runs and the MLflow hash-link redirect.
//!
//! Paths stay clear of the API's prefixes (`/api`, `/ajax-api`), `/health`, `/version` and `/metrics`.

mod artifacts;
mod charts;
mod columns;
mod compare;
mod experiments;
mod export;
pub(crate) mod format;
mod heatmap;
mod monitoring;
mod registry;
mod registry_edit;
mod run;
mod run_edit;
mod runs;

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use askama::Template;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(experiments::list))
        .route("/experiments", post(experiments::create))
        .route("/experiments/{id}", get(runs::page))
        .route("/experiments/{id}/rename", post(experiments::rename))
        .route("/experiments/{id}/delete", post(experiments::delete))
        .route("/experiments/{id}/restore", post(experiments::restore))
        .route(
            "/experiments/{id}/description",
            post(experiments::description),
        )
        .route("/experiments/{id}/tags", post(experiments::tag))
        .route(
            "/experiments/{id}/tags/delete",
            post(experiments::delete_tag),
        )
        .route("/experiments/{id}/runs.csv", get(export::csv))
        .route("/experiments/{id}/runs/{run_id}", get(run::page))
        .route("/runs/{run_id}", get(run::redirect))
        .route("/runs/{run_id}/metric", get(run::metric_page))
        .route("/runs/{run_id}/delete", post(run_edit::delete))
        .route("/runs/{run_id}/restore", post(run_edit::restore))
        .route("/runs/{run_id}/rename", post(run_edit::rename))
        .route("/runs/{run_id}/description", post(run_edit::description))
        .route("/runs/{run_id}/tags", post(run_edit::set_tag))
        .route("/runs/{run_id}/tags/delete", post(run_edit::delete_tag))
        .route("/runs/{run_id}/artifacts", get(artifacts::view))
        .route("/runs/{run_id}/artifacts/raw", get(artifacts::raw))
        .route("/compare", get(compare::page))
        .route("/models", get(registry::models))
        .route("/models/{name}", get(registry::model))
        .route("/models/{name}/monitoring", get(monitoring::page))
        .route("/models/{name}/versions/{version}", get(registry::version))
        .route(
            "/models/{name}/versions/{version}/stage",
            post(registry::transition),
        )
        .route(
            "/models/{name}/description",
            post(registry_edit::model_description),
        )
        .route("/models/{name}/tags", post(registry_edit::model_tag))
        .route(
            "/models/{name}/tags/delete",
            post(registry_edit::model_tag_delete),
        )
        .route(
            "/models/{name}/versions/{version}/description",
            post(registry_edit::version_description),
        )
        .route(
            "/models/{name}/versions/{version}/aliases",
            post(registry_edit::set_alias),
        )
        .route(
            "/models/{name}/versions/{version}/aliases/delete",
            post(registry_edit::delete_alias),
        )
        .route(
            "/models/{name}/versions/{version}/tags",
            post(registry_edit::version_tag),
        )
        .route(
            "/models/{name}/versions/{version}/tags/delete",
            post(registry_edit::version_tag_delete),
        )
        .route(
            "/models/{name}/versions/{version}/delete",
            post(registry_edit::delete_version),
        )
        .route("/ui/static/style.css", get(style))
        .route("/ui/static/app.js", get(script))
}

const STYLE: &str = include_str!("../../templates/static/style.css");
const SCRIPT: &str = include_str!("../../templates/static/app.js");

/// Static assets are tiny and change only with the binary, so a day of caching is safe.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

/// Which tab of the header is active (`"experiments"` or `"models"`).
pub(crate) type Nav = &'static str;

/// A failed page: the MLflow error code and message, shown inline with the API's status code.
#[derive(Debug)]
pub(crate) struct UiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: String,
    nav: Nav,
    status: u16,
    code: &'a str,
    message: &'a str,
}

impl From<ApiError> for UiError {
    fn from(e: ApiError) -> Self {
        if e.code == ErrorCode::InternalError {
            tracing::error!(message = %e.message, "internal error in a UI page");
        }
        Self {
            status: e.code.status(),
            code: e.code.as_str(),
            message: e.message,
        }
    }
}

impl From<crate::store::StoreError> for UiError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<protocol::names::Invalid> for UiError {
    fn from(e: protocol::names::Invalid) -> Self {
        ApiError::from(e).into()
    }
}

impl From<crate::search::SearchError> for UiError {
    fn from(e: crate::search::SearchError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            title: format!("{} {}", self.status.as_u16(), self.code),
            nav: "experiments",
            status: self.status.as_u16(),
            code: self.code,
            message: &self.message,
        };
        let mut response = render(&page);
        *response.status_mut() = self.status;
        response
    }
}

pub(crate) type UiResult<T = Response> = Result<T, UiError>;

/// The 404 page for a path no route serves, for browsers (the API's fallback stays JSON).
pub fn not_found(path: &str) -> Response {
    UiError {
        status: StatusCode::NOT_FOUND,
        code: "ENDPOINT_NOT_FOUND",
        message: format!("No page at {path}"),
    }
    .into_response()
}

/// Renders a page; a template error is a bug, reported as a 500 page in plain text.
pub(crate) fn render<T: Template>(page: &T) -> Response {
    match page.render() {
        Ok(html) => {
            let mut response = Html(html).into_response();
            response.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(PAGE_CSP),
            );
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("template error: {e}"),
            )
                .into_response()
        }
    }
}

/// A page rendered with a status other than 200 (a form re-shown with its error).
pub(crate) fn render_status<T: Template>(status: StatusCode, page: &T) -> Response {
    let mut response = render(page);
    if response.status() == StatusCode::OK {
        *response.status_mut() = status;
    }
    response
}

/// After a successful form POST: a 303 so that reloading the next page does not post again.
pub(crate) fn see_other(location: &str) -> Response {
    Redirect::to(location).into_response()
}

/// Query-string or form fields; a repeated key keeps every value in order.
#[derive(Debug, Default)]
pub(crate) struct Fields(HashMap<String, Vec<String>>);

impl Fields {
    pub(crate) fn parse(text: &[u8]) -> Self {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in form_urlencoded::parse(text) {
            map.entry(k.into_owned()).or_default().push(v.into_owned());
        }
        Self(map)
    }

    pub(crate) fn query(raw: Option<&str>) -> Self {
        Self::parse(raw.unwrap_or("").as_bytes())
    }

    /// The first value, trimmed; empty counts as absent.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .and_then(|v| v.first())
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    /// The first value exactly as sent (names are validated as the API receives them, untrimmed).
    pub(crate) fn raw(&self, key: &str) -> Option<String> {
        self.0.get(key).and_then(|v| v.first()).cloned()
    }

    pub(crate) fn all(&self, key: &str) -> &[String] {
        self.0.get(key).map_or(&[], Vec::as_slice)
    }

    /// A list given as repeated keys, comma-separated values, or both.
    pub(crate) fn list(&self, key: &str) -> Vec<String> {
        self.all(key)
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    }

    pub(crate) fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("1" | "on" | "true" | "yes"))
    }
}

/// The refused form's name and its typed key and value, put back into that form.
#[derive(Default)]
pub(crate) struct Typed {
    pub form: &'static str,
    pub key: String,
    pub value: String,
}

impl Typed {
    pub(crate) fn new(form: &'static str, key: String, value: String) -> Self {
        Self { form, key, value }
    }

    /// The typed text for `form` when that form was refused, else `current`.
    pub(crate) fn or<'a>(&'a self, form: &str, current: &'a str) -> &'a str {
        if self.form == form {
            &self.value
        } else {
            current
        }
    }

    pub(crate) fn key_for<'a>(&'a self, form: &str) -> &'a str {
        if self.form == form {
            &self.key
        } else {
            ""
        }
    }
}

/// Form POSTs are simple requests that any web page can make a browser send, so a write is refused
/// unless it comes from a page of this server (or from a client that sends no browser headers).
pub(crate) fn same_origin(headers: &HeaderMap) -> UiResult<()> {
    let cross_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site");
    // Behind a reverse proxy the browser's origin is the proxy's host, which it forwards.
    let hosts: Vec<&str> = [header::HOST.as_str(), "x-forwarded-host"]
        .iter()
        .filter_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()))
        .collect();
    let origin_mismatch = match headers.get(header::ORIGIN) {
        Some(origin) if !hosts.is_empty() => {
            let origin = origin.to_str().unwrap_or("");
            origin != "null"
                && origin
                    .split_once("://")
                    .map(|(_, rest)| rest)
                    .is_none_or(|rest| !hosts.contains(&rest))
        }
        _ => false,
    };
    if cross_site || origin_mismatch {
        return Err(UiError {
            status: StatusCode::FORBIDDEN,
            code: "PERMISSION_DENIED",
            message: "This form may only be submitted from the mltrack UI itself.".into(),
        });
    }
    Ok(())
}

/// Percent-encodes one path segment or query value.
pub(crate) fn enc(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

pub(crate) fn run_url(experiment_id: &str, run_id: &str) -> String {
    format!("/experiments/{experiment_id}/runs/{run_id}")
}

pub(crate) fn model_url(name: &str) -> String {
    format!("/models/{}", enc(name))
}

pub(crate) fn version_url(name: &str, version: &str) -> String {
    format!("/models/{}/versions/{}", enc(name), enc(version))
}

/// The pages' `Content-Security-Policy`: no inline scripts, nothing from elsewhere.
const PAGE_CSP: &str =
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'";
