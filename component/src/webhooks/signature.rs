//! Caller authentication for webhooks: an HMAC-SHA256 of `{timestamp}.{body}` with
//! `webhook_secret`, sent as `X-Matterlink-Signature: sha256=<hex>` beside
//! `X-Matterlink-Timestamp: <unix seconds>`. The timestamp bounds replays of a captured request.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

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
    /// The signature is not the HMAC of this timestamp and body.
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
            Refusal::Mismatch => "the signature does not match",
        }
    }
}

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any size");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value a sender puts in `X-Matterlink-Signature`.
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
    )
}

/// Accepts a request signed with `secret` within `TOLERANCE_S` of `now`, or says why not.
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: u64,
) -> Result<(), Refusal> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(Refusal::Missing);
    };
    let at: u64 = timestamp
        .trim()
        .parse()
        .map_err(|_| Refusal::BadTimestamp)?;
    if at.abs_diff(now) > TOLERANCE_S {
        return Err(Refusal::Stale);
    }
    let given = signature
        .trim()
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(Refusal::Mismatch)?;
    // `verify_slice` compares in constant time.
    mac(secret, timestamp.trim(), body)
        .verify_slice(&given)
        .map_err(|_| Refusal::Mismatch)
}

/// Compares two secrets without revealing, through timing, how much of them matched: both
/// sides are hashed first, so an early mismatch says nothing about the secret.
pub fn same_secret(given: &str, expected: &str) -> bool {
    Sha256::digest(given.as_bytes()) == Sha256::digest(expected.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_requests_pass_and_tampering_fails() {
        let now = 1_800_000_000;
        let ts = now.to_string();
        let sig = sign("s3cret", &ts, b"{}");
        assert_eq!(verify("s3cret", Some(&ts), Some(&sig), b"{}", now), Ok(()));
        assert_eq!(
            verify("s3cret", Some(&ts), Some(&sig), b"{ }", now),
            Err(Refusal::Mismatch)
        );
        assert_eq!(
            verify("other", Some(&ts), Some(&sig), b"{}", now),
            Err(Refusal::Mismatch)
        );
        assert_eq!(
            verify("s3cret", None, Some(&sig), b"{}", now),
            Err(Refusal::Missing)
        );
        assert_eq!(
            verify("s3cret", Some("soon"), Some(&sig), b"{}", now),
            Err(Refusal::BadTimestamp)
        );
        assert_eq!(
            verify(
                "s3cret",
                Some(&ts),
                Some(&sig),
                b"{}",
                now + TOLERANCE_S + 1
            ),
            Err(Refusal::Stale)
        );
        assert_eq!(
            verify("s3cret", Some(&ts), Some("sha256=zz"), b"{}", now),
            Err(Refusal::Mismatch)
        );
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
    }
}
