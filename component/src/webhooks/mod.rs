//! The HTTP API of `wasi:http/incoming-handler` (Spin, `matterlink serve`), as plain Rust: the
//! `wasi` adapter only moves bytes. JSON in and out, versioned under `/v1`; typed errors map to
//! statuses with a body `{"error": {"kind", "message"}}`.

pub mod actionstep;
pub mod signature;

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::events;
use crate::model::{Error, Matter};
use crate::platform::Platform;
use crate::settings::Settings;

/// Largest JSON body accepted; matter records and events are a few kilobytes.
pub const MAX_JSON_BODY: usize = 1 << 20;

/// An incoming webhook request, as the HTTP adapter received it.
pub struct Request {
    /// The HTTP method, e.g. `POST`.
    pub method: String,
    /// Path and query, as received.
    pub target: String,
    /// The headers, as received.
    pub headers: Vec<(String, String)>,
    /// The body, empty when it was too large.
    pub body: Vec<u8>,
    /// The body was longer than `body_limit` allows; it was not read in full.
    pub body_too_large: bool,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    fn query(&self, name: &str) -> Option<String> {
        let q = self.target.split_once('?')?.1;
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// The answer to a webhook request: a status and a JSON body.
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: Value,
}

fn ok(status: u16, body: Value) -> Response {
    Response { status, body }
}

fn error(status: u16, kind: &str, message: &str) -> Response {
    ok(status, json!({"error": {"kind": kind, "message": message}}))
}

/// The status of each typed error.
fn typed(e: &Error) -> Response {
    let status = match e {
        Error::InvalidMatter(_) | Error::InvalidUrl(_) => 422,
        Error::NotLinked(_) => 404,
        Error::Rejected(_) | Error::Skipped(_) => 409,
        Error::NotConfigured(_) => 500,
        Error::NotConnected(_) | Error::Unavailable(_) => 503,
    };
    error(status, e.kind(), e.message())
}

fn answer<T: serde::Serialize>(status: u16, result: crate::model::Result<T>) -> Response {
    match result {
        Ok(v) => ok(status, serde_json::to_value(v).unwrap_or(Value::Null)),
        Err(e) => typed(&e),
    }
}

/// How many body bytes a request may bring: documents may be large, everything else is JSON.
pub fn body_limit(method: &str, target: &str) -> usize {
    let path = target.split('?').next().unwrap_or_default();
    if method == "POST" && path.starts_with("/v1/matters/") && path.ends_with("/documents") {
        crate::documents::MAX_DOCUMENT_BYTES
    } else {
        MAX_JSON_BODY
    }
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| {
        error(
            400,
            "bad-request",
            &format!("the body is not what this route takes: {e}"),
        )
    })
}

/// Answers one request: routes it, checks the caller, and runs the operation it names.
pub fn handle(p: &dyn Platform, req: &Request) -> Response {
    // The audit records this request leads to name it, to find its lines in the host's logs.
    let _request = crate::audit::RequestScope::enter(req.header("x-request-id"));
    if req.body_too_large {
        return error(
            413,
            "too-large",
            &format!(
                "the body is over the limit of {} bytes for this route",
                body_limit(&req.method, &req.target)
            ),
        );
    }
    let segments: Vec<&str> = req
        .path()
        .trim_end_matches('/')
        .split('/')
        .skip(1)
        .collect();
    let method = req.method.as_str();
    // Each route: the methods it takes, whether it needs a signature, and its handler.
    match (segments.as_slice(), method) {
        (["v1", "health"], "GET") => health(p),
        (["v1", "actionstep", token], "POST") => actionstep_hook(p, token, req),
        (["v1", "events"], "POST")
        | (["v1", "legacy", "resolve" | "link"], "POST")
        | (["v1", "matters", _, "documents"], "POST")
        | (["v1", "matters", _, "workspace" | "folders"], "GET")
        | (["v1", "check" | "audit"], "GET") => match authenticate(p, req) {
            Err(refused) => refused,
            Ok(()) => signed_route(p, &segments, req),
        },
        (["v1", "health"], _)
        | (["v1", "actionstep", _], _)
        | (["v1", "events"], _)
        | (["v1", "legacy", "resolve" | "link"], _)
        | (["v1", "matters", _, "documents" | "workspace" | "folders"], _)
        | (["v1", "check" | "audit"], _) => error(
            405,
            "method-not-allowed",
            &format!("{method} is not allowed on {}", req.path()),
        ),
        (["v1", "changes"], "GET") => match authenticate(p, req) {
            Err(refused) => refused,
            Ok(()) => answer(200, crate::poll_changes(p, req.query("cursor").as_deref())),
        },
        (["v1", "changes"], _) => error(
            405,
            "method-not-allowed",
            &format!("{method} is not allowed on {}", req.path()),
        ),
        _ => error(404, "not-found", &format!("no route {}", req.path())),
    }
}

fn authenticate(p: &dyn Platform, req: &Request) -> Result<(), Response> {
    let secret = match p.config("webhook_secret") {
        Ok(Some(s)) if !s.trim().is_empty() => s,
        Ok(_) => {
            return Err(error(
                503,
                "not-configured",
                "`webhook_secret` is not set, so no caller can be authenticated",
            ))
        }
        Err(e) => return Err(typed(&e)),
    };
    signature::verify(
        secret.trim(),
        req.header(signature::TIMESTAMP_HEADER),
        req.header(signature::SIGNATURE_HEADER),
        &req.body,
        p.now(),
    )
    .map_err(|r| error(401, "unauthorized", r.message()))
}

fn signed_route(p: &dyn Platform, segments: &[&str], req: &Request) -> Response {
    match segments {
        ["v1", "events"] => match events::parse(&req.body) {
            Ok(e) => answer(200, events::handle(p, &e)),
            Err(events::ParseError::Malformed(why)) => error(
                400,
                "bad-request",
                &format!("the body is not an event: {why}"),
            ),
            Err(events::ParseError::Invalid(e)) => typed(&e),
        },
        ["v1", "legacy", "resolve"] => match parse::<Matter>(&req.body) {
            // `LegacyMatch` serialises itself as `{"kind": "linked", "workspace": …}` etc.
            Ok(m) => answer(200, crate::resolve_legacy(p, &m)),
            Err(r) => r,
        },
        ["v1", "legacy", "link"] => {
            #[derive(Deserialize)]
            struct LinkBody {
                matter: Matter,
                url: String,
            }
            match parse::<LinkBody>(&req.body) {
                Ok(b) => answer(200, crate::link_workspace(p, &b.matter, &b.url)),
                Err(r) => r,
            }
        }
        ["v1", "matters", id, "documents"] => {
            let Some(name) = req
                .header("x-document-name")
                .map(String::from)
                .or_else(|| req.query("name"))
            else {
                return error(
                    400,
                    "bad-request",
                    "name the document in X-Document-Name or ?name=",
                );
            };
            let folder = req.query("folder");
            match crate::file_document(p, id, folder.as_deref(), &name, &req.body) {
                Ok(doc) => ok(201, json!({"document_id": doc})),
                Err(e) => typed(&e),
            }
        }
        ["v1", "matters", id, "workspace"] => {
            match crate::validate::id("matter id", id).and_then(|_| crate::links::get(p, id)) {
                Ok(Some(link)) => ok(
                    200,
                    serde_json::to_value(link.workspace).unwrap_or(Value::Null),
                ),
                Ok(None) => typed(&Error::NotLinked(format!(
                    "matter {id} has no linked workspace"
                ))),
                Err(e) => typed(&e),
            }
        }
        ["v1", "matters", id, "folders"] => answer(200, crate::list_folders(p, id)),
        ["v1", "audit"] => {
            let number = |k: &str| req.query(k).and_then(|v| v.parse::<u64>().ok());
            let q = crate::audit::Query {
                matter_id: req.query("matter"),
                outcome: req.query("outcome"),
                since: number("since"),
                until: number("until"),
                limit: number("limit").unwrap_or(100).min(10_000) as u32,
            };
            answer(200, crate::audit::read(p, &q))
        }
        ["v1", "check"] => match crate::check_connection(p) {
            Ok(report) => ok(200, json!({"ok": true, "report": report})),
            Err(e) => typed(&e),
        },
        _ => error(404, "not-found", "no such route"),
    }
}

/// `POST /v1/actionstep/{token}`. Actionstep disables a hook that answers anything but 200,
/// so every well-formed delivery gets 200; an event that fails is kept as a dead letter for
/// `matterlink replay` instead. A malformed body still gets a 4xx.
fn actionstep_hook(p: &dyn Platform, token: &str, req: &Request) -> Response {
    match p.config("actionstep_token") {
        Ok(Some(expected))
            if !expected.trim().is_empty() && signature::same_secret(token, expected.trim()) => {}
        Ok(Some(_)) => return error(401, "unauthorized", "unknown hook token"),
        Ok(None) => return error(503, "not-configured", "`actionstep_token` is not set"),
        Err(e) => return typed(&e),
    }
    let delivery = match parse::<actionstep::Delivery>(&req.body) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let matter_types: BTreeMap<String, String> = match p.config("actionstep_matter_types") {
        Ok(Some(json)) => match serde_json::from_str(&json) {
            Ok(m) => m,
            Err(e) => {
                return error(
                    500,
                    "not-configured",
                    &format!("`actionstep_matter_types` must be a JSON object: {e}"),
                )
            }
        },
        _ => BTreeMap::new(),
    };
    let mut matters = Vec::with_capacity(delivery.actions.len());
    for (i, action) in delivery.actions.iter().enumerate() {
        match action.matter(&matter_types) {
            Some(m) => matters.push(m),
            None => {
                return error(
                    400,
                    "bad-request",
                    &format!("actions[{i}] has no usable id"),
                )
            }
        }
    }
    let mut results = Vec::new();
    for (action, matter) in delivery.actions.iter().zip(matters) {
        let outcome = actionstep::event_for(p, action, matter)
            .and_then(|e| events::handle(p, &e).map(|o| (e, o)));
        results.push(match outcome {
            Ok((e, o)) => json!({"event_id": e.id, "type": e.kind, "outcome": o}),
            Err(err) => json!({"error": {"kind": err.kind(), "message": err.message()}}),
        });
    }
    ok(200, json!({"results": results}))
}

/// Liveness plus whether the configuration loads; never contacts iManage, so it stays cheap
/// enough for a load balancer to call every few seconds.
fn health(p: &dyn Platform) -> Response {
    let (configured, problem) = match Settings::load(p) {
        Ok(_) => (true, None),
        Err(e) => (false, Some(e.message().to_string())),
    };
    ok(
        200,
        json!({
            "status": "ok",
            "component": "matterlink",
            "version": env!("CARGO_PKG_VERSION"),
            "configured": configured,
            "configuration_problem": problem,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePlatform;

    fn req(method: &str, target: &str, body: &[u8]) -> Request {
        Request {
            method: method.into(),
            target: target.into(),
            headers: Vec::new(),
            body: body.to_vec(),
            body_too_large: false,
        }
    }

    fn signed(p: &FakePlatform, method: &str, target: &str, body: &[u8]) -> Request {
        let mut r = req(method, target, body);
        let ts = p.now().to_string();
        r.headers
            .push((signature::TIMESTAMP_HEADER.into(), ts.clone()));
        r.headers.push((
            signature::SIGNATURE_HEADER.into(),
            signature::sign("hook-secret", &ts, body),
        ));
        r
    }

    #[test]
    fn routes_methods_and_signatures() {
        let p = FakePlatform::configured();
        p.set_config("webhook_secret", "hook-secret");
        let r = handle(&p, &req("GET", "/v1/health?x=1", b""));
        assert_eq!(r.status, 200);
        assert_eq!(r.body["configured"], true);
        assert_eq!(handle(&p, &req("POST", "/v1/health", b"")).status, 405);
        assert_eq!(handle(&p, &req("GET", "/v1/events", b"")).status, 405);
        assert_eq!(handle(&p, &req("GET", "/nope", b"")).status, 404);
        assert_eq!(handle(&p, &req("POST", "/v1/events", b"{}")).status, 401);
        let bad = signed(&p, "POST", "/v1/events", b"{not json");
        let r = handle(&p, &bad);
        assert_eq!(r.status, 400);
        assert_eq!(r.body["error"]["kind"], "bad-request");
        let mut big = signed(&p, "POST", "/v1/events", b"");
        big.body_too_large = true;
        assert_eq!(handle(&p, &big).status, 413);
        assert!(p.kv.borrow().is_empty(), "refused requests change nothing");
    }

    #[test]
    fn the_change_feed_route_is_signed_and_get_only() {
        let p = FakePlatform::configured();
        p.set_config("webhook_secret", "hook-secret");
        assert_eq!(handle(&p, &req("GET", "/v1/changes", b"")).status, 401);
        assert_eq!(handle(&p, &req("POST", "/v1/changes", b"")).status, 405);
        let r = handle(&p, &signed(&p, "GET", "/v1/changes?cursor=nope.1", b""));
        assert_eq!(
            (r.status, r.body["error"]["kind"].as_str()),
            (409, Some("rejected"))
        );
        assert!(
            p.sent.borrow().is_empty(),
            "a foreign cursor costs no request"
        );
    }

    #[test]
    fn without_a_secret_nothing_is_accepted() {
        let p = FakePlatform::configured();
        let r = handle(&p, &req("GET", "/v1/check", b""));
        assert_eq!(r.status, 503);
        assert_eq!(r.body["error"]["kind"], "not-configured");
    }
}
