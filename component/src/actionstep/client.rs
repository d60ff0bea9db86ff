//! Reading Actionstep's REST API: `Accept: application/vnd.api+json` and a Bearer token
//! (Actionstep API wiki, "Requests"), over the same `transport` as iManage (retries within the
//! event's deadline, status → error), with one new token after a 401.

use serde_json::Value;

use super::auth;
use crate::model::{Error, Result};
use crate::platform::{HttpRequest, Method, Platform};
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
        let (token, base) = auth::access(self.p, self.s, self.api)?;
        let mut r = self.send(&token, &base, path)?;
        if r.status == 401 {
            let (token, base) = auth::after_rejection(self.p, self.s, self.api, &token)?;
            r = self.send(&token, &base, path)?;
        }
        if !(200..300).contains(&r.status) {
            return Err(transport::status_error(
                Method::Get,
                &format!("Actionstep rest/{path}"),
                r.status,
                &error_summary(&r.body),
            ));
        }
        serde_json::from_slice(&r.body).map_err(|e| {
            Error::Unavailable(format!(
                "Actionstep's answer to rest/{path} is not JSON: {e}"
            ))
        })
    }

    fn send(&self, token: &str, base: &str, path: &str) -> Result<crate::platform::HttpResponse> {
        let request = HttpRequest {
            method: Method::Get,
            url: format!("{base}rest/{path}"),
            headers: vec![
                ("accept".into(), "application/vnd.api+json".into()),
                ("authorization".into(), format!("Bearer {token}")),
            ],
            body: Vec::new(),
            timeout_ms: self.s.request_timeout_s * 1000,
        };
        send_with_retries(self.p, &request, Retry::Safe, deadline(self.p, self.s))
    }
}
