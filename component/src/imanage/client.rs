//! One library of iManage as the flows call it: the access token (see `auth::session`), the
//! library base URL, and JSON answers; retries and error mapping are `transport`'s.

use std::cell::{Cell, RefCell};

use serde_json::Value;

use super::discovery::{self, Discovery};
use crate::auth::session;
use crate::model::{Error, Result};
use crate::platform::{HttpRequest, Method, Platform};
use crate::settings::Settings;
use crate::transport::{
    backoff_ms, deadline, error_summary, fits, redact_url, send_with_retries, status_error, Retry,
};

/// iManage as one library of it sees it: calls go to that library's paths.
pub struct Imanage<'a> {
    p: &'a dyn Platform,
    s: &'a Settings,
    library: String,
    /// When this call must stop retrying (seconds since the epoch): the event's deadline.
    deadline: u64,
    token: RefCell<Option<String>>,
    library_base: RefCell<Option<String>>,
    /// The security member shape this library answered with, once a read has shown it.
    pub(super) member_shape: Cell<Option<super::security::MemberShape>>,
    /// Discovery for a token given by the caller (`with_token`): that token's own, kept for
    /// this handle only, never in key-value, where the connection's is.
    given: Option<RefCell<Option<Discovery>>>,
}

/// Outcome of one request that got an HTTP answer.
pub enum Answer {
    /// A 2xx answer's JSON (`null` for an empty body).
    Ok(Value),
    /// Any other status, with iManage's explanation.
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
            member_shape: Cell::new(None),
            given: None,
        }
    }

    /// The configured library as someone else's token sees it (a console sign-in's): the token
    /// is used as given, never renewed or stored, and what discovery says of it is kept apart
    /// from the connection's.
    pub fn with_token(p: &'a dyn Platform, s: &'a Settings, token: String) -> Self {
        let mut api = Imanage::new(p, s);
        api.token = RefCell::new(Some(token));
        api.given = Some(RefCell::new(None));
        api
    }

    /// The settings this call runs with.
    pub fn settings(&self) -> &Settings {
        self.s
    }

    /// The platform this call runs on.
    pub fn p(&self) -> &dyn Platform {
        self.p
    }

    /// The library this handle calls.
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
        if let Some(given) = &self.given {
            if let Some(d) = given.borrow().clone() {
                return Ok(d);
            }
            return self.discover();
        }
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
        match &self.given {
            Some(given) => *given.borrow_mut() = Some(d.clone()),
            None => discovery::store(self.p, &d)?,
        }
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
                401 if self.given.is_some() => {
                    return Err(Error::NotConnected(
                        "iManage refused the sign-in's token".into(),
                    ))
                }
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
                s => return Ok(Answer::Status(s, error_summary(&response.body))),
            }
        }
    }

    /// Whether waiting `ms` before another attempt still fits in the event's deadline.
    pub fn may_wait(&self, ms: u64) -> bool {
        fits(self.p, self.deadline, ms)
    }

    /// How long to wait before attempt `attempt + 1` (see `transport::backoff_ms`).
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
