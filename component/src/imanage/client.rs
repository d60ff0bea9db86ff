//! Transport to iManage: sign-in, the library base URL, retries and error mapping.

use std::cell::RefCell;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::json;
use crate::keys;
use crate::model::{Error, Result};
use crate::platform::{HttpRequest, HttpResponse, Method, Platform, TransportError};
use crate::settings::Settings;

/// Attempts per request when iManage answers 429/5xx or the connection fails.
const MAX_ATTEMPTS: u32 = 4;
const BACKOFF_BASE_MS: u64 = 200;
const BACKOFF_CAP_MS: u64 = 5_000;
/// A `Retry-After` longer than this is not waited for within one call.
const RETRY_AFTER_CAP_S: u64 = 30;
/// Renew a token this many seconds before iManage says it expires.
const EXPIRY_MARGIN_S: u64 = 60;

#[derive(Serialize, Deserialize)]
struct StoredToken {
    access_token: String,
    expires_at: u64,
}

/// Whether a failed request may be sent again as it is. Creating requests are not: a 5xx may
/// come after iManage committed, so the flows look before they create again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    Safe,
    Never,
}

pub struct Imanage<'a> {
    p: &'a dyn Platform,
    s: &'a Settings,
    /// When this call must stop retrying (seconds since the epoch): the event's deadline.
    deadline: u64,
    token: RefCell<Option<String>>,
    library_base: RefCell<Option<String>>,
}

pub struct Discovery {
    pub customer_id: String,
    pub libraries: Vec<String>,
    pub user: String,
}

/// Outcome of one request that got an HTTP answer.
pub enum Answer {
    Ok(Value),
    Status(u16, String),
}

impl<'a> Imanage<'a> {
    pub fn new(p: &'a dyn Platform, s: &'a Settings) -> Self {
        Imanage {
            p,
            s,
            deadline: p.now() + s.event_deadline_s,
            token: RefCell::new(None),
            library_base: RefCell::new(None),
        }
    }

    pub fn settings(&self) -> &Settings {
        self.s
    }

    pub fn p(&self) -> &dyn Platform {
        self.p
    }

    /// `{base}/work/api/v2/customers/{cid}/libraries/{lib}`, finding the customer id by
    /// discovery when it is not configured.
    pub fn library_base(&self) -> Result<String> {
        if let Some(b) = self.library_base.borrow().as_ref() {
            return Ok(b.clone());
        }
        let cid = match &self.s.customer_id {
            Some(c) => c.clone(),
            None => self.discover_customer_id()?,
        };
        let base = format!(
            "{}/work/api/v2/customers/{cid}/libraries/{}",
            self.s.base_url, self.s.library
        );
        *self.library_base.borrow_mut() = Some(base.clone());
        Ok(base)
    }

    fn discover_customer_id(&self) -> Result<String> {
        if let Some(raw) = self.p.kv_get(keys::CUSTOMER_ID)? {
            if let Ok(id) = String::from_utf8(raw) {
                return Ok(id);
            }
        }
        let d = self.discover()?;
        if !d.libraries.is_empty()
            && !d
                .libraries
                .iter()
                .any(|l| l.eq_ignore_ascii_case(&self.s.library))
        {
            return Err(Error::NotConfigured(format!(
                "`imanage_library` is {:?}, but the connected account sees only {}",
                self.s.library,
                d.libraries.join(", ")
            )));
        }
        self.p.kv_set(keys::CUSTOMER_ID, d.customer_id.as_bytes())?;
        Ok(d.customer_id)
    }

    /// `GET /api`: who the token belongs to, the customer id and the libraries it sees.
    pub fn discover(&self) -> Result<Discovery> {
        let v = self.request_json(
            Method::Get,
            &format!("{}/api", self.s.base_url),
            None,
            Retry::Safe,
        )?;
        let d = json::data(&v);
        let customer_id = d
            .pointer("/user/customer_id")
            .and_then(|c| {
                c.as_u64()
                    .map(|n| n.to_string())
                    .or_else(|| c.as_str().map(String::from))
            })
            .ok_or_else(|| {
                Error::Unavailable("iManage discovery (GET /api) gave no customer id".into())
            })?;
        let libraries = d
            .pointer("/work/libraries")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|l| json::str_field(l, "alias").map(String::from))
            .collect();
        let user = d
            .pointer("/user/id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        Ok(Discovery {
            customer_id,
            libraries,
            user,
        })
    }

    /// Signs in afresh, ignoring any cached token: proves the credentials work now.
    pub fn sign_in(&self) -> Result<()> {
        self.access_token(true).map(|_| ())
    }

    /// A library-relative call: `path` starts with `/` and is appended to the library base;
    /// its segments must already be encoded (see `api::seg`).
    pub fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        retry: Retry,
    ) -> Result<Answer> {
        let url = format!("{}{path}", self.library_base()?);
        let body = body.map(|b| b.to_string().into_bytes());
        self.authorized(
            method,
            &url,
            "application/json",
            body.unwrap_or_default(),
            retry,
        )
    }

    /// Like `call`, but any non-2xx answer is an error.
    pub fn call_ok(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        retry: Retry,
    ) -> Result<Value> {
        match self.call(method, path, body, retry)? {
            Answer::Ok(v) => Ok(v),
            Answer::Status(status, why) => Err(status_error(method, path, status, &why)),
        }
    }

    /// A library-relative call with a body that is not JSON (multipart uploads).
    pub fn call_raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
        retry: Retry,
    ) -> Result<Answer> {
        let url = format!("{}{path}", self.library_base()?);
        self.authorized(method, &url, content_type, body, retry)
    }

    fn request_json(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        retry: Retry,
    ) -> Result<Value> {
        let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        match self.authorized(method, url, "application/json", body, retry)? {
            Answer::Ok(v) => Ok(v),
            Answer::Status(status, why) => Err(status_error(method, url, status, &why)),
        }
    }

    /// Sends with the access token; a 401 signs in again once and repeats the request once.
    fn authorized(
        &self,
        method: Method,
        url: &str,
        content_type: &str,
        body: Vec<u8>,
        retry: Retry,
    ) -> Result<Answer> {
        let mut renewed = false;
        loop {
            let token = self.access_token(renewed)?;
            let request = HttpRequest {
                method,
                url: url.to_string(),
                headers: vec![
                    ("x-auth-token".into(), token),
                    ("content-type".into(), content_type.into()),
                    ("accept".into(), "application/json".into()),
                ],
                body: body.clone(),
                timeout_ms: self.s.request_timeout_s * 1000,
            };
            let response = self.send_with_retries(&request, retry)?;
            match response.status {
                401 if !renewed => {
                    renewed = true;
                    continue;
                }
                401 => return Err(Error::NotConnected(
                    "iManage refused the service account's fresh token; reconnect the integration"
                        .into(),
                )),
                s if (200..300).contains(&s) => {
                    if response.body.is_empty() {
                        return Ok(Answer::Ok(Value::Null));
                    }
                    return serde_json::from_slice(&response.body)
                        .map(Answer::Ok)
                        .map_err(|_| {
                            Error::Unavailable(format!(
                                "{} {}: iManage answered with invalid JSON",
                                method.as_str(),
                                redact_url(url)
                            ))
                        });
                }
                s => return Ok(Answer::Status(s, json::error_summary(&response.body))),
            }
        }
    }

    /// The cached access token, or a new one from the password grant.
    fn access_token(&self, force_new: bool) -> Result<String> {
        if !force_new {
            if let Some(t) = self.token.borrow().as_ref() {
                return Ok(t.clone());
            }
            if let Some(raw) = self.p.kv_get(keys::SERVICE_TOKEN)? {
                if let Ok(stored) = serde_json::from_slice::<StoredToken>(&raw) {
                    if stored.expires_at > self.p.now() + EXPIRY_MARGIN_S {
                        *self.token.borrow_mut() = Some(stored.access_token.clone());
                        return Ok(stored.access_token);
                    }
                }
            }
        }
        let token = self.password_grant()?;
        *self.token.borrow_mut() = Some(token.clone());
        Ok(token)
    }

    fn password_grant(&self) -> Result<String> {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "password")
            .append_pair("username", &self.s.username)
            .append_pair("password", &self.s.password)
            .append_pair("client_id", &self.s.client_id)
            .append_pair("scope", "user");
        if let Some(secret) = &self.s.client_secret {
            form.append_pair("client_secret", secret);
        }
        let request = HttpRequest {
            method: Method::Post,
            url: format!("{}/auth/oauth2/token", self.s.base_url),
            headers: vec![
                (
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
                ("accept".into(), "application/json".into()),
            ],
            body: form.finish().into_bytes(),
            timeout_ms: self.s.request_timeout_s * 1000,
        };
        let response = self.send_with_retries(&request, Retry::Safe)?;
        if response.status >= 500 {
            // The token service itself is down: that says nothing about the credentials.
            return Err(Error::Unavailable(format!(
                "iManage's token endpoint answered {} after retries",
                response.status
            )));
        }
        if !(200..300).contains(&response.status) {
            // The summary is iManage's own words ("invalid_grant: ..."), never our form body.
            let why = json::error_summary(&response.body);
            return Err(Error::NotConnected(format!(
                "iManage refused the service account sign-in ({}: {why}); check imanage_username, imanage_password and imanage_client_id",
                response.status
            )));
        }
        #[derive(Deserialize)]
        struct Grant {
            access_token: String,
            expires_in: Option<u64>,
        }
        let grant: Grant = serde_json::from_slice(&response.body).map_err(|_| {
            Error::Unavailable("iManage token endpoint answered without an access token".into())
        })?;
        let stored = StoredToken {
            access_token: grant.access_token.clone(),
            expires_at: self.p.now() + grant.expires_in.unwrap_or(1800),
        };
        let raw = serde_json::to_vec(&stored).map_err(|e| Error::Unavailable(e.to_string()))?;
        self.p.kv_set(keys::SERVICE_TOKEN, &raw)?;
        Ok(grant.access_token)
    }

    /// Sends, retrying 429, 5xx and transport failures with capped exponential backoff and
    /// jitter (honouring `Retry-After`), when the request may be repeated.
    fn send_with_retries(&self, request: &HttpRequest, retry: Retry) -> Result<HttpResponse> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= MAX_ATTEMPTS || retry == Retry::Never;
            match self.p.send(request) {
                Ok(r) if r.status == 429 || r.status >= 500 => {
                    // A 429 was refused before any work was done, so it is always safe to repeat.
                    if (last && r.status != 429) || attempt >= MAX_ATTEMPTS {
                        if r.status == 429 {
                            return Err(Error::Unavailable(format!(
                                "{} {}: iManage kept answering 429 (rate limited)",
                                request.method.as_str(),
                                redact_url(&request.url)
                            )));
                        }
                        return Ok(r);
                    }
                    let wait = retry_after_ms(&r).unwrap_or_else(|| self.backoff_ms(attempt));
                    if !self.may_wait(wait) {
                        return Ok(r);
                    }
                    self.p.sleep_ms(wait);
                }
                Ok(r) => return Ok(r),
                Err(TransportError::Denied(why)) => {
                    return Err(Error::NotConfigured(format!(
                        "the host refused the request to {}: {why}; only `imanage_base_url` may be called",
                        redact_url(&request.url)
                    )))
                }
                Err(TransportError::Failed(why)) => {
                    let wait = self.backoff_ms(attempt);
                    if last || !self.may_wait(wait) {
                        return Err(Error::Unavailable(format!(
                            "{} {}: {why}",
                            request.method.as_str(),
                            redact_url(&request.url)
                        )));
                    }
                    self.p.sleep_ms(wait);
                }
            }
        }
    }

    /// Whether waiting `ms` before another attempt still fits in the event's deadline.
    pub fn may_wait(&self, ms: u64) -> bool {
        self.p.now() + ms.div_ceil(1000) < self.deadline
    }

    pub fn backoff_ms(&self, attempt: u32) -> u64 {
        let ceiling = (BACKOFF_BASE_MS << attempt.min(10)).min(BACKOFF_CAP_MS);
        // "Full jitter": a uniformly random wait up to the ceiling spreads retrying clients out.
        crate::random::below(ceiling + 1)
    }
}

fn retry_after_ms(r: &HttpResponse) -> Option<u64> {
    let secs: u64 = r.header("retry-after")?.trim().parse().ok()?;
    Some(secs.min(RETRY_AFTER_CAP_S) * 1000)
}

/// The URL without its query, which never holds secrets today but could one day.
fn redact_url(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// Maps an HTTP status that survived retries to the contract's error.
pub fn status_error(method: Method, path: &str, status: u16, why: &str) -> Error {
    let what = format!("{} {}: {status} {why}", method.as_str(), redact_url(path));
    match status {
        401 | 403 => Error::NotConnected(what),
        429 | 500.. => Error::Unavailable(what),
        _ => Error::Rejected(what),
    }
}
