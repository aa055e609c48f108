//! Success bodies as MLflow sends them.

use crate::error::ApiError;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// An empty success body, as MLflow sends it.
pub(crate) fn empty() -> Json<serde_json::Value> {
    Json(serde_json::json!({}))
}

/// A large JSON answer serialised into one buffer sized up front (a 1000-run search is ~1 MB;
/// growing from axum's default 128 bytes would copy it some twenty times).
pub(crate) fn sized_json<T: serde::Serialize>(value: &T, capacity: usize) -> Response {
    let mut body = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        Err(e) => ApiError::internal(format!("could not encode the answer: {e}")).into_response(),
    }
}
