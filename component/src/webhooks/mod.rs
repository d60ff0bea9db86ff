//! The HTTP API of `wasi:http/incoming-handler` (Spin, `matterlink serve`), as plain Rust: the
//! `wasi` adapter only moves bytes. JSON in and out, versioned under `/v1`; typed errors map to
//! statuses with a body `{"error": {"kind", "message"}}`.

pub mod replay;
pub mod signature;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::events;
use crate::http_parts::LimitedBody;
use crate::model::{Error, Matter};
use crate::platform::Platform;
use crate::settings::{self, Settings};
use signature::Claimed;

/// Largest JSON body accepted; matter records and events are a few kilobytes.
pub const MAX_JSON_BODY: usize = 1 << 20;

/// What is known of a request before its body is read: enough to route it and to check the
/// caller, so that a request refused on these alone is refused without reading its body.
#[derive(Debug, Clone)]
pub struct Head {
    /// The HTTP method, e.g. `POST`.
    pub method: String,
    /// Path and query, exactly as on the request line (this is what is signed).
    pub target: String,
    /// The headers, as received.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first value of header `name`, compared without case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// The first value of query parameter `name`, decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        let q = self.target.split_once('?')?.1;
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// An incoming webhook request whose body was already read (native callers, tests, fuzzing).
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

/// The answer to a webhook request: a status and a JSON body.
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: Value,
}

impl From<Response> for crate::http_parts::Reply {
    fn from(r: Response) -> Self {
        let body = serde_json::to_vec(&r.body).unwrap_or_default();
        crate::http_parts::Reply::new(r.status, "application/json", body)
    }
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

/// A route, resolved from the method and path alone.
enum Route<'a> {
    Health,
    Actionstep(&'a str),
    Signed(Signed<'a>),
}

/// The routes only a caller holding `webhook_secret` may use.
enum Signed<'a> {
    Events,
    LegacyResolve,
    LegacyLink,
    Documents(&'a str),
    Workspace(&'a str),
    Folders(&'a str),
    Check,
    Audit,
    Changes,
}

/// The route `method` on `path` names, or the answer refusing it: 404, 405, or 422 for a matter
/// id that cannot be one. Path segments are not percent-decoded: a matter id holds only
/// letters, digits and `- _ . :`, which never need encoding, so any `%` (an encoded `/`, NUL,
/// `..` or byte that is not UTF-8) makes the id invalid rather than something else.
fn route<'a>(method: &str, path: &'a str) -> Result<Route<'a>, Response> {
    let segments: Vec<&'a str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let not_allowed = || {
        Err(error(
            405,
            "method-not-allowed",
            &format!("{method} is not allowed on {path}"),
        ))
    };
    let matter =
        |id: &'a str, r: fn(&'a str) -> Signed<'a>| match crate::validate::id("matter id", id) {
            Ok(()) => Ok(Route::Signed(r(id))),
            Err(e) => Err(typed(&e)),
        };
    match (segments.as_slice(), method) {
        (["v1", "health"], "GET") => Ok(Route::Health),
        (["v1", "actionstep", token], "POST") => Ok(Route::Actionstep(token)),
        (["v1", "events"], "POST") => Ok(Route::Signed(Signed::Events)),
        (["v1", "legacy", "resolve"], "POST") => Ok(Route::Signed(Signed::LegacyResolve)),
        (["v1", "legacy", "link"], "POST") => Ok(Route::Signed(Signed::LegacyLink)),
        (["v1", "matters", id, "documents"], "POST") => matter(id, Signed::Documents),
        (["v1", "matters", id, "workspace"], "GET") => matter(id, Signed::Workspace),
        (["v1", "matters", id, "folders"], "GET") => matter(id, Signed::Folders),
        (["v1", "check"], "GET") => Ok(Route::Signed(Signed::Check)),
        (["v1", "audit"], "GET") => Ok(Route::Signed(Signed::Audit)),
        (["v1", "changes"], "GET") => Ok(Route::Signed(Signed::Changes)),
        (["v1", "health" | "events" | "check" | "audit" | "changes"], _)
        | (["v1", "actionstep", _], _)
        | (["v1", "legacy", "resolve" | "link"], _)
        | (["v1", "matters", _, "documents" | "workspace" | "folders"], _) => not_allowed(),
        _ => Err(error(404, "not-found", &format!("no route {path}"))),
    }
}

/// Answers one request whose body has been read already.
pub fn handle(p: &dyn Platform, req: &Request) -> Response {
    let head = Head {
        method: req.method.clone(),
        target: req.target.clone(),
        headers: req.headers.clone(),
    };
    handle_streaming(p, &head, |_| LimitedBody {
        bytes: req.body.clone(),
        too_large: req.body_too_large,
    })
}

/// Answers one request: routes it, checks the caller, and runs the operation it names.
///
/// `read_body` is called at most once, with the route's limit (`body_limit`), and only after the
/// route, the caller's credentials and, for signed routes, the signature's form and timestamp
/// passed: a request refused on its head alone is refused without reading a byte of its body.
pub fn handle_streaming(
    p: &dyn Platform,
    head: &Head,
    read_body: impl FnOnce(usize) -> LimitedBody,
) -> Response {
    // The audit records this request leads to name it, to find its lines in the host's logs.
    let _request = crate::audit::RequestScope::enter(head.header("x-request-id"));
    let route = match route(&head.method, head.path()) {
        Ok(r) => r,
        Err(refused) => return refused,
    };
    match route {
        Route::Health => health(p),
        Route::Actionstep(token) => {
            if let Err(refused) = actionstep_caller(p, token) {
                return refused;
            }
            // From here on the answer is 200 whatever happens: Actionstep switches off a hook
            // that answers anything else, so what cannot be handled now is kept for replay.
            let limit = body_limit(&head.method, &head.target);
            let body = read_body(limit);
            let held = if body.too_large {
                crate::held::Body::TooLarge { limit }
            } else {
                crate::held::Body::Read(&body.bytes)
            };
            match crate::actionstep::deliver::receive(p, held) {
                Ok(answer) => ok(200, answer),
                // Nothing could be kept (key-value itself failed): only then may the sender
                // see an error, for it must send the delivery again.
                Err(e) => typed(&e),
            }
        }
        Route::Signed(route) => {
            let (secret, claimed) = match authenticate_head(p, head) {
                Ok(c) => c,
                Err(refused) => return refused,
            };
            if let Err(refused) = check_head(&route, head) {
                return refused;
            }
            let body = match read(head, read_body) {
                Ok(body) => body,
                Err(refused) => return refused,
            };
            if let Err(r) =
                signature::verify_body(&secret, &claimed, &head.method, &head.target, &body)
            {
                return error(401, "unauthorized", r.message());
            }
            match replay::first_use(p, &claimed.mac, claimed.at) {
                Ok(true) => signed_route(p, &route, head, &body),
                Ok(false) => error(
                    409,
                    "replayed",
                    "this signature was used before; a signed request is accepted once, so sign each request anew",
                ),
                Err(e) => typed(&e),
            }
        }
    }
}

/// The body under the route's limit; 413 when it is over.
fn read(head: &Head, read_body: impl FnOnce(usize) -> LimitedBody) -> Result<Vec<u8>, Response> {
    let limit = body_limit(&head.method, &head.target);
    let body = read_body(limit);
    if body.too_large {
        return Err(error(
            413,
            "too-large",
            &format!("the body is over the limit of {limit} bytes for this route"),
        ));
    }
    Ok(body.bytes)
}

/// The secret and the signature a signed request's headers claim, checked without its body.
fn authenticate_head(p: &dyn Platform, head: &Head) -> Result<(String, Claimed), Response> {
    let secret = match settings::shared_secret(p, "webhook_secret") {
        Ok(s) => s,
        Err(Error::NotConfigured(why)) => return Err(error(503, "not-configured", &why)),
        Err(e) => return Err(typed(&e)),
    };
    let claimed = signature::check_headers(
        head.header(signature::TIMESTAMP_HEADER),
        head.header(signature::SIGNATURE_HEADER),
        p.now(),
    )
    .map_err(|r| error(401, "unauthorized", r.message()))?;
    Ok((secret, claimed))
}

/// What a signed route refuses from its head alone, before the body is read.
fn check_head(route: &Signed<'_>, head: &Head) -> Result<(), Response> {
    if let Signed::Documents(_) = route {
        // A header is outside the signed string: a captured upload re-sent with another name
        // must not pass, so the name travels in the (signed) query only.
        if head.header("x-document-name").is_some() {
            return Err(error(
                400,
                "bad-request",
                "X-Document-Name is no longer accepted, because headers are not signed: name the document with ?name= (URL-encoded)",
            ));
        }
        // The same holds for the idempotency key, which decides whether anything is filed.
        if head.header("idempotency-key").is_some() {
            return Err(error(
                400,
                "bad-request",
                "Idempotency-Key is not accepted as a header, because headers are not signed: send it as ?idempotency_key= (URL-encoded)",
            ));
        }
        if head.query("name").is_none() {
            return Err(error(
                400,
                "bad-request",
                "name the document with ?name= (URL-encoded)",
            ));
        }
    }
    Ok(())
}

fn signed_route(p: &dyn Platform, route: &Signed<'_>, head: &Head, body: &[u8]) -> Response {
    match *route {
        Signed::Events => match events::parse(body) {
            Ok(e) => answer(200, events::handle(p, &e)),
            Err(events::ParseError::Malformed(why)) => error(
                400,
                "bad-request",
                &format!("the body is not an event: {why}"),
            ),
            Err(events::ParseError::Invalid(e)) => typed(&e),
        },
        Signed::LegacyResolve => match parse::<Matter>(body) {
            // `LegacyMatch` serialises itself as `{"kind": "linked", "workspace": …}` etc.
            Ok(m) => answer(200, crate::resolve_legacy(p, &m)),
            Err(r) => r,
        },
        Signed::LegacyLink => {
            #[derive(Deserialize)]
            struct LinkBody {
                matter: Matter,
                url: String,
            }
            match parse::<LinkBody>(body) {
                Ok(b) => answer(200, crate::link_workspace(p, &b.matter, &b.url)),
                Err(r) => r,
            }
        }
        Signed::Documents(id) => {
            // `check_head` made sure of the name.
            let name = head.query("name").unwrap_or_default();
            let folder = head.query("folder");
            let key = head.query("idempotency_key");
            match crate::file_document(p, id, folder.as_deref(), &name, body, key.as_deref()) {
                Ok(doc) => ok(201, json!({"document_id": doc})),
                Err(e) => typed(&e),
            }
        }
        Signed::Workspace(id) => match crate::links::get(p, id) {
            Ok(Some(link)) => ok(
                200,
                serde_json::to_value(link.workspace).unwrap_or(Value::Null),
            ),
            Ok(None) => typed(&Error::NotLinked(format!(
                "matter {id} has no linked workspace"
            ))),
            Err(e) => typed(&e),
        },
        Signed::Folders(id) => answer(200, crate::list_folders(p, id)),
        Signed::Audit => {
            let number = |k: &str| head.query(k).and_then(|v| v.parse::<u64>().ok());
            let q = crate::audit::Query {
                matter_id: head.query("matter"),
                outcome: head.query("outcome"),
                since: number("since"),
                until: number("until"),
                limit: number("limit").unwrap_or(100).min(10_000) as u32,
            };
            answer(200, crate::audit::read(p, &q))
        }
        Signed::Check => match crate::check_connection(p) {
            Ok(report) => ok(
                200,
                json!({
                    "ok": true,
                    "component": "matterlink",
                    "version": env!("CARGO_PKG_VERSION"),
                    "report": report,
                }),
            ),
            Err(e) => typed(&e),
        },
        Signed::Changes => answer(200, crate::poll_changes(p, head.query("cursor").as_deref())),
    }
}

/// Whether `token` is the Actionstep hook's; checked before the body is read.
fn actionstep_caller(p: &dyn Platform, token: &str) -> Result<(), Response> {
    match settings::shared_secret(p, "actionstep_token") {
        Ok(expected) if signature::same_secret(token, &expected) => Ok(()),
        // 404, not 401: Actionstep deletes a hook that answers 401, and to a caller without the
        // token this route does not exist.
        Ok(_) => Err(error(404, "not-found", "no such hook")),
        Err(Error::NotConfigured(why)) => Err(error(503, "not-configured", &why)),
        Err(e) => Err(typed(&e)),
    }
}

/// Liveness plus whether the configuration loads; never contacts iManage, so it stays cheap
/// enough for a load balancer to call every few seconds. Unsigned, so it says nothing more: what
/// is wrong with the configuration, and which version runs, are for signed `/v1/check`.
fn health(p: &dyn Platform) -> Response {
    ok(
        200,
        json!({"status": "ok", "configured": Settings::load(p).is_ok()}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePlatform;

    const SECRET: &str = "webhook-secret-of-at-least-32-chars";
    const HOOK_TOKEN: &str = "actionstep-token-of-at-least-32-chars";

    fn req(method: &str, target: &str, body: &[u8]) -> Request {
        Request {
            method: method.into(),
            target: target.into(),
            headers: Vec::new(),
            body: body.to_vec(),
            body_too_large: false,
        }
    }

    fn platform() -> FakePlatform {
        let p = FakePlatform::configured();
        p.set_config("webhook_secret", SECRET);
        p
    }

    fn signed(p: &FakePlatform, method: &str, target: &str, body: &[u8]) -> Request {
        let mut r = req(method, target, body);
        let ts = p.now().to_string();
        r.headers
            .push((signature::TIMESTAMP_HEADER.into(), ts.clone()));
        r.headers.push((
            signature::SIGNATURE_HEADER.into(),
            signature::sign(SECRET, &ts, method, target, body),
        ));
        r
    }

    /// The head of `r`, for `handle_streaming`.
    fn head(r: &Request) -> Head {
        Head {
            method: r.method.clone(),
            target: r.target.clone(),
            headers: r.headers.clone(),
        }
    }

    /// Answers `r` with a body source that fails the test if it is read at all.
    fn without_reading(p: &FakePlatform, r: &Request) -> Response {
        handle_streaming(p, &head(r), |_| panic!("the body was read"))
    }

    /// Everything in key-value but the memory of used signatures.
    fn domain_state(p: &FakePlatform) -> std::collections::BTreeMap<String, Vec<u8>> {
        let mut kv = p.kv.borrow().clone();
        kv.retain(|k, _| !k.starts_with("webhook/"));
        kv
    }

    fn kind(r: &Response) -> (u16, &str) {
        (r.status, r.body["error"]["kind"].as_str().unwrap_or(""))
    }

    #[test]
    fn routes_methods_and_signatures() {
        let p = platform();
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
        assert!(
            domain_state(&p).is_empty(),
            "refused requests change nothing"
        );
    }

    #[test]
    fn the_change_feed_route_is_signed_and_get_only() {
        let p = platform();
        assert_eq!(handle(&p, &req("GET", "/v1/changes", b"")).status, 401);
        assert_eq!(handle(&p, &req("POST", "/v1/changes", b"")).status, 405);
        let r = handle(&p, &signed(&p, "GET", "/v1/changes?cursor=nope.1", b""));
        assert_eq!(kind(&r), (409, "rejected"));
        assert!(
            p.sent.borrow().is_empty(),
            "a foreign cursor costs no request"
        );
    }

    #[test]
    fn without_a_secret_nothing_is_accepted() {
        let p = FakePlatform::configured();
        let r = handle(&p, &req("GET", "/v1/check", b""));
        assert_eq!(kind(&r), (503, "not-configured"));
    }

    #[test]
    fn short_secrets_are_not_configured() {
        let p = FakePlatform::configured();
        let short = "s".repeat(settings::MIN_SECRET_CHARS - 1);
        p.set_config("webhook_secret", &short);
        p.set_config("actionstep_token", &short);
        // Even a request correctly signed with the short secret is refused.
        let mut r = req("GET", "/v1/check", b"");
        let ts = p.now().to_string();
        r.headers
            .push((signature::TIMESTAMP_HEADER.into(), ts.clone()));
        r.headers.push((
            signature::SIGNATURE_HEADER.into(),
            signature::sign(&short, &ts, "GET", "/v1/check", b""),
        ));
        let answer = handle(&p, &r);
        assert_eq!(kind(&answer), (503, "not-configured"));
        let message = answer.body["error"]["message"].as_str().unwrap();
        assert!(message.contains("`webhook_secret`") && message.contains("at least 32"));
        assert!(!message.contains(&short), "{message}");
        let hook = handle(&p, &req("POST", &format!("/v1/actionstep/{short}"), b"{}"));
        assert_eq!(kind(&hook), (503, "not-configured"));
        assert!(hook.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`actionstep_token`"));
        assert!(p.kv.borrow().is_empty());
    }

    #[test]
    fn a_signature_opens_only_the_request_it_was_made_for() {
        let p = platform();
        let genuine = signed(&p, "GET", "/v1/matters/1042/folders", b"");
        for (method, target) in [
            ("GET", "/v1/audit"),
            ("GET", "/v1/matters/OTHER/folders"),
            ("GET", "/v1/matters/1042/workspace"),
            ("GET", "/v1/changes?cursor=abc.1"),
            ("GET", "/v1/matters/1042/folders?x=1"),
        ] {
            let mut forged = req(method, target, b"");
            forged.headers = genuine.headers.clone();
            let r = handle(&p, &forged);
            assert_eq!(kind(&r), (401, "unauthorized"), "{method} {target}");
        }
        // A captured upload re-sent to another matter, or under another name.
        let upload = signed(&p, "POST", "/v1/matters/1042/documents?name=a.pdf", b"%PDF");
        for target in [
            "/v1/matters/OTHER/documents?name=a.pdf",
            "/v1/matters/1042/documents?name=b.pdf",
        ] {
            let mut forged = req("POST", target, b"%PDF");
            forged.headers = upload.headers.clone();
            assert_eq!(
                kind(&handle(&p, &forged)),
                (401, "unauthorized"),
                "{target}"
            );
        }
        assert!(p.kv.borrow().is_empty() && p.sent.borrow().is_empty());
    }

    #[test]
    fn a_signed_request_is_accepted_once() {
        let p = platform();
        let first = signed(&p, "GET", "/v1/changes?cursor=nope.1", b"");
        assert_eq!(kind(&handle(&p, &first)), (409, "rejected"));
        let again = handle(&p, &first);
        assert_eq!(kind(&again), (409, "replayed"));
        assert!(again.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sign each request anew"));
        // The same request signed a second later is a new request.
        p.advance(1);
        let later = signed(&p, "GET", "/v1/changes?cursor=nope.1", b"");
        assert_eq!(kind(&handle(&p, &later)), (409, "rejected"));
        // Its twin with `1` moved from the query into the (empty) body has the same signed string,
        // and so the same signature: refused as a replay too.
        p.advance(1);
        let original = signed(&p, "GET", "/v1/changes?cursor=nope.1", b"");
        assert_eq!(kind(&handle(&p, &original)), (409, "rejected"));
        let mut twin = req("GET", "/v1/changes?cursor=nope", b"1.");
        twin.headers = original.headers.clone();
        assert_eq!(kind(&handle(&p, &twin)), (409, "replayed"));
        assert!(domain_state(&p).is_empty());
    }

    #[test]
    fn the_document_name_is_signed_in_the_query_only() {
        let p = platform();
        let mut r = signed(&p, "POST", "/v1/matters/1042/documents", b"%PDF");
        r.headers.push(("X-Document-Name".into(), "a.pdf".into()));
        let answer = without_reading(&p, &r);
        assert_eq!(kind(&answer), (400, "bad-request"));
        assert!(answer.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("?name="));
        let unnamed = signed(&p, "POST", "/v1/matters/1042/documents", b"%PDF");
        assert_eq!(kind(&without_reading(&p, &unnamed)), (400, "bad-request"));
        // Named in the query, it reaches the operation (which finds no link).
        let named = signed(
            &p,
            "POST",
            "/v1/matters/1042/documents?name=a%20b.pdf",
            b"%PDF",
        );
        assert_eq!(kind(&handle(&p, &named)), (404, "not-linked"));
        assert!(domain_state(&p).is_empty());
    }

    #[test]
    fn uploads_are_refused_on_their_head_without_reading_the_body() {
        let p = platform();
        let target = "/v1/matters/1042/documents?name=big.pdf";
        let mut upload = req("POST", target, b"");
        upload
            .headers
            .push(("content-length".into(), (60 << 20).to_string()));
        // Unsigned.
        assert_eq!(kind(&without_reading(&p, &upload)), (401, "unauthorized"));
        // Signed an hour ago, or with a signature that is not one.
        for (ts, sig) in [
            ((p.now() - 3600).to_string(), "sha256=00".to_string()),
            (p.now().to_string(), "md5=abc".to_string()),
            ("soon".to_string(), "sha256=00".to_string()),
        ] {
            let mut r = req("POST", target, b"");
            r.headers.push((signature::TIMESTAMP_HEADER.into(), ts));
            r.headers.push((signature::SIGNATURE_HEADER.into(), sig));
            assert_eq!(kind(&without_reading(&p, &r)), (401, "unauthorized"));
        }
        // To an unknown route, with the wrong method, or for a matter id that cannot be one.
        assert_eq!(
            without_reading(&p, &req("POST", "/v1/nope", b"")).status,
            404
        );
        assert_eq!(without_reading(&p, &req("PUT", target, b"")).status, 405);
        let bad_id = signed(&p, "POST", "/v1/matters/%2e%2e/documents?name=x", b"");
        assert_eq!(without_reading(&p, &bad_id).status, 422);
        // Without a secret configured, or to the Actionstep hook with a wrong token.
        let unset = FakePlatform::configured();
        assert_eq!(
            kind(&without_reading(&unset, &upload)),
            (503, "not-configured")
        );
        p.set_config("actionstep_token", HOOK_TOKEN);
        let hook = req("POST", "/v1/actionstep/wrong-token", b"");
        assert_eq!(kind(&without_reading(&p, &hook)), (404, "not-found"));
        // A signed one gets as far as reading, with the documents' limit.
        let good = signed(&p, "POST", target, b"");
        let mut asked = None;
        let r = handle_streaming(&p, &head(&good), |limit| {
            asked = Some(limit);
            LimitedBody {
                bytes: Vec::new(),
                too_large: true,
            }
        });
        assert_eq!(asked, Some(crate::documents::MAX_DOCUMENT_BYTES));
        assert_eq!(kind(&r), (413, "too-large"));
        assert!(domain_state(&p).is_empty());
    }

    #[test]
    fn hostile_matter_ids_in_paths_are_refused_cleanly() {
        let p = platform();
        for (method, route) in [
            ("GET", "folders"),
            ("GET", "workspace"),
            ("POST", "documents?name=x.pdf"),
        ] {
            for id in [
                "a/b", "a?b", "a#b", "%00", "a%00b", "%2e%2e", "..", "%2F", "%FF%FE", "\u{fffd}",
                "", "a%23b",
            ] {
                let target = format!("/v1/matters/{id}/{route}");
                let r = handle(&p, &signed(&p, method, &target, b"%PDF"));
                assert!(
                    (400..500).contains(&r.status) && r.body["error"]["kind"].is_string(),
                    "{method} {target}: {} {}",
                    r.status,
                    r.body
                );
            }
        }
        assert!(domain_state(&p).is_empty());
        assert!(p.sent.borrow().is_empty(), "nothing reached iManage");
    }

    #[test]
    fn health_says_only_whether_it_is_configured() {
        let p = platform();
        let r = handle(&p, &req("GET", "/v1/health", b""));
        assert_eq!(r.body, json!({"status": "ok", "configured": true}));
        p.set_config("imanage_base_url", "not a url");
        let r = handle(&p, &req("GET", "/v1/health", b""));
        assert_eq!(r.body, json!({"status": "ok", "configured": false}));
        // The problem itself is for signed callers.
        let r = handle(&p, &signed(&p, "GET", "/v1/check", b""));
        assert_eq!(kind(&r), (500, "not-configured"));
        assert!(r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("imanage_base_url"));
    }
}
