//! The one error every search grammar returns.

/// Every parse failure; the server maps it to `INVALID_PARAMETER_VALUE` (HTTP 400) with this message.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchError(pub String);

impl SearchError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl std::fmt::Display for SearchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SearchError {}
