//! `/sandbox/admin/*`: the sandbox's own control surface, not part of iManage's API. It needs no
//! iManage token and is never subject to faults, so that a test (or a firm admin trying
//! matterlink) can always turn faults off and read what happened. The same controls exist as
//! methods on [`SandboxState`](crate::state::SandboxState) for in-process tests.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::faults::Faults;
use crate::state::{SharedState, Stats};

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
