//! Request extractors whose rejections are MLflow errors, never axum's plain-text 4xx bodies.
//!
//! Both extractors go through a `serde_json::Value` first and then `serde_path_to_error`, so a field of
//! the wrong type is reported by name ("Invalid value 31 for parameter '`run_id`' supplied").

use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, Method};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A JSON request body (POST/PATCH/DELETE), or the query string for a GET.
pub struct MlflowJson<T>(pub T);

/// Query-string arguments: repeated keys become lists, as the Python client sends them.
pub struct MlflowQuery<T>(pub T);

/// Request bodies are small JSON documents; artifacts have their own streaming routes.
const MAX_JSON_BODY: usize = 64 * 1024 * 1024;

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for MlflowJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // GET carries its arguments in the query string; so may a DELETE without a body.
        let bodyless_delete = req.method() == Method::DELETE
            && req.uri().query().is_some()
            && req
                .headers()
                .get(header::CONTENT_LENGTH)
                .is_none_or(|v| v == "0");
        if req.method() == Method::GET || bodyless_delete {
            let (mut parts, _) = req.into_parts();
            let MlflowQuery(v) = MlflowQuery::<T>::from_request_parts(&mut parts, state).await?;
            return Ok(Self(v));
        }
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let body = axum::body::to_bytes(req.into_body(), MAX_JSON_BODY)
            .await
            .map_err(|e| ApiError::bad_request(format!("Could not read request body: {e}")))?;
        // DELETE and PATCH bodies may legitimately be empty; an empty POST body is `{}` as well.
        if body.iter().all(u8::is_ascii_whitespace) {
            return decode(Value::Object(Map::new())).map(Self);
        }
        if !content_type.starts_with("application/json") {
            return Err(ApiError::bad_request(
                "Bad Request. Content-Type must be one of ['application/json'].",
            ));
        }
        let value: Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("Malformed JSON request body: {e}")))?;
        if !value.is_object() {
            return Err(ApiError::bad_request("Request body must be a JSON object."));
        }
        decode(value).map(Self)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for MlflowQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        decode(query_to_json(query)).map(Self)
    }
}

/// Path parameters; a parameter that is not valid UTF-8 (or not the expected type) is MLflow's 400,
/// not axum's plain-text rejection.
pub struct MlflowPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for MlflowPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Self(v))
            .map_err(|e| ApiError::invalid(format!("Invalid path parameter: {}", e.body_text())))
    }
}

/// Query keys that are repeated fields in MLflow's protos: one occurrence is still a list.
const REPEATED_QUERY_KEYS: &[&str] = &[
    "experiment_ids",
    "order_by",
    "run_ids",
    "stages",
    "trace_ids",
];

/// `a=1&b=x&b=y` → `{"a": "1", "b": ["x", "y"]}`; the field deserializers accept strings for numbers.
pub fn query_to_json(query: &str) -> Value {
    let mut map = Map::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let v = Value::String(v.into_owned());
        match map.get_mut(k.as_ref()) {
            None if REPEATED_QUERY_KEYS.contains(&k.as_ref()) => {
                map.insert(k.into_owned(), Value::Array(vec![v]));
            }
            None => {
                map.insert(k.into_owned(), v);
            }
            Some(Value::Array(items)) => items.push(v),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, v]);
            }
        }
    }
    Value::Object(map)
}

/// Deserialises from a borrowed value so that, on failure, the rejected value can be quoted the way
/// MLflow quotes it: `Invalid value 31 for parameter 'run_id' supplied: Hint: Value was of type
/// 'int'.` (clients and MLflow's own tests match on that text).
fn decode<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(&value).map_err(|e| {
        let path = e.path().to_string();
        let rejected = find(&value, e.path());
        let inner = e.into_inner().to_string();
        if path.is_empty() || path == "." {
            return ApiError::invalid(format!("Invalid request: {inner}"));
        }
        match rejected {
            Some(v) if inner.starts_with("invalid type") || inner.starts_with("invalid value") => {
                ApiError::invalid(format!(
                "Invalid value {} for parameter '{path}' supplied:  Hint: Value was of type '{}'. \
                 See the API docs for more information about request parameters.",
                crate::search::pyrepr::json_dumps_compact(v),
                crate::search::pyrepr::py_type(v)
                ))
            }
            _ => ApiError::invalid(format!(
                "Invalid value for parameter '{path}' supplied: {inner}. See the API docs for more \
                 information about request parameters."
            )),
        }
    })
}

/// The value at a deserialisation path, if the path leads to one.
fn find<'a>(root: &'a Value, path: &serde_path_to_error::Path) -> Option<&'a Value> {
    use serde_path_to_error::Segment;
    path.iter().try_fold(root, |v, seg| match seg {
        Segment::Seq { index } => v.get(*index),
        Segment::Map { key } => v.get(key.as_str()),
        Segment::Enum { .. } | Segment::Unknown => Some(v),
    })
}

/// Who made a request, for the registry's history: the client address and its user agent (the user
/// name once authentication is on).
pub struct Actor(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(p) = parts.extensions.get::<crate::auth::Principal>() {
            return Ok(Self(p.user.clone()));
        }
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_string());
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_whitespace().next())
            .unwrap_or("unknown-client");
        let host = forwarded
            .or(peer)
            .unwrap_or_else(|| "unknown-host".to_string());
        Ok(Self(format!("{agent}@{host}")))
    }
}
