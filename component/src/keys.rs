//! Every key-value key the component uses, in one place. Values are JSON.
//!
//! Keys are `namespace/...`; ids are embedded verbatim because matter ids are validated
//! (`validate::matter_id`) and workspace ids follow iManage's `LIB!n` pattern.

/// Matter id → its link record (`links::Link`).
pub fn link(matter_id: &str) -> String {
    format!("link/matter/{matter_id}")
}

/// Workspace id → the matter id linked to it (so one workspace never serves two matters).
pub fn workspace_owner(workspace_id: &str) -> String {
    format!("link/workspace/{workspace_id}")
}

/// A provisioning claim on a matter (compare-and-swap guard against concurrent deliveries).
pub fn claim(matter_id: &str) -> String {
    format!("claim/{matter_id}")
}

/// The connection's tokens (`auth::record::TokenRecord`): access and refresh token, their
/// expiries and a generation. The only place tokens are ever written.
pub const TOKENS: &str = "auth/tokens";

/// The single-flight claim on renewing the tokens (`claim` record, compare-and-swap).
pub const TOKEN_RENEWAL_CLAIM: &str = "auth/renewal-claim";

/// An authorization-code sign-in in progress (`connect`): its `state`, PKCE verifier,
/// redirect URI and expiry. One at a time; deleted when used.
pub const CONNECT_PENDING: &str = "auth/connect-pending";

/// What `GET /api` said for the current sign-in (`imanage::discovery::Discovery`): the account,
/// customer id and libraries. Dropped at every new sign-in.
pub const DISCOVERY: &str = "conn/discovery";

/// A template's folder structure, cached so provisioning costs one request per folder created.
pub fn template(library: &str, template_id: &str) -> String {
    format!("cache/template/{library}/{template_id}")
}

/// Monotonic sequence of audit records.
pub const AUDIT_SEQ: &str = "audit/seq";

/// The audit record numbered `seq`.
pub fn audit(seq: i64) -> String {
    // Zero-padded so that listing keys returns records in order.
    format!("audit/record/{seq:012}")
}

/// An event id that was handled, with its outcome (idempotency across deliveries).
pub fn event_done(event_id: &str) -> String {
    format!("event/done/{event_id}")
}

/// A failed event waiting for replay.
pub fn dead_letter(event_id: &str) -> String {
    format!("event/dead/{event_id}")
}

/// The ids of failed events, oldest first.
pub const DEAD_LETTER_INDEX: &str = "event/dead-index";

/// The change feed's acknowledged position, event-queue cursor and unacknowledged batch.
pub const FEED_STATE: &str = "feed/state";

/// The last known security of a linked workspace, which the change feed compares with.
pub fn feed_security(workspace_id: &str) -> String {
    format!("feed/security/{workspace_id}")
}

/// A lookup value known to exist in iManage (`field` = `custom1`, …; `parent` for custom2).
pub fn lookup(library: &str, field: &str, parent: Option<&str>, id: &str) -> String {
    // The id comes last and only custom2/custom30 have parents (matter and client ids, which
    // hold no `/`), so whatever a value holds cannot make two keys the same.
    format!(
        "cache/lookup/{library}/{field}/{}/{id}",
        parent.unwrap_or("-")
    )
}

/// A webhook signature that was accepted (its HMAC in hex), with the request's timestamp: a
/// signature is good once (`webhooks::replay`).
pub fn signature_seen(mac_hex: &str) -> String {
    format!("{SIGNATURES_SEEN}{mac_hex}")
}

/// The prefix of every `signature_seen` key, which the sweep lists.
pub const SIGNATURES_SEEN: &str = "webhook/seen/";

/// Signed requests accepted so far; every `webhooks::replay::SWEEP_EVERY`th one sweeps expired
/// signatures away.
pub const SIGNATURES_COUNT: &str = "webhook/seen-count";
