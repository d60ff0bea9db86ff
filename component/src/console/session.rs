//! Console sessions: a random token in an HttpOnly, SameSite=Strict cookie, and in key-value
//! the session it opens, under the token's SHA-256 (so a copy of the store opens nothing). Each
//! session carries its CSRF token, which every form of the console repeats.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::keys;
use crate::model::Result;
use crate::platform::Platform;

/// The session cookie's name.
pub const COOKIE: &str = "matterlink_session";
/// How long a session lasts from sign-in: a working day. Signing in again is cheap; a
/// forgotten browser tab open for a week is not.
pub const LIFETIME_S: u64 = 8 * 3600;

/// How someone got in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// The local administrator password.
    Password,
    /// Sign in with iManage, as a member of the administrators' group.
    Imanage,
}

/// A signed-in administrator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Who: `admin` for the local password, else the iManage user id.
    pub user: String,
    /// How they signed in.
    pub via: Via,
    /// The token every form of this session carries.
    pub csrf: String,
    /// Seconds since the epoch after which the session is over.
    pub expires: u64,
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Opens a session for `user`; the answer is the cookie's token, which is kept nowhere.
///
/// Sessions past their time are deleted first: one whose browser was closed without signing
/// out is never asked for again, so `find` never deletes it, and without this every such
/// sign-in would stay in the store. A failed sweep leaves them for the next sign-in.
pub fn open(p: &dyn Platform, user: &str, via: Via) -> Result<(String, Session)> {
    let now = p.now();
    if let Ok(sessions) = p.kv_keys(&keys::console_session("")) {
        let _ = super::expiring::sweep(p, sessions, |s: &Session| s.expires > now);
    }
    let token = crate::random::secret()?;
    let session = Session {
        user: user.into(),
        via,
        csrf: crate::random::secret()?,
        expires: now + LIFETIME_S,
    };
    let raw = serde_json::to_vec(&session).unwrap_or_default();
    p.kv_set(&keys::console_session(&digest(&token)), &raw)?;
    Ok((token, session))
}

/// The live session the cookie's token opens, if any; an expired one is deleted.
pub fn find(p: &dyn Platform, token: &str) -> Result<Option<Session>> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    let key = keys::console_session(&digest(token));
    let Some(raw) = p.kv_get(&key)? else {
        return Ok(None);
    };
    match serde_json::from_slice::<Session>(&raw) {
        Ok(s) if s.expires > p.now() => Ok(Some(s)),
        _ => {
            p.kv_delete(&key)?;
            Ok(None)
        }
    }
}

/// Ends the session the token opens.
pub fn close(p: &dyn Platform, token: &str) -> Result<()> {
    p.kv_delete(&keys::console_session(&digest(token)))
}

/// Whether a form's CSRF token is the session's.
pub fn csrf_ok(session: &Session, given: Option<&str>) -> bool {
    given.is_some_and(|g| crate::random::same_secret(g, &session.csrf))
}

/// Failed sign-ins allowed in one window before sign-in is refused until the next.
pub const MAX_FAILURES: i64 = 10;
/// The rate limit's window, seconds.
pub const WINDOW_S: u64 = 300;

/// Seconds until sign-in is allowed again, or `None` when it is allowed now. Counted across
/// every process sharing the store, so several hosts do not multiply the attempts.
pub fn locked_for(p: &dyn Platform) -> Result<Option<u64>> {
    let now = p.now();
    let failures = p.kv_increment(&keys::signin_failures(now / WINDOW_S), 0)?;
    Ok((failures >= MAX_FAILURES).then(|| WINDOW_S - now % WINDOW_S))
}

/// Counts one failed sign-in (and forgets the window before last, which no longer counts).
pub fn failed(p: &dyn Platform) -> Result<()> {
    let window = p.now() / WINDOW_S;
    p.kv_increment(&keys::signin_failures(window), 1)?;
    if window >= 2 {
        p.kv_delete(&keys::signin_failures(window - 2))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePlatform;

    #[test]
    fn a_session_opens_with_its_token_only_and_expires() {
        let p = FakePlatform::configured();
        let (token, s) = open(&p, "admin", Via::Password).unwrap();
        assert_eq!(find(&p, &token).unwrap(), Some(s.clone()));
        assert_eq!(find(&p, "not-the-token").unwrap(), None);
        // The store holds no token: only its digest names the record.
        let keys: Vec<String> = p.kv.borrow().keys().cloned().collect();
        assert!(keys.iter().all(|k| !k.contains(&token)), "{keys:?}");
        assert!(csrf_ok(&s, Some(&s.csrf)));
        assert!(!csrf_ok(&s, Some("forged")));
        assert!(!csrf_ok(&s, None));
        p.advance(LIFETIME_S);
        assert_eq!(find(&p, &token).unwrap(), None);
        assert!(p
            .kv
            .borrow()
            .keys()
            .all(|k| !k.starts_with("console/session/")));
    }

    #[test]
    fn a_sign_in_deletes_the_sessions_nobody_came_back_to() {
        let p = FakePlatform::configured();
        let sessions = |p: &FakePlatform| p.kv_keys(&keys::console_session("")).unwrap().len();
        // Two browsers closed without signing out, and a damaged record.
        open(&p, "admin", Via::Password).unwrap();
        open(&p, "JSMITH", Via::Imanage).unwrap();
        p.kv_set(&keys::console_session("damaged"), b"{").unwrap();
        p.advance(LIFETIME_S / 2);
        let (recent, s) = open(&p, "admin", Via::Password).unwrap();
        assert_eq!(
            sessions(&p),
            3,
            "the damaged one is gone; the others were live"
        );
        p.advance(LIFETIME_S / 2);
        let (now, _) = open(&p, "admin", Via::Password).unwrap();
        assert_eq!(
            sessions(&p),
            2,
            "the two abandoned and the damaged one are gone"
        );
        assert_eq!(find(&p, &recent).unwrap(), Some(s), "a live session stays");
        assert!(find(&p, &now).unwrap().is_some());
    }

    #[test]
    fn closing_ends_the_session() {
        let p = FakePlatform::configured();
        let (token, _) = open(&p, "admin", Via::Password).unwrap();
        close(&p, &token).unwrap();
        assert_eq!(find(&p, &token).unwrap(), None);
    }

    #[test]
    fn sign_in_locks_after_too_many_failures_until_the_window_ends() {
        let p = FakePlatform::configured();
        for _ in 0..MAX_FAILURES {
            assert_eq!(locked_for(&p).unwrap(), None);
            failed(&p).unwrap();
        }
        let wait = locked_for(&p).unwrap().expect("locked");
        assert!((1..=WINDOW_S).contains(&wait));
        p.advance(wait);
        assert_eq!(locked_for(&p).unwrap(), None);
    }
}
