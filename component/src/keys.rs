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

/// The claim under which a matter becomes a workspace's first owner (`links::store`). Not under
/// `link/workspace/`, whose keys are all owner records (`feed::linked` lists them).
pub fn workspace_owner_claim(workspace_id: &str) -> String {
    format!("link/workspace-claim/{workspace_id}")
}

/// A provisioning that is creating the matter's workspace (`{"since": …}`): written before the
/// create, deleted once the link is stored. A later attempt that finds the matter's workspace
/// while this is there knows the workspace is its own, left half-made, and finishes it.
pub fn creating(matter_id: &str) -> String {
    format!("provision/creating/{matter_id}")
}

/// A provisioning claim on a matter (guard against concurrent deliveries); the name under which
/// `claim` keeps its tickets and holder records.
pub fn claim(matter_id: &str) -> String {
    format!("claim/{matter_id}")
}

/// Generation `g`'s ticket of the claim named `claim` (a counter: whoever increments it to 1
/// holds that generation). Ids hold no `/`, so no claim's keys run into another's.
pub fn claim_ticket(claim: &str, g: u64) -> String {
    format!("{claim}/{g}")
}

/// Who holds generation `g` of the claim named `claim`, and since when.
pub fn claim_holder(claim: &str, g: u64) -> String {
    format!("{claim}/{g}/holder")
}

/// A filing's receipt (`document_receipts::Receipt`): which document the filing under the
/// key digest `slot` made for the matter.
pub fn document_receipt(matter_id: &str, slot: &str) -> String {
    format!("document/receipt/{matter_id}/{slot}")
}

/// The claim (a `claim` name) one filing under `slot` holds while it uploads, so that concurrent
/// repeats file once.
pub fn document_claim(matter_id: &str, slot: &str) -> String {
    format!("document/claim/{matter_id}/{slot}")
}

/// The connection's tokens (`auth::record::TokenRecord`): access and refresh token, their
/// expiries and a generation. The only place tokens are ever written.
pub const TOKENS: &str = "auth/tokens";

/// The single-flight claim on renewing the tokens (the name of a `claim`).
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

/// A failed event waiting for replay. The failed events are found by listing this prefix: there
/// is no shared index, which concurrent failures would have to change together.
pub fn dead_letter(event_id: &str) -> String {
    format!("{DEAD_LETTER_PREFIX}{event_id}")
}

/// What every dead letter's key starts with.
pub const DEAD_LETTER_PREFIX: &str = "event/dead/";

/// A counter numbering first failures (`increment`), so that failed events replay in the order
/// they first failed even within one second. Outside `event/dead/`, so it is never listed as one.
pub const DEAD_LETTER_SEQ: &str = "event/failure-seq";

/// A hook delivery kept whole (`held::HeldDelivery`) because it could not be read or handled
/// when it came; found by listing this prefix, like the dead letters.
pub fn held_delivery(id: &str) -> String {
    format!("{HELD_PREFIX}{id}")
}

/// What every held delivery's key starts with.
pub const HELD_PREFIX: &str = "event/held/";

/// A counter numbering held deliveries as they are first kept, so they replay in that order.
pub const HELD_SEQ: &str = "event/held-seq";

/// The Actionstep connection (`actionstep::auth::Tokens`): its tokens, API base and
/// organisation. The only place Actionstep tokens are written.
pub const ACTIONSTEP_TOKENS: &str = "actionstep/tokens";

/// The single-flight claim on refreshing the Actionstep tokens (the name of a `claim`).
pub const ACTIONSTEP_RENEWAL_CLAIM: &str = "actionstep/renewal-claim";

/// An Actionstep sign-in in progress: its `state`, PKCE verifier, redirect URI and expiry.
pub const ACTIONSTEP_CONNECT_PENDING: &str = "actionstep/connect-pending";

/// A counter numbering Actionstep participant changes, each of which is its own event.
pub const ACTIONSTEP_PARTICIPANT_SEQ: &str = "actionstep/participant-seq";

/// A name looked up in Actionstep (`kind` = `participant` or `actiontype`), or the iManage user
/// of an email (`imanage-user`), with when.
pub fn actionstep_name(kind: &str, id: &str) -> String {
    format!("cache/actionstep/{kind}/{id}")
}

/// The feed's poll lock: one poll or acknowledgement changes `FEED_STATE` at a time.
pub const FEED_CLAIM: &str = "feed/poll-claim";

/// The change feed's acknowledged position, event-queue cursor and unacknowledged batch.
/// Written only by a holder of `FEED_CLAIM`.
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

/// The prefix of every `signature_seen` key.
pub const SIGNATURES_SEEN: &str = "webhook/seen/";

/// The claim of the sweep of expired signatures for one interval (`webhooks::replay`): the
/// request that increments it to 1 sweeps.
pub fn sweep_claim(interval: u64) -> String {
    format!("{SWEEP_CLAIMS}{interval}")
}

/// The prefix of every `sweep_claim` key.
pub const SWEEP_CLAIMS: &str = "webhook/sweep/";

/// The counter that chose the sweeps before they ran by the clock; the next sweep deletes it.
pub const RETIRED_SIGNATURES_COUNT: &str = "webhook/seen-count";

/// What the sweep lists: signatures and claims alike.
pub const WEBHOOK: &str = "webhook/";

/// The console's local administrator password, as an Argon2id PHC string (`console::password`);
/// never the password itself.
pub const ADMIN_PASSWORD: &str = "console/admin-password";

/// A console session (`console::session::Session`), under the SHA-256 of its cookie's token
/// (hex): whoever reads the store cannot sign in with what they read.
pub fn console_session(token_digest: &str) -> String {
    format!("console/session/{token_digest}")
}

/// A console OAuth flow in progress (`console::oauth`: a sign-in or a connect), under the
/// SHA-256 of its `state`; deleted when its callback comes, whatever the outcome.
pub fn console_oauth(state_digest: &str) -> String {
    format!("console/oauth/{state_digest}")
}

/// Failed console sign-ins in the five-minute window `window` (a counter): the rate limit.
pub fn signin_failures(window: u64) -> String {
    format!("console/signin-failures/{window}")
}

/// What every backfill job's record (`backfill_job::Job`) key starts with: the console lists
/// its jobs by this prefix.
pub const BACKFILL_JOBS: &str = "backfill/jobs/";

/// A backfill job started from the console: who, when, how many matters, create-missing.
pub fn backfill_job(job: &str) -> String {
    format!("{BACKFILL_JOBS}{job}")
}

/// A backfill job's CSV as uploaded (not JSON: the file's bytes), written once when it starts.
pub fn backfill_rows(job: &str) -> String {
    format!("backfill/job/{job}/rows")
}

/// A backfill job's progress: the next row to run and the counts so far.
pub fn backfill_progress(job: &str) -> String {
    format!("backfill/job/{job}/progress")
}

/// The outcome of row `n` of a backfill job, written before the job moves to the next row.
pub fn backfill_entry(job: &str, n: u64) -> String {
    format!("backfill/job/{job}/entry/{n:08}")
}

/// The claim (a `claim` name) a step of a backfill job holds while it runs matters, so that
/// two tabs or two hosts never run the same rows.
pub fn backfill_claim(job: &str) -> String {
    format!("backfill/job/{job}/claim")
}

/// The settings saved in the console (`saved_settings::Saved`): the current version, which
/// overrides `wasi:config` for the console's keys (`settings::CONSOLE_KEYS`).
pub const CONSOLE_SETTINGS: &str = "console/settings";

/// Saved settings version `n`, kept as it was saved: what was saved when.
pub fn console_settings_version(n: u64) -> String {
    format!("{CONSOLE_SETTINGS}/v{n}")
}
