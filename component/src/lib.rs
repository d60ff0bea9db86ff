//! matterlink's domain logic: ordinary Rust over the [`platform::Platform`] capabilities,
//! compiled natively for tests and to `wasm32-wasip2` for the component. Only `wasi` (wasm
//! only) knows about WIT.
//!
//! The modules below are listed by layer, lowest first: each uses only modules listed before it
//! (the layering is described in ARCHITECTURE.md).
#![warn(missing_docs)]

// ---- Contract types and platform ----

/// The WASI-free parts of speaking HTTP through `wasi:http`: URL parts, body limits, chunking.
pub mod http_parts;
/// The contract's domain types (matter, workspace, error, ...) as plain Rust.
pub mod model;
/// The capabilities the domain logic needs from whatever runs it: HTTP, key-value, config, clock.
pub mod platform;
/// iManage's security vocabulary: trustees, access levels, a workspace's security.
pub mod security;

// ---- Configuration and the component's own memory ----

/// The audit trail of every action taken.
pub mod audit;
/// Claims in key-value, taken with compare-and-swap, so concurrent work happens once.
pub mod claim;
/// iManage's custom fields, the matter fields mappable onto them, and value cleaning.
pub mod fields;
/// Every key-value key the component uses.
pub mod keys;
/// `library_routes`: which library and templates a matter goes to.
pub mod library_routes;
/// The `workspace_name` template.
pub mod naming;
/// Randomness: jitter, claim tokens, and secrets straight from the platform.
pub mod random;
/// Settings saved in the console, versioned, overriding `wasi:config` for the console's keys.
pub mod saved_settings;
/// The configuration, read and checked once per call.
pub mod settings;
/// Checks on an incoming matter record before anything is read or written.
pub mod validate;

// ---- Outside systems: transport, auth, imanage ----

/// Signing in to iManage and staying signed in.
pub mod auth;
/// Speaking the iManage Work API v2.
pub mod imanage;
/// Sending requests to iManage reliably: retries, deadlines, status → error.
pub mod transport;

// ---- Domain operations ----

/// on-matter-closed and on-matter-reopened.
pub mod closing;
/// connect-begin and connect-complete: an administrator's browser sign-in.
pub mod connect;
/// Filing a document once per idempotency key: the key and the receipt of what it filed.
pub mod document_receipts;
/// file-document and list-folders.
pub mod documents;
/// resolve-legacy: find the existing workspace of a matter that predates the integration.
pub mod legacy;
/// link-workspace: link a matter to the workspace of a pasted link.
pub mod linking;
/// The matter ↔ workspace link.
pub mod links;
/// map-metadata: which profile fields a matter writes.
pub mod mapping;
/// on-matter-created: provision the matter's workspace, exactly once.
pub mod provision;
/// apply-matter-team: the matter's team or wall becomes the workspace's members.
pub mod team;
/// on-matter-updated: rename (and optionally rewrite the profile of) the workspace.
pub mod updating;
/// The iManage Work links a person pastes, parsed without I/O.
pub mod workspace_url;

// ---- Events and webhooks ----

/// Actionstep's REST hooks: their bodies, and deliveries that never switch a hook off.
pub mod actionstep;
/// Matter events handled once each, with failed ones kept for replay.
pub mod events;
/// Hook deliveries kept whole when they cannot be read or handled yet.
pub mod held;

// ---- Change feed ----

/// poll-changes: security and membership changes on linked workspaces.
pub mod feed;

// ---- Diagnostics and operations at scale ----

/// backfill-matter: what a firm's backfill does with one legacy matter.
pub mod backfill;
/// A backfill run by the console: a job in key-value, stepped a few matters at a time.
pub mod backfill_job;
/// check-connection: each thing the integration needs, checked for real.
pub mod check;
/// drift: what differs between a matter and its workspace, and the repair.
pub mod drift;
/// import-workspaces: workspaces no matter is linked to yet.
pub mod import;
/// Matters as CSV: the format `matterlink backfill` reads and the console's backfill uploads.
pub mod matters_csv;

// ---- Entry points ----

/// The admin console and the matter panel: HTML pages of the incoming handler.
pub mod console;
/// The one HTTP face of the incoming handler: `/admin…` is the console's, the rest the API's.
pub mod front;
/// The adapter between WIT and the domain logic.
#[cfg(target_arch = "wasm32")]
mod wasi;
/// The HTTP API of the incoming handler (webhooks and the `/v1` routes), as plain Rust.
pub mod webhooks;

// ---- Test support ----

/// An in-process `Platform` for native tests.
#[cfg(test)]
pub mod testing;

// The exported operations, at the crate root where the adapter, the host and the bench call them.
pub use backfill::backfill_matter;
pub use check::check_connection;
pub use closing::{on_matter_closed, on_matter_reopened};
pub use connect::{connect_begin, connect_complete};
pub use console::password::set as set_admin_password;
pub use documents::{file_document, list_folders};
pub use drift::drift;
pub use feed::poll_changes;
pub use import::import_workspaces;
pub use legacy::resolve_legacy;
pub use linking::link_workspace;
pub use mapping::map_metadata;
pub use provision::on_matter_created;
pub use team::apply_matter_team;
pub use updating::on_matter_updated;

/// replay-events: the held hook deliveries first (they came before anything failing since),
/// then the failed events, each oldest first.
pub fn replay_events(p: &dyn platform::Platform) -> model::Result<events::ReplayReport> {
    let mut report = events::ReplayReport::default();
    actionstep::deliver::replay_held(p, &mut report)?;
    let failed = events::replay(p)?;
    report.replayed += failed.replayed;
    report.succeeded += failed.succeeded;
    report.still_failing = failed.still_failing;
    Ok(report)
}
