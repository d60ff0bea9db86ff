//! The thin layer between WIT and the domain logic: `Platform` on top of the WASI imports, and
//! the exports converting WIT records to `model` types and back. No decisions are made here.

use std::cell::OnceCell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

wit_bindgen::generate!({
    world: "plugin",
    path: "../wit",
    generate_all,
});

use exports::matterlink::imanage::integration::Guest as Integration;
use exports::matterlink::imanage::types as wit;
use exports::wasi::http::incoming_handler::Guest as IncomingHandler;
use wasi::http::types::{
    ErrorCode, Fields, IncomingRequest, Method as WitMethod, OutgoingBody, OutgoingRequest,
    OutgoingResponse, RequestOptions, ResponseOutparam, Scheme,
};
use wasi::io::streams::StreamError;
use wasi::keyvalue::{atomics, store};

use crate::model::{self, Error, Result};
use crate::platform::{HttpRequest, HttpResponse, Method, Platform, TransportError};
use crate::{events, webhooks};

/// The key-value store label (Spin's default; `key_value_stores = ["default"]`).
const STORE_LABEL: &str = "default";
/// Largest response body read from iManage; anything bigger is refused, not buffered.
const MAX_RESPONSE_BYTES: usize = 32 << 20;
/// wasi:http hosts may buffer a single chunk only: never write more at once (wasm-notes.md).
const CHUNK: usize = 4096;
const SECOND_NS: u64 = 1_000_000_000;

struct WasiPlatform {
    bucket: OnceCell<store::Bucket>,
}

impl WasiPlatform {
    fn new() -> Self {
        WasiPlatform {
            bucket: OnceCell::new(),
        }
    }

    fn bucket(&self) -> Result<&store::Bucket> {
        if let Some(b) = self.bucket.get() {
            return Ok(b);
        }
        let b = store::open(STORE_LABEL).map_err(kv_error)?;
        Ok(self.bucket.get_or_init(|| b))
    }
}

fn kv_error(e: store::Error) -> Error {
    Error::Unavailable(match e {
        store::Error::NoSuchStore => format!("key-value store {STORE_LABEL:?} does not exist"),
        store::Error::AccessDenied => format!("access to key-value store {STORE_LABEL:?} denied"),
        store::Error::Other(m) => format!("key-value store: {m}"),
    })
}

fn transport(e: ErrorCode) -> TransportError {
    match e {
        ErrorCode::HttpRequestDenied => TransportError::Denied("destination not allowed".into()),
        other => TransportError::Failed(format!("{other:?}")),
    }
}

impl Platform for WasiPlatform {
    fn send(&self, req: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let bad = |why: String| TransportError::Failed(why);
        let url = url::Url::parse(&req.url).map_err(|e| bad(format!("bad URL: {e}")))?;
        let entries: Vec<(String, Vec<u8>)> = req
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.as_bytes().to_vec()))
            .collect();
        let headers = Fields::from_list(&entries).map_err(|e| bad(format!("header: {e:?}")))?;
        let out = OutgoingRequest::new(headers);
        let method = match req.method {
            Method::Get => WitMethod::Get,
            Method::Post => WitMethod::Post,
            Method::Patch => WitMethod::Patch,
            Method::Delete => WitMethod::Delete,
        };
        let scheme = match url.scheme() {
            "http" => Scheme::Http,
            _ => Scheme::Https,
        };
        let authority = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_string(),
        };
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        out.set_method(&method).map_err(|_| bad("method".into()))?;
        out.set_scheme(Some(&scheme))
            .map_err(|_| bad("scheme".into()))?;
        out.set_authority(Some(&authority))
            .map_err(|_| bad("authority".into()))?;
        out.set_path_with_query(Some(&path))
            .map_err(|_| bad("path".into()))?;
        let body = out
            .body()
            .map_err(|_| bad("request body taken twice".into()))?;

        let options = RequestOptions::new();
        // Setting a timeout can be refused by hosts that do not support it; that is harmless.
        let _ = options.set_connect_timeout(Some(10 * SECOND_NS));
        let _ = options.set_first_byte_timeout(Some(req.timeout_ms * 1_000_000));
        let _ = options.set_between_bytes_timeout(Some(req.timeout_ms * 1_000_000));

        // Hand the request over before writing the body: hosts may buffer one chunk only.
        let future = wasi::http::outgoing_handler::handle(out, Some(options)).map_err(transport)?;
        // If the host fails the request (refused destination, connection error) the body
        // stream closes under us; the response future then says why, so wait for it first.
        let mut write_error = None;
        {
            let stream = body
                .write()
                .map_err(|_| bad("request body stream".into()))?;
            for chunk in req.body.chunks(CHUNK) {
                if let Err(e) = stream.blocking_write_and_flush(chunk) {
                    write_error = Some(format!("writing request body: {e:?}"));
                    break;
                }
            }
        }
        if write_error.is_none() {
            if let Err(code) = OutgoingBody::finish(body, None) {
                write_error = Some(format!("finishing request body: {code:?}"));
            }
        }

        future.subscribe().block();
        let response = match future.get() {
            Some(Ok(Ok(r))) => r,
            Some(Ok(Err(code))) => return Err(transport(code)),
            Some(Err(())) | None => return Err(bad("response already taken".into())),
        };
        if let Some(why) = write_error {
            return Err(bad(why));
        }
        let status = response.status();
        let headers = response
            .headers()
            .entries()
            .into_iter()
            .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
            .collect();
        let incoming = response
            .consume()
            .map_err(|_| bad("response body".into()))?;
        let mut bytes = Vec::new();
        {
            let stream = incoming
                .stream()
                .map_err(|_| bad("response stream".into()))?;
            loop {
                match stream.blocking_read(64 * 1024) {
                    Ok(chunk) => {
                        bytes.extend_from_slice(&chunk);
                        if bytes.len() > MAX_RESPONSE_BYTES {
                            return Err(bad("response body too large".into()));
                        }
                    }
                    Err(StreamError::Closed) => break,
                    Err(StreamError::LastOperationFailed(e)) => {
                        return Err(bad(format!("reading response: {}", e.to_debug_string())))
                    }
                }
            }
        }
        drop(incoming);
        Ok(HttpResponse {
            status,
            headers,
            body: bytes,
        })
    }

    fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.bucket()?.get(key).map_err(kv_error)
    }

    fn kv_set(&self, key: &str, value: &[u8]) -> Result<()> {
        self.bucket()?.set(key, value).map_err(kv_error)
    }

    fn kv_delete(&self, key: &str) -> Result<()> {
        self.bucket()?.delete(key).map_err(kv_error)
    }

    fn kv_compare_and_swap(&self, key: &str, expected: Option<&[u8]>, new: &[u8]) -> Result<bool> {
        let cas = atomics::Cas::new(self.bucket()?, key).map_err(kv_error)?;
        if cas.current().map_err(kv_error)?.as_deref() != expected {
            return Ok(false);
        }
        match atomics::swap(cas, new) {
            Ok(()) => Ok(true),
            Err(atomics::CasError::CasFailed(_)) => Ok(false),
            Err(atomics::CasError::StoreError(e)) => Err(kv_error(e)),
        }
    }

    fn kv_increment(&self, key: &str, delta: i64) -> Result<i64> {
        atomics::increment(self.bucket()?, key, delta).map_err(kv_error)
    }

    fn config(&self, key: &str) -> Result<Option<String>> {
        wasi::config::store::get(key).map_err(|e| {
            Error::NotConfigured(match e {
                wasi::config::store::Error::Upstream(m) | wasi::config::store::Error::Io(m) => {
                    format!("reading configuration key `{key}`: {m}")
                }
            })
        })
    }

    fn now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    fn sleep_ms(&self, ms: u64) {
        std::thread::sleep(Duration::from_millis(ms));
    }

    fn kv_keys(&self, prefix: &str) -> Result<Vec<String>> {
        // wasi:keyvalue lists the whole bucket page by page; the prefix is ours to apply.
        let bucket = self.bucket()?;
        let mut keys = Vec::new();
        let mut cursor = None;
        loop {
            let page = bucket.list_keys(cursor.as_deref()).map_err(kv_error)?;
            keys.extend(page.keys.into_iter().filter(|k| k.starts_with(prefix)));
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(keys),
            }
        }
    }
}

fn matter_in(m: wit::Matter) -> model::Matter {
    model::Matter {
        id: m.id,
        title: m.title,
        matter_type: m.matter_type,
        clients: m
            .clients
            .into_iter()
            .map(|c| model::Client {
                id: c.id,
                name: c.name,
            })
            .collect(),
        file_reference: m.file_reference,
        assigned_to: m.assigned_to,
        priority: m.priority,
        status: m.status,
        acting_user: m.acting_user,
    }
}

fn workspace_out(w: model::Workspace) -> wit::Workspace {
    wit::Workspace {
        id: w.id,
        name: w.name,
        url: w.url,
        library: w.library,
    }
}

fn error_out(e: Error) -> wit::Error {
    match e {
        Error::InvalidMatter(m) => wit::Error::InvalidMatter(m),
        Error::NotConfigured(m) => wit::Error::NotConfigured(m),
        Error::NotConnected(m) => wit::Error::NotConnected(m),
        Error::NotLinked(m) => wit::Error::NotLinked(m),
        Error::InvalidUrl(m) => wit::Error::InvalidUrl(m),
        Error::Rejected(m) => wit::Error::Rejected(m),
        Error::Unavailable(m) => wit::Error::Unavailable(m),
        Error::Skipped(m) => wit::Error::Skipped(m),
    }
}

fn matter_out(m: model::Matter) -> wit::Matter {
    wit::Matter {
        id: m.id,
        title: m.title,
        matter_type: m.matter_type,
        clients: m
            .clients
            .into_iter()
            .map(|c| wit::Client {
                id: c.id,
                name: c.name,
            })
            .collect(),
        file_reference: m.file_reference,
        assigned_to: m.assigned_to,
        priority: m.priority,
        status: m.status,
        acting_user: m.acting_user,
    }
}

fn event_in(e: wit::Event) -> events::Event {
    events::Event {
        id: e.id,
        kind: match e.kind {
            wit::EventType::MatterCreated => events::EventType::Created,
            wit::EventType::MatterUpdated => events::EventType::Updated,
            wit::EventType::MatterClosed => events::EventType::Closed,
            wit::EventType::MatterReopened => events::EventType::Reopened,
        },
        matter: matter_in(e.matter),
    }
}

fn event_out(e: events::Event) -> wit::Event {
    wit::Event {
        id: e.id,
        kind: match e.kind {
            events::EventType::Created => wit::EventType::MatterCreated,
            events::EventType::Updated => wit::EventType::MatterUpdated,
            events::EventType::Closed => wit::EventType::MatterClosed,
            events::EventType::Reopened => wit::EventType::MatterReopened,
        },
        matter: matter_out(e.matter),
    }
}

fn failed_out(d: events::DeadLetter) -> wit::FailedEvent {
    wit::FailedEvent {
        event: event_out(d.event),
        kind: d.kind,
        reason: d.reason,
        attempts: d.attempts,
        first_failed_at: d.first_failed_at,
        last_failed_at: d.last_failed_at,
    }
}

struct Component;

impl Integration for Component {
    fn on_matter_created(m: wit::Matter) -> Result<wit::Workspace, wit::Error> {
        crate::on_matter_created(&WasiPlatform::new(), &matter_in(m))
            .map(workspace_out)
            .map_err(error_out)
    }

    fn on_matter_updated(m: wit::Matter) -> Result<Option<wit::Workspace>, wit::Error> {
        crate::on_matter_updated(&WasiPlatform::new(), &matter_in(m))
            .map(|w| w.map(workspace_out))
            .map_err(error_out)
    }

    fn on_matter_closed(m: wit::Matter) -> Result<wit::Workspace, wit::Error> {
        crate::on_matter_closed(&WasiPlatform::new(), &matter_in(m))
            .map(workspace_out)
            .map_err(error_out)
    }

    fn on_matter_reopened(m: wit::Matter) -> Result<wit::Workspace, wit::Error> {
        crate::on_matter_reopened(&WasiPlatform::new(), &matter_in(m))
            .map(workspace_out)
            .map_err(error_out)
    }

    fn map_metadata(m: wit::Matter) -> Result<Vec<wit::ProfileField>, wit::Error> {
        crate::map_metadata(&WasiPlatform::new(), &matter_in(m))
            .map(|fields| {
                fields
                    .into_iter()
                    .map(|f| wit::ProfileField {
                        name: f.name,
                        value: f.value,
                    })
                    .collect()
            })
            .map_err(error_out)
    }

    fn resolve_legacy(m: wit::Matter) -> Result<wit::LegacyMatch, wit::Error> {
        crate::resolve_legacy(&WasiPlatform::new(), &matter_in(m))
            .map(|r| match r {
                model::LegacyMatch::Linked(w) => wit::LegacyMatch::Linked(workspace_out(w)),
                model::LegacyMatch::None => wit::LegacyMatch::None,
                model::LegacyMatch::Several(ws) => {
                    wit::LegacyMatch::Several(ws.into_iter().map(workspace_out).collect())
                }
            })
            .map_err(error_out)
    }

    fn link_workspace(m: wit::Matter, url: String) -> Result<wit::Workspace, wit::Error> {
        crate::link_workspace(&WasiPlatform::new(), &matter_in(m), &url)
            .map(workspace_out)
            .map_err(error_out)
    }

    fn file_document(
        matter_id: String,
        folder: Option<String>,
        name: String,
        content: Vec<u8>,
    ) -> Result<String, wit::Error> {
        crate::file_document(
            &WasiPlatform::new(),
            &matter_id,
            folder.as_deref(),
            &name,
            &content,
        )
        .map_err(error_out)
    }

    fn list_folders(matter_id: String) -> Result<Vec<wit::Folder>, wit::Error> {
        crate::list_folders(&WasiPlatform::new(), &matter_id)
            .map(|folders| {
                folders
                    .into_iter()
                    .map(|f| wit::Folder {
                        id: f.id,
                        name: f.name,
                        path: f.path,
                    })
                    .collect()
            })
            .map_err(error_out)
    }

    fn check_connection() -> Result<String, wit::Error> {
        crate::check_connection(&WasiPlatform::new()).map_err(error_out)
    }

    fn handle_event(e: wit::Event) -> Result<wit::EventOutcome, wit::Error> {
        events::handle(&WasiPlatform::new(), &event_in(e))
            .map(|o| wit::EventOutcome {
                event_id: o.event_id,
                duplicate: o.duplicate,
                workspace: o.workspace.map(workspace_out),
                skipped: o.skipped,
            })
            .map_err(error_out)
    }

    fn replay_events() -> Result<wit::ReplayReport, wit::Error> {
        events::replay(&WasiPlatform::new())
            .map(|r| wit::ReplayReport {
                replayed: r.replayed,
                succeeded: r.succeeded,
                still_failing: r.still_failing.into_iter().map(failed_out).collect(),
            })
            .map_err(error_out)
    }

    fn audit_log(q: wit::AuditQuery) -> Result<Vec<wit::AuditRecord>, wit::Error> {
        let query = crate::audit::Query {
            matter_id: q.matter_id,
            outcome: q.outcome,
            since: q.since,
            until: q.until,
            limit: q.limit,
        };
        crate::audit::read(&WasiPlatform::new(), &query)
            .map(|records| {
                records
                    .into_iter()
                    .map(|r| wit::AuditRecord {
                        seq: r.seq,
                        at: r.at,
                        action: r.action,
                        matter_id: r.matter_id,
                        outcome: r.outcome,
                        detail: r.detail,
                    })
                    .collect()
            })
            .map_err(error_out)
    }

    fn failed_events() -> Result<Vec<wit::FailedEvent>, wit::Error> {
        events::failed(&WasiPlatform::new())
            .map(|list| list.into_iter().map(failed_out).collect())
            .map_err(error_out)
    }

    fn connect_begin(redirect_uri: String) -> Result<wit::ConnectRequest, wit::Error> {
        crate::connect_begin(&WasiPlatform::new(), &redirect_uri)
            .map(|r| wit::ConnectRequest {
                authorize_url: r.authorize_url,
                state: r.state,
                expires_in: r.expires_in,
            })
            .map_err(error_out)
    }

    fn connect_complete(
        code: String,
        state: String,
        redirect_uri: String,
    ) -> Result<String, wit::Error> {
        crate::connect_complete(&WasiPlatform::new(), &code, &state, &redirect_uri)
            .map_err(error_out)
    }

    fn poll_changes(cursor: Option<String>) -> Result<wit::ChangeBatch, wit::Error> {
        crate::poll_changes(&WasiPlatform::new(), cursor.as_deref())
            .map(walls::batch_out)
            .map_err(error_out)
    }

    fn apply_matter_team(
        matter_id: String,
        members: Vec<wit::TeamMember>,
    ) -> Result<wit::TeamOutcome, wit::Error> {
        let members: Vec<_> = members.into_iter().map(walls::member_in).collect();
        crate::apply_matter_team(&WasiPlatform::new(), &matter_id, &members)
            .map(walls::team_out)
            .map_err(error_out)
    }

    fn import_workspaces(cursor: Option<String>) -> Result<wit::ImportPage, wit::Error> {
        crate::import_workspaces(&WasiPlatform::new(), cursor.as_deref())
            .map(walls::import_out)
            .map_err(error_out)
    }

    fn backfill_matter(
        m: wit::Matter,
        create_missing: bool,
    ) -> Result<wit::BackfillOutcome, wit::Error> {
        use crate::backfill::Outcome;
        crate::backfill_matter(&WasiPlatform::new(), &matter_in(m), create_missing)
            .map(|o| match o {
                Outcome::AlreadyLinked { workspace } => {
                    wit::BackfillOutcome::AlreadyLinked(workspace_out(workspace))
                }
                Outcome::Linked { workspace } => {
                    wit::BackfillOutcome::Linked(workspace_out(workspace))
                }
                Outcome::Created { workspace } => {
                    wit::BackfillOutcome::Created(workspace_out(workspace))
                }
                Outcome::NeedsUrl { candidates } => wit::BackfillOutcome::NeedsUrl(
                    candidates.into_iter().map(workspace_out).collect(),
                ),
            })
            .map_err(error_out)
    }

    fn drift(m: wit::Matter, fix: bool) -> Result<wit::DriftReport, wit::Error> {
        let out = |ds: Vec<crate::drift::Difference>| {
            ds.into_iter()
                .map(|d| wit::Difference {
                    field: d.field,
                    expected: d.expected,
                    actual: d.actual,
                })
                .collect()
        };
        crate::drift(&WasiPlatform::new(), &matter_in(m), fix)
            .map(|r| wit::DriftReport {
                differences: out(r.differences),
                fixed: r.fixed,
                remaining: out(r.remaining),
            })
            .map_err(error_out)
    }
}

impl IncomingHandler for Component {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let method = match request.method() {
            WitMethod::Get => "GET".to_string(),
            WitMethod::Head => "HEAD".to_string(),
            WitMethod::Post => "POST".to_string(),
            WitMethod::Put => "PUT".to_string(),
            WitMethod::Delete => "DELETE".to_string(),
            WitMethod::Connect => "CONNECT".to_string(),
            WitMethod::Options => "OPTIONS".to_string(),
            WitMethod::Trace => "TRACE".to_string(),
            WitMethod::Patch => "PATCH".to_string(),
            WitMethod::Other(m) => m,
        };
        let target = request.path_with_query().unwrap_or_else(|| "/".into());
        let headers: Vec<(String, String)> = request
            .headers()
            .entries()
            .into_iter()
            .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
            .collect();
        let limit = webhooks::body_limit(&method, &target);
        let (body, body_too_large) = read_body(&request, limit);
        let answer = webhooks::handle(
            &WasiPlatform::new(),
            &webhooks::Request {
                method,
                target,
                headers,
                body,
                body_too_large,
            },
        );
        let body_bytes = serde_json::to_vec(&answer.body).unwrap_or_default();

        let headers =
            Fields::from_list(&[("content-type".to_string(), b"application/json".to_vec())])
                .unwrap_or_else(|_| Fields::new());
        let response = OutgoingResponse::new(headers);
        let _ = response.set_status_code(answer.status);
        let Ok(body) = response.body() else { return };
        ResponseOutparam::set(response_out, Ok(response));
        if let Ok(stream) = body.write() {
            for chunk in body_bytes.chunks(CHUNK) {
                if stream.blocking_write_and_flush(chunk).is_err() {
                    break;
                }
            }
        }
        let _ = OutgoingBody::finish(body, None);
    }
}

/// Reads at most `limit` bytes of the request body; says whether there was more. A declared
/// `content-length` over the limit is refused before reading anything.
fn read_body(request: &IncomingRequest, limit: usize) -> (Vec<u8>, bool) {
    let declared = request
        .headers()
        .get("content-length")
        .first()
        .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return (Vec::new(), true);
    }
    let Ok(incoming) = request.consume() else {
        return (Vec::new(), false);
    };
    let mut bytes = Vec::new();
    if let Ok(stream) = incoming.stream() {
        // Ends at the stream's close (or a failure, which leaves what arrived).
        while let Ok(chunk) = stream.blocking_read(64 * 1024) {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > limit {
                return (Vec::new(), true);
            }
        }
    }
    (bytes, false)
}

/// One-to-one conversions for the change feed, the team push and the workspace import.
mod walls {
    use super::{matter_out, wit, workspace_out};
    use crate::feed::{Batch, Change, ChangeKind, Source};
    use crate::import::{ImportPage, WorkspaceImport};
    use crate::security::{AccessLevel, Member, TrusteeType};
    use crate::team::TeamOutcome;

    fn trustee_type_out(t: TrusteeType) -> wit::TrusteeType {
        match t {
            TrusteeType::User => wit::TrusteeType::User,
            TrusteeType::Group => wit::TrusteeType::Group,
        }
    }

    fn level_out(l: AccessLevel) -> wit::AccessLevel {
        match l {
            AccessLevel::NoAccess => wit::AccessLevel::NoAccess,
            AccessLevel::Read => wit::AccessLevel::Read,
            AccessLevel::ReadWrite => wit::AccessLevel::ReadWrite,
            AccessLevel::FullAccess => wit::AccessLevel::FullAccess,
        }
    }

    fn change_out(c: Change) -> wit::SecurityChange {
        wit::SecurityChange {
            id: c.id,
            matter_id: c.matter_id,
            workspace_id: c.workspace_id,
            kind: match c.kind {
                ChangeKind::Added => wit::ChangeKind::Added,
                ChangeKind::Removed => wit::ChangeKind::Removed,
                ChangeKind::AccessChanged => wit::ChangeKind::AccessChanged,
                ChangeKind::DefaultSecurityChanged => wit::ChangeKind::DefaultSecurityChanged,
            },
            trustee_id: c.trustee_id,
            trustee_type: c.trustee_type.map(trustee_type_out),
            access_level: c.access_level.map(level_out),
            previous_access_level: c.previous_access_level.map(level_out),
            default_security: c.default_security,
            previous_default_security: c.previous_default_security,
            occurred_at: c.occurred_at,
            observed_at: c.observed_at,
        }
    }

    pub fn batch_out(b: Batch) -> wit::ChangeBatch {
        wit::ChangeBatch {
            changes: b.changes.into_iter().map(change_out).collect(),
            next_cursor: b.next_cursor,
            source: match b.source {
                Source::EventQueue => wit::ChangeSource::EventQueue,
                Source::Sync => wit::ChangeSource::Sync,
                Source::Polling => wit::ChangeSource::Polling,
            },
            notes: b.notes,
        }
    }

    pub fn member_in(m: wit::TeamMember) -> Member {
        Member {
            id: m.id,
            trustee_type: match m.trustee_type {
                wit::TrusteeType::User => TrusteeType::User,
                wit::TrusteeType::Group => TrusteeType::Group,
            },
            access_level: match m.access_level {
                wit::AccessLevel::NoAccess => AccessLevel::NoAccess,
                wit::AccessLevel::Read => AccessLevel::Read,
                wit::AccessLevel::ReadWrite => AccessLevel::ReadWrite,
                wit::AccessLevel::FullAccess => AccessLevel::FullAccess,
            },
        }
    }

    fn member_out(m: Member) -> wit::TeamMember {
        wit::TeamMember {
            id: m.id,
            trustee_type: trustee_type_out(m.trustee_type),
            access_level: level_out(m.access_level),
        }
    }

    pub fn team_out(t: TeamOutcome) -> wit::TeamOutcome {
        wit::TeamOutcome {
            workspace: workspace_out(t.workspace),
            included: t.included.into_iter().map(member_out).collect(),
            removed: t.removed.into_iter().map(member_out).collect(),
            unchanged: t.unchanged,
        }
    }

    fn import_item_out(w: WorkspaceImport) -> wit::WorkspaceImport {
        wit::WorkspaceImport {
            workspace: workspace_out(w.workspace),
            matter: matter_out(w.matter),
            profile: w
                .profile
                .into_iter()
                .map(|f| wit::ProfileField {
                    name: f.name,
                    value: f.value,
                })
                .collect(),
        }
    }

    pub fn import_out(p: ImportPage) -> wit::ImportPage {
        wit::ImportPage {
            workspaces: p.workspaces.into_iter().map(import_item_out).collect(),
            next_cursor: p.next_cursor,
        }
    }
}

export!(Component);
