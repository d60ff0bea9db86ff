//! The records behind OAuth: registered clients, issued tokens and authorization codes, and how
//! tokens are minted. Plain data, below the state that stores them and the endpoints that issue
//! them, so that neither has to reach into the other.

use std::time::{Duration, SystemTime};

use crate::pkce::Challenge;

#[derive(Debug, Clone)]
pub(crate) struct OAuthClient {
    pub client_id: String,
    pub client_secret: String,
}

/// Tokens descend from one grant (a sign-in or a code) through refreshes; they share its
/// `family`, so that revoking a refresh token, or replaying a code, ends the whole line.
#[derive(Debug, Clone)]
pub(crate) struct AccessToken {
    pub user: String,
    pub expires_at: SystemTime,
    pub family: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct RefreshToken {
    pub user: String,
    pub client_id: String,
    pub expires_at: SystemTime,
    pub family: u64,
    pub scope: String,
}

#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub user: String,
    pub client_id: String,
    /// Exactly as the authorization request gave it; the exchange must present the same string.
    pub redirect_uri: String,
    pub scope: String,
    pub challenge: Option<Challenge>,
    pub expires_at: SystemTime,
    /// The token family it was exchanged for, once it has been.
    pub redeemed: Option<u64>,
}

/// A random, unguessable token: 244 bits from two v4 UUIDs, nothing derived from the credentials.
pub(crate) fn new_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// When a token issued `now` with `ttl` expires; a TTL past the clock's range means "never".
pub(crate) fn expiry(now: SystemTime, ttl: Duration) -> SystemTime {
    now.checked_add(ttl)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(now)
}
