//! Calling the component's exported functions with JSON in and out: the matter record as
//! `matterlink call --matter FILE` reads it (snake_case keys), results as the CLI prints them.

use std::fmt;
use std::str::FromStr;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::bindings::types;
use crate::dry_run::PlannedRequest;
use crate::runtime::Runtime;

/// An event as `POST /v1/events` and `matterlink call handle-event --event FILE` take it.
pub use matterlink_component::events::{Event, EventType};
/// The WIT `matter` record in JSON (snake_case keys), as the component itself reads it.
pub use matterlink_component::model::{Client, Matter};

impl From<Matter> for types::Matter {
    fn from(m: Matter) -> Self {
        types::Matter {
            id: m.id,
            title: m.title,
            matter_type: m.matter_type,
            clients: m
                .clients
                .into_iter()
                .map(|c| types::Client {
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
}

/// The exported functions `matterlink call` knows, by their WIT names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    OnMatterCreated,
    OnMatterUpdated,
    OnMatterClosed,
    OnMatterReopened,
    MapMetadata,
    ResolveLegacy,
    LinkWorkspace,
    FileDocument,
    ListFolders,
    CheckConnection,
    HandleEvent,
    ReplayEvents,
    FailedEvents,
    AuditLog,
    PollChanges,
    ApplyMatterTeam,
    ImportWorkspaces,
    BackfillMatter,
    Drift,
}

/// Which audit records `audit-log` returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub matter_id: Option<String>,
    pub outcome: Option<String>,
    pub since: Option<u64>,
    pub until: Option<u64>,
    pub limit: u32,
}

impl From<Event> for types::Event {
    fn from(e: Event) -> Self {
        types::Event {
            id: e.id,
            kind: match e.kind {
                EventType::Created => types::EventType::MatterCreated,
                EventType::Updated => types::EventType::MatterUpdated,
                EventType::Closed => types::EventType::MatterClosed,
                EventType::Reopened => types::EventType::MatterReopened,
            },
            matter: e.matter.into(),
        }
    }
}

fn event_json(e: &types::Event) -> Value {
    let kind = match e.kind {
        types::EventType::MatterCreated => "matter.created",
        types::EventType::MatterUpdated => "matter.updated",
        types::EventType::MatterClosed => "matter.closed",
        types::EventType::MatterReopened => "matter.reopened",
    };
    json!({"id": e.id, "type": kind, "matter": {"id": e.matter.id, "title": e.matter.title}})
}

fn failed_json(f: &types::FailedEvent) -> Value {
    json!({
        "event": event_json(&f.event),
        "kind": f.kind,
        "reason": f.reason,
        "attempts": f.attempts,
        "first_failed_at": f.first_failed_at,
        "last_failed_at": f.last_failed_at,
    })
}

/// What a call needs besides the function: each function uses some of these.
#[derive(Debug, Clone, Default)]
pub struct Args {
    pub matter: Option<Matter>,
    /// A pasted workspace link (link-workspace).
    pub url: Option<String>,
    /// For file-document and list-folders; taken from `matter` when absent.
    pub matter_id: Option<String>,
    /// A folder id from list-folders (file-document).
    pub folder: Option<String>,
    /// The document's file name (file-document).
    pub name: Option<String>,
    pub content: Option<Vec<u8>>,
    /// handle-event.
    pub event: Option<Event>,
    /// audit-log.
    pub audit: AuditQuery,
    /// backfill-matter: provision matters that have no workspace yet.
    pub create_missing: bool,
    /// drift: repair what differs.
    pub fix: bool,
    /// poll-changes (acknowledges the batch it names) and import-workspaces.
    pub cursor: Option<String>,
    /// apply-matter-team: the team as it should be on the workspace.
    pub members: Option<Vec<TeamMember>>,
}

/// A member of a matter's team, as `apply-matter-team --members FILE` reads it:
/// `{"id": "JSMITH", "trustee_type": "user", "access_level": "full_access"}` (`type` also
/// accepted, as iManage spells it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamMember {
    pub id: String,
    #[serde(alias = "type")]
    pub trustee_type: TrusteeType,
    pub access_level: AccessLevel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrusteeType {
    User,
    Group,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessLevel {
    NoAccess,
    Read,
    ReadWrite,
    FullAccess,
}

impl From<Event> for Args {
    fn from(e: Event) -> Args {
        Args {
            event: Some(e),
            ..Args::default()
        }
    }
}

impl From<Matter> for Args {
    fn from(m: Matter) -> Args {
        Args {
            matter: Some(m),
            ..Args::default()
        }
    }
}

impl Args {
    fn matter_id(&self) -> Option<&str> {
        self.matter_id
            .as_deref()
            .or(self.matter.as_ref().map(|m| m.id.as_str()))
    }
}

impl Function {
    pub const ALL: [Function; 19] = [
        Function::OnMatterCreated,
        Function::OnMatterUpdated,
        Function::OnMatterClosed,
        Function::OnMatterReopened,
        Function::MapMetadata,
        Function::ResolveLegacy,
        Function::LinkWorkspace,
        Function::FileDocument,
        Function::ListFolders,
        Function::CheckConnection,
        Function::HandleEvent,
        Function::ReplayEvents,
        Function::FailedEvents,
        Function::AuditLog,
        Function::PollChanges,
        Function::ApplyMatterTeam,
        Function::ImportWorkspaces,
        Function::BackfillMatter,
        Function::Drift,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Function::OnMatterCreated => "on-matter-created",
            Function::OnMatterUpdated => "on-matter-updated",
            Function::OnMatterClosed => "on-matter-closed",
            Function::OnMatterReopened => "on-matter-reopened",
            Function::MapMetadata => "map-metadata",
            Function::ResolveLegacy => "resolve-legacy",
            Function::LinkWorkspace => "link-workspace",
            Function::FileDocument => "file-document",
            Function::ListFolders => "list-folders",
            Function::CheckConnection => "check-connection",
            Function::HandleEvent => "handle-event",
            Function::ReplayEvents => "replay-events",
            Function::FailedEvents => "failed-events",
            Function::AuditLog => "audit-log",
            Function::PollChanges => "poll-changes",
            Function::ApplyMatterTeam => "apply-matter-team",
            Function::ImportWorkspaces => "import-workspaces",
            Function::BackfillMatter => "backfill-matter",
            Function::Drift => "drift",
        }
    }

    /// Whether `args` carries what this function needs, and nothing it would ignore; the
    /// message names the missing or superfluous option as the CLI spells it.
    pub fn check_args(self, args: &Args) -> Result<(), String> {
        let takes_matter = !matches!(
            self,
            Function::CheckConnection
                | Function::FileDocument
                | Function::ListFolders
                | Function::HandleEvent
                | Function::ReplayEvents
                | Function::FailedEvents
                | Function::AuditLog
                | Function::PollChanges
                | Function::ApplyMatterTeam
                | Function::ImportWorkspaces
        );
        if (self == Function::HandleEvent) != args.event.is_some() {
            return Err(match self {
                Function::HandleEvent => format!("{self} needs --event FILE"),
                _ => format!("{self} takes no --event"),
            });
        }
        let by_id = matches!(
            self,
            Function::FileDocument | Function::ListFolders | Function::ApplyMatterTeam
        );
        if takes_matter && args.matter.is_none() {
            return Err(format!("{self} needs --matter FILE"));
        }
        if by_id && args.matter_id().is_none() {
            return Err(format!("{self} needs --matter-id ID (or --matter FILE)"));
        }
        if !takes_matter && !by_id && args.matter.is_some() {
            return Err(format!("{self} takes no matter"));
        }
        if (self == Function::LinkWorkspace) != args.url.is_some() {
            return Err(match self {
                Function::LinkWorkspace => format!("{self} needs --url URL"),
                _ => format!("{self} takes no --url"),
            });
        }
        let document = args.content.is_some() || args.name.is_some() || args.folder.is_some();
        if self == Function::FileDocument {
            if args.content.is_none() || args.name.is_none() {
                return Err(format!(
                    "{self} needs --file PATH (and --name when reading standard input)"
                ));
            }
        } else if document {
            return Err(format!("{self} takes no --file, --name or --folder"));
        }
        let paged = matches!(self, Function::PollChanges | Function::ImportWorkspaces);
        if !paged && args.cursor.is_some() {
            return Err(format!("{self} takes no --cursor"));
        }
        if (self == Function::ApplyMatterTeam) != args.members.is_some() {
            return Err(match self {
                Function::ApplyMatterTeam => format!("{self} needs --members FILE"),
                _ => format!("{self} takes no --members"),
            });
        }
        if args.create_missing && self != Function::BackfillMatter {
            return Err(format!("{self} takes no --create-missing"));
        }
        if args.fix && self != Function::Drift {
            return Err(format!("{self} takes no --fix"));
        }
        Ok(())
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Function {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Function::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Function::ALL.iter().map(|f| f.name()).collect();
                format!("unknown function {s:?}; one of: {}", names.join(", "))
            })
    }
}

/// A typed error returned by the component (the WIT `error` variant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TypedError {
    pub kind: String,
    pub message: String,
}

impl TypedError {
    pub fn to_json(&self) -> Value {
        json!({"error": {"kind": self.kind, "message": self.message}})
    }
}

impl fmt::Display for TypedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl From<types::Error> for TypedError {
    fn from(e: types::Error) -> Self {
        let (kind, message) = match e {
            types::Error::InvalidMatter(m) => ("invalid-matter", m),
            types::Error::NotConfigured(m) => ("not-configured", m),
            types::Error::NotConnected(m) => ("not-connected", m),
            types::Error::NotLinked(m) => ("not-linked", m),
            types::Error::InvalidUrl(m) => ("invalid-url", m),
            types::Error::Rejected(m) => ("rejected", m),
            types::Error::Unavailable(m) => ("unavailable", m),
            types::Error::Skipped(m) => ("skipped", m),
        };
        TypedError {
            kind: kind.into(),
            message,
        }
    }
}

pub fn workspace_json(w: &types::Workspace) -> Value {
    json!({"id": w.id, "name": w.name, "url": w.url, "library": w.library})
}

/// The outcome of a call that ran: the function's value, or its typed error. Failures of the
/// host itself (a trap, a load error) are the outer `Err`.
pub type Outcome = std::result::Result<Value, TypedError>;

impl Runtime {
    /// Calls `function` once in a fresh instance. Arguments the function needs must be present
    /// (`Function::check_args`); a missing one is a host error here, not a typed error.
    pub async fn call(&self, function: Function, args: impl Into<Args>) -> Result<Outcome> {
        Ok(self.call_planned(function, args).await?.0)
    }

    /// `call`, also returning the iManage requests a dry run planned instead of sending
    /// (always empty outside a dry run).
    pub async fn call_planned(
        &self,
        function: Function,
        args: impl Into<Args>,
    ) -> Result<(Outcome, Vec<PlannedRequest>)> {
        let args = args.into();
        function.check_args(&args).map_err(anyhow::Error::msg)?;
        let (mut store, plugin) = self.instantiate().await?;
        let api = plugin.matterlink_imanage_integration();
        let matter: Option<types::Matter> = args.matter.clone().map(Into::into);
        let m = || matter.as_ref().expect("checked by check_args");
        let id = args.matter_id().unwrap_or_default().to_string();
        let s = &mut store;
        let outcome = match function {
            Function::OnMatterCreated => api
                .call_on_matter_created(s, m())
                .await?
                .map(|w| workspace_json(&w)),
            Function::OnMatterUpdated => api
                .call_on_matter_updated(s, m())
                .await?
                .map(|w| w.map(|w| workspace_json(&w)).unwrap_or(Value::Null)),
            Function::OnMatterClosed => api
                .call_on_matter_closed(s, m())
                .await?
                .map(|w| workspace_json(&w)),
            Function::OnMatterReopened => api
                .call_on_matter_reopened(s, m())
                .await?
                .map(|w| workspace_json(&w)),
            Function::MapMetadata => api.call_map_metadata(s, m()).await?.map(|fields| {
                Value::Array(
                    fields
                        .iter()
                        .map(|f| json!({"name": f.name, "value": f.value}))
                        .collect(),
                )
            }),
            Function::ResolveLegacy => api.call_resolve_legacy(s, m()).await?.map(|r| match r {
                types::LegacyMatch::Linked(w) => {
                    json!({"kind": "linked", "workspace": workspace_json(&w)})
                }
                types::LegacyMatch::None => json!({"kind": "none"}),
                types::LegacyMatch::Several(ws) => json!({
                    "kind": "several",
                    "workspaces": ws.iter().map(workspace_json).collect::<Vec<_>>(),
                }),
            }),
            Function::LinkWorkspace => api
                .call_link_workspace(s, m(), args.url.as_deref().unwrap_or_default())
                .await?
                .map(|w| workspace_json(&w)),
            Function::FileDocument => api
                .call_file_document(
                    s,
                    &id,
                    args.folder.as_deref(),
                    args.name.as_deref().unwrap_or_default(),
                    args.content.as_deref().unwrap_or_default(),
                )
                .await?
                .map(Value::String),
            Function::ListFolders => api.call_list_folders(s, &id).await?.map(|folders| {
                Value::Array(
                    folders
                        .iter()
                        .map(|f| json!({"id": f.id, "name": f.name, "path": f.path}))
                        .collect(),
                )
            }),
            Function::CheckConnection => api.call_check_connection(s).await?.map(Value::String),
            Function::HandleEvent => {
                let e: types::Event = args.event.clone().expect("checked by check_args").into();
                api.call_handle_event(s, &e).await?.map(|o| {
                    json!({
                        "event_id": o.event_id,
                        "duplicate": o.duplicate,
                        "workspace": o.workspace.as_ref().map(workspace_json),
                        "skipped": o.skipped,
                    })
                })
            }
            Function::ReplayEvents => api.call_replay_events(s).await?.map(|r| {
                json!({
                    "replayed": r.replayed,
                    "succeeded": r.succeeded,
                    "still_failing": r.still_failing.iter().map(failed_json).collect::<Vec<_>>(),
                })
            }),
            Function::FailedEvents => api
                .call_failed_events(s)
                .await?
                .map(|list| Value::Array(list.iter().map(failed_json).collect())),
            Function::AuditLog => {
                let q = types::AuditQuery {
                    matter_id: args.audit.matter_id.clone(),
                    outcome: args.audit.outcome.clone(),
                    since: args.audit.since,
                    until: args.audit.until,
                    limit: args.audit.limit,
                };
                api.call_audit_log(s, &q).await?.map(|records| {
                    Value::Array(
                        records
                            .iter()
                            .map(|r| {
                                json!({
                                    "seq": r.seq,
                                    "at": r.at,
                                    "action": r.action,
                                    "matter_id": r.matter_id,
                                    "outcome": r.outcome,
                                    "detail": r.detail,
                                })
                            })
                            .collect(),
                    )
                })
            }
            Function::PollChanges => api
                .call_poll_changes(s, args.cursor.as_deref())
                .await?
                .map(|b| walls::batch_json(&b)),
            Function::ApplyMatterTeam => {
                let members: Vec<types::TeamMember> = args
                    .members
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .map(Into::into)
                    .collect();
                api.call_apply_matter_team(s, &id, &members)
                    .await?
                    .map(|t| walls::team_json(&t))
            }
            Function::ImportWorkspaces => api
                .call_import_workspaces(s, args.cursor.as_deref())
                .await?
                .map(|p| walls::import_json(&p)),
            Function::BackfillMatter => api
                .call_backfill_matter(s, m(), args.create_missing)
                .await?
                .map(|o| backfill_json(&o)),
            Function::Drift => api
                .call_drift(s, m(), args.fix)
                .await?
                .map(|r| drift_json(&r)),
        };
        let plan = self.take_plan(&store);
        Ok((outcome.map_err(TypedError::from), plan))
    }
}

/// JSON for the change feed, the team push and the workspace import: the WIT records with
/// snake_case keys and values (`access_changed`, `read_write`, `event_queue`).
mod walls {
    use serde_json::{json, Value};

    use super::{workspace_json, AccessLevel, TeamMember, TrusteeType};
    use crate::bindings::types;

    impl From<TeamMember> for types::TeamMember {
        fn from(m: TeamMember) -> Self {
            types::TeamMember {
                id: m.id,
                trustee_type: match m.trustee_type {
                    TrusteeType::User => types::TrusteeType::User,
                    TrusteeType::Group => types::TrusteeType::Group,
                },
                access_level: match m.access_level {
                    AccessLevel::NoAccess => types::AccessLevel::NoAccess,
                    AccessLevel::Read => types::AccessLevel::Read,
                    AccessLevel::ReadWrite => types::AccessLevel::ReadWrite,
                    AccessLevel::FullAccess => types::AccessLevel::FullAccess,
                },
            }
        }
    }

    fn trustee_type(t: types::TrusteeType) -> &'static str {
        match t {
            types::TrusteeType::User => "user",
            types::TrusteeType::Group => "group",
        }
    }

    fn level(l: types::AccessLevel) -> &'static str {
        match l {
            types::AccessLevel::NoAccess => "no_access",
            types::AccessLevel::Read => "read",
            types::AccessLevel::ReadWrite => "read_write",
            types::AccessLevel::FullAccess => "full_access",
        }
    }

    fn change_json(c: &types::SecurityChange) -> Value {
        let kind = match c.kind {
            types::ChangeKind::Added => "added",
            types::ChangeKind::Removed => "removed",
            types::ChangeKind::AccessChanged => "access_changed",
            types::ChangeKind::DefaultSecurityChanged => "default_security_changed",
        };
        json!({
            "id": c.id,
            "matter_id": c.matter_id,
            "workspace_id": c.workspace_id,
            "kind": kind,
            "trustee_id": c.trustee_id,
            "trustee_type": c.trustee_type.map(trustee_type),
            "access_level": c.access_level.map(level),
            "previous_access_level": c.previous_access_level.map(level),
            "default_security": c.default_security,
            "previous_default_security": c.previous_default_security,
            "occurred_at": c.occurred_at,
            "observed_at": c.observed_at,
        })
    }

    pub fn batch_json(b: &types::ChangeBatch) -> Value {
        let source = match b.source {
            types::ChangeSource::EventQueue => "event_queue",
            types::ChangeSource::Sync => "sync",
            types::ChangeSource::Polling => "polling",
        };
        json!({
            "changes": b.changes.iter().map(change_json).collect::<Vec<_>>(),
            "next_cursor": b.next_cursor,
            "source": source,
            "notes": b.notes,
        })
    }

    fn member_json(m: &types::TeamMember) -> Value {
        json!({"id": m.id, "trustee_type": trustee_type(m.trustee_type), "access_level": level(m.access_level)})
    }

    pub fn team_json(t: &types::TeamOutcome) -> Value {
        json!({
            "workspace": workspace_json(&t.workspace),
            "included": t.included.iter().map(member_json).collect::<Vec<_>>(),
            "removed": t.removed.iter().map(member_json).collect::<Vec<_>>(),
            "unchanged": t.unchanged,
        })
    }

    fn matter_json(m: &types::Matter) -> Value {
        json!({
            "id": m.id,
            "title": m.title,
            "matter_type": m.matter_type,
            "clients": m.clients.iter().map(|c| json!({"id": c.id, "name": c.name})).collect::<Vec<_>>(),
            "file_reference": m.file_reference,
            "assigned_to": m.assigned_to,
            "priority": m.priority,
            "status": m.status,
            "acting_user": m.acting_user,
        })
    }

    pub fn import_json(p: &types::ImportPage) -> Value {
        let items: Vec<Value> = p
            .workspaces
            .iter()
            .map(|w| {
                json!({
                    "workspace": workspace_json(&w.workspace),
                    "matter": matter_json(&w.matter),
                    "profile": w.profile.iter().map(|f| json!({"name": f.name, "value": f.value})).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({"workspaces": items, "next_cursor": p.next_cursor})
    }
}
/// `{"kind": "linked", "workspace": …}`, `{"kind": "needs-url", "candidates": […]}`, …
pub fn backfill_json(o: &types::BackfillOutcome) -> Value {
    let with =
        |kind: &str, w: &types::Workspace| json!({"kind": kind, "workspace": workspace_json(w)});
    match o {
        types::BackfillOutcome::AlreadyLinked(w) => with("already-linked", w),
        types::BackfillOutcome::Linked(w) => with("linked", w),
        types::BackfillOutcome::Created(w) => with("created", w),
        types::BackfillOutcome::NeedsUrl(ws) => json!({
            "kind": "needs-url",
            "candidates": ws.iter().map(workspace_json).collect::<Vec<_>>(),
        }),
    }
}

pub fn drift_json(r: &types::DriftReport) -> Value {
    let list = |ds: &[types::Difference]| {
        ds.iter()
            .map(|d| json!({"field": d.field, "expected": d.expected, "actual": d.actual}))
            .collect::<Vec<_>>()
    };
    json!({
        "differences": list(&r.differences),
        "fixed": r.fixed,
        "remaining": list(&r.remaining),
    })
}
