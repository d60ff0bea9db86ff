//! `GET /libraries/{lib}/change-events?cursor=&limit=`: the change-event queue over HTTP, in the
//! shape `SandboxConfig::event_queue_shape` picks (see `QueueShape` and docs/imanage-api.md,
//! "Change feed": the assumed shape is this product's guess, the action-type shape an
//! open-source connector's design notes, the unknown shape a 200 no client should trust), and
//! `GET /change-events/queues`, the named queues of the action-type shape. Which changes become
//! events is decided in `events.rs`; pages are capped at `page_size` like every list.

use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::config::QueueShape;
use crate::error::{ApiError, ApiResult};
use crate::events::{ChangeEvent, ChangeEventType, CursorError};
use crate::extract::{Lib, Paging};
use crate::store::Inner;

/// The group whose members may read the queue, as in iManage.
const QUEUE_GROUP: &str = "NRTADMIN";

/// The one named queue the sandbox keeps: every change in the library.
const QUEUE_NAME: &str = "default";

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

/// Refused unless the caller may read the queue (the fault, or not in NRTADMIN).
fn may_read(lib: &Lib, inner: &Inner) -> ApiResult<()> {
    let member = inner
        .group(QUEUE_GROUP)
        .is_some_and(|g| g.members.iter().any(|m| m.eq_ignore_ascii_case(lib.user())));
    if lib.state().faults().event_queue_forbidden || !member {
        return Err(forbidden());
    }
    Ok(())
}

pub async fn list(lib: Lib) -> ApiResult<Json<Value>> {
    if lib.state().faults().event_queue_forbidden {
        return Err(forbidden());
    }
    let limit = lib.cursor_limit(lib.query("limit").map(Value::from).as_ref())?;
    let inner = lib.state().lock()?;
    may_read(&lib, &inner)?;
    let position = lib.query("cursor").filter(|c| !c.is_empty());
    let answer = match lib.state().config().event_queue_shape {
        QueueShape::Assumed => {
            let (events, next) = inner.events.read(position, limit).map_err(gone)?;
            json!({"data": events, "cursor": next})
        }
        QueueShape::ActionType => {
            let after = position
                .map(|c| c.parse::<u64>().map_err(|_| gone(CursorError::Unknown)))
                .transpose()?;
            let (events, overflow) = inner.events.read_after_id(after, limit).map_err(gone)?;
            let data: Vec<Value> = events.iter().map(|(n, e)| action_type(*n, e)).collect();
            json!({"data": data, "overflow": overflow})
        }
        QueueShape::Unknown => {
            let (events, next) = inner.events.read(position, limit).map_err(gone)?;
            json!({"data": events, "next_page": next})
        }
    };
    Ok(Json(answer))
}

/// An event as the action-type shape writes it: every change to a workspace's security is a
/// `security_update` of the container, which names no detail (a listener reads the security).
fn action_type(number: u64, e: &ChangeEvent) -> Value {
    let action = match e.event_type {
        ChangeEventType::WorkspaceCreated => "insert",
        ChangeEventType::WorkspaceUpdated => "update",
        ChangeEventType::SecurityChanged
        | ChangeEventType::MembersAdded
        | ChangeEventType::MembersRemoved => "security_update",
    };
    json!({
        "id": number,
        "action_type": action,
        "item_type": "container",
        "object_id": e.object_id,
        "root_id": e.object_id,
        "event_date": e.timestamp,
    })
}

/// `GET /change-events/queues`: the named queues, in the action-type shape only (the other
/// shapes have none: 404).
pub async fn queues(lib: Lib) -> ApiResult<Json<Value>> {
    if lib.state().config().event_queue_shape != QueueShape::ActionType {
        return Err(ApiError::not_found("no such endpoint"));
    }
    let paging = Paging::from_query(&lib)?;
    let inner = lib.state().lock()?;
    may_read(&lib, &inner)?;
    let queue = json!({
        "name": QUEUE_NAME,
        "description": "every change in the library",
        "event_count": inner.events.retained().count(),
    });
    Ok(Json(paging.page(vec![queue])))
}
