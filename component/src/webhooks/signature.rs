//! Caller authentication for webhooks: an HMAC-SHA256 with `webhook_secret` of
//! `{timestamp}.{METHOD}.{path-with-query}.{body}` — the path and query exactly as sent on the
//! request line, the body's raw bytes — sent as `X-Matterlink-Signature: sha256=<hex>` beside
//! `X-Matterlink-Timestamp: <unix seconds>`.
//!
//! Everything that steers a request is inside the signed string, so a captured signature is
//! good for that one request only; the timestamp bounds how long it is good for, and `replay`
//! makes it good once.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header carrying the Unix time the request was signed at.
pub const TIMESTAMP_HEADER: &str = "x-matterlink-timestamp";
/// The header carrying `sha256=<hex>` of the HMAC.
pub const SIGNATURE_HEADER: &str = "x-matterlink-signature";
/// How far a request's timestamp may be from our clock, either way.
pub const TOLERANCE_S: u64 = 300;

/// Why a request's signature was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A header is missing.
    Missing,
    /// The timestamp is not a number of seconds.
    BadTimestamp,
    /// The timestamp is further from our clock than `TOLERANCE_S`.
    Stale,
    /// The signature is not the HMAC of this request.
    Mismatch,
}

impl Refusal {
    /// The refusal as a sentence for the caller.
    pub fn message(&self) -> &'static str {
        match self {
            Refusal::Missing => {
                "the request is not signed (X-Matterlink-Timestamp and X-Matterlink-Signature)"
            }
            Refusal::BadTimestamp => "X-Matterlink-Timestamp is not a Unix time in seconds",
            Refusal::Stale => {
                "the request's timestamp is outside the accepted window; sign it anew"
            }
            Refusal::Mismatch => {
                "the signature does not match: sign \"{timestamp}.{METHOD}.{path-with-query}.{body}\""
            }
        }
    }
}

/// What the headers of a signed request say, checked before its body is read: a signature of
/// the right form, and a timestamp inside the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The timestamp as sent (it is signed as sent).
    pub timestamp: String,
    /// The timestamp as a Unix time.
    pub at: u64,
    /// The HMAC the caller sent.
    pub mac: Vec<u8>,
}

/// Checks a request's signature headers without its body: both present, the timestamp a number
/// within `TOLERANCE_S` of `now`, the signature `sha256=` and hex. Cheap, so a request that
/// fails here is refused before any of its body is read.
pub fn check_headers(
    timestamp: Option<&str>,
    signature: Option<&str>,
    now: u64,
) -> Result<Claimed, Refusal> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(Refusal::Missing);
    };
    let timestamp = timestamp.trim();
    let at: u64 = timestamp.parse().map_err(|_| Refusal::BadTimestamp)?;
    if at.abs_diff(now) > TOLERANCE_S {
        return Err(Refusal::Stale);
    }
    let mac = signature
        .trim()
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
        .filter(|m| m.len() == 32)
        .ok_or(Refusal::Mismatch)?;
    Ok(Claimed {
        timestamp: timestamp.to_string(),
        at,
        mac,
    })
}

fn mac(secret: &str, timestamp: &str, method: &str, target: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any size");
    for part in [timestamp.as_bytes(), method.as_bytes(), target.as_bytes()] {
        mac.update(part);
        mac.update(b".");
    }
    mac.update(body);
    mac
}

/// The header value a sender puts in `X-Matterlink-Signature` for `method` on `target` (the
/// path and query as they go on the request line) with `body`.
pub fn sign(secret: &str, timestamp: &str, method: &str, target: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(
            mac(secret, timestamp, method, target, body)
                .finalize()
                .into_bytes()
        )
    )
}

/// Accepts a request whose headers passed `check_headers` if its HMAC is that of this method,
/// target and body with `secret`.
pub fn verify_body(
    secret: &str,
    claimed: &Claimed,
    method: &str,
    target: &str,
    body: &[u8],
) -> Result<(), Refusal> {
    // `verify_slice` compares in constant time.
    mac(secret, &claimed.timestamp, method, target, body)
        .verify_slice(&claimed.mac)
        .map_err(|_| Refusal::Mismatch)
}

/// Accepts a request signed with `secret` within `TOLERANCE_S` of `now`, or says why not.
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    method: &str,
    target: &str,
    body: &[u8],
    now: u64,
) -> Result<(), Refusal> {
    let claimed = check_headers(timestamp, signature, now)?;
    verify_body(secret, &claimed, method, target, body)
}

/// Compares two secrets in constant time (see `random::same_secret`).
pub use crate::random::same_secret;

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "an-hmac-key-of-at-least-32-chars";

    #[test]
    fn signed_requests_pass_and_tampering_fails() {
        let now = 1_800_000_000;
        let ts = now.to_string();
        let sig = sign(SECRET, &ts, "POST", "/v1/events", b"{}");
        let check = |secret: &str, ts: Option<&str>, sig: Option<&str>, body: &[u8], at: u64| {
            verify(secret, ts, sig, "POST", "/v1/events", body, at)
        };
        assert_eq!(check(SECRET, Some(&ts), Some(&sig), b"{}", now), Ok(()));
        assert_eq!(
            check(SECRET, Some(&ts), Some(&sig), b"{ }", now),
            Err(Refusal::Mismatch)
        );
        assert_eq!(
            check("other", Some(&ts), Some(&sig), b"{}", now),
            Err(Refusal::Mismatch)
        );
        assert_eq!(
            check(SECRET, None, Some(&sig), b"{}", now),
            Err(Refusal::Missing)
        );
        assert_eq!(
            check(SECRET, Some("soon"), Some(&sig), b"{}", now),
            Err(Refusal::BadTimestamp)
        );
        assert_eq!(
            check(SECRET, Some(&ts), Some(&sig), b"{}", now + TOLERANCE_S + 1),
            Err(Refusal::Stale)
        );
        assert_eq!(
            check(SECRET, Some(&ts), Some("sha256=zz"), b"{}", now),
            Err(Refusal::Mismatch)
        );
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
    }

    #[test]
    fn the_signature_covers_method_path_and_query() {
        let now = 1_800_000_000;
        let ts = now.to_string();
        let sig = sign(SECRET, &ts, "GET", "/v1/matters/1042/folders", b"");
        let ok = |method: &str, target: &str| {
            verify(SECRET, Some(&ts), Some(&sig), method, target, b"", now)
        };
        assert_eq!(ok("GET", "/v1/matters/1042/folders"), Ok(()));
        for (method, target) in [
            ("POST", "/v1/matters/1042/folders"),
            ("GET", "/v1/matters/9999/folders"),
            ("GET", "/v1/matters/1042/folders?x=1"),
            ("GET", "/v1/audit"),
        ] {
            assert_eq!(
                ok(method, target),
                Err(Refusal::Mismatch),
                "{method} {target}"
            );
        }
        // The string joins its parts with `.`, and a path or query may hold `.` too: a
        // request and its twin with bytes moved across the path/body boundary share one
        // signature. Only one of them is ever accepted (`replay` is keyed by the signature).
        assert_eq!(
            sign(SECRET, &ts, "GET", "/v1/a.b", b"c"),
            sign(SECRET, &ts, "GET", "/v1/a", b"b.c")
        );
    }

    #[test]
    fn known_answer() {
        // printf '%s' '1800000000.POST./v1/events?x=1.{}' \
        //   | openssl dgst -sha256 -hmac an-hmac-key-of-at-least-32-chars
        assert_eq!(
            sign(SECRET, "1800000000", "POST", "/v1/events?x=1", b"{}"),
            format!("sha256={}", KNOWN)
        );
    }

    const KNOWN: &str = "164a169f09cc43482142fc057c596081c2bf14aa0da2c705b807733b7046bdfe";
}
