//! The token endpoint, `POST {base}/auth/oauth2/token` (form-encoded): the password,
//! refresh-token and authorization-code grants, and what their answers mean.

use serde::Deserialize;

use crate::model::{Error, Result};
use crate::platform::{HttpRequest, Method, Platform};
use crate::settings::Settings;
use crate::transport::{deadline, error_summary, send_with_retries, Retry};

/// Assumed when iManage does not say how long an access token lives: short, so that a token is
/// refreshed early rather than used after it died.
const DEFAULT_ACCESS_LIFETIME_S: u64 = 1800;

/// A successful grant. Holds secrets: no `Debug`.
pub struct Grant {
    /// The token to send as `X-Auth-Token`.
    pub access_token: String,
    /// The token that gets the next access token, when iManage issued one.
    pub refresh_token: Option<String>,
    /// Seconds the access token lives (iManage's word, or a short default).
    pub expires_in: u64,
    /// Seconds the refresh token lives, when iManage says.
    pub refresh_expires_in: Option<u64>,
}

/// Why a grant failed.
#[derive(Debug)]
pub enum Refusal {
    /// `invalid_grant`: the password, code or refresh token is not (or no longer) good. For a
    /// refresh token this ends the connection. iManage's own words, never ours.
    InvalidGrant(String),
    /// Anything else: the client is refused (a configuration problem), iManage is down, ...
    Failed(Error),
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Refusal::Failed(e)
    }
}

#[derive(Deserialize)]
struct Answer {
    access_token: String,
    refresh_token: Option<String>,
    expires_in: Option<u64>,
    refresh_token_expires_in: Option<u64>,
}

fn form(s: &Settings, grant_type: &str) -> url::form_urlencoded::Serializer<'static, String> {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", grant_type)
        .append_pair("client_id", &s.client_id);
    if let Some(secret) = &s.client_secret {
        form.append_pair("client_secret", secret);
    }
    form
}

/// `what` names the grant in messages ("service account sign-in").
fn request(
    p: &dyn Platform,
    s: &Settings,
    what: &str,
    body: String,
    retry: Retry,
) -> Result<Grant, Refusal> {
    let request = HttpRequest {
        method: Method::Post,
        url: format!("{}/auth/oauth2/token", s.base_url),
        headers: vec![
            (
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
            ("accept".into(), "application/json".into()),
        ],
        body: body.into_bytes(),
        timeout_ms: s.request_timeout_s * 1000,
    };
    let response = send_with_retries(p, &request, retry, deadline(p, s))?;
    if !(200..300).contains(&response.status) {
        // iManage's words ("invalid_grant: ..."), never our form body.
        let why = error_summary(&response.body);
        let code = serde_json::from_slice::<serde_json::Value>(&response.body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(String::from));
        return Err(match (response.status, code.as_deref()) {
            (400 | 401, Some("invalid_grant")) => Refusal::InvalidGrant(why),
            (400 | 401, Some("invalid_client" | "unauthorized_client")) => {
                Refusal::Failed(Error::NotConfigured(format!(
                    "iManage refused the {what}: the application is not accepted ({why}); check imanage_client_id and imanage_client_secret"
                )))
            }
            (s, _) if s >= 500 => Refusal::Failed(Error::Unavailable(format!(
                "iManage's token endpoint failed the {what} ({s}: {why})"
            ))),
            (s, _) => Refusal::Failed(Error::NotConnected(format!(
                "iManage refused the {what} ({s}: {why})"
            ))),
        });
    }
    let answer: Answer = serde_json::from_slice(&response.body).map_err(|_| {
        Error::Unavailable(format!(
            "iManage answered the {what} without an access token"
        ))
    })?;
    Ok(Grant {
        access_token: answer.access_token,
        refresh_token: answer.refresh_token.filter(|t| !t.is_empty()),
        expires_in: answer
            .expires_in
            .filter(|&s| s > 0)
            .unwrap_or(DEFAULT_ACCESS_LIFETIME_S),
        refresh_expires_in: answer.refresh_token_expires_in.filter(|&s| s > 0),
    })
}

/// The service account signs in. Safe to repeat after a failure: a password grant changes nothing.
pub fn password(
    p: &dyn Platform,
    s: &Settings,
    username: &str,
    password: &str,
) -> Result<Grant, Refusal> {
    let mut f = form(s, "password");
    f.append_pair("username", username)
        .append_pair("password", password)
        .append_pair("scope", "user");
    request(p, s, "service account sign-in", f.finish(), Retry::Safe)
}

/// Exchanges a refresh token. Never repeated after a failure that may have reached iManage:
/// iManage may rotate refresh tokens, so a lost answer can have spent the token already, and
/// sending it again would look like theft and end the connection. (429 is still retried: it is
/// refused before any work.)
pub fn refresh(p: &dyn Platform, s: &Settings, refresh_token: &str) -> Result<Grant, Refusal> {
    let mut f = form(s, "refresh_token");
    f.append_pair("refresh_token", refresh_token);
    request(p, s, "token refresh", f.finish(), Retry::Never)
}

/// Exchanges an authorization code with its PKCE verifier. A code works once: never repeated.
pub fn authorization_code(
    p: &dyn Platform,
    s: &Settings,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<Grant, Refusal> {
    let mut f = form(s, "authorization_code");
    f.append_pair("code", code)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("code_verifier", verifier);
    request(p, s, "sign-in", f.finish(), Retry::Never)
}

/// Revokes a token (RFC 7009), best effort: an iManage without the endpoint, or one that fails,
/// leaves the token to expire on its own. Used for tokens matterlink does not keep (a console
/// sign-in's), never for the integration's own.
pub fn revoke(p: &dyn Platform, s: &Settings, token: &str) {
    let mut f = url::form_urlencoded::Serializer::new(String::new());
    f.append_pair("token", token)
        .append_pair("client_id", &s.client_id);
    if let Some(secret) = &s.client_secret {
        f.append_pair("client_secret", secret);
    }
    let request = HttpRequest {
        method: Method::Post,
        url: format!("{}/auth/oauth2/revoke", s.base_url),
        headers: vec![(
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: f.finish().into_bytes(),
        timeout_ms: s.request_timeout_s * 1000,
    };
    let _ = send_with_retries(p, &request, Retry::Never, deadline(p, s));
}
