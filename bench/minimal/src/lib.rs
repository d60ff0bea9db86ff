//! The floor of `matterlink serve`: a component of matterlink's world (so the host loads it as
//! it loads matterlink, with the same linker and `InstancePre`) whose incoming handler reads the
//! request's body and answers 200 with a small JSON body, and whose `integration` functions are
//! never called by the benchmark. The difference between it and matterlink under `serve` is
//! matterlink's own work per request.
//!
//! Built with the feature `store-floor`, its handler first does the key-value work matterlink
//! does for a signed duplicate, and nothing else of it ([`duplicate_store_work`]): how much of
//! matterlink's difference is the store's, the rest being its own computing and imports. A
//! feature, not a header, so that the plain build pays for no check.
#![cfg(target_arch = "wasm32")]

mod bindings {
    wit_bindgen::generate!({
        world: "plugin",
        path: "../../wit",
        generate_all,
    });
}

use bindings::exports::matterlink::imanage::integration::Guest as Integration;
use bindings::exports::matterlink::imanage::types as wit;
use bindings::exports::wasi::http::incoming_handler::Guest as IncomingHandler;
use bindings::wasi::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

struct Minimal;
bindings::export!(Minimal with_types_in bindings);

impl IncomingHandler for Minimal {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        #[cfg(feature = "store-floor")]
        {
            // Keyed by the request's signature, unique per request as the replay record's is.
            let signature = request.headers().get("x-matterlink-signature");
            let signature = signature.first().map(|s| String::from_utf8_lossy(s));
            duplicate_store_work(signature.as_deref().unwrap_or_default());
        }
        // Read the body as any webhook receiver must.
        if let Ok(body) = request.consume() {
            if let Ok(stream) = body.stream() {
                while stream.blocking_read(4096).is_ok() {}
            }
        }
        let headers =
            Fields::from_list(&[("content-type".to_string(), b"application/json".to_vec())])
                .unwrap_or_else(|_| Fields::new());
        let response = OutgoingResponse::new(headers);
        let _ = response.set_status_code(200);
        let Ok(body) = response.body() else { return };
        ResponseOutparam::set(response_out, Ok(response));
        if let Ok(stream) = body.write() {
            let _ = stream.blocking_write_and_flush(br#"{"ok":true}"#);
        }
        let _ = OutgoingBody::finish(body, None);
    }
}

/// What matterlink asks of key-value for a signed duplicate, with keys of the same shape: the
/// replay record read and then counted (`webhooks::replay::first_use`: a signature is accepted
/// once), and the event's done record read (`events::handle`), which the first request writes.
#[cfg(feature = "store-floor")]
fn duplicate_store_work(signature: &str) {
    use bindings::wasi::keyvalue::{atomics, store};
    const DONE: &str = "event/done/evt-S-DUP";
    let Ok(bucket) = store::open("default") else {
        return;
    };
    let seen = format!("webhook/seen/1765000000.{signature}");
    if matches!(bucket.get(&seen), Ok(None)) {
        let _ = atomics::increment(&bucket, &seen, 1);
    }
    if matches!(bucket.get(DONE), Ok(None)) {
        // A done record of the size matterlink keeps.
        let done = concat!(
            r#"{"at":1765000000,"workspace":{"id":"ACTIVE!1","name":"S-DUP","#,
            r#""url":"https://imanage.example/work/link/w/ACTIVE!1","library":"ACTIVE"},"#,
            r#""skipped":null}"#,
        );
        let _ = bucket.set(DONE, done.as_bytes());
    }
}

type Answer<T> = Result<T, wit::Error>;

/// Every `integration` function: not part of what the benchmark measures.
fn unused<T>() -> Answer<T> {
    Err(wit::Error::NotConfigured(
        "the minimal component does only HTTP".into(),
    ))
}

impl Integration for Minimal {
    fn on_matter_created(_: wit::Matter) -> Answer<wit::Workspace> {
        unused()
    }
    fn on_matter_updated(_: wit::Matter) -> Answer<Option<wit::Workspace>> {
        unused()
    }
    fn on_matter_closed(_: wit::Matter) -> Answer<wit::Workspace> {
        unused()
    }
    fn on_matter_reopened(_: wit::Matter) -> Answer<wit::Workspace> {
        unused()
    }
    fn map_metadata(_: wit::Matter) -> Answer<Vec<wit::ProfileField>> {
        unused()
    }
    fn resolve_legacy(_: wit::Matter) -> Answer<wit::LegacyMatch> {
        unused()
    }
    fn link_workspace(_: wit::Matter, _: String) -> Answer<wit::Workspace> {
        unused()
    }
    fn file_document(
        _: String,
        _: Option<String>,
        _: String,
        _: Vec<u8>,
        _: Option<String>,
    ) -> Answer<String> {
        unused()
    }
    fn list_folders(_: String) -> Answer<Vec<wit::Folder>> {
        unused()
    }
    fn check_connection() -> Answer<String> {
        unused()
    }
    fn set_admin_password(_: String) -> Answer<()> {
        unused()
    }
    fn handle_event(_: wit::Event) -> Answer<wit::EventOutcome> {
        unused()
    }
    fn replay_events() -> Answer<wit::ReplayReport> {
        unused()
    }
    fn audit_log(_: wit::AuditQuery) -> Answer<Vec<wit::AuditRecord>> {
        unused()
    }
    fn failed_events() -> Answer<Vec<wit::FailedEvent>> {
        unused()
    }
    fn connect_begin(_: String) -> Answer<wit::ConnectRequest> {
        unused()
    }
    fn connect_complete(_: String, _: String, _: String) -> Answer<String> {
        unused()
    }
    fn poll_changes(_: Option<String>) -> Answer<wit::ChangeBatch> {
        unused()
    }
    fn apply_matter_team(_: String, _: Vec<wit::TeamMember>) -> Answer<wit::TeamOutcome> {
        unused()
    }
    fn import_workspaces(_: Option<String>) -> Answer<wit::ImportPage> {
        unused()
    }
    fn backfill_matter(_: wit::Matter, _: bool) -> Answer<wit::BackfillOutcome> {
        unused()
    }
    fn drift(_: wit::Matter, _: bool) -> Answer<wit::DriftReport> {
        unused()
    }
    fn actionstep_connect_begin(_: String) -> Answer<wit::ConnectRequest> {
        unused()
    }
    fn actionstep_connect_complete(_: String, _: String, _: String) -> Answer<String> {
        unused()
    }
    fn actionstep_hooks_install(_: String) -> Answer<Vec<wit::ActionstepHook>> {
        unused()
    }
    fn actionstep_hooks_list() -> Answer<Vec<wit::ActionstepHook>> {
        unused()
    }
    fn actionstep_hooks_remove() -> Answer<Vec<wit::ActionstepHook>> {
        unused()
    }
}
