//! Dry runs: the component runs its real logic, reads iManage for real, and changes nothing.
//!
//! This lives in the host, not the component, because it is a capability decision: the same
//! `.wasm` runs unchanged, and no flag inside it could forget a write. Outgoing requests that
//! would change iManage (POST, PUT, PATCH, DELETE, except sign-in and the search/crawl POSTs,
//! which only read) are not sent: they are recorded in the call's plan and answered with a
//! plausible synthetic answer, so that the flow goes on to plan its next steps (the folders of
//! a workspace that was never created get the workspace's synthetic id). Key-value writes go to
//! an in-memory overlay (`keyvalue::overlay`), so nothing is persisted either.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde::Serialize;
use serde_json::{json, Map, Value};
use wasmtime_wasi_http::WasiBody;

use crate::http::{Intercepted, Interceptor, SendResult};

/// Shared by every call of one dry-run runtime: synthetic ids never repeat within a run.
#[derive(Debug, Default)]
pub struct DryRun {
    next_id: AtomicU64,
}

/// A request the component would have sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedRequest {
    /// `GET`, `POST`, `PATCH`, …
    pub method: String,
    /// Path and query, without scheme and host.
    pub path: String,
    /// The JSON body with anything secret-looking removed, or a summary of an upload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

impl PlannedRequest {
    /// One line: method, the path after the library base (`/workspaces`), the body.
    pub fn line(&self) -> String {
        let path = match self.path.find("/libraries/") {
            Some(at) => {
                let rest = &self.path[at + "/libraries/".len()..];
                rest.find('/').map_or(self.path.as_str(), |i| &rest[i..])
            }
            None => self.path.as_str(),
        };
        match &self.body {
            Some(b) => format!("{:<6} {path}  {b}", self.method),
            None => format!("{:<6} {path}", self.method),
        }
    }
}

/// The dry-run side of one store's HTTP hooks.
#[derive(Debug, Clone)]
pub struct Session {
    shared: Arc<DryRun>,
    plan: Arc<Mutex<Vec<PlannedRequest>>>,
    turns: Arc<Turns>,
}

/// Planned requests are answered in the order the component handed them over, whatever order
/// their tasks happen to run in: requests it sends together (several in flight at once) then get
/// their synthetic ids and their places in the plan as if sent one after another, and a plan
/// reads the same every time.
#[derive(Debug, Default)]
struct Turns {
    /// The next ticket, and the tickets whose turn has not ended.
    tickets: Mutex<(u64, BTreeSet<u64>)>,
    ended: tokio::sync::Notify,
}

/// One request's place in its session's turns. Its turn ends when this is dropped, answered or
/// not (a request the component gave up on must not hold the ones after it).
struct Turn {
    turns: Arc<Turns>,
    ticket: u64,
}

impl Turns {
    /// A place after every request handed over so far.
    fn take(self: &Arc<Self>) -> Turn {
        let mut tickets = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
        let ticket = tickets.0;
        tickets.0 += 1;
        tickets.1.insert(ticket);
        Turn {
            turns: self.clone(),
            ticket,
        }
    }
}

impl Turn {
    /// Waits until every request handed over before this one has had its turn.
    async fn wait(&self) {
        loop {
            let ended = self.turns.ended.notified();
            tokio::pin!(ended);
            // Registered before looking, so that a turn ending in between is not missed.
            ended.as_mut().enable();
            let first = self
                .turns
                .tickets
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .1
                .first()
                .copied();
            if first == Some(self.ticket) {
                return;
            }
            ended.await;
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.turns
            .tickets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .remove(&self.ticket);
        self.turns.ended.notify_waiters();
    }
}

impl DryRun {
    /// A session for one store: its own plan, with ids drawn from the whole dry run.
    pub fn session(self: &Arc<Self>) -> Session {
        Session {
            shared: self.clone(),
            plan: Arc::default(),
            turns: Arc::default(),
        }
    }

    /// `{LIB}!dry-run-{n}`: shaped like an iManage id so the flow accepts it, and named so no
    /// one mistakes it for a real one.
    fn synthetic_id(&self, library: &str) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{library}!dry-run-{n}")
    }
}

/// Whether a request only reads: it then goes to iManage for real.
pub fn is_read(method: &hyper::Method, path: &str) -> bool {
    use hyper::Method;
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    // Signing in changes no library content, and the plan must never show its form body.
    // Search and Sync-API crawls are POSTs that only read.
    *method == Method::POST
        && (path == "/auth/oauth2/token" || path.ends_with("/search") || path.ends_with("/crawl"))
}

/// Reads pass; changing requests are planned and answered here.
impl Interceptor for Session {
    fn intercept(&self, request: hyper::Request<WasiBody>) -> Intercepted {
        if is_read(request.method(), request.uri().path()) {
            return Intercepted::Pass(request);
        }
        tracing::debug!(method = %request.method(), path = request.uri().path(), "planned, not sent (dry run)");
        Intercepted::Answered(self.plan(request))
    }
}

impl Session {
    /// The requests planned in this store so far, taken out.
    pub fn take_plan(&self) -> Vec<PlannedRequest> {
        std::mem::take(&mut *self.plan.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Records a changing request and answers it as iManage would have.
    fn plan(
        &self,
        request: hyper::Request<WasiBody>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let session = self.clone();
        // Taken now, while the component hands the request over, not when the task runs.
        let turn = self.turns.take();
        Box::new(async move {
            let (parts, body) = request.into_parts();
            // The guest writes the body after handing the request over; it finishes before it
            // waits for the answer (or hands over the next request), so collecting it here, and
            // then waiting for the requests handed over before it, cannot deadlock.
            let bytes = body.collect().await?.to_bytes();
            turn.wait().await;
            let content_type = parts
                .headers
                .get(hyper::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let path = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| parts.uri.path().to_string());
            let body = plan_body(&content_type, &bytes);
            let (status, answer) =
                synthetic_answer(&session.shared, &parts.method, parts.uri.path(), &body);
            session
                .plan
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(PlannedRequest {
                    method: parts.method.to_string(),
                    path,
                    body,
                });
            drop(turn);
            let bytes = match answer {
                Some(v) => Bytes::from(v.to_string()),
                None => Bytes::new(),
            };
            let response = hyper::Response::builder()
                .status(status)
                .header(hyper::header::CONTENT_TYPE, "application/json")
                .body(
                    Full::new(bytes)
                        .map_err(|never| match never {})
                        .boxed_unsync(),
                )
                .map_err(|e| wasmtime_wasi_http::Error::InternalError(Some(e.to_string())))?;
            let io: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send> =
                Box::new(async { Ok(()) });
            Ok((response, io))
        })
    }
}

/// Keys never shown in a plan, whatever request they turn up in.
fn secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["password", "secret", "token", "authorization"]
        .iter()
        .any(|s| k.contains(s))
}

fn scrub(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|k, _| !secret_key(k));
            map.values_mut().for_each(scrub);
        }
        Value::Array(items) => items.iter_mut().for_each(scrub),
        _ => {}
    }
}

/// What the plan shows of a body: JSON as sent (scrubbed); for an upload, its profile and size.
fn plan_body(content_type: &str, bytes: &[u8]) -> Option<Value> {
    if bytes.is_empty() {
        return None;
    }
    if let Some(boundary) = content_type
        .strip_prefix("multipart/form-data")
        .and_then(|rest| rest.split("boundary=").nth(1))
    {
        let mut summary = json!({"upload_bytes": bytes.len()});
        if let Some(mut profile) = multipart_json(bytes, boundary.trim_matches('"')) {
            scrub(&mut profile);
            summary["profile"] = profile;
        }
        return Some(summary);
    }
    let mut v =
        serde_json::from_slice::<Value>(bytes).unwrap_or_else(|_| json!({"bytes": bytes.len()}));
    scrub(&mut v);
    Some(v)
}

/// The first part of a multipart body that is JSON (the document profile).
fn multipart_json(body: &[u8], boundary: &str) -> Option<Value> {
    let text = String::from_utf8_lossy(body);
    let delimiter = format!("--{boundary}");
    text.split(delimiter.as_str()).find_map(|part| {
        let (_, content) = part.split_once("\r\n\r\n")?;
        serde_json::from_str(content.trim_end_matches("\r\n")).ok()
    })
}

/// The library of a library path (`…/libraries/ACTIVE/…`).
fn library_of(path: &str) -> &str {
    path.split("/libraries/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("DRYRUN")
}

/// The segment after `name` in a path: `/workspaces/X/folders` → `X` for `workspaces`.
fn segment_after<'p>(path: &'p str, name: &str) -> Option<&'p str> {
    let mut parts = path.split('/');
    parts.find(|p| *p == name)?;
    parts.next()
}

/// A path segment as the id it encodes (`ACTIVE%211000` → `ACTIVE!1000`).
fn decoded(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = segment
            .get(i + 1..i + 3)
            .filter(|_| bytes[i] == b'%')
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The answer iManage would give: status and `{"data": …}` (or nothing for a delete).
fn synthetic_answer(
    shared: &DryRun,
    method: &hyper::Method,
    path: &str,
    body: &Option<Value>,
) -> (u16, Option<Value>) {
    use hyper::Method;
    let library = library_of(path);
    let mut data = match body {
        Some(Value::Object(map)) => Value::Object(map.clone()),
        _ => Value::Object(Map::new()),
    };
    if *method == Method::DELETE {
        return (204, None);
    }
    if *method == Method::PATCH || *method == Method::PUT {
        // The object keeps its id: the last segment of its path.
        if let Some(id) = path.rsplit('/').next() {
            data["id"] = json!(decoded(id));
        }
        return (200, Some(json!({ "data": data })));
    }
    let last = path.rsplit('/').next().unwrap_or_default();
    match last {
        "workspaces" => {
            data["id"] = json!(shared.synthetic_id(library));
            data["database"] = json!(library);
            data["wstype"] = json!("workspace");
        }
        "folders" | "subfolders" => {
            let parent = segment_after(path, "workspaces")
                .or_else(|| segment_after(path, "folders"))
                .map(decoded)
                .unwrap_or_default();
            data["id"] = json!(shared.synthetic_id(library));
            data["parent_id"] = json!(parent);
            data["wstype"] = json!("folder");
        }
        // A template's tabs and search folders, made at the top of the workspace.
        "tabs" | "search-folders" => {
            data["id"] = json!(shared.synthetic_id(library));
            data["parent_id"] = json!(segment_after(path, "workspaces").map(decoded));
            data["wstype"] = json!(if last == "tabs" { "tab" } else { "search" });
        }
        "documents" => {
            let id = shared.synthetic_id(library);
            let name = body
                .as_ref()
                .and_then(|b| b.pointer("/profile/doc_profile/name"))
                .cloned()
                .unwrap_or(Value::Null);
            data = json!({"id": format!("{id}.1"), "version": 1, "name": name});
        }
        // Lookup values, security and the rest: iManage answers with what it stored.
        "security" => return (200, Some(json!({ "data": data }))),
        _ => {}
    }
    (201, Some(json!({ "data": data })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pass_and_changes_are_planned() {
        use hyper::Method;
        assert!(is_read(
            &Method::GET,
            "/work/api/v2/customers/1/libraries/A/workspaces"
        ));
        assert!(is_read(&Method::POST, "/auth/oauth2/token"));
        assert!(is_read(&Method::POST, "/x/libraries/A/workspaces/search"));
        assert!(!is_read(&Method::POST, "/x/libraries/A/workspaces"));
        assert!(!is_read(&Method::PATCH, "/x/libraries/A/workspaces/A!1"));
        assert!(!is_read(&Method::DELETE, "/x/libraries/A/folders/A!2"));
    }

    #[tokio::test]
    async fn as_an_interceptor_reads_pass_and_changes_are_planned_and_answered() {
        use crate::http::{AllowList, Hooks};
        let request = |method: &str, path: &str, body: &str| {
            hyper::Request::builder()
                .method(method)
                .uri(format!("https://firm.example{path}"))
                .header(hyper::header::CONTENT_TYPE, "application/json")
                .body(
                    Full::new(Bytes::from(body.to_string()))
                        .map_err(|never| match never {})
                        .boxed_unsync(),
                )
                .unwrap()
        };
        let hooks = Hooks {
            allow: AllowList::for_base_url(Some("https://firm.example")),
            interceptor: Some(Arc::new(Arc::new(DryRun::default()).session())),
            meter: None,
            pool: Default::default(),
        };
        let session = hooks
            .interceptor::<Session>()
            .expect("the dry run's session");
        let path = "/work/api/v2/customers/1/libraries/ACTIVE/workspaces";
        assert!(matches!(
            session.intercept(request("GET", path, "")),
            Intercepted::Pass(_)
        ));
        let Intercepted::Answered(answer) =
            session.intercept(request("POST", path, r#"{"name": "Smith v Jones"}"#))
        else {
            panic!("a creating request was let through");
        };
        let (response, _) = Box::into_pin(answer).await.unwrap();
        assert_eq!(response.status(), 201);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["data"]["id"], "ACTIVE!dry-run-1");
        let plan = session.take_plan();
        assert_eq!(plan.len(), 1);
        assert_eq!(
            (plan[0].method.as_str(), plan[0].path.as_str()),
            ("POST", path)
        );
        assert_eq!(plan[0].body, Some(json!({"name": "Smith v Jones"})));
        assert!(session.take_plan().is_empty(), "taken out");
    }

    #[tokio::test]
    async fn requests_sent_together_are_planned_in_the_order_they_were_handed_over() {
        let session = Arc::new(DryRun::default()).session();
        let path = "/work/api/v2/customers/1/libraries/ACTIVE/workspaces/ACTIVE!9/folders";
        let names = ["Correspondence", "Pleadings", "Evidence"];
        let answers: Vec<_> = names
            .iter()
            .map(|name| {
                let request = hyper::Request::builder()
                    .method("POST")
                    .uri(format!("https://firm.example{path}"))
                    .header(hyper::header::CONTENT_TYPE, "application/json")
                    .body(
                        Full::new(Bytes::from(json!({ "name": name }).to_string()))
                            .map_err(|never| match never {})
                            .boxed_unsync(),
                    )
                    .unwrap();
                let Intercepted::Answered(answer) = session.intercept(request) else {
                    panic!("a creating request was let through");
                };
                Box::into_pin(answer)
            })
            .collect();
        // The last handed over runs first, and the first last.
        let mut tasks: Vec<_> = answers.into_iter().map(Some).collect();
        let mut handles = Vec::new();
        for answer in tasks.iter_mut().rev() {
            let answer = answer.take().unwrap();
            handles.push(tokio::spawn(async move {
                let (response, _) = answer.await.unwrap();
                let body = response.into_body().collect().await.unwrap().to_bytes();
                let body: Value = serde_json::from_slice(&body).unwrap();
                body["data"]["id"].as_str().unwrap().to_string()
            }));
            tokio::task::yield_now().await;
        }
        let mut ids = Vec::new();
        for handle in handles {
            ids.push(handle.await.unwrap());
        }
        ids.reverse();
        assert_eq!(
            ids,
            vec!["ACTIVE!dry-run-1", "ACTIVE!dry-run-2", "ACTIVE!dry-run-3"]
        );
        let planned: Vec<Value> = session
            .take_plan()
            .into_iter()
            .map(|p| p.body.unwrap()["name"].clone())
            .collect();
        assert_eq!(planned, names.map(|n| json!(n)));

        // A request dropped unanswered does not hold up the ones after it.
        let request = |name: &str| {
            hyper::Request::builder()
                .method("POST")
                .uri(format!("https://firm.example{path}"))
                .body(
                    Full::new(Bytes::from(json!({ "name": name }).to_string()))
                        .map_err(|never| match never {})
                        .boxed_unsync(),
                )
                .unwrap()
        };
        let Intercepted::Answered(dropped) = session.intercept(request("Dropped")) else {
            panic!("let through");
        };
        let Intercepted::Answered(next) = session.intercept(request("Next")) else {
            panic!("let through");
        };
        drop(dropped);
        let (response, _) = Box::into_pin(next).await.unwrap();
        assert_eq!(response.status(), 201);
    }

    #[test]
    fn synthetic_answers_chain_ids() {
        let d = DryRun::default();
        let base = "/work/api/v2/customers/1/libraries/ACTIVE";
        let body = Some(json!({"name": "Smith v Jones", "custom2": "1042"}));
        let (status, ws) = synthetic_answer(
            &d,
            &hyper::Method::POST,
            &format!("{base}/workspaces"),
            &body,
        );
        assert_eq!(status, 201);
        let id = ws.unwrap()["data"]["id"].as_str().unwrap().to_string();
        assert_eq!(id, "ACTIVE!dry-run-1");
        let (_, folder) = synthetic_answer(
            &d,
            &hyper::Method::POST,
            &format!("{base}/workspaces/{id}/folders"),
            &Some(json!({"name": "Documents"})),
        );
        let folder = &folder.unwrap()["data"];
        assert_eq!(folder["parent_id"], json!(id));
        assert_eq!(folder["id"], json!("ACTIVE!dry-run-2"));
        let (status, none) = synthetic_answer(
            &d,
            &hyper::Method::DELETE,
            &format!("{base}/folders/X"),
            &None,
        );
        assert_eq!((status, none), (204, None));
    }

    #[test]
    fn plans_never_show_secrets_and_summarise_uploads() {
        let v = plan_body(
            "application/json",
            br#"{"name": "n", "password": "p", "nested": {"client_secret": "s"}}"#,
        )
        .unwrap();
        assert_eq!(v, json!({"name": "n", "nested": {}}));
        let body = b"--B\r\nContent-Disposition: form-data; name=\"profile\"\r\n\r\n{\"doc_profile\": {\"name\": \"Invoice\"}}\r\n--B\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nPDF\r\n--B--\r\n";
        let v = plan_body("multipart/form-data; boundary=B", body).unwrap();
        assert_eq!(v["profile"]["doc_profile"]["name"], "Invoice");
        assert_eq!(v["upload_bytes"], body.len());
    }

    #[test]
    fn plan_lines_are_relative_to_the_library() {
        let r = PlannedRequest {
            method: "POST".into(),
            path: "/work/api/v2/customers/1/libraries/ACTIVE/workspaces/ACTIVE!dry-run-1/folders"
                .into(),
            body: Some(json!({"name": "Documents"})),
        };
        assert_eq!(
            r.line(),
            r#"POST   /workspaces/ACTIVE!dry-run-1/folders  {"name":"Documents"}"#
        );
    }
}
