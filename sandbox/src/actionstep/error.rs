//! The emulator's error answers: JSON:API-style `{"errors": [{"status", "title", "detail"}]}`
//! for the REST API (assumed: Actionstep's own error body is not public), and RFC 6749's
//! `{"error", "error_description"}` for the token endpoint.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// A non-2xx answer of the emulated API.
#[derive(Debug)]
pub struct AsError {
    status: StatusCode,
    detail: String,
    oauth: Option<&'static str>,
}

pub type AsResult<T> = Result<T, AsError>;

impl AsError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> AsError {
        AsError {
            status,
            detail: detail.into(),
            oauth: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> AsError {
        AsError::new(StatusCode::BAD_REQUEST, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> AsError {
        AsError::new(StatusCode::NOT_FOUND, detail)
    }

    pub fn unauthorized() -> AsError {
        AsError::new(StatusCode::UNAUTHORIZED, "a valid Bearer token is required")
    }

    /// RFC 6749 §5.2, e.g. `invalid_grant`.
    pub fn oauth(code: &'static str, detail: impl Into<String>) -> AsError {
        let status = if code == "invalid_client" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        AsError {
            status,
            detail: detail.into(),
            oauth: Some(code),
        }
    }
}

impl IntoResponse for AsError {
    fn into_response(self) -> Response {
        let body = match self.oauth {
            Some(code) => json!({"error": code, "error_description": self.detail}),
            None => json!({"errors": [{
                "status": self.status.as_u16().to_string(),
                "title": self.status.canonical_reason().unwrap_or("Error"),
                "detail": self.detail,
            }]}),
        };
        (self.status, Json(body)).into_response()
    }
}
