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
    backoff_ms, deadline, error_summary, fits, redact_url, send_all_with_retries, status_error,
    Retry,
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

/// One library-relative JSON request, for sending several that may run together
/// (`Imanage::call_all`).
#[derive(Debug, Clone)]
pub struct Call {
    /// The method.
    pub method: Method,
    /// Appended to the library base; starts with `/`, segments encoded (see `api::seg`).
    pub path: String,
    /// The JSON body, if any.
    pub body: Option<Value>,
    /// Whether it may be repeated.
    pub retry: Retry,
}

/// One request as `authorized` sends it.
struct Outgoing<'c> {
    method: Method,
    url: String,
    content_type: &'c str,
    body: Vec<u8>,
    retry: Retry,
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

    /// Sends calls that may run together (none needs another's answer), several at once (see
    /// `transport::send_all_with_retries`), and answers in their order. Each is retried as
    /// `call` would retry it, and a 401 renews the token once for all of them.
    pub fn call_all(&self, calls: &[Call]) -> Vec<Result<Answer>> {
        let base = match self.library_base() {
            Ok(base) => base,
            Err(e) => return calls.iter().map(|_| Err(e.clone())).collect(),
        };
        let outgoing: Vec<Outgoing<'_>> = calls
            .iter()
            .map(|c| Outgoing {
                method: c.method,
                url: format!("{base}{}", c.path),
                content_type: "application/json",
                body: c
                    .body
                    .as_ref()
                    .map(|b| b.to_string().into_bytes())
                    .unwrap_or_default(),
                retry: c.retry,
            })
            .collect();
        self.authorized_all(&outgoing)
    }

    /// Like `call_all`, but any non-2xx answer is an error (as `call_ok`).
    pub fn call_all_ok(&self, calls: &[Call]) -> Vec<Result<Value>> {
        calls
            .iter()
            .zip(self.call_all(calls))
            .map(|(c, answer)| match answer? {
                Answer::Ok(v) => Ok(v),
                Answer::Status(status, why) => Err(status_error(c.method, &c.path, status, &why)),
            })
            .collect()
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
        let one = Outgoing {
            method,
            url: url.to_string(),
            content_type,
            body,
            retry,
        };
        let mut answers = self.authorized_all(std::slice::from_ref(&one));
        answers
            .pop()
            .unwrap_or_else(|| Err(Error::Unavailable("no answer".into())))
    }

    /// Sends requests that may run together with the access token, answers in their order. A
    /// 401 renews the token once (for all of them) and repeats, once, only the requests it
    /// answered.
    fn authorized_all(&self, outgoing: &[Outgoing<'_>]) -> Vec<Result<Answer>> {
        let token = match self.access_token() {
            Ok(token) => token,
            Err(e) => return outgoing.iter().map(|_| Err(e.clone())).collect(),
        };
        let request = |o: &Outgoing<'_>, token: &str| HttpRequest {
            method: o.method,
            url: o.url.clone(),
            headers: vec![
                ("x-auth-token".into(), token.to_string()),
                ("content-type".into(), o.content_type.into()),
                ("accept".into(), "application/json".into()),
            ],
            body: o.body.clone(),
            timeout_ms: self.s.request_timeout_s * 1000,
        };
        let send = |members: &[usize], token: &str| {
            let requests: Vec<HttpRequest> = members
                .iter()
                .map(|&i| request(&outgoing[i], token))
                .collect();
            let retries: Vec<Retry> = members.iter().map(|&i| outgoing[i].retry).collect();
            send_all_with_retries(
                self.p,
                &requests,
                &retries,
                self.deadline,
                self.s.max_in_flight,
            )
        };
        let everyone: Vec<usize> = (0..outgoing.len()).collect();
        let mut responses = send(&everyone, &token);
        let rejected: Vec<usize> = responses
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r, Ok(r) if r.status == 401))
            .map(|(i, _)| i)
            .collect();
        let mut renewed = false;
        if !rejected.is_empty() && self.given.is_some() {
            // A token the caller gave (a person's sign-in) is never renewed: it is theirs.
            for &i in &rejected {
                responses[i] = Err(Error::NotConnected(
                    "iManage refused the sign-in's token".into(),
                ));
            }
        } else if !rejected.is_empty() {
            renewed = true;
            match session::after_rejection(self.p, self.s, &token) {
                Ok(fresh) => {
                    *self.token.borrow_mut() = Some(fresh.clone());
                    for (&i, again) in rejected.iter().zip(send(&rejected, &fresh)) {
                        responses[i] = again;
                    }
                }
                Err(e) => {
                    for &i in &rejected {
                        responses[i] = Err(e.clone());
                    }
                }
            }
        }
        outgoing
            .iter()
            .zip(responses)
            .map(|(o, response)| {
                let response = response?;
                match response.status {
                    401 if renewed => Err(Error::NotConnected(format!(
                        "iManage refused a freshly renewed token ({} {}); an administrator must run `matterlink check`, and `matterlink connect` if it says so",
                        o.method.as_str(),
                        redact_url(&o.url)
                    ))),
                    s if (200..300).contains(&s) => {
                        if response.body.is_empty() {
                            return Ok(Answer::Ok(Value::Null));
                        }
                        serde_json::from_slice(&response.body)
                            .map(Answer::Ok)
                            .map_err(|_| {
                                Error::Unavailable(format!(
                                    "{} {}: iManage answered with invalid JSON",
                                    o.method.as_str(),
                                    redact_url(&o.url)
                                ))
                            })
                    }
                    s => Ok(Answer::Status(s, error_summary(&response.body))),
                }
            })
            .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::HttpResponse;
    use crate::testing::FakePlatform;
    use serde_json::json;
    use std::cell::Cell;
    use std::rc::Rc;

    fn ok(body: Value) -> HttpResponse {
        HttpResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    #[test]
    fn a_401_in_a_batch_renews_the_token_once_and_repeats_only_what_it_answered() {
        let p = FakePlatform::configured();
        let signins = Rc::new(Cell::new(0));
        let counted = signins.clone();
        p.respond_with(move |r| {
            if r.url.contains("/oauth2/token") {
                counted.set(counted.get() + 1);
                let token = format!("token-{}", counted.get());
                return ok(
                    json!({"access_token": token, "token_type": "bearer", "expires_in": 5400}),
                );
            }
            if r.url.ends_with("/api") {
                return ok(json!({"data": {"user": {"customer_id": 1, "id": "svc"},
                    "work": {"libraries": [{"alias": "ACTIVE"}]}}}));
            }
            let token = r
                .headers
                .iter()
                .find(|(k, _)| k == "x-auth-token")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            // The first token is refused by /a and /b (revoked while they were on the way);
            // /c answers whatever it is given.
            if token == "token-1" && !r.url.ends_with("/c") {
                return HttpResponse {
                    status: 401,
                    headers: Vec::new(),
                    body: Vec::new(),
                };
            }
            ok(json!({"token": token}))
        });
        let s = Settings::load(&p).unwrap();
        let api = Imanage::new(&p, &s);
        let calls: Vec<Call> = ["/a", "/b", "/c"]
            .iter()
            .map(|path| Call {
                method: Method::Post,
                path: path.to_string(),
                body: Some(json!({})),
                retry: Retry::Never,
            })
            .collect();
        let answers: Vec<Value> = api
            .call_all_ok(&calls)
            .into_iter()
            .map(|a| a.unwrap())
            .collect();
        assert_eq!(
            answers,
            vec![
                json!({"token": "token-2"}),
                json!({"token": "token-2"}),
                json!({"token": "token-1"})
            ]
        );
        assert_eq!(signins.get(), 2, "one renewal for the batch");
        let sent = p.sent.borrow();
        let to = |path: &str| sent.iter().filter(|r| r.url.ends_with(path)).count();
        assert_eq!((to("/a"), to("/b"), to("/c")), (2, 2, 1));
    }

    #[test]
    fn a_401_after_renewal_is_not_connected() {
        let p = FakePlatform::configured();
        p.respond_with(|r| {
            if r.url.contains("/oauth2/token") {
                return ok(
                    json!({"access_token": "t", "token_type": "bearer", "expires_in": 5400}),
                );
            }
            if r.url.ends_with("/api") {
                return ok(json!({"data": {"user": {"customer_id": 1, "id": "svc"},
                    "work": {"libraries": [{"alias": "ACTIVE"}]}}}));
            }
            HttpResponse {
                status: 401,
                headers: Vec::new(),
                body: Vec::new(),
            }
        });
        let s = Settings::load(&p).unwrap();
        let api = Imanage::new(&p, &s);
        let e = api
            .call_ok(Method::Get, "/x", None, Retry::Safe)
            .unwrap_err();
        assert!(matches!(e, Error::NotConnected(_)), "{e:?}");
    }
}
