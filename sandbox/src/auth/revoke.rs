//! `POST /auth/oauth2/revoke` (RFC 7009). The admin's "sign everyone out" is
//! `SandboxState::revoke_all_tokens`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::OAuthError;
use crate::state::SharedState;

/// Form `token`, optional `token_type_hint`. 200 whether or not the token was known (§2.2), so
/// that the answer tells nothing about tokens. A refresh token takes the access tokens of its
/// family with it (§2.1); an access token goes alone. The hint only says where to look first,
/// and both kinds are searched anyway.
pub async fn revoke(
    State(state): State<SharedState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Ok(body) = body else {
        return OAuthError::invalid_request("unreadable body").into_response();
    };
    let token = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return OAuthError::invalid_request("token is required").into_response();
    };
    let mut inner = match state.lock() {
        Ok(inner) => inner,
        Err(err) => return OAuthError::from(err).into_response(),
    };
    if inner.access_tokens.remove(&token).is_none() {
        if let Some(refresh) = inner.refresh_tokens.remove(&token) {
            inner.revoke_family(refresh.family);
        }
    }
    let mut response = StatusCode::OK.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
