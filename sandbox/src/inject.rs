//! The fault layer: applies the [`crate::faults`] decisions to real requests. It sits outside the
//! routes, so a refused request never reaches a handler and so does none of its work.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::Frame;

use crate::error::ApiError;
use crate::faults::{After, Before};
use crate::state::SharedState;

/// The sandbox's own namespace, never subject to faults or latency: tests must be able to turn
/// faults off through it.
pub(crate) const ADMIN_PREFIX: &str = "/sandbox/admin";

pub(crate) fn is_admin(path: &str) -> bool {
    path == ADMIN_PREFIX || path.starts_with("/sandbox/admin/")
}

pub(crate) async fn inject(
    State(state): State<SharedState>,
    request: Request,
    next: Next,
) -> Response {
    if is_admin(request.uri().path()) {
        return next.run(request).await;
    }
    let injector = state.injector();
    let latency = injector.latency();
    if !latency.is_zero() {
        wait_exactly(latency).await;
    }
    match injector.before(request.method() != Method::GET, request.uri().path()) {
        Before::Proceed => {}
        Before::RateLimited { retry_after_secs } => return rate_limited(retry_after_secs),
        Before::Error(status) => return injected(status),
        Before::Timeout(hang) => {
            tokio::time::sleep(hang).await;
            return injected(StatusCode::GATEWAY_TIMEOUT);
        }
        Before::Drop => return dropped(),
    }
    let creating = request.method() == Method::POST;
    let response = next.run(request).await;
    if !creating || response.status() != StatusCode::CREATED {
        return response;
    }
    match injector.after_commit() {
        After::Answer => response,
        After::Error => injected(StatusCode::INTERNAL_SERVER_ERROR),
        After::Drop => dropped(),
    }
}

/// The last stretch of an added latency slept on a blocking thread rather than on Tokio's timer.
const PRECISE_TAIL: Duration = Duration::from_millis(2);

/// Waits `latency`, to a fraction of a millisecond. Tokio's timer rounds every sleep up to its
/// next millisecond tick and then wakes when its worker gets to it: a 20 ms sleep took 21.2 ms on
/// average on a two-core VM, which charged every client of the sandbox (and every figure measured
/// against "latency × requests") with 6 % it never asked for. So Tokio sleeps all but the last
/// `PRECISE_TAIL`, and the rest is a `thread::sleep` (a high-resolution timer) on the blocking
/// pool, which holds a thread for two milliseconds per request at most.
async fn wait_exactly(latency: Duration) {
    let deadline = Instant::now() + latency;
    if let Some(coarse) = latency.checked_sub(PRECISE_TAIL) {
        tokio::time::sleep(coarse).await;
    }
    let rest = deadline.saturating_duration_since(Instant::now());
    if !rest.is_zero() {
        // A blocking pool that cannot take the task (shutting down) just shortens the wait.
        let _ = tokio::task::spawn_blocking(move || std::thread::sleep(rest)).await;
    }
}

fn injected(status: StatusCode) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    ApiError::new(status, reason)
        .with_message(
            "InjectedFault",
            "the sandbox injected this failure (see /sandbox/admin/faults)",
            None,
        )
        .into_response()
}

fn rate_limited(retry_after_secs: u64) -> Response {
    let mut response = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests")
        .with_message(
            "RateLimited",
            format!("too many requests; retry after {retry_after_secs} seconds"),
            None,
        )
        .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    response
}

/// A response whose body fails before its first byte. hyper then closes the connection without
/// having written the status line (the head is only buffered until body data is ready), so the
/// client sees the connection end with no answer at all.
fn dropped() -> Response {
    Response::new(Body::new(Abort))
}

struct Abort;

impl http_body::Body for Abort {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection dropped by fault injection",
        ))))
    }
}
