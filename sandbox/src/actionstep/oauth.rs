//! OAuth 2 as Actionstep runs it: the authorization-code flow at `/api/oauth/authorize` and
//! `/api/oauth/token`, whose answer carries `api_endpoint` and `orgkey` (public TypeScript
//! client, `actionstep-auth`). The emulator demands PKCE with S256 (matterlink always sends it;
//! whether Actionstep demands it is not public) and approves at once, as for a user signed in
//! to Actionstep who consents. Refresh tokens rotate (assumed).

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;

use super::error::{AsError, AsResult};
use super::extract::api_endpoint;
use super::state::SharedActionstep;
use super::store::Code;
use super::{CLIENT_ID, CLIENT_SECRET, ORG_KEY};
use crate::pkce::Challenge;
use crate::tokens::new_token;

/// How long an access token lives (assumed; Actionstep's own is not public).
pub const ACCESS_TTL: Duration = Duration::from_secs(3600);
const CODE_TTL: Duration = Duration::from_secs(600);

/// `GET /api/oauth/authorize`: redirects to `redirect_uri` with a code and the `state`.
pub async fn authorize(
    State(state): State<SharedActionstep>,
    Query(q): Query<HashMap<String, String>>,
) -> AsResult<Response> {
    let get = |k: &str| q.get(k).map(String::as_str);
    if get("response_type") != Some("code") {
        return Err(AsError::bad_request("response_type must be code"));
    }
    if get("client_id") != Some(CLIENT_ID) {
        return Err(AsError::bad_request("unknown client_id"));
    }
    let redirect_uri = get("redirect_uri")
        .filter(|u| url::Url::parse(u).is_ok())
        .ok_or_else(|| AsError::bad_request("redirect_uri must be a URL"))?;
    if get("code_challenge_method") != Some("S256") {
        return Err(AsError::bad_request(
            "PKCE is required: code_challenge with code_challenge_method=S256",
        ));
    }
    let challenge = Challenge::parse(get("code_challenge"), Some("S256"))
        .map_err(AsError::bad_request)?
        .ok_or_else(|| AsError::bad_request("code_challenge is missing"))?;
    let code = new_token();
    state.lock().codes.insert(
        code.clone(),
        Code {
            redirect_uri: redirect_uri.to_string(),
            challenge,
            expires_at: SystemTime::now() + CODE_TTL,
        },
    );
    let mut to = url::Url::parse(redirect_uri).map_err(|e| AsError::bad_request(e.to_string()))?;
    to.query_pairs_mut().append_pair("code", &code);
    if let Some(s) = get("state") {
        to.query_pairs_mut().append_pair("state", s);
    }
    Ok(Redirect::to(to.as_str()).into_response())
}

/// The client's credentials, from the form or HTTP Basic.
fn client_authenticated(headers: &HeaderMap, form: &HashMap<String, String>) -> bool {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let (id, secret) = match basic.as_deref().and_then(|b| b.split_once(':')) {
        Some((id, secret)) => (id.to_string(), secret.to_string()),
        None => (
            form.get("client_id").cloned().unwrap_or_default(),
            form.get("client_secret").cloned().unwrap_or_default(),
        ),
    };
    id == CLIENT_ID && secret == CLIENT_SECRET
}

/// `POST /api/oauth/token`: `authorization_code` (with the PKCE verifier) or `refresh_token`.
pub async fn token(
    State(state): State<SharedActionstep>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> AsResult<Json<serde_json::Value>> {
    if !client_authenticated(&headers, &form) {
        return Err(AsError::oauth(
            "invalid_client",
            "unknown client or wrong secret",
        ));
    }
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let mut s = state.lock();
    match get("grant_type") {
        "authorization_code" => {
            // Spent whatever happens, so that a verifier cannot be guessed by retrying.
            let code = s
                .codes
                .remove(get("code"))
                .ok_or_else(|| AsError::oauth("invalid_grant", "the code is not valid"))?;
            if code.expires_at < SystemTime::now()
                || code.redirect_uri != get("redirect_uri")
                || !code.challenge.verify(get("code_verifier"))
            {
                return Err(AsError::oauth(
                    "invalid_grant",
                    "the code, redirect_uri or code_verifier does not match",
                ));
            }
        }
        "refresh_token" => {
            if s.refresh.remove(get("refresh_token")).is_none() {
                return Err(AsError::oauth(
                    "invalid_grant",
                    "the refresh token is not valid",
                ));
            }
        }
        other => {
            return Err(AsError::oauth(
                "unsupported_grant_type",
                format!("grant_type {other:?} is not supported"),
            ))
        }
    }
    let access = new_token();
    let refresh = new_token();
    s.access
        .insert(access.clone(), SystemTime::now() + ACCESS_TTL);
    s.refresh.insert(refresh.clone(), ());
    Ok(Json(json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_in": ACCESS_TTL.as_secs(),
        "refresh_token": refresh,
        "api_endpoint": api_endpoint(&headers),
        "orgkey": ORG_KEY,
    })))
}
