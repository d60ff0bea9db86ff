//! OAuth 2: the token endpoint (password, authorization-code and refresh-token grants), the
//! authorization endpoint (`authorize.rs`), revocation, logout, and the token check every API call
//! makes.

mod authorize;
mod code;
mod page;
mod pkce;
mod revoke;

pub use authorize::{authorize_form, authorize_submit};
pub(crate) use code::AuthCode;
pub use revoke::revoke;

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::error::{ApiError, ApiResult, OAuthError};
use crate::extract::token_from_headers;
use crate::state::{AccessToken, Inner, RefreshToken, SandboxState, SharedState};

/// A random, unguessable token: 244 bits from two v4 UUIDs, nothing derived from the credentials.
pub(crate) fn new_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The user a live access token belongs to.
pub fn authenticate(state: &SharedState, token: &str) -> ApiResult<String> {
    let now = state.now();
    let mut inner = state.lock()?;
    let Some(found) = inner.access_tokens.get(token) else {
        return Err(ApiError::unauthorized(
            "Unauthorized",
            "the access token is not valid",
        ));
    };
    if found.expires_at <= now {
        inner.access_tokens.remove(token);
        return Err(ApiError::unauthorized(
            "Token expired",
            "the access token has expired",
        ));
    }
    Ok(found.user.clone())
}

/// When a token issued `now` with `ttl` expires; a TTL past the clock's range means "never".
pub(crate) fn expiry(now: SystemTime, ttl: Duration) -> SystemTime {
    now.checked_add(ttl)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(now)
}

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

impl SandboxState {
    fn count_grant(&self, grant_type: &str) {
        let mut grants = self.grants.lock().unwrap_or_else(|p| p.into_inner());
        *grants.entry(grant_type.to_owned()).or_default() += 1;
    }

    /// Successful token grants of `grant_type` (`password`, `refresh_token`,
    /// `authorization_code`) since start or the last [`SandboxState::reset_counters`].
    pub fn token_grants(&self, grant_type: &str) -> u64 {
        let grants = self.grants.lock().unwrap_or_else(|p| p.into_inner());
        grants.get(grant_type).copied().unwrap_or(0)
    }

    /// Make `GET /auth/oauth2/authorize` approve at once as `user` (skipping the sign-in form),
    /// or show the form again with `None`.
    pub fn set_auto_approve(&self, user: Option<&str>) {
        self.read().auto_approve = user.map(str::to_owned);
    }

    pub fn auto_approve(&self) -> Option<String> {
        self.read().auto_approve.clone()
    }
}
