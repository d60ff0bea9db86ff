//! Transport to iManage: the access token (see `auth::session`), the library base URL, retries
//! and error mapping.

use std::cell::RefCell;

use serde_json::Value;

use super::discovery::{self, Discovery};
use super::json;
use crate::auth::session;
use crate::model::{Error, Result};
use crate::platform::{HttpRequest, HttpResponse, Method, Platform, TransportError};
use crate::settings::Settings;

/// Attempts per request when iManage answers 429/5xx or the connection fails.
const MAX_ATTEMPTS: u32 = 4;
const BACKOFF_BASE_MS: u64 = 200;
const BACKOFF_CAP_MS: u64 = 5_000;
/// A `Retry-After` longer than this is not waited for within one call.
const RETRY_AFTER_CAP_S: u64 = 30;

/// Whether a failed request may be sent again as it is. Creating requests are not: a 5xx may
/// come after iManage committed, so the flows look before they create again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    Safe,
    Never,
}

/// iManage as one library of it sees it: calls go to that library's paths.
pub struct Imanage<'a> {
    p: &'a dyn Platform,
    s: &'a Settings,
    library: String,
    /// When this call must stop retrying (seconds since the epoch): the event's deadline.
    deadline: u64,
    token: RefCell<Option<String>>,
    library_base: RefCell<Option<String>>,
}

/// Outcome of one request that got an HTTP answer.
pub enum Answer {
    Ok(Value),
    Status(u16, String),
}

impl<'a> Imanage<'a> {
    /// The configured library (`imanage_library`).
    pub fn new(p: &'a dyn Platform, s: &'a Settings) -> Self {
        Imanage::in_library(p, s, &s.library)
    }

    /// Another library of the same iManage: a routed matter's (`library_routes`), or the one a
    /// link remembers.
    pub fn in_library(p: &'a dyn Platform, s: &'a Settings, library: &str) -> Self {
        Imanage {
            p,
            s,
            library: library.to_string(),
            deadline: deadline(p, s),
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

    pub fn library(&self) -> &str {
        &self.library
    }

    /// `{base}/work/api/v2/customers/{cid}/libraries/{lib}`, with the customer id configured or
    /// discovered, once the account is known to see the library.
    pub fn library_base(&self) -> Result<String> {
        if let Some(b) = self.library_base.borrow().as_ref() {
            return Ok(b.clone());
        }
        let d = self.discovery()?;
        if !d.has_library(&self.library) {
            let setting = if self.library.eq_ignore_ascii_case(&self.s.library) {
                "`imanage_library`"
            } else {
                "`library_routes`"
            };
            return Err(Error::NotConfigured(format!(
                "{setting} names library {:?}, but the connected account ({}) sees only {}",
                self.library,
                d.account,
                d.libraries.join(", ")
            )));
        }
        let cid = self.s.customer_id.clone().unwrap_or(d.customer_id);
        let base = format!(
            "{}/work/api/v2/customers/{cid}/libraries/{}",
            self.s.base_url, self.library
        );
        *self.library_base.borrow_mut() = Some(base.clone());
        Ok(base)
    }

    /// What `GET /api` said for the current sign-in: from key-value, or asked now.
    pub fn discovery(&self) -> Result<Discovery> {
        match discovery::cached(self.p)? {
            Some(d) => Ok(d),
            None => self.discover(),
        }
    }

    /// `GET /api` now, remembered for the current sign-in.
    pub fn discover(&self) -> Result<Discovery> {
        let v = self.request_json(
            Method::Get,
            &format!("{}/api", self.s.base_url),
            None,
            Retry::Safe,
        )?;
        let d = Discovery::parse(&v)?;
        discovery::store(self.p, &d)?;
        Ok(d)
    }

    /// The account matterlink is connected as (`data.user.id` of discovery).
    pub fn account(&self) -> Result<String> {
        Ok(self.discovery()?.account)
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

    /// Sends with the access token; a 401 renews the token once and repeats the request once.
    fn authorized(
        &self,
        method: Method,
        url: &str,
        content_type: &str,
        body: Vec<u8>,
        retry: Retry,
    ) -> Result<Answer> {
        let mut renewed = false;
        let mut token = self.access_token()?;
        loop {
            let request = HttpRequest {
                method,
                url: url.to_string(),
                headers: vec![
                    ("x-auth-token".into(), token.clone()),
                    ("content-type".into(), content_type.into()),
                    ("accept".into(), "application/json".into()),
                ],
                body: body.clone(),
                timeout_ms: self.s.request_timeout_s * 1000,
            };
            let response = send_with_retries(self.p, &request, retry, self.deadline)?;
            match response.status {
                401 if !renewed => {
                    renewed = true;
                    token = session::after_rejection(self.p, self.s, &token)?;
                    *self.token.borrow_mut() = Some(token.clone());
                    continue;
                }
                401 => return Err(Error::NotConnected(format!(
                    "iManage refused a freshly renewed token ({} {}); an administrator must run `matterlink check`, and `matterlink connect` if it says so",
                    method.as_str(),
                    redact_url(url)
                ))),
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

    /// Whether waiting `ms` before another attempt still fits in the event's deadline.
    pub fn may_wait(&self, ms: u64) -> bool {
        fits(self.p, self.deadline, ms)
    }

    pub fn backoff_ms(&self, attempt: u32) -> u64 {
        backoff_ms(attempt)
    }

    /// This call's token: read once per call from key-value (renewed there when due).
    fn access_token(&self) -> Result<String> {
        if let Some(t) = self.token.borrow().as_ref() {
            return Ok(t.clone());
        }
        let token = session::access_token(self.p, self.s)?;
        *self.token.borrow_mut() = Some(token.clone());
        Ok(token)
    }
}

/// The moment an event that starts now must stop retrying (`event_deadline_seconds`).
pub fn deadline(p: &dyn Platform, s: &Settings) -> u64 {
    p.now() + s.event_deadline_s
}

fn fits(p: &dyn Platform, deadline: u64, wait_ms: u64) -> bool {
    p.now() + wait_ms.div_ceil(1000) < deadline
}

/// Sends, retrying 429, 5xx and transport failures with capped exponential backoff and jitter
/// (honouring `Retry-After`), when the request may be repeated and the wait fits before
/// `deadline`.
pub fn send_with_retries(
    p: &dyn Platform,
    request: &HttpRequest,
    retry: Retry,
    deadline: u64,
) -> Result<HttpResponse> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let last = attempt >= MAX_ATTEMPTS || retry == Retry::Never;
        match p.send(request) {
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
                let wait = retry_after_ms(&r).unwrap_or_else(|| backoff_ms(attempt));
                if !fits(p, deadline, wait) {
                    return Ok(r);
                }
                p.sleep_ms(wait);
            }
            Ok(r) => return Ok(r),
            Err(TransportError::Denied(why)) => {
                return Err(Error::NotConfigured(format!(
                "the host refused the request to {}: {why}; only `imanage_base_url` may be called",
                redact_url(&request.url)
            )))
            }
            Err(TransportError::Failed(why)) => {
                let wait = backoff_ms(attempt);
                if last || !fits(p, deadline, wait) {
                    return Err(Error::Unavailable(format!(
                        "{} {}: {why}",
                        request.method.as_str(),
                        redact_url(&request.url)
                    )));
                }
                p.sleep_ms(wait);
            }
        }
    }
}

fn backoff_ms(attempt: u32) -> u64 {
    let ceiling = (BACKOFF_BASE_MS << attempt.min(10)).min(BACKOFF_CAP_MS);
    // "Full jitter": a uniformly random wait up to the ceiling spreads retrying clients out.
    crate::random::below(ceiling + 1)
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
