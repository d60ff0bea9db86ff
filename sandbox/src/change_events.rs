//! `GET /libraries/{lib}/change-events?cursor=&limit=`: the change-event queue over HTTP, in the
//! shape `docs/imanage-api.md` ("Change feed") assumes until a real one is seen. Which changes
//! become events is decided in `events.rs`.

use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::cursor;
use crate::error::{ApiError, ApiResult};
use crate::events::CursorError;
use crate::extract::Lib;

/// The group whose members may read the queue, as in iManage.
const QUEUE_GROUP: &str = "NRTADMIN";

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
