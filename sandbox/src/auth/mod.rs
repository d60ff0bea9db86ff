//! OAuth 2: the token endpoint (password, authorization-code and refresh-token grants), the
//! authorization endpoint (`authorize.rs`), revocation and logout. The token check every API call
//! makes is the request extractor's (`extract.rs`); the token records are `tokens.rs`'s.

mod authorize;
mod code;
mod page;
mod revoke;

pub use authorize::{authorize_form, authorize_submit};
pub use revoke::revoke;

use std::collections::HashMap;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::error::{ApiError, OAuthError};
use crate::extract::token_from_headers;
use crate::state::SharedState;
use crate::store::Inner;
use crate::tokens::{expiry, new_token, AccessToken, RefreshToken};

/// Forget expired tokens, so that a long-running sandbox does not grow without bound.
fn sweep(inner: &mut Inner, now: SystemTime) {
    inner.access_tokens.retain(|_, t| t.expires_at > now);
    inner.refresh_tokens.retain(|_, t| t.expires_at > now);
    inner.codes.retain(|_, c| c.expires_at > now);
}

/// `POST /auth/oauth2/token`, form-encoded.
pub async fn token(
    State(state): State<SharedState>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    match grant(&state, body) {
        Ok(answer) => answer,
        Err(err) => err.into_response(),
    }
}

fn grant(
    state: &SharedState,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, OAuthError> {
    let body = body
        .map_err(|e| OAuthError::invalid_request(format!("unreadable body: {}", e.body_text())))?;
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let required = |name: &str| {
        field(name).ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
    };

    let grant_type = required("grant_type")?;
    let client_id = required("client_id")?;
    let now = state.now();
    let mut inner = state.lock()?;
    let Some(client) = inner.clients.iter().find(|c| c.client_id == client_id) else {
        return Err(OAuthError::invalid_client(format!(
            "unknown client {client_id}"
        )));
    };
    // A secret is optional for public clients, but a wrong one is refused.
    let client_authenticated = match field("client_secret") {
        Some(secret) if secret != client.client_secret => {
            return Err(OAuthError::invalid_client("client authentication failed"))
        }
        Some(_) => true,
        None => false,
    };

    let (user, scope, family) = match grant_type {
        "password" => {
            let username = required("username")?;
            let password = required("password")?;
            let user = inner
                .user(username)
                .filter(|u| u.password.as_deref() == Some(password))
                .ok_or_else(|| OAuthError::invalid_grant("invalid username or password"))?
                .id
                .clone();
            (user, "user".to_owned(), inner.allocate_family())
        }
        "refresh_token" => {
            let presented = required("refresh_token")?;
            // Rotation: the presented token is spent whatever happens next, so a copy that
            // leaked cannot be used after the client's own refresh.
            let Some(old) = inner.refresh_tokens.remove(presented) else {
                return Err(OAuthError::invalid_grant("the refresh token is not valid"));
            };
            if old.expires_at <= now {
                return Err(OAuthError::invalid_grant("the refresh token has expired"));
            }
            if old.client_id != client_id {
                return Err(OAuthError::invalid_grant(
                    "the refresh token was issued to another client",
                ));
            }
            (old.user, old.scope, old.family)
        }
        "authorization_code" => {
            let exchange = code::Exchange {
                code: required("code")?,
                redirect_uri: required("redirect_uri")?,
                verifier: field("code_verifier"),
                client_id,
                client_authenticated,
            };
            code::redeem(&mut inner, &exchange, now)?
        }
        other => {
            return Err(OAuthError::unsupported_grant_type(format!(
                "grant type {other} is not supported"
            )))
        }
    };

    sweep(&mut inner, now);
    let config = state.config();
    let access_token = new_token();
    let refresh_token = new_token();
    inner.access_tokens.insert(
        access_token.clone(),
        AccessToken {
            user: user.clone(),
            expires_at: expiry(now, config.access_token_ttl),
            family,
        },
    );
    inner.refresh_tokens.insert(
        refresh_token.clone(),
        RefreshToken {
            user,
            client_id: client_id.to_owned(),
            expires_at: expiry(now, config.refresh_token_ttl),
            family,
            scope: scope.clone(),
        },
    );
    drop(inner);
    state.count_grant(grant_type);
    // `refresh_token_expires_in` is not in RFC 6749 (some servers send it, iManage's is
    // unconfirmed): it lets a client show the refresh lifetime the application is configured with.
    let body = json!({
        "access_token": access_token,
        "refresh_token": refresh_token,
        "token_type": "bearer",
        "expires_in": config.access_token_ttl.as_secs(),
        "refresh_token_expires_in": config.refresh_token_ttl.as_secs(),
        "scope": scope,
    });
    let mut response = (StatusCode::OK, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `GET /auth/logout`: forgets the presented access token. Always 200, like a logout of a session
/// that has already ended.
pub async fn logout(
    State(state): State<SharedState>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    if let Some(token) = token_from_headers(&headers) {
        state.lock()?.access_tokens.remove(&token);
    }
    Ok(StatusCode::OK)
}
