//! Connecting to Actionstep and staying connected, as `auth` does for iManage: an
//! administrator signs in once (`matterlink connect --actionstep`: the authorization-code grant
//! with PKCE), the tokens live in one key-value record with the organisation's API base
//! (`api_endpoint`) and `orgkey` from the token answer, and they are refreshed ahead of expiry
//! or after a 401 by one call at a time (a `claim` taken by increment, never compare-and-swap).
//! When Actionstep refuses the refresh token the connection has ended: every lookup answers
//! `not-connected` until an administrator connects again.
//!
//! Tokens, codes, verifiers and the client secret go to the token endpoint and to key-value,
//! never into a message, a log line or `Debug` output.

use serde::{Deserialize, Serialize};

use crate::auth::pkce;
use crate::claim::{self, Attempt};
use crate::keys;
use crate::model::{ConnectRequest, Error, Result};
use crate::platform::{HttpRequest, Method, Platform};
use crate::random;
use crate::settings::{ActionstepApi, Settings};
use crate::transport::{deadline, error_summary, send_with_retries, Retry};

/// How long a sign-in may take, from the URL to the code.
const PENDING_TTL_S: u64 = 600;
/// A token this close to expiry is refreshed first.
const REFRESH_AHEAD_S: u64 = 60;
/// Assumed when Actionstep does not say how long an access token lives.
const DEFAULT_ACCESS_LIFETIME_S: u64 = 1800;
const POLL_MS: u64 = 100;

/// The Actionstep connection. Holds secrets: its `Debug` prints none.
#[derive(Clone, Serialize, Deserialize)]
pub struct Tokens {
    /// Grows with every new record, so a call waiting for a refresh sees that it happened.
    pub generation: u64,
    /// Empty once the connection has ended.
    pub access_token: String,
    /// When the access token expires, seconds since the epoch.
    pub access_expires_at: u64,
    /// The token that gets the next access token.
    pub refresh_token: Option<String>,
    /// The organisation's API base (`api_endpoint`), ending in `/`.
    pub api_endpoint: String,
    /// The organisation (`orgkey`).
    pub orgkey: Option<String>,
    /// When this connection began.
    pub connected_at: u64,
    /// Why the connection ended (Actionstep refused the refresh token), if it did.
    #[serde(default)]
    pub ended: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("generation", &self.generation)
            .field("access_expires_at", &self.access_expires_at)
            .field("api_endpoint", &self.api_endpoint)
            .field("orgkey", &self.orgkey)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

/// A sign-in in progress. Holds the verifier: no `Debug`.
#[derive(Serialize, Deserialize)]
struct Pending {
    state: String,
    verifier: String,
    redirect_uri: String,
    expires_at: u64,
}

/// The `not-connected` error, saying what the administrator must do.
pub fn reconnect(why: &str) -> Error {
    Error::NotConnected(format!(
        "{why}; an administrator must run `matterlink connect --actionstep` to connect matterlink to Actionstep"
    ))
}

/// The stored connection, if any.
pub fn current(p: &dyn Platform) -> Result<Option<Tokens>> {
    p.kv_get(keys::ACTIONSTEP_TOKENS)?
        .map(|raw| {
            serde_json::from_slice(&raw).map_err(|e| {
                Error::Unavailable(format!(
                    "the stored Actionstep connection is unreadable: {e}"
                ))
            })
        })
        .transpose()
}

fn store(p: &dyn Platform, t: &Tokens) -> Result<()> {
    let raw = serde_json::to_vec(t).map_err(|e| Error::Unavailable(e.to_string()))?;
    p.kv_set(keys::ACTIONSTEP_TOKENS, &raw)
}

/// actionstep-connect-begin: Actionstep's sign-in URL for a browser, with the `state` the
/// redirect must carry back.
pub fn connect_begin(p: &dyn Platform, redirect_uri: &str) -> Result<ConnectRequest> {
    let api = ActionstepApi::require(p)?;
    crate::connect::check_redirect_uri(redirect_uri)?;
    let pending = Pending {
        state: random::secret()?,
        verifier: random::secret()?,
        redirect_uri: redirect_uri.to_string(),
        expires_at: p.now() + PENDING_TTL_S,
    };
    let mut url = url::Url::parse(&api.authorize_url)
        .map_err(|e| Error::NotConfigured(format!("`actionstep_authorize_url`: {e}")))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &api.client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", "actions participants resthooks")
        .append_pair("state", &pending.state)
        .append_pair("code_challenge", &pkce::challenge(&pending.verifier))
        .append_pair("code_challenge_method", "S256");
    let raw = serde_json::to_vec(&pending).map_err(|e| Error::Unavailable(e.to_string()))?;
    // One sign-in at a time: a newer one replaces an abandoned one.
    p.kv_set(keys::ACTIONSTEP_CONNECT_PENDING, &raw)?;
    Ok(ConnectRequest {
        authorize_url: url.into(),
        state: pending.state,
        expires_in: PENDING_TTL_S,
    })
}

fn again(why: &str) -> Error {
    Error::NotConnected(format!(
        "{why}; run `matterlink connect --actionstep` again to sign in"
    ))
}

/// actionstep-connect-complete: exchanges the code of Actionstep's redirect and stores the
/// connection; returns the organisation and API base connected to.
pub fn connect_complete(
    p: &dyn Platform,
    code: &str,
    state: &str,
    redirect_uri: &str,
) -> Result<String> {
    let api = ActionstepApi::require(p)?;
    let s = Settings::load(p)?;
    let pending: Option<Pending> = p
        .kv_get(keys::ACTIONSTEP_CONNECT_PENDING)?
        .and_then(|raw| serde_json::from_slice(&raw).ok());
    let Some(pending) = pending else {
        return Err(again("no Actionstep sign-in is in progress"));
    };
    // Left in place when it is not this sign-in's answer, so a stray cannot cancel it.
    if !random::same_secret(state, &pending.state) {
        return Err(again(
            "the sign-in answer does not belong to the sign-in in progress (its state differs)",
        ));
    }
    p.kv_delete(keys::ACTIONSTEP_CONNECT_PENDING)?;
    if pending.expires_at <= p.now() {
        return Err(again("the sign-in took too long"));
    }
    if pending.redirect_uri != redirect_uri {
        return Err(again(
            "the redirect URI differs from the one the sign-in began with",
        ));
    }
    if code.trim().is_empty() {
        return Err(again("Actionstep sent no authorization code"));
    }
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("code_verifier", &pending.verifier);
    let answer = grant(p, &s, &api, form).map_err(|r| match r {
        Refusal::InvalidGrant(why) => again(&format!("Actionstep refused the code ({why})")),
        Refusal::Failed(e) => e,
    })?;
    let generation = current(p)?.map_or(1, |t| t.generation + 1);
    let tokens = tokens_from(p, &api, answer, generation, p.now())?;
    store(p, &tokens)?;
    Ok(format!(
        "{} at {}",
        tokens.orgkey.as_deref().unwrap_or("Actionstep"),
        tokens.api_endpoint
    ))
}

/// An access token Actionstep should accept, and the API base to send it to.
pub fn access(p: &dyn Platform, s: &Settings, api: &ActionstepApi) -> Result<(String, String)> {
    let t = usable(current(p)?)?;
    if p.now() + REFRESH_AHEAD_S < t.access_expires_at {
        return Ok(endpoint(api, t));
    }
    renew(p, s, api, t, false).map(|t| endpoint(api, t))
}

/// Another token after Actionstep answered 401 to `rejected`.
pub fn after_rejection(
    p: &dyn Platform,
    s: &Settings,
    api: &ActionstepApi,
    rejected: &str,
) -> Result<(String, String)> {
    let t = usable(current(p)?)?;
    if t.access_token != rejected && p.now() < t.access_expires_at {
        return Ok(endpoint(api, t));
    }
    renew(p, s, api, t, true).map(|t| endpoint(api, t))
}

fn endpoint(api: &ActionstepApi, t: Tokens) -> (String, String) {
    let base = api.api_base.clone().unwrap_or(t.api_endpoint);
    (t.access_token, base)
}

fn usable(t: Option<Tokens>) -> Result<Tokens> {
    match t {
        None => Err(reconnect("matterlink is not connected to Actionstep yet")),
        Some(t) if t.ended.is_some() => Err(reconnect(&format!(
            "Actionstep no longer accepts matterlink's connection ({})",
            t.ended.as_deref().unwrap_or_default()
        ))),
        Some(t) => Ok(t),
    }
}

/// Longer than one refresh can take, so a slow refresher is never overtaken.
fn claim_ttl_s(s: &Settings) -> u64 {
    2 * (s.event_deadline_s + s.request_timeout_s) + 30
}

/// Refreshes under the claim; another call's refresh is waited for. `replacement`: the current
/// token was refused, so only a newer one will do.
fn renew(
    p: &dyn Platform,
    s: &Settings,
    api: &ActionstepApi,
    observed: Tokens,
    replacement: bool,
) -> Result<Tokens> {
    let ttl = claim_ttl_s(s);
    let mut waited = 0;
    loop {
        match claim::try_take_key(p, keys::ACTIONSTEP_RENEWAL_CLAIM.into(), ttl)? {
            Attempt::Taken(claim) => {
                let result = refresh_holding_claim(p, s, api, &observed);
                // The new tokens are stored already: a failed release only delays the next
                // refresh until the claim goes stale.
                let _ = claim.release();
                return result;
            }
            Attempt::Busy => {
                if !replacement && p.now() < observed.access_expires_at {
                    return Ok(observed);
                }
                if waited >= (ttl + 30) * 1000 {
                    return Err(Error::Unavailable(
                        "another call has been refreshing the Actionstep token for too long; retry shortly".into(),
                    ));
                }
                p.sleep_ms(POLL_MS);
                waited += POLL_MS;
                let latest = usable(current(p)?)?;
                if latest.generation != observed.generation && p.now() < latest.access_expires_at {
                    return Ok(latest);
                }
            }
        }
    }
}

fn refresh_holding_claim(
    p: &dyn Platform,
    s: &Settings,
    api: &ActionstepApi,
    observed: &Tokens,
) -> Result<Tokens> {
    // Someone refreshed between our read and our claim: theirs is the answer.
    let latest = usable(current(p)?)?;
    if latest.generation != observed.generation && p.now() < latest.access_expires_at {
        return Ok(latest);
    }
    let Some(refresh_token) = latest.refresh_token.clone() else {
        return Err(reconnect("Actionstep gave matterlink no refresh token"));
    };
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "refresh_token")
        .append_pair("refresh_token", &refresh_token);
    match grant(p, s, api, form) {
        Ok(answer) => {
            let mut t = tokens_from(p, api, answer, latest.generation + 1, latest.connected_at)?;
            // A refresh answer may leave out what the sign-in said.
            if t.orgkey.is_none() {
                t.orgkey = latest.orgkey.clone();
            }
            store(p, &t)?;
            Ok(t)
        }
        Err(Refusal::InvalidGrant(why)) => {
            let ended = Tokens {
                generation: latest.generation + 1,
                access_token: String::new(),
                access_expires_at: 0,
                refresh_token: None,
                ended: Some(why.clone()),
                ..latest
            };
            store(p, &ended)?;
            Err(reconnect(&format!(
                "Actionstep refused the refresh token ({why})"
            )))
        }
        Err(Refusal::Failed(e)) => Err(e),
    }
}

/// The token endpoint's answer. Holds secrets: no `Debug`.
#[derive(Deserialize)]
struct Answer {
    access_token: String,
    refresh_token: Option<String>,
    expires_in: Option<u64>,
    api_endpoint: Option<String>,
    orgkey: Option<String>,
}

enum Refusal {
    /// `invalid_grant`: the code or refresh token is no good. Actionstep's words.
    InvalidGrant(String),
    Failed(Error),
}

fn tokens_from(
    p: &dyn Platform,
    api: &ActionstepApi,
    a: Answer,
    generation: u64,
    connected_at: u64,
) -> Result<Tokens> {
    let api_endpoint = match (a.api_endpoint, &api.api_base) {
        (Some(e), _) => format!("{}/", e.trim_end_matches('/')),
        (None, Some(base)) => base.clone(),
        (None, None) => {
            return Err(Error::Unavailable(
                "Actionstep's token answer named no api_endpoint; set `actionstep_api_base`".into(),
            ))
        }
    };
    Ok(Tokens {
        generation,
        access_token: a.access_token,
        access_expires_at: p.now() + a.expires_in.unwrap_or(DEFAULT_ACCESS_LIFETIME_S),
        refresh_token: a.refresh_token,
        api_endpoint,
        orgkey: a.orgkey,
        connected_at,
        ended: None,
    })
}

/// One request to the token endpoint; sent once, since a code or a rotated refresh token is
/// spent by a request whose answer was lost.
fn grant(
    p: &dyn Platform,
    s: &Settings,
    api: &ActionstepApi,
    mut form: url::form_urlencoded::Serializer<'static, String>,
) -> Result<Answer, Refusal> {
    form.append_pair("client_id", &api.client_id);
    if let Some(secret) = &api.client_secret {
        form.append_pair("client_secret", secret);
    }
    let request = HttpRequest {
        method: Method::Post,
        url: api.token_url.clone(),
        headers: vec![
            (
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
            ("accept".into(), "application/json".into()),
        ],
        body: form.finish().into_bytes(),
        timeout_ms: s.request_timeout_s * 1000,
    };
    let r =
        send_with_retries(p, &request, Retry::Never, deadline(p, s)).map_err(Refusal::Failed)?;
    if (200..300).contains(&r.status) {
        return serde_json::from_slice(&r.body).map_err(|e| {
            Refusal::Failed(Error::Unavailable(format!(
                "Actionstep's token answer is not one: {e}"
            )))
        });
    }
    // Actionstep's words, never our form body.
    let why = error_summary(&r.body);
    let code = serde_json::from_slice::<serde_json::Value>(&r.body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(String::from));
    Err(match (r.status, code.as_deref()) {
        (400 | 401, Some("invalid_grant")) => Refusal::InvalidGrant(why),
        (400 | 401, Some("invalid_client" | "unauthorized_client")) => {
            Refusal::Failed(Error::NotConfigured(format!(
                "Actionstep refused the application ({why}); check actionstep_client_id and actionstep_client_secret"
            )))
        }
        (st, _) if st >= 500 => Refusal::Failed(Error::Unavailable(format!(
            "Actionstep's token endpoint failed ({st}: {why})"
        ))),
        (st, _) => Refusal::Failed(Error::NotConnected(format!(
            "Actionstep refused the token request ({st}: {why})"
        ))),
    })
}
