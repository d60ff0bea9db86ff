//! `GET /libraries/{lib}/change-events?cursor=&limit=`: the change-event queue over HTTP, in the
//! shape `shared/imanage-api.md` assumes until a real one is seen. Also where workspace changes
//! become events, so that the event vocabulary sits in one place.

use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::cursor;
use crate::error::{ApiError, ApiResult};
use crate::events::{ChangeEvent, ChangeEventType, CursorError};
use crate::extract::Lib;
use crate::model::{SecurityMember, Workspace};
use crate::state::{Inner, SandboxState};

/// The group whose members may read the queue, as in iManage.
const QUEUE_GROUP: &str = "NRTADMIN";

impl SandboxState {
    /// The events the queue still holds, oldest first.
    pub fn events(&self) -> Vec<ChangeEvent> {
        self.read().events.retained().cloned().collect()
    }
}

fn forbidden() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "Access denied: the change-event queue requires NRTADMIN membership",
    )
    .with_message(
        "NotInNrtAdmin",
        "the account must be a member of the library's NRTADMIN group to read change events",
        None,
    )
}

fn gone(err: CursorError) -> ApiError {
    let text = match err {
        CursorError::Unknown => "the cursor is not one this change-event queue issued",
        CursorError::Expired => "events after the cursor are no longer retained; start again",
    };
    ApiError::new(StatusCode::GONE, "Gone").with_message("CursorExpired", text, Some("cursor"))
}

pub async fn list(lib: Lib) -> ApiResult<Json<Value>> {
    let state = lib.state();
    if state.faults().event_queue_forbidden {
        return Err(forbidden());
    }
    let limit = cursor::limit(lib.query("limit").map(Value::from).as_ref())?;
    let inner = state.lock()?;
    let member = inner
        .group(QUEUE_GROUP)
        .is_some_and(|g| g.members.iter().any(|m| m.eq_ignore_ascii_case(lib.user())));
    if !member {
        return Err(forbidden());
    }
    let position = lib.query("cursor").filter(|c| !c.is_empty());
    let (events, next) = inner.events.read(position, limit).map_err(gone)?;
    Ok(Json(json!({"data": events, "cursor": next})))
}

pub(crate) fn member_json(member: &SecurityMember) -> Value {
    json!({
        "id": member.id,
        "type": member.member_type.as_str(),
        "access_level": member.access_level.as_str(),
    })
}

pub(crate) fn workspace_created(inner: &mut Inner, ws: &Workspace, timestamp: &str) {
    let mut details = json!({
        "name": ws.name,
        "owner": ws.owner,
        "default_security": ws.default_security.as_str(),
        "members": ws.members.iter().map(member_json).collect::<Vec<_>>(),
    });
    // The client and matter ids tell a listener which matter the workspace belongs to.
    for field in ["custom1", "custom2"] {
        if let Some(value) = ws.custom.get(field) {
            details[field] = value.clone();
        }
    }
    inner.events.push(
        ChangeEventType::WorkspaceCreated,
        &ws.id,
        timestamp,
        details,
    );
}

/// A PATCH: always `workspace_updated` (naming the changed fields), and `security_changed` too
/// when it changed the default security, since that is a security change whatever the route.
pub(crate) fn workspace_updated(
    inner: &mut Inner,
    before: &Workspace,
    after: &Workspace,
    timestamp: &str,
) {
    let mut changed: Vec<String> = [
        ("name", before.name != after.name),
        ("description", before.description != after.description),
        ("owner", before.owner != after.owner),
        (
            "default_security",
            before.default_security != after.default_security,
        ),
        ("subclass", before.subclass != after.subclass),
    ]
    .into_iter()
    .filter(|(_, differs)| *differs)
    .map(|(name, _)| name.to_owned())
    .collect();
    let custom_keys = before.custom.keys().chain(after.custom.keys());
    let mut custom: Vec<String> = custom_keys
        .filter(|k| before.custom.get(*k) != after.custom.get(*k))
        .cloned()
        .collect();
    custom.sort();
    custom.dedup();
    changed.extend(custom);
    inner.events.push(
        ChangeEventType::WorkspaceUpdated,
        &after.id,
        timestamp,
        json!({"name": after.name, "changed": changed}),
    );
    security_changed(inner, before, after, timestamp);
}

fn security_changed(inner: &mut Inner, before: &Workspace, after: &Workspace, timestamp: &str) {
    if before.default_security != after.default_security {
        inner.events.push(
            ChangeEventType::SecurityChanged,
            &after.id,
            timestamp,
            json!({
                "default_security": after.default_security.as_str(),
                "previous": before.default_security.as_str(),
            }),
        );
    }
}

/// A security POST: one event per kind of change that actually happened, in the order the change
/// was applied (default security, removals, additions). A no-op post records nothing.
pub(crate) fn security_posted(
    inner: &mut Inner,
    before: &Workspace,
    after: &Workspace,
    timestamp: &str,
) {
    security_changed(inner, before, after, timestamp);
    let same =
        |a: &SecurityMember, b: &SecurityMember| a.id == b.id && a.member_type == b.member_type;
    let removed: Vec<Value> = before
        .members
        .iter()
        .filter(|old| !after.members.iter().any(|new| same(old, new)))
        .map(member_json)
        .collect();
    if !removed.is_empty() {
        inner.events.push(
            ChangeEventType::MembersRemoved,
            &after.id,
            timestamp,
            json!({"members": removed}),
        );
    }
    // A changed access level counts as added at the new level: what a wall listener must apply.
    let added: Vec<Value> = after
        .members
        .iter()
        .filter(|new| !before.members.iter().any(|old| old == *new))
        .map(member_json)
        .collect();
    if !added.is_empty() {
        inner.events.push(
            ChangeEventType::MembersAdded,
            &after.id,
            timestamp,
            json!({"members": added}),
        );
    }
}
