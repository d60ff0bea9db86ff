//! Speaking Actionstep's REST API: `Accept: application/vnd.api+json` and a Bearer token
//! (Actionstep API wiki, "Requests"), over the same `transport` as iManage (retries within the
//! event's deadline, status → error), with one new token after a 401.

use serde_json::Value;

use super::auth;
use crate::model::{Error, Result};
use crate::platform::{HttpRequest, HttpResponse, Method, Platform};
use crate::settings::{ActionstepApi, Settings};
use crate::transport::{self, deadline, error_summary, send_with_retries, Retry};

/// The API of the connected organisation.
pub struct Actionstep<'a> {
    p: &'a dyn Platform,
    s: &'a Settings,
    api: &'a ActionstepApi,
}

impl<'a> Actionstep<'a> {
    /// The API as `api` configures it, under `s`'s timeouts.
    pub fn new(p: &'a dyn Platform, s: &'a Settings, api: &'a ActionstepApi) -> Self {
        Actionstep { p, s, api }
    }

    /// `GET {api}rest/{path}` as JSON.
    pub fn get(&self, path: &str) -> Result<Value> {
        self.call(Method::Get, path, None, Retry::Safe)
    }

    /// `POST {api}rest/{path}` with a JSON body: it creates, so it is sent once.
    pub fn post(&self, path: &str, body: &Value) -> Result<Value> {
        self.call(Method::Post, path, Some(body), Retry::Never)
    }

    /// `DELETE {api}rest/{path}`.
    pub fn delete(&self, path: &str) -> Result<()> {
        self.call(Method::Delete, path, None, Retry::Safe)
            .map(|_| ())
    }

    fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        retry: Retry,
    ) -> Result<Value> {
        let (token, base) = auth::access(self.p, self.s, self.api)?;
        let mut r = self.send(method, &token, &base, path, body, retry)?;
        if r.status == 401 {
            let (token, base) = auth::after_rejection(self.p, self.s, self.api, &token)?;
            r = self.send(method, &token, &base, path, body, retry)?;
        }
        if !(200..300).contains(&r.status) {
            return Err(transport::status_error(
                method,
                &format!("Actionstep rest/{path}"),
                r.status,
                &error_summary(&r.body),
            ));
        }
        if r.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&r.body).map_err(|e| {
            Error::Unavailable(format!(
                "Actionstep's answer to rest/{path} is not JSON: {e}"
            ))
        })
    }

    fn send(
        &self,
        method: Method,
        token: &str,
        base: &str,
        path: &str,
        body: Option<&Value>,
        retry: Retry,
    ) -> Result<HttpResponse> {
        let mut headers = vec![
            ("accept".into(), "application/vnd.api+json".into()),
            ("authorization".into(), format!("Bearer {token}")),
        ];
        if body.is_some() {
            headers.push(("content-type".into(), "application/vnd.api+json".into()));
        }
        let request = HttpRequest {
            method,
            url: format!("{base}rest/{path}"),
            headers,
            body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
            timeout_ms: self.s.request_timeout_s * 1000,
        };
        send_with_retries(self.p, &request, retry, deadline(self.p, self.s))
    }
}
