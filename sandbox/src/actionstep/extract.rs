//! Per request: the caller's Bearer token, and the API base this request reached the emulator at.

use std::time::SystemTime;

use axum::http::{header, HeaderMap, StatusCode};

use super::error::{AsError, AsResult};
use super::state::ActionstepState;

/// The REST API's guard: 503 while the emulator is "down", 401 without a live access token.
pub fn authorize(state: &ActionstepState, headers: &HeaderMap) -> AsResult<()> {
    let s = state.lock();
    if s.down {
        return Err(AsError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Actionstep is down (the emulator's `down` switch)",
        ));
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .ok_or_else(AsError::unauthorized)?;
    match s.access.get(token.trim()) {
        Some(expires) if *expires > SystemTime::now() => Ok(()),
        _ => Err(AsError::unauthorized()),
    }
}

/// `http://{Host}/actionstep/api/`: the organisation's API base, as the token answer's
/// `api_endpoint` gives it (with the trailing slash Actionstep's has).
pub fn api_endpoint(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}{}/api/", super::PREFIX)
}
