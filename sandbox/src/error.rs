//! The two error shapes the sandbox speaks: iManage's envelope for `/api` and `/work/api`, and the
//! OAuth 2 shape (RFC 6749 §5.2) for `/auth/oauth2/token`, because real clients parse them apart.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// The version iManage reports in envelopes and discovery; clients sometimes log it, none branch on it.
pub const DMS_VERSION: &str = "10.4.0";

/// One entry of the envelope's `messages`, pointing at the offending field when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorMessage {
    pub code: String,
    pub code_message: String,
    pub field: Option<String>,
}

/// A non-2xx answer in iManage's error envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code_message: String,
    pub messages: Vec<ErrorMessage>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code_message: impl Into<String>) -> Self {
        ApiError {
            status,
            code_message: code_message.into(),
            messages: Vec::new(),
        }
    }

    pub fn with_message(
        mut self,
        code: &str,
        text: impl Into<String>,
        field: Option<&str>,
    ) -> Self {
        self.messages.push(ErrorMessage {
            code: code.to_owned(),
            code_message: text.into(),
            field: field.map(str::to_owned),
        });
        self
    }

    pub fn bad_request(text: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "Bad Request").with_message(
            "InvalidRequest",
            text,
            None,
        )
    }

    /// A 400 naming the field, so that a client (and a firm admin reading logs) knows what to fix.
    pub fn invalid_field(field: &str, text: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "Bad Request").with_message(
            "InvalidField",
            text,
            Some(field),
        )
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "Not Found").with_message("NotFound", what, None)
    }

    pub fn conflict(text: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, "Already exists").with_message(
            "AlreadyExists",
            text,
            None,
        )
    }

    pub fn unauthorized(code_message: &str, text: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, code_message).with_message(
            "Unauthorized",
            text,
            None,
        )
    }

    pub fn internal(text: impl Into<String>) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").with_message(
            "InternalError",
            text,
            None,
        )
    }

    pub fn body(&self) -> Value {
        let messages: Vec<Value> = self
            .messages
            .iter()
            .map(|m| json!({"code": m.code, "code_message": m.code_message, "field": m.field, "data": null}))
            .collect();
        json!({
            "error": {
                "code": self.status.as_u16(),
                "code_message": self.code_message,
                "dms_version": DMS_VERSION,
                // A fresh id per answer, as iManage gives, so a failure can be quoted in a support case.
                "transaction": uuid::Uuid::new_v4().to_string(),
                "messages": messages,
            }
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"imanage-sandbox\""),
            );
        }
        response
    }
}

/// An error of the token endpoint, in OAuth's own flat shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn invalid_request(description: impl Into<String>) -> Self {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request",
            description: description.into(),
        }
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_grant",
            description: description.into(),
        }
    }

    pub fn invalid_client(description: impl Into<String>) -> Self {
        OAuthError {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: description.into(),
        }
    }

    pub fn unsupported_grant_type(description: impl Into<String>) -> Self {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            error: "unsupported_grant_type",
            description: description.into(),
        }
    }

    pub fn server_error(description: impl Into<String>) -> Self {
        OAuthError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: description.into(),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.error, "error_description": self.description});
        let mut response = (self.status, axum::Json(body)).into_response();
        // RFC 6749 §5.1: token answers, failures included, must not be cached.
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

impl From<ApiError> for OAuthError {
    fn from(err: ApiError) -> Self {
        OAuthError::server_error(
            err.messages
                .first()
                .map_or(err.code_message, |m| m.code_message.clone()),
        )
    }
}
