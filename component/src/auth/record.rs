//! The token record in key-value (`keys::TOKENS`), as JSON.
//!
//! Every write of new tokens bumps `generation`, which is how a call that waited for another
//! call's refresh knows the refresh has happened. Writes that replace a record the writer read go
//! through compare-and-swap on the exact bytes read, so that a late writer never overwrites newer
//! tokens (a rotated refresh token, once overwritten, is lost for good).
//!
//! Those writes are made only by the holder of the renewal claim (`auth::session`), so the
//! "still the bytes I read" check needs no compare-and-swap (which Spin's Redis store lacks):
//! the only other writer is a new sign-in (`store`), and the read-back after writing tells a
//! renewer whose write that sign-in replaced.

use serde::{Deserialize, Serialize};

use crate::keys;
use crate::model::{Error, Result};
use crate::platform::Platform;

/// How the connection was made (and so how it can be renewed when refreshing fails).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The service account's password grant.
    Password,
    /// An administrator's sign-in (`matterlink connect`).
    AuthorizationCode,
}

/// Why and when a connection ended: iManage refused its refresh token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ended {
    /// When iManage refused the refresh token, seconds since the epoch.
    pub at: u64,
    /// iManage's own words (`invalid_grant: the refresh token has expired`), never a token.
    pub reason: String,
}

/// The stored connection: tokens, their lifetimes, and whether the connection has ended. Holds
/// secrets: its `Debug` prints none.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Grows with every new record, so calls waiting for a renewal can tell that it happened.
    pub generation: u64,
    /// How the connection was made.
    pub origin: Origin,
    /// Empty once the connection has ended.
    pub access_token: String,
    /// When the access token expires, seconds since the epoch.
    pub access_expires_at: u64,
    /// The refresh token, when iManage issued one (none once the connection has ended).
    pub refresh_token: Option<String>,
    /// When iManage said how long the refresh token lives (`refresh_token_expires_in`).
    pub refresh_expires_at: Option<u64>,
    /// The lifetimes as iManage reported them at the last grant, for `check-connection`.
    pub access_lifetime_s: u64,
    /// The refresh token's lifetime in seconds, when iManage reported it.
    pub refresh_lifetime_s: Option<u64>,
    /// When the current access token was issued.
    pub issued_at: u64,
    /// When this connection began (the sign-in that the refreshes descend from).
    pub connected_at: u64,
    /// Set once iManage refused the refresh token: the connection is over until someone connects.
    #[serde(default)]
    pub ended: Option<Ended>,
}

// Hand-written so that a `{:?}` can never print a token.
impl std::fmt::Debug for TokenRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRecord")
            .field("generation", &self.generation)
            .field("origin", &self.origin)
            .field("access_expires_at", &self.access_expires_at)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

/// An access token this close to expiry is not sent: the request could arrive after it died.
const SKEW_S: u64 = 5;
/// Refresh ahead when less than this remains of the access token's life, or a tenth of its
/// lifetime for short-lived tokens: 5 minutes of iManage's usual 90.
const REFRESH_AHEAD_S: u64 = 300;

impl TokenRecord {
    /// The connection has not ended and holds an access token.
    pub fn is_live(&self) -> bool {
        self.ended.is_none() && !self.access_token.is_empty()
    }

    /// The access token may still be sent.
    pub fn usable_at(&self, now: u64) -> bool {
        self.is_live() && self.access_expires_at > now + SKEW_S
    }

    /// Time to refresh: the access token is within the refresh-ahead margin of expiry.
    pub fn due_at(&self, now: u64) -> bool {
        let margin = REFRESH_AHEAD_S.min(self.access_lifetime_s / 10);
        !self.usable_at(now) || self.access_expires_at <= now + margin
    }

    /// The same connection with its tokens removed: what is kept after iManage refused it.
    pub fn ended(&self, now: u64, reason: String) -> TokenRecord {
        TokenRecord {
            generation: self.generation + 1,
            access_token: String::new(),
            refresh_token: None,
            ended: Some(Ended { at: now, reason }),
            ..self.clone()
        }
    }
}

/// A record as read, with the bytes a compare-and-swap must expect.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The stored bytes, exactly as read.
    pub raw: Vec<u8>,
    /// The record they hold.
    pub record: TokenRecord,
}

/// The stored connection, `None` when there is none (or the record cannot be read).
pub fn load(p: &dyn Platform) -> Result<Option<Loaded>> {
    Ok(p.kv_get(keys::TOKENS)?.and_then(|raw| {
        // An unreadable record (written by an older version, or damaged) is no connection:
        // a service account signs in again, an OAuth integration asks to be connected.
        let record = serde_json::from_slice(&raw).ok()?;
        Some(Loaded { raw, record })
    }))
}

fn encode(record: &TokenRecord) -> Result<Vec<u8>> {
    serde_json::to_vec(record).map_err(|e| Error::Unavailable(format!("encoding tokens: {e}")))
}

/// Writes `record` if the stored one is still `expected` (`None`: still absent); whether it is
/// the stored record afterwards. Call it holding the renewal claim (see the module's notes).
pub fn replace(p: &dyn Platform, expected: Option<&Loaded>, record: &TokenRecord) -> Result<bool> {
    let raw = encode(record)?;
    if p.kv_get(keys::TOKENS)?.as_deref() != expected.map(|l| l.raw.as_slice()) {
        return Ok(false);
    }
    p.kv_set(keys::TOKENS, &raw)?;
    Ok(p.kv_get(keys::TOKENS)?.as_deref() == Some(raw.as_slice()))
}

/// Writes `record` whatever is stored: a new sign-in supersedes any earlier connection.
pub fn store(p: &dyn Platform, record: &TokenRecord) -> Result<()> {
    p.kv_set(keys::TOKENS, &encode(record)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(now: u64, lifetime: u64) -> TokenRecord {
        TokenRecord {
            generation: 1,
            origin: Origin::AuthorizationCode,
            access_token: "access-secret".into(),
            access_expires_at: now + lifetime,
            refresh_token: Some("refresh-secret".into()),
            refresh_expires_at: None,
            access_lifetime_s: lifetime,
            refresh_lifetime_s: None,
            issued_at: now,
            connected_at: now,
            ended: None,
        }
    }

    #[test]
    fn refresh_ahead_margin() {
        let r = record(1000, 5400);
        assert!(!r.due_at(1000));
        assert!(!r.due_at(1000 + 5400 - 301));
        assert!(r.due_at(1000 + 5400 - 300), "5 minutes before expiry");
        assert!(r.usable_at(1000 + 5400 - 300));
        assert!(!r.usable_at(1000 + 5400));
        let short = record(1000, 60);
        assert!(!short.due_at(1000 + 53));
        assert!(short.due_at(1000 + 54), "a tenth of a short lifetime");
    }

    #[test]
    fn an_ended_record_keeps_no_token_and_debug_shows_none() {
        let r = record(1000, 5400);
        assert!(!format!("{r:?}").contains("secret"));
        let ended = r.ended(2000, "invalid_grant".into());
        assert!(!ended.is_live());
        assert_eq!(ended.generation, 2);
        let raw = String::from_utf8(encode(&ended).unwrap()).unwrap();
        assert!(!raw.contains("secret"), "{raw}");
    }
}
