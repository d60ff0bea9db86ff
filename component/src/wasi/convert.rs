//! Every conversion between the WIT records and the domain types, as `From` impls: field for
//! field and case for case, so that a change to either side fails to compile here.

use super::bindings::exports::matterlink::imanage::types as wit;
use super::bindings::wasi::http::types::{ErrorCode, Method as WitMethod, Scheme as WitScheme};
use crate::audit;
use crate::backfill;
use crate::drift;
use crate::events;
use crate::feed::{Batch, Change, ChangeKind, Source};
use crate::http_parts::Scheme;
use crate::import::{ImportPage, WorkspaceImport};
use crate::model::{self, Error};
use crate::platform::{Method, TransportError};
use crate::security::{AccessLevel, Member, TrusteeType};
use crate::team::TeamOutcome;

/// A domain result as an export returns it.
pub fn out<T, W: From<T>>(r: model::Result<T>) -> Result<W, wit::Error> {
    r.map(W::from).map_err(wit::Error::from)
}

/// A domain result holding a list, as an export returns it.
pub fn out_list<T, W: From<T>>(r: model::Result<Vec<T>>) -> Result<Vec<W>, wit::Error> {
    out(r.map(list))
}

/// A domain result holding an option, as an export returns it.
pub fn out_option<T, W: From<T>>(r: model::Result<Option<T>>) -> Result<Option<W>, wit::Error> {
    out(r.map(|o| o.map(W::from)))
}

/// Converts every element of a list.
pub fn list<T, W: From<T>>(items: Vec<T>) -> Vec<W> {
    items.into_iter().map(W::from).collect()
}

// ---- matters and workspaces ----

impl From<wit::Client> for model::Client {
    fn from(c: wit::Client) -> Self {
        model::Client {
            id: c.id,
            name: c.name,
        }
    }
}

impl From<model::Client> for wit::Client {
    fn from(c: model::Client) -> Self {
        wit::Client {
            id: c.id,
            name: c.name,
        }
    }
}

impl From<wit::Matter> for model::Matter {
    fn from(m: wit::Matter) -> Self {
        model::Matter {
            id: m.id,
            title: m.title,
            matter_type: m.matter_type,
            clients: list(m.clients),
            file_reference: m.file_reference,
            assigned_to: m.assigned_to,
            priority: m.priority,
            status: m.status,
            acting_user: m.acting_user,
        }
    }
}

impl From<model::Matter> for wit::Matter {
    fn from(m: model::Matter) -> Self {
        wit::Matter {
            id: m.id,
            title: m.title,
            matter_type: m.matter_type,
            clients: list(m.clients),
            file_reference: m.file_reference,
            assigned_to: m.assigned_to,
            priority: m.priority,
            status: m.status,
            acting_user: m.acting_user,
        }
    }
}

impl From<model::Workspace> for wit::Workspace {
    fn from(w: model::Workspace) -> Self {
        wit::Workspace {
            id: w.id,
            name: w.name,
            url: w.url,
            library: w.library,
        }
    }
}

impl From<model::ProfileField> for wit::ProfileField {
    fn from(f: model::ProfileField) -> Self {
        wit::ProfileField {
            name: f.name,
            value: f.value,
        }
    }
}

impl From<model::Folder> for wit::Folder {
    fn from(f: model::Folder) -> Self {
        wit::Folder {
            id: f.id,
            name: f.name,
            path: f.path,
        }
    }
}

impl From<model::LegacyMatch> for wit::LegacyMatch {
    fn from(r: model::LegacyMatch) -> Self {
        match r {
            model::LegacyMatch::Linked(w) => wit::LegacyMatch::Linked(w.into()),
            model::LegacyMatch::None => wit::LegacyMatch::None,
            model::LegacyMatch::Several(ws) => wit::LegacyMatch::Several(list(ws)),
        }
    }
}

impl From<model::ConnectRequest> for wit::ConnectRequest {
    fn from(r: model::ConnectRequest) -> Self {
        wit::ConnectRequest {
            authorize_url: r.authorize_url,
            state: r.state,
            expires_in: r.expires_in,
        }
    }
}

impl From<Error> for wit::Error {
    fn from(e: Error) -> Self {
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
}

// ---- events, replay and audit ----

impl From<wit::EventType> for events::EventType {
    fn from(k: wit::EventType) -> Self {
        match k {
            wit::EventType::MatterCreated => events::EventType::Created,
            wit::EventType::MatterUpdated => events::EventType::Updated,
            wit::EventType::MatterClosed => events::EventType::Closed,
            wit::EventType::MatterReopened => events::EventType::Reopened,
        }
    }
}

impl From<events::EventType> for wit::EventType {
    fn from(k: events::EventType) -> Self {
        match k {
            events::EventType::Created => wit::EventType::MatterCreated,
            events::EventType::Updated => wit::EventType::MatterUpdated,
            events::EventType::Closed => wit::EventType::MatterClosed,
            events::EventType::Reopened => wit::EventType::MatterReopened,
        }
    }
}

impl From<wit::Event> for events::Event {
    fn from(e: wit::Event) -> Self {
        events::Event {
            id: e.id,
            kind: e.kind.into(),
            matter: e.matter.into(),
        }
    }
}

impl From<events::Event> for wit::Event {
    fn from(e: events::Event) -> Self {
        wit::Event {
            id: e.id,
            kind: e.kind.into(),
            matter: e.matter.into(),
        }
    }
}

impl From<events::Outcome> for wit::EventOutcome {
    fn from(o: events::Outcome) -> Self {
        wit::EventOutcome {
            event_id: o.event_id,
            duplicate: o.duplicate,
            workspace: o.workspace.map(Into::into),
            skipped: o.skipped,
        }
    }
}

impl From<events::DeadLetter> for wit::FailedEvent {
    fn from(d: events::DeadLetter) -> Self {
        wit::FailedEvent {
            event: d.event.into(),
            kind: d.kind,
            reason: d.reason,
            attempts: d.attempts,
            first_failed_at: d.first_failed_at,
            last_failed_at: d.last_failed_at,
        }
    }
}

impl From<events::ReplayReport> for wit::ReplayReport {
    fn from(r: events::ReplayReport) -> Self {
        wit::ReplayReport {
            replayed: r.replayed,
            succeeded: r.succeeded,
            still_failing: list(r.still_failing),
            still_held: list(r.still_held),
        }
    }
}

impl From<crate::actionstep::resthooks::Hook> for wit::ActionstepHook {
    fn from(h: crate::actionstep::resthooks::Hook) -> Self {
        wit::ActionstepHook {
            id: h.id,
            event_name: h.event_name,
            target_url: h.target_url,
            status: h.status,
            ours: h.ours,
        }
    }
}

impl From<crate::held::HeldDelivery> for wit::HeldDelivery {
    fn from(h: crate::held::HeldDelivery) -> Self {
        wit::HeldDelivery {
            id: h.id,
            source: h.source,
            kind: h.kind,
            reason: h.reason,
            body: h.body,
            truncated: h.truncated,
            attempts: h.attempts,
            first_held_at: h.first_held_at,
            last_failed_at: h.last_failed_at,
        }
    }
}

impl From<wit::AuditQuery> for audit::Query {
    fn from(q: wit::AuditQuery) -> Self {
        audit::Query {
            matter_id: q.matter_id,
            outcome: q.outcome,
            since: q.since,
            until: q.until,
            limit: q.limit,
        }
    }
}

impl From<audit::Record> for wit::AuditRecord {
    fn from(r: audit::Record) -> Self {
        wit::AuditRecord {
            seq: r.seq,
            at: r.at,
            action: r.action,
            matter_id: r.matter_id,
            outcome: r.outcome,
            detail: r.detail,
        }
    }
}

// ---- security, the change feed and the team push ----

impl From<wit::TrusteeType> for TrusteeType {
    fn from(t: wit::TrusteeType) -> Self {
        match t {
            wit::TrusteeType::User => TrusteeType::User,
            wit::TrusteeType::Group => TrusteeType::Group,
        }
    }
}

impl From<TrusteeType> for wit::TrusteeType {
    fn from(t: TrusteeType) -> Self {
        match t {
            TrusteeType::User => wit::TrusteeType::User,
            TrusteeType::Group => wit::TrusteeType::Group,
        }
    }
}

impl From<wit::AccessLevel> for AccessLevel {
    fn from(l: wit::AccessLevel) -> Self {
        match l {
            wit::AccessLevel::NoAccess => AccessLevel::NoAccess,
            wit::AccessLevel::Read => AccessLevel::Read,
            wit::AccessLevel::ReadWrite => AccessLevel::ReadWrite,
            wit::AccessLevel::FullAccess => AccessLevel::FullAccess,
        }
    }
}

impl From<AccessLevel> for wit::AccessLevel {
    fn from(l: AccessLevel) -> Self {
        match l {
            AccessLevel::NoAccess => wit::AccessLevel::NoAccess,
            AccessLevel::Read => wit::AccessLevel::Read,
            AccessLevel::ReadWrite => wit::AccessLevel::ReadWrite,
            AccessLevel::FullAccess => wit::AccessLevel::FullAccess,
        }
    }
}

impl From<wit::TeamMember> for Member {
    fn from(m: wit::TeamMember) -> Self {
        Member {
            id: m.id,
            trustee_type: m.trustee_type.into(),
            access_level: m.access_level.into(),
        }
    }
}

impl From<Member> for wit::TeamMember {
    fn from(m: Member) -> Self {
        wit::TeamMember {
            id: m.id,
            trustee_type: m.trustee_type.into(),
            access_level: m.access_level.into(),
        }
    }
}

impl From<ChangeKind> for wit::ChangeKind {
    fn from(k: ChangeKind) -> Self {
        match k {
            ChangeKind::Added => wit::ChangeKind::Added,
            ChangeKind::Removed => wit::ChangeKind::Removed,
            ChangeKind::AccessChanged => wit::ChangeKind::AccessChanged,
            ChangeKind::DefaultSecurityChanged => wit::ChangeKind::DefaultSecurityChanged,
        }
    }
}

impl From<Change> for wit::SecurityChange {
    fn from(c: Change) -> Self {
        wit::SecurityChange {
            id: c.id,
            matter_id: c.matter_id,
            workspace_id: c.workspace_id,
            kind: c.kind.into(),
            trustee_id: c.trustee_id,
            trustee_type: c.trustee_type.map(Into::into),
            access_level: c.access_level.map(Into::into),
            previous_access_level: c.previous_access_level.map(Into::into),
            default_security: c.default_security,
            previous_default_security: c.previous_default_security,
            occurred_at: c.occurred_at,
            observed_at: c.observed_at,
        }
    }
}

impl From<Source> for wit::ChangeSource {
    fn from(s: Source) -> Self {
        match s {
            Source::EventQueue => wit::ChangeSource::EventQueue,
            Source::Sync => wit::ChangeSource::Sync,
            Source::Polling => wit::ChangeSource::Polling,
        }
    }
}

impl From<Batch> for wit::ChangeBatch {
    fn from(b: Batch) -> Self {
        wit::ChangeBatch {
            changes: list(b.changes),
            next_cursor: b.next_cursor,
            source: b.source.into(),
            notes: b.notes,
        }
    }
}

impl From<TeamOutcome> for wit::TeamOutcome {
    fn from(t: TeamOutcome) -> Self {
        wit::TeamOutcome {
            workspace: t.workspace.into(),
            included: list(t.included),
            removed: list(t.removed),
            unchanged: t.unchanged,
        }
    }
}

// ---- operations at scale ----

impl From<WorkspaceImport> for wit::WorkspaceImport {
    fn from(w: WorkspaceImport) -> Self {
        wit::WorkspaceImport {
            workspace: w.workspace.into(),
            matter: w.matter.into(),
            profile: list(w.profile),
        }
    }
}

impl From<ImportPage> for wit::ImportPage {
    fn from(p: ImportPage) -> Self {
        wit::ImportPage {
            workspaces: list(p.workspaces),
            next_cursor: p.next_cursor,
        }
    }
}

impl From<backfill::Outcome> for wit::BackfillOutcome {
    fn from(o: backfill::Outcome) -> Self {
        use backfill::Outcome;
        match o {
            Outcome::AlreadyLinked { workspace } => {
                wit::BackfillOutcome::AlreadyLinked(workspace.into())
            }
            Outcome::Linked { workspace } => wit::BackfillOutcome::Linked(workspace.into()),
            Outcome::Created { workspace } => wit::BackfillOutcome::Created(workspace.into()),
            Outcome::NeedsUrl { candidates } => wit::BackfillOutcome::NeedsUrl(list(candidates)),
        }
    }
}

impl From<drift::Difference> for wit::Difference {
    fn from(d: drift::Difference) -> Self {
        wit::Difference {
            field: d.field,
            expected: d.expected,
            actual: d.actual,
        }
    }
}

impl From<drift::Report> for wit::DriftReport {
    fn from(r: drift::Report) -> Self {
        wit::DriftReport {
            differences: list(r.differences),
            fixed: r.fixed,
            remaining: list(r.remaining),
        }
    }
}

// ---- wasi:http ----

impl From<Method> for WitMethod {
    fn from(m: Method) -> Self {
        match m {
            Method::Get => WitMethod::Get,
            Method::Post => WitMethod::Post,
            Method::Patch => WitMethod::Patch,
            Method::Delete => WitMethod::Delete,
        }
    }
}

/// The method of an incoming request as text, e.g. `POST`; methods WIT does not name pass
/// through as the request spelled them.
pub fn method_name(m: WitMethod) -> String {
    match m {
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
    }
}

impl From<ErrorCode> for TransportError {
    fn from(e: ErrorCode) -> Self {
        match e {
            ErrorCode::HttpRequestDenied => {
                TransportError::Denied("destination not allowed".into())
            }
            other => TransportError::Failed(format!("{other:?}")),
        }
    }
}

impl From<Scheme> for WitScheme {
    fn from(s: Scheme) -> Self {
        match s {
            Scheme::Http => WitScheme::Http,
            Scheme::Https => WitScheme::Https,
        }
    }
}
