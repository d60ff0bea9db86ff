//! `/actionstep/admin/*`: the emulator's own control surface, what a user does in Actionstep's
//! screens — create, change and close actions, put participants on them — each firing the hooks
//! Actionstep would, and answering what the hooks' targets answered. Also the hook record
//! (every delivery, every hook switched off), the hook body shape, and an outage switch. No
//! token needed.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::deliver;
use super::error::{AsError, AsResult};
use super::model::{ActionParticipant, Hook, Participant};
use super::seed::CLIENT_TYPE;
use super::state::{ActionChange, SharedActionstep};
use super::store::HookShape;

fn body<T: DeserializeOwned>(bytes: &Bytes) -> AsResult<T> {
    serde_json::from_slice(bytes).map_err(|e| AsError::bad_request(format!("invalid body: {e}")))
}

fn id(raw: &str) -> AsResult<u64> {
    raw.parse()
        .map_err(|_| AsError::not_found(format!("no record {raw}")))
}

/// `POST /actionstep/admin/actions` (a [`NewAction`](super::state::NewAction)): 201 `{"action", "deliveries"}`.
pub async fn create_action(
    State(state): State<SharedActionstep>,
    bytes: Bytes,
) -> AsResult<(StatusCode, Json<Value>)> {
    let (action, pending) = state
        .create_action(body(&bytes)?)
        .map_err(AsError::bad_request)?;
    let deliveries = deliver::send(&state, pending).await;
    Ok((
        StatusCode::CREATED,
        Json(json!({"action": action.json(), "deliveries": deliveries})),
    ))
}

/// `PATCH /actionstep/admin/actions/{id}` (an [`ActionChange`]): `{"action", "deliveries"}`.
pub async fn change_action(
    State(state): State<SharedActionstep>,
    Path(raw): Path<String>,
    bytes: Bytes,
) -> AsResult<Json<Value>> {
    let change: ActionChange = body(&bytes)?;
    let (action, pending) = state
        .change_action(id(&raw)?, change)
        .map_err(AsError::not_found)?;
    let deliveries = deliver::send(&state, pending).await;
    Ok(Json(
        json!({"action": action.json(), "deliveries": deliveries}),
    ))
}

#[derive(Deserialize)]
struct OnAction {
    participant: u64,
    #[serde(default, rename = "participantType")]
    participant_type: Option<u64>,
}

/// `POST /actionstep/admin/actions/{id}/participants` `{"participant", "participantType"?}`
/// (default: Client), or `DELETE` with the same body: `{"deliveries"}`.
pub async fn add_participant(
    State(state): State<SharedActionstep>,
    Path(raw): Path<String>,
    bytes: Bytes,
) -> AsResult<Json<Value>> {
    on_action(state, &raw, &bytes, true).await
}

pub async fn remove_participant(
    State(state): State<SharedActionstep>,
    Path(raw): Path<String>,
    bytes: Bytes,
) -> AsResult<Json<Value>> {
    on_action(state, &raw, &bytes, false).await
}

async fn on_action(
    state: SharedActionstep,
    raw: &str,
    bytes: &Bytes,
    add: bool,
) -> AsResult<Json<Value>> {
    let b: OnAction = body(bytes)?;
    let ap = ActionParticipant {
        action: id(raw)?,
        participant_type: b.participant_type.unwrap_or(CLIENT_TYPE),
        participant: b.participant,
    };
    let pending = state
        .action_participant(ap, add)
        .map_err(AsError::bad_request)?;
    let deliveries = deliver::send(&state, pending).await;
    Ok(Json(json!({"deliveries": deliveries})))
}

/// `POST /actionstep/admin/participants` (`displayName`, `isCompany`, `companyName`, `email`, …):
/// 201 with the participant.
pub async fn create_participant(
    State(state): State<SharedActionstep>,
    bytes: Bytes,
) -> AsResult<(StatusCode, Json<Value>)> {
    let p: Participant = body(&bytes)?;
    Ok((
        StatusCode::CREATED,
        Json(state.create_participant(p).json()),
    ))
}

/// `GET /actionstep/admin/hooks`: `{"resthooks", "deliveries", "switched_off"}`.
pub async fn hooks(State(state): State<SharedActionstep>) -> Json<Value> {
    let all: Vec<Value> = state.hooks().iter().map(Hook::json).collect();
    Json(json!({
        "resthooks": all,
        "deliveries": state.deliveries(),
        "switched_off": state.switched_off_hooks(),
    }))
}

#[derive(Deserialize)]
struct Shape {
    shape: HookShape,
}

/// `PUT /actionstep/admin/hook-shape` `{"shape": "array" | "object" | "json-api"}`: 204.
pub async fn hook_shape(
    State(state): State<SharedActionstep>,
    bytes: Bytes,
) -> AsResult<StatusCode> {
    let s: Shape = body(&bytes)?;
    state.set_hook_shape(s.shape);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct Down {
    down: bool,
}

/// `PUT /actionstep/admin/down` `{"down": true}`: the REST API answers 503 until set back: 204.
pub async fn down(State(state): State<SharedActionstep>, bytes: Bytes) -> AsResult<StatusCode> {
    let d: Down = body(&bytes)?;
    state.set_down(d.down);
    Ok(StatusCode::NO_CONTENT)
}
