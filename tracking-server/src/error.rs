//! MLflow's error model: one JSON shape, and an HTTP status that is a function of the error code.
//!
//! The `mlflow` client retries 408/429/5xx for about four minutes, so a client mistake must never be
//! reported as a 5xx: every validation path produces a 4xx code here, and only genuinely unexpected
//! failures (a broken database) become `INTERNAL_ERROR`.

use crate::store::StoreError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The subset of MLflow's `ErrorCode` enum this server emits (`databricks.proto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    InvalidParameterValue,
    ResourceAlreadyExists,
    BadRequest,
    ResourceDoesNotExist,
    EndpointNotFound,
    Unauthenticated,
    PermissionDenied,
    RequestLimitExceeded,
    InternalError,
    NotImplemented,
    TemporarilyUnavailable,
    /// An upload over `--max-upload-bytes`. Not in MLflow's status table (which would make it a 500,
    /// retried for minutes); 413 is what it is, and the client does not retry it.
    MaxBlockSizeExceeded,
}

impl ErrorCode {
    /// MLflow's `ERROR_CODE_TO_HTTP_STATUS` (`mlflow/exceptions.py`), shared by its client and server.
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidParameterValue | Self::ResourceAlreadyExists | Self::BadRequest => {
                StatusCode::BAD_REQUEST
            }
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::PermissionDenied => StatusCode::FORBIDDEN,
            Self::ResourceDoesNotExist | Self::EndpointNotFound => StatusCode::NOT_FOUND,
            Self::RequestLimitExceeded => StatusCode::TOO_MANY_REQUESTS,
            Self::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            Self::NotImplemented => StatusCode::NOT_IMPLEMENTED,
            Self::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::MaxBlockSizeExceeded => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidParameterValue => "INVALID_PARAMETER_VALUE",
            Self::ResourceAlreadyExists => "RESOURCE_ALREADY_EXISTS",
            Self::BadRequest => "BAD_REQUEST",
            Self::ResourceDoesNotExist => "RESOURCE_DOES_NOT_EXIST",
            Self::EndpointNotFound => "ENDPOINT_NOT_FOUND",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::PermissionDenied => "PERMISSION_DENIED",
            Self::RequestLimitExceeded => "REQUEST_LIMIT_EXCEEDED",
            Self::InternalError => "INTERNAL_ERROR",
            Self::NotImplemented => "NOT_IMPLEMENTED",
            Self::TemporarilyUnavailable => "TEMPORARILY_UNAVAILABLE",
            Self::MaxBlockSizeExceeded => "MAX_BLOCK_SIZE_EXCEEDED",
        }
    }
}

/// An error as the client sees it: `{"error_code": …, "message": …}`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParameterValue, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceDoesNotExist, message)
    }
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceAlreadyExists, message)
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalError, message)
    }
    /// An artifact upload over `--max-upload-bytes` (413, which the client does not retry).
    pub fn upload_too_large(limit: u64) -> Self {
        Self::new(
            ErrorCode::MaxBlockSizeExceeded,
            format!(
                "Artifact upload exceeds the server's limit of {limit} bytes (--max-upload-bytes)"
            ),
        )
    }
    /// MLflow's wording for a required field that is absent or empty.
    pub fn missing(field: &str) -> Self {
        Self::invalid(protocol::names::Invalid::missing(field).0)
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error_code: &'a str,
    message: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.code == ErrorCode::InternalError {
            tracing::error!(message = %self.message, "internal error");
        }
        let body = serde_json::to_vec(&ErrorBody {
            error_code: self.code.as_str(),
            message: &self.message,
        })
        .unwrap_or_default();
        let mut response = (self.code.status(), body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.code == ErrorCode::TemporarilyUnavailable {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<crate::search::SearchError> for ApiError {
    fn from(e: crate::search::SearchError) -> Self {
        Self::invalid(e.0)
    }
}

/// The one place a store failure becomes an HTTP answer.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => Self::not_found(m),
            StoreError::AlreadyExists(m) => Self::already_exists(m),
            StoreError::InvalidState(m) | StoreError::Invalid(m) => Self::invalid(m),
            StoreError::Busy(m) => Self::new(ErrorCode::TemporarilyUnavailable, m),
            StoreError::Corrupt(_) | StoreError::Db(_) => {
                tracing::error!(error = %cause_chain(&e), "store failure");
                Self::internal("the tracking store failed; the server log has the cause")
            }
        }
    }
}

/// `error: cause: cause…`, for logs.
pub fn cause_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

pub type ApiResult<T> = Result<T, ApiError>;
