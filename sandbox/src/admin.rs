//! `/sandbox/admin/*`: the sandbox's own control surface, not part of iManage's API. It needs no
//! iManage token and is never subject to faults, so that a test (or a firm admin trying
//! matterlink) can always turn faults off and read what happened. The same controls exist as
//! methods on [`SandboxState`] for in-process tests.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::faults::{FaultCounts, Faults};
use crate::state::{SandboxState, SharedState};

/// What the sandbox has seen: `GET /sandbox/admin/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests outside `/sandbox/admin`, as [`SandboxState::request_count`].
    pub requests: u64,
    pub faults: FaultCounts,
    /// Successful token grants by grant type.
    pub token_grants: BTreeMap<String, u64>,
    /// Change events recorded since start, and how many the queue still holds.
    pub events_recorded: u64,
    pub events_retained: u64,
}

impl SandboxState {
    pub fn faults(&self) -> Faults {
        self.injector().settings()
    }

    /// Replace the fault settings. A `seed` restarts the random sequence; the 429 burst cycle
    /// starts again from its first request.
    pub fn set_faults(&self, faults: Faults) {
        self.injector().set(faults);
    }

    /// The change-event queue answers 403 while on (also `event_queue_forbidden` in [`Faults`]).
    pub fn set_event_queue_forbidden(&self, forbidden: bool) {
        self.injector().set_event_queue_forbidden(forbidden);
    }

    pub fn stats(&self) -> Stats {
        // One lock at a time: the grant counter is never held together with the model.
        let (events_recorded, events_retained) = {
            let inner = self.read();
            (inner.events.total(), inner.events.retained().count() as u64)
        };
        Stats {
            requests: self.request_count(),
            faults: self.injector().counts(),
            token_grants: self
                .grants
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            events_recorded,
            events_retained,
        }
    }

    /// Zero the request, fault and grant counters (the event queue is data, and stays).
    pub fn reset_counters(&self) {
        self.reset_request_count();
        self.injector().reset_counts();
        self.grants
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

/// A JSON body of the admin endpoints, with 400 envelopes for what does not parse.
fn body<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> ApiResult<T> {
    let bytes = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")))?;
    // serde would also take a struct from an array of its fields in order: too surprising.
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    }
    serde_json::from_value(value).map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))
}

pub async fn get_faults(State(state): State<SharedState>) -> Json<Faults> {
    Json(state.faults())
}

/// `PUT /sandbox/admin/faults`: the whole settings; fields left out are off.
pub async fn put_faults(
    State(state): State<SharedState>,
    raw: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Faults>> {
    let faults: Faults = body(raw)?;
    faults.validate().map_err(ApiError::bad_request)?;
    state.set_faults(faults);
    Ok(Json(state.faults()))
}

pub async fn stats(State(state): State<SharedState>) -> Json<Stats> {
    Json(state.stats())
}

pub async fn reset_counters(State(state): State<SharedState>) -> Json<Stats> {
    state.reset_counters();
    Json(state.stats())
}

pub async fn revoke_tokens(State(state): State<SharedState>) -> StatusCode {
    state.revoke_all_tokens();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: u64,
}

/// `POST /sandbox/admin/advance-clock` `{"seconds": n}`: for token expiry against the binary.
pub async fn advance_clock(
    State(state): State<SharedState>,
    raw: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let Advance { seconds } = body(raw)?;
    state.advance_clock(Duration::from_secs(seconds));
    Ok(Json(json!({"now": state.clock().now_rfc3339()})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AutoApprove {
    user: Option<String>,
}

/// `PUT /sandbox/admin/auto-approve` `{"user": "JSMITH"}` (or `null` to show the form again).
pub async fn put_auto_approve(
    State(state): State<SharedState>,
    raw: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let AutoApprove { user } = body(raw)?;
    let canonical = match user.as_deref() {
        None => None,
        Some(user) => Some(
            state
                .lock()?
                .user(user)
                .map(|u| u.id.clone())
                .ok_or_else(|| ApiError::invalid_field("user", format!("unknown user {user}")))?,
        ),
    };
    state.set_auto_approve(canonical.as_deref());
    Ok(Json(json!({ "user": canonical })))
}
