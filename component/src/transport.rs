//! Sending requests to iManage reliably, beneath both `auth` (the token endpoint) and `imanage`
//! (the API): which requests may be repeated, retries with backoff within an event's deadline,
//! and how an HTTP answer that survived the retries becomes the contract's error.

use serde_json::Value;

use crate::model::{Error, Result};
use crate::platform::{HttpRequest, HttpResponse, Method, Platform, TransportError};
use crate::settings::Settings;

/// Attempts per request when iManage answers 429/5xx or the connection fails.
const MAX_ATTEMPTS: u32 = 4;
const BACKOFF_BASE_MS: u64 = 200;
const BACKOFF_CAP_MS: u64 = 5_000;
/// A `Retry-After` longer than this is not waited for within one call.
const RETRY_AFTER_CAP_S: u64 = 30;

/// Whether a failed request may be sent again as it is. Creating requests are not: a 5xx may
/// come after iManage committed, so the flows look before they create again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Reads and other requests that change nothing or set a state: repeat freely.
    Safe,
    /// Requests that create or spend something (a token, a code): send once.
    Never,
}

/// The moment an event that starts now must stop retrying (`event_deadline_seconds`).
pub fn deadline(p: &dyn Platform, s: &Settings) -> u64 {
    p.now() + s.event_deadline_s
}

/// Whether waiting `wait_ms` now still ends before `deadline`.
pub fn fits(p: &dyn Platform, deadline: u64, wait_ms: u64) -> bool {
    p.now() + wait_ms.div_ceil(1000) < deadline
}

/// Sends, retrying 429, 5xx and transport failures with capped exponential backoff and jitter
/// (honouring `Retry-After`), when the request may be repeated and the wait fits before
/// `deadline`.
pub fn send_with_retries(
    p: &dyn Platform,
    request: &HttpRequest,
    retry: Retry,
    deadline: u64,
) -> Result<HttpResponse> {
    let mut answers =
        send_all_with_retries(p, std::slice::from_ref(request), &[retry], deadline, 1);
    answers
        .pop()
        .unwrap_or_else(|| Err(Error::Unavailable("no answer".into())))
}

/// Sends requests that may run together, at most `max_in_flight` at once (the setting
/// `imanage_max_in_flight`; more go `max_in_flight` at a time), each with its own `Retry`
/// (`retries[i]` for `requests[i]`), and answers in their order. After each round only
/// the members whose answer `next_step` says to repeat are sent again, once the longest of
/// their waits (a `Retry-After` among them) has passed; every wait fits before `deadline`.
pub fn send_all_with_retries(
    p: &dyn Platform,
    requests: &[HttpRequest],
    retries: &[Retry],
    deadline: u64,
    max_in_flight: usize,
) -> Vec<Result<HttpResponse>> {
    let mut answers: Vec<Option<Result<HttpResponse>>> = requests.iter().map(|_| None).collect();
    let mut attempts = vec![0u32; requests.len()];
    let mut pending: Vec<usize> = (0..requests.len()).collect();
    while !pending.is_empty() {
        let mut again = Vec::new();
        let mut wait = 0;
        for window in pending.chunks(max_in_flight.max(1)) {
            let outcomes = match window {
                [one] => vec![p.send(&requests[*one])],
                _ => {
                    let batch: Vec<HttpRequest> =
                        window.iter().map(|&i| requests[i].clone()).collect();
                    p.send_all(&batch)
                }
            };
            for (&i, outcome) in window.iter().zip(outcomes) {
                attempts[i] += 1;
                let retry = retries.get(i).copied().unwrap_or(Retry::Never);
                match next_step(p, &requests[i], retry, deadline, attempts[i], outcome) {
                    Step::Done(answer) => answers[i] = Some(answer),
                    Step::Again(ms) => {
                        again.push(i);
                        wait = wait.max(ms);
                    }
                }
            }
        }
        if !again.is_empty() {
            p.sleep_ms(wait);
        }
        pending = again;
    }
    answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| Err(Error::Unavailable("no answer".into()))))
        .collect()
}

/// What to do after one attempt of a request.
enum Step {
    /// This is the answer (or the error) the caller gets.
    Done(Result<HttpResponse>),
    /// Send it again after waiting this many milliseconds.
    Again(u64),
}

/// The retry policy, for one attempt's outcome: 429, 5xx and transport failures are repeated
/// with capped exponential backoff and jitter (honouring `Retry-After`) while the request may
/// be repeated, attempts are left and the wait fits before `deadline`.
fn next_step(
    p: &dyn Platform,
    request: &HttpRequest,
    retry: Retry,
    deadline: u64,
    attempt: u32,
    outcome: Result<HttpResponse, TransportError>,
) -> Step {
    let last = attempt >= MAX_ATTEMPTS || retry == Retry::Never;
    match outcome {
        Ok(r) if r.status == 429 || r.status >= 500 => {
            // A 429 was refused before any work was done, so it is always safe to repeat.
            if (last && r.status != 429) || attempt >= MAX_ATTEMPTS {
                if r.status == 429 {
                    return Step::Done(Err(Error::Unavailable(format!(
                        "{} {}: iManage kept answering 429 (rate limited)",
                        request.method.as_str(),
                        redact_url(&request.url)
                    ))));
                }
                return Step::Done(Ok(r));
            }
            let wait = retry_after_ms(&r).unwrap_or_else(|| backoff_ms(attempt));
            if !fits(p, deadline, wait) {
                return Step::Done(Ok(r));
            }
            Step::Again(wait)
        }
        Ok(r) => Step::Done(Ok(r)),
        Err(TransportError::Denied(why)) => Step::Done(Err(Error::NotConfigured(format!(
            "the host refused the request to {}: {why}; only `imanage_base_url` and the configured Actionstep URLs may be called",
            redact_url(&request.url)
        )))),
        Err(TransportError::Failed(why)) => {
            let wait = backoff_ms(attempt);
            if last || !fits(p, deadline, wait) {
                return Step::Done(Err(Error::Unavailable(format!(
                    "{} {}: {why}",
                    request.method.as_str(),
                    redact_url(&request.url)
                ))));
            }
            Step::Again(wait)
        }
    }
}

/// How long to wait before attempt `attempt + 1`: capped exponential growth, jittered.
pub fn backoff_ms(attempt: u32) -> u64 {
    let ceiling = (BACKOFF_BASE_MS << attempt.min(10)).min(BACKOFF_CAP_MS);
    // "Full jitter": a uniformly random wait up to the ceiling spreads retrying clients out.
    crate::random::below(ceiling + 1)
}

fn retry_after_ms(r: &HttpResponse) -> Option<u64> {
    let secs: u64 = r.header("retry-after")?.trim().parse().ok()?;
    Some(secs.min(RETRY_AFTER_CAP_S) * 1000)
}

/// The URL without its query, which never holds secrets today but could one day.
pub fn redact_url(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// Maps an HTTP status that survived retries to the contract's error.
pub fn status_error(method: Method, path: &str, status: u16, why: &str) -> Error {
    let what = format!("{} {}: {status} {why}", method.as_str(), redact_url(path));
    match status {
        401 | 403 => Error::NotConnected(what),
        429 | 500.. => Error::Unavailable(what),
        _ => Error::Rejected(what),
    }
}

/// The human part of an error envelope: `code_message` and each message's field and text.
pub fn error_summary(body: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
    };
    if let Some(e) = v.get("error") {
        if let Some(s) = e.as_str() {
            // OAuth errors: {"error": "invalid_grant", "error_description": "..."}
            return match str_field(&v, "error_description") {
                Some(d) => format!("{s}: {d}"),
                None => s.to_string(),
            };
        }
        let mut out = str_field(e, "code_message").unwrap_or("error").to_string();
        for m in e
            .get("messages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let text = str_field(m, "code_message").unwrap_or("");
            match str_field(m, "field") {
                Some(f) => out.push_str(&format!("; {f}: {text}")),
                None if !text.is_empty() => out.push_str(&format!("; {text}")),
                None => {}
            }
        }
        return out;
    }
    "unexpected answer".into()
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePlatform;
    use serde_json::json;
    use std::cell::Cell;
    use std::rc::Rc;

    fn request() -> HttpRequest {
        HttpRequest {
            method: Method::Get,
            url: "http://127.0.0.1:9/x".into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout_ms: 1_000,
        }
    }

    fn answer(status: u16, retry_after: Option<&str>) -> HttpResponse {
        HttpResponse {
            status,
            headers: retry_after
                .map(|s| vec![("Retry-After".to_string(), s.to_string())])
                .unwrap_or_default(),
            body: Vec::new(),
        }
    }

    /// Answers `first` for the first `n` requests, then 200; counts the requests.
    fn scripted(p: &FakePlatform, n: u32, first: HttpResponse) -> Rc<Cell<u32>> {
        let count = Rc::new(Cell::new(0));
        let seen = count.clone();
        p.respond_with(move |_| {
            seen.set(seen.get() + 1);
            if seen.get() <= n {
                first.clone()
            } else {
                answer(200, None)
            }
        });
        count
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = FakePlatform::configured();
        let sends = scripted(&p, 1, answer(429, Some("2")));
        let r = send_with_retries(&p, &request(), Retry::Safe, p.now() + 120).unwrap();
        assert_eq!((r.status, sends.get()), (200, 2));
        assert_eq!(*p.slept.borrow(), vec![2_000], "waited what iManage asked");

        let p = FakePlatform::configured();
        scripted(&p, 1, answer(503, Some("3600")));
        send_with_retries(&p, &request(), Retry::Safe, p.now() + 120).unwrap();
        assert_eq!(
            *p.slept.borrow(),
            vec![RETRY_AFTER_CAP_S * 1000],
            "an hour is not waited within one call"
        );
    }

    #[test]
    fn a_429_is_retried_even_for_a_creating_request_but_a_5xx_is_not() {
        let p = FakePlatform::configured();
        let sends = scripted(&p, 1, answer(429, Some("1")));
        let r = send_with_retries(&p, &request(), Retry::Never, p.now() + 120).unwrap();
        assert_eq!((r.status, sends.get()), (200, 2), "a 429 did no work");

        let p = FakePlatform::configured();
        let sends = scripted(&p, 1, answer(500, None));
        let r = send_with_retries(&p, &request(), Retry::Never, p.now() + 120).unwrap();
        assert_eq!(
            (r.status, sends.get()),
            (500, 1),
            "a 500 may come after the commit"
        );
    }

    #[test]
    fn gives_up_after_max_attempts_with_capped_waits() {
        let p = FakePlatform::configured();
        let sends = scripted(&p, u32::MAX, answer(503, None));
        let r = send_with_retries(&p, &request(), Retry::Safe, p.now() + 120).unwrap();
        assert_eq!((r.status, sends.get()), (503, MAX_ATTEMPTS));
        let slept = p.slept.borrow();
        assert_eq!(slept.len() as u32, MAX_ATTEMPTS - 1);
        for (attempt, wait) in (1..).zip(slept.iter()) {
            assert!(*wait <= (BACKOFF_BASE_MS << attempt).min(BACKOFF_CAP_MS));
        }

        let p = FakePlatform::configured();
        scripted(&p, u32::MAX, answer(429, None));
        let e = send_with_retries(&p, &request(), Retry::Safe, p.now() + 120).unwrap_err();
        assert!(
            matches!(&e, Error::Unavailable(m) if m.contains("429")),
            "{e:?}"
        );
    }

    fn to(path: &str) -> HttpRequest {
        HttpRequest {
            url: format!("http://127.0.0.1:9{path}"),
            ..request()
        }
    }

    /// Answers `first` to the first `n` requests for `path`, 200 to everything else.
    fn scripted_for(p: &FakePlatform, path: &'static str, n: u32, first: HttpResponse) {
        let count = Cell::new(0);
        p.respond_with(move |r| {
            if r.url.ends_with(path) {
                count.set(count.get() + 1);
                if count.get() <= n {
                    return first.clone();
                }
            }
            answer(200, None)
        });
    }

    fn sends_to(p: &FakePlatform, path: &str) -> usize {
        p.sent
            .borrow()
            .iter()
            .filter(|r| r.url.ends_with(path))
            .count()
    }

    #[test]
    fn a_batch_repeats_only_its_failed_members() {
        let p = FakePlatform::configured();
        scripted_for(&p, "/b", 2, answer(503, None));
        let requests = [to("/a"), to("/b"), to("/c")];
        let answers = send_all_with_retries(&p, &requests, &[Retry::Safe; 3], p.now() + 120, 8);
        let statuses: Vec<u16> = answers.iter().map(|a| a.as_ref().unwrap().status).collect();
        assert_eq!(
            statuses,
            vec![200, 200, 200],
            "answers in the requests' order"
        );
        assert_eq!(
            (sends_to(&p, "/a"), sends_to(&p, "/b"), sends_to(&p, "/c")),
            (1, 3, 1)
        );
        // The first round went together; each repeat is the failed member alone.
        assert_eq!(*p.batches.borrow(), vec![0..3]);
        assert_eq!(p.slept.borrow().len(), 2);

        // A creating member is not repeated after a 5xx, and a failed connection is its own
        // answer: the others are unaffected.
        let p = FakePlatform::configured();
        scripted_for(&p, "/b", 1, answer(500, None));
        let answers = send_all_with_retries(
            &p,
            &[to("/a"), to("/b")],
            &[Retry::Never, Retry::Never],
            p.now() + 120,
            8,
        );
        assert_eq!(answers[0].as_ref().unwrap().status, 200);
        assert_eq!(answers[1].as_ref().unwrap().status, 500);
        assert_eq!(p.sent.borrow().len(), 2);
        assert!(p.slept.borrow().is_empty());
    }

    #[test]
    fn a_429_in_a_batch_waits_its_retry_after_and_repeats_that_member() {
        let p = FakePlatform::configured();
        scripted_for(&p, "/b", 1, answer(429, Some("2")));
        let answers = send_all_with_retries(
            &p,
            &[to("/a"), to("/b"), to("/c")],
            // A 429 did no work: even a creating request goes again.
            &[Retry::Never; 3],
            p.now() + 120,
            8,
        );
        assert!(answers.iter().all(|a| a.as_ref().unwrap().status == 200));
        assert_eq!(*p.slept.borrow(), vec![2_000], "waited what iManage asked");
        assert_eq!(
            (sends_to(&p, "/a"), sends_to(&p, "/b"), sends_to(&p, "/c")),
            (1, 2, 1)
        );

        // The longest wait asked for in a round is the round's wait.
        let p = FakePlatform::configured();
        p.respond_with({
            let seen = Cell::new(0);
            move |r| {
                seen.set(seen.get() + 1);
                match (seen.get() <= 2, r.url.ends_with("/a")) {
                    (true, true) => answer(429, Some("1")),
                    (true, false) => answer(429, Some("3")),
                    _ => answer(200, None),
                }
            }
        });
        let answers = send_all_with_retries(
            &p,
            &[to("/a"), to("/b")],
            &[Retry::Safe; 2],
            p.now() + 120,
            8,
        );
        assert!(answers.iter().all(|a| a.as_ref().unwrap().status == 200));
        assert_eq!(*p.slept.borrow(), vec![3_000]);
    }

    #[test]
    fn batches_go_at_most_max_in_flight_at_once() {
        const MAX_IN_FLIGHT: usize = 3;
        let p = FakePlatform::configured();
        p.respond_with(|_| answer(200, None));
        let requests: Vec<HttpRequest> = (0..MAX_IN_FLIGHT * 2 + 1)
            .map(|i| to(&format!("/{i}")))
            .collect();
        let retries = vec![Retry::Safe; requests.len()];
        let answers = send_all_with_retries(&p, &requests, &retries, p.now() + 120, MAX_IN_FLIGHT);
        assert_eq!(answers.len(), requests.len());
        let n = MAX_IN_FLIGHT;
        // The last window holds one request, which is simply sent.
        assert_eq!(*p.batches.borrow(), vec![0..n, n..2 * n]);
        assert_eq!(p.sent.borrow().len(), 2 * n + 1);
    }

    #[test]
    fn backoff_grows_to_its_cap_with_full_jitter() {
        for attempt in 1..=12u32 {
            let ceiling = (BACKOFF_BASE_MS << attempt.min(10)).min(BACKOFF_CAP_MS);
            let waits: Vec<u64> = (0..200).map(|_| backoff_ms(attempt)).collect();
            assert!(waits.iter().all(|w| *w <= ceiling), "attempt {attempt}");
            // Full jitter: spread over the range, not one fixed wait (a fixed wait would
            // fail here with certainty; a spread one with odds of 2^-200).
            assert!(waits.iter().any(|w| *w > ceiling / 2), "attempt {attempt}");
            assert!(waits.iter().any(|w| *w <= ceiling / 2), "attempt {attempt}");
        }
        assert!((1..=20).all(|a| backoff_ms(a) <= BACKOFF_CAP_MS));
    }

    #[test]
    fn the_event_deadline_bounds_every_retry() {
        let p = FakePlatform::configured();
        p.set_config("event_deadline_seconds", "5");
        let s = Settings::load(&p).unwrap();
        let deadline = deadline(&p, &s);
        assert_eq!(deadline, p.now() + 5);
        // A wait that would pass the deadline is not started: the answer is returned as it is.
        let sends = scripted(&p, u32::MAX, answer(503, Some("10")));
        let r = send_with_retries(&p, &request(), Retry::Safe, deadline).unwrap();
        assert_eq!((r.status, sends.get()), (503, 1));
        assert!(p.slept.borrow().is_empty());
        // Shorter waits go on while they fit, and never past the deadline.
        let sends = scripted(&p, u32::MAX, answer(503, Some("2")));
        send_with_retries(&p, &request(), Retry::Safe, deadline).unwrap();
        assert_eq!(
            sends.get(),
            3,
            "sent at 0 s, 2 s and 4 s; 6 s would be late"
        );
        assert!(p.now() < deadline);
    }

    #[test]
    fn imanage_timeout_seconds_is_every_request_timeout() {
        let p = FakePlatform::configured();
        p.set_config("imanage_timeout_seconds", "7");
        p.respond_with(|r| {
            if r.url.contains("/auth/oauth2/token") {
                HttpResponse {
                    status: 200,
                    headers: vec![("content-type".into(), "application/json".into())],
                    body: br#"{"access_token": "t", "expires_in": 1800}"#.to_vec(),
                }
            } else {
                answer(404, None)
            }
        });
        let _ = crate::check::check_connection(&p);
        let sent = p.sent.borrow();
        assert!(
            sent.iter().any(|r| !r.url.contains("/auth/")),
            "an API request was made: {:?}",
            sent.iter().map(|r| &r.url).collect::<Vec<_>>()
        );
        assert!(sent.iter().all(|r| r.timeout_ms == 7_000));
    }

    #[test]
    fn error_summaries() {
        let body = json!({"error": {"code": 400, "code_message": "Invalid field",
            "messages": [{"code": "X", "code_message": "requires custom1", "field": "custom2"}]}});
        assert_eq!(
            error_summary(body.to_string().as_bytes()),
            "Invalid field; custom2: requires custom1"
        );
        let oauth = json!({"error": "invalid_grant", "error_description": "bad password"});
        assert_eq!(
            error_summary(oauth.to_string().as_bytes()),
            "invalid_grant: bad password"
        );
        assert_eq!(error_summary(b"<html>"), "<html>");
    }
}
