//! `/api/rest/resthooks`: subscribing a target URL to an event (`POST {"resthooks":
//! {"eventName", "targetUrl"}}`), listing and deleting subscriptions (Actionstep API wiki,
//! "REST Hooks"). A disabled hook stays listed with `status: "Disabled"` (assumed).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::{AsError, AsResult};
use super::extract::authorize;
use super::model::{Hook, EVENTS};
use super::state::SharedActionstep;

#[derive(Deserialize)]
struct Body {
    resthooks: New,
}

#[derive(Deserialize)]
struct New {
    #[serde(rename = "eventName")]
    event_name: String,
    #[serde(rename = "targetUrl")]
    target_url: String,
}

/// `POST /api/rest/resthooks`: 201 with the new hook.
pub async fn create(
    State(state): State<SharedActionstep>,
    headers: HeaderMap,
    body: Bytes,
) -> AsResult<(StatusCode, Json<Value>)> {
    authorize(&state, &headers)?;
    let Body { resthooks: new } = serde_json::from_slice(&body).map_err(|e| {
        AsError::bad_request(format!(
            "expected {{\"resthooks\": {{\"eventName\", \"targetUrl\"}}}}: {e}"
        ))
    })?;
    if !EVENTS.contains(&new.event_name.as_str()) {
        return Err(AsError::bad_request(format!(
            "eventName {:?} is not one of {EVENTS:?}",
            new.event_name
        )));
    }
    match url::Url::parse(&new.target_url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {}
        _ => return Err(AsError::bad_request("targetUrl must be an http(s) URL")),
    }
    let hook = state.subscribe(&new.event_name, &new.target_url);
    Ok((StatusCode::CREATED, Json(json!({"resthooks": hook.json()}))))
}

/// `GET /api/rest/resthooks`.
pub async fn list(
    State(state): State<SharedActionstep>,
    headers: HeaderMap,
) -> AsResult<Json<Value>> {
    authorize(&state, &headers)?;
    let all: Vec<Value> = state.lock().hooks.values().map(Hook::json).collect();
    Ok(Json(json!({"resthooks": all})))
}

/// `DELETE /api/rest/resthooks/{id}`: 204.
pub async fn delete(
    State(state): State<SharedActionstep>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> AsResult<StatusCode> {
    authorize(&state, &headers)?;
    let id: u64 = raw
        .parse()
        .map_err(|_| AsError::not_found(format!("no hook {raw}")))?;
    match state.lock().hooks.remove(&id) {
        Some(_) => Ok(StatusCode::NO_CONTENT),
        None => Err(AsError::not_found(format!("no hook {id}"))),
    }
}
