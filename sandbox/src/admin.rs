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
use crate::model::{AccessLevel, MemberType, SecurityMember};
use crate::objects::{find_workspace, workspace_writable};
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Trustee {
    workspace: String,
    trustee: String,
    #[serde(default = "user_type")]
    r#type: String,
    /// `null` takes the trustee off the workspace.
    access_level: Option<String>,
}

fn user_type() -> String {
    "user".to_owned()
}

/// `POST /sandbox/admin/workspace-security` `{"workspace": "ACTIVE!1000", "trustee": "LWONG",
/// "type": "user", "access_level": "no_access"}` (`null` removes the trustee): what a records
/// manager does in iManage to wall someone off. Unlike the API's own security route it needs no
/// token and works with faults on, and it records the same change events, so the change feed
/// reports it as it would a change made in iManage.
pub async fn workspace_security(
    State(state): State<SharedState>,
    raw: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let t: Trustee = body(raw)?;
    let member_type = MemberType::parse(&t.r#type).ok_or_else(|| {
        ApiError::invalid_field("type", format!("type {} must be user or group", t.r#type))
    })?;
    let level = match t.access_level.as_deref() {
        None => None,
        Some(text) => Some(AccessLevel::parse(text).ok_or_else(|| {
            ApiError::invalid_field(
                "access_level",
                format!("access_level {text} must be no_access, read, read_write or full_access"),
            )
        })?),
    };
    let now = state.clock().now_rfc3339();
    let mut inner = state.lock()?;
    let trustee = match member_type {
        MemberType::User => inner.user(&t.trustee).map(|u| u.id.clone()),
        MemberType::Group => inner.group(&t.trustee).map(|g| g.id.clone()),
    }
    .ok_or_else(|| {
        ApiError::invalid_field(
            "trustee",
            format!("unknown {} {}", member_type.as_str(), t.trustee),
        )
    })?;
    let number = find_workspace(&inner, &t.workspace)?;
    let ws = inner
        .workspaces
        .get_mut(&number)
        .ok_or_else(|| ApiError::internal("workspace vanished"))?;
    workspace_writable(ws)?;
    let before = ws.clone();
    let same = |m: &SecurityMember| m.id == trustee && m.member_type == member_type;
    match level {
        Some(access_level) => match ws.members.iter_mut().find(|m| same(m)) {
            Some(m) => m.access_level = access_level,
            None => ws.members.push(SecurityMember {
                id: trustee,
                member_type,
                access_level,
            }),
        },
        None => ws.members.retain(|m| !same(m)),
    }
    let after = ws.clone();
    inner.events.security_posted(&before, &after, &now);
    let members: Vec<Value> = after.members.iter().map(SecurityMember::to_json).collect();
    Ok(Json(json!({"workspace": after.id, "members": members})))
}
