//! A usable access token for every call, with one renewal at a time.
//!
//! A call reads the token record; a token well before expiry is used as it is. One within the
//! refresh-ahead margin (`record::TokenRecord::due_at`), or one iManage just refused (401), is
//! renewed under a claim in key-value taken with compare-and-swap, so that of many concurrent
//! calls — in one process or several sharing the store — exactly one talks to the token endpoint.
//! The others keep using a token that is still valid, or wait for the record's generation to
//! change and use the new token. A claim whose holder crashed is taken over after `claim_ttl_s`.
//!
//! Renewing means the refresh grant; a service account falls back to its password when the
//! refresh token is refused or absent. An OAuth connection whose refresh token iManage refuses
//! has ended: the record keeps why (and no token), and every call answers `not-connected`.

use crate::auth::grants::{self, Grant, Refusal};
use crate::auth::reconnect;
use crate::auth::record::{self, Loaded, Origin, TokenRecord};
use crate::claim::{self, Attempt};
use crate::keys;
use crate::model::{Error, Result};
use crate::platform::Platform;
use crate::settings::{Auth, Settings};

const POLL_MS: u64 = 100;
/// Room beyond the longest renewal for the store's and the clocks' own delays.
const CLAIM_MARGIN_S: u64 = 30;

/// Longer than one renewal can take under these settings, so that a slow renewer is never
/// overtaken while it still holds the only good refresh token; a claim older than this was left
/// by one that crashed. A renewal sends at most two grant requests (a refresh, then a service
/// account's password), each retried until `event_deadline_seconds` and its last attempt waiting
/// up to `imanage_timeout_seconds` for an answer.
fn claim_ttl_s(s: &Settings) -> u64 {
    2 * (s.event_deadline_s + s.request_timeout_s) + CLAIM_MARGIN_S
}

/// How long a call with an expired token waits for another call's renewal before giving up:
/// past the claim's lifetime, so that a crashed renewer's claim is taken over first.
fn max_wait_ms(s: &Settings) -> u64 {
    (claim_ttl_s(s) + CLAIM_MARGIN_S) * 1000
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// The token is due: a still-valid token may be used while another call renews it.
    Fresh,
    /// iManage refused the token (401): only another token will do.
    Replacement,
    /// Sign in with the service account's password now, proving it works.
    PasswordSignIn,
}

/// An access token that iManage should accept: the stored one, or a renewed one.
pub fn access_token(p: &dyn Platform, s: &Settings) -> Result<String> {
    let current = record::load(p)?;
    if let Some(l) = &current {
        if !l.record.due_at(p.now()) {
            return Ok(l.record.access_token.clone());
        }
    }
    renew(p, s, current, Need::Fresh).map(|r| r.access_token)
}

/// A token to retry with after iManage answered 401 to `rejected`.
pub fn after_rejection(p: &dyn Platform, s: &Settings, rejected: &str) -> Result<String> {
    let current = record::load(p)?;
    if let Some(l) = &current {
        // Another call renewed since this one read the token: its token is the answer.
        if l.record.access_token != rejected && l.record.usable_at(p.now()) {
            return Ok(l.record.access_token.clone());
        }
    }
    renew(p, s, current, Need::Replacement).map(|r| r.access_token)
}

/// The service account signs in with its password now (check-connection: proves the password,
/// which a refresh would not).
pub fn sign_in_with_password(p: &dyn Platform, s: &Settings) -> Result<TokenRecord> {
    renew(p, s, record::load(p)?, Need::PasswordSignIn)
}

/// The stored connection, if any (check-connection reports it).
pub fn current(p: &dyn Platform) -> Result<Option<TokenRecord>> {
    Ok(record::load(p)?.map(|l| l.record))
}

/// A new record for a grant at `now`.
pub fn record_from(
    grant: Grant,
    now: u64,
    origin: Origin,
    generation: u64,
    connected_at: u64,
) -> TokenRecord {
    TokenRecord {
        generation,
        origin,
        access_token: grant.access_token,
        access_expires_at: now + grant.expires_in,
        refresh_token: grant.refresh_token,
        refresh_expires_at: grant.refresh_expires_in.map(|s| now + s),
        access_lifetime_s: grant.expires_in,
        refresh_lifetime_s: grant.refresh_expires_in,
        issued_at: now,
        connected_at,
        ended: None,
    }
}

fn generation(l: Option<&Loaded>) -> Option<u64> {
    l.map(|l| l.record.generation)
}

fn ended_error(r: &TokenRecord) -> Error {
    let reason = r
        .ended
        .as_ref()
        .map(|e| e.reason.as_str())
        .unwrap_or("no token");
    reconnect(&format!(
        "iManage no longer accepts matterlink's connection: it refused the refresh token ({reason})"
    ))
}

/// The answer for an OAuth integration without a live connection, found without asking anyone.
fn not_connected(s: &Settings, observed: Option<&Loaded>) -> Option<Error> {
    if s.auth != Auth::OAuth {
        return None;
    }
    match observed {
        None => Some(reconnect("matterlink is not connected to iManage yet")),
        Some(l) if l.record.ended.is_some() => Some(ended_error(&l.record)),
        Some(_) => None,
    }
}

fn renew(
    p: &dyn Platform,
    s: &Settings,
    mut observed: Option<Loaded>,
    need: Need,
) -> Result<TokenRecord> {
    let mut waited = 0;
    loop {
        if let Some(e) = not_connected(s, observed.as_ref()) {
            return Err(e);
        }
        match claim::try_take_key(p, keys::TOKEN_RENEWAL_CLAIM.into(), claim_ttl_s(s))? {
            Attempt::Taken(claim) => {
                let result = renew_holding_claim(p, s, observed.as_ref(), need);
                // New tokens are already stored: a failed release only delays the next renewal
                // until the claim goes stale, so it must not turn the outcome into another one.
                let _ = claim.release();
                return result;
            }
            Attempt::Busy => {
                if need == Need::Fresh {
                    if let Some(l) = &observed {
                        if l.record.usable_at(p.now()) {
                            return Ok(l.record.clone());
                        }
                    }
                }
                // Wait for the renewer: its new record, or its claim going away (it failed or
                // crashed), whichever comes first.
                loop {
                    if waited >= max_wait_ms(s) {
                        return Err(Error::Unavailable(
                            "another call has been renewing the iManage token for too long; retry shortly"
                                .into(),
                        ));
                    }
                    p.sleep_ms(POLL_MS);
                    waited += POLL_MS;
                    let latest = record::load(p)?;
                    if generation(latest.as_ref()) != generation(observed.as_ref()) {
                        if let Some(l) = &latest {
                            if l.record.usable_at(p.now()) && need != Need::PasswordSignIn {
                                return Ok(l.record.clone());
                            }
                        }
                        observed = latest;
                        break;
                    }
                    if !claim::held(p, keys::TOKEN_RENEWAL_CLAIM, claim_ttl_s(s))? {
                        observed = latest;
                        break;
                    }
                }
            }
        }
    }
}

fn renew_holding_claim(
    p: &dyn Platform,
    s: &Settings,
    observed: Option<&Loaded>,
    need: Need,
) -> Result<TokenRecord> {
    let now = p.now();
    let current = record::load(p)?;
    // Renewed by another call between this call's read and its claim: nothing left to do.
    if need != Need::PasswordSignIn && generation(current.as_ref()) != generation(observed) {
        if let Some(l) = &current {
            if l.record.usable_at(now) {
                return Ok(l.record.clone());
            }
        }
    }
    if let Some(e) = not_connected(s, current.as_ref()) {
        return Err(e);
    }
    let service_account = matches!(s.auth, Auth::ServiceAccount { .. });
    match current {
        _ if service_account && need == Need::PasswordSignIn => {
            password_sign_in(p, s, current.as_ref())
        }
        Some(l) if l.record.is_live() && l.record.refresh_token.is_some() => {
            refresh(p, s, l, need)
        }
        _ if service_account => password_sign_in(p, s, current.as_ref()),
        Some(l) if need == Need::Fresh && l.record.usable_at(now) => Ok(l.record),
        _ => Err(reconnect(
            "iManage gave matterlink no refresh token, so the connection ended with the access token (allow refresh for the application in iManage Control Center)",
        )),
    }
}

fn refresh(p: &dyn Platform, s: &Settings, current: Loaded, need: Need) -> Result<TokenRecord> {
    let token = current.record.refresh_token.clone().unwrap_or_default();
    match grants::refresh(p, s, &token) {
        Ok(grant) => {
            let now = p.now();
            let rotated = grant.refresh_token.is_some();
            let mut next = record_from(
                grant,
                now,
                current.record.origin,
                current.record.generation + 1,
                current.record.connected_at,
            );
            if !rotated {
                // iManage kept the refresh token: keep using it, and what was known of it.
                next.refresh_token = current.record.refresh_token.clone();
                next.refresh_expires_at = next
                    .refresh_expires_at
                    .or(current.record.refresh_expires_at);
                next.refresh_lifetime_s = next
                    .refresh_lifetime_s
                    .or(current.record.refresh_lifetime_s);
            }
            // Stored before anything else can fail: a rotated refresh token exists only here.
            if record::replace(p, Some(&current), &next)? {
                return Ok(next);
            }
            // Replaced meanwhile (a new `connect`, or a renewer that outlived its claim): the
            // stored tokens are newer than these.
            match record::load(p)? {
                Some(l) if l.record.usable_at(now) => Ok(l.record),
                _ => Err(Error::Unavailable(
                    "the iManage tokens changed while they were being refreshed; retry".into(),
                )),
            }
        }
        Err(Refusal::InvalidGrant(why)) => match s.auth {
            Auth::ServiceAccount { .. } => password_sign_in(p, s, Some(&current)),
            Auth::OAuth => {
                let now = p.now();
                let ended = current.record.ended(now, why);
                if !record::replace(p, Some(&current), &ended)? {
                    // Reconnected meanwhile: that connection is the one to use.
                    if let Some(l) = record::load(p)? {
                        if l.record.usable_at(now) {
                            return Ok(l.record);
                        }
                    }
                }
                Err(ended_error(&ended))
            }
        },
        Err(Refusal::Failed(e)) => {
            // Refreshing ahead failed (iManage busy for a moment): the token still works, and
            // a later call refreshes.
            if need == Need::Fresh && current.record.usable_at(p.now()) {
                return Ok(current.record);
            }
            Err(e)
        }
    }
}

fn password_sign_in(
    p: &dyn Platform,
    s: &Settings,
    current: Option<&Loaded>,
) -> Result<TokenRecord> {
    let Auth::ServiceAccount { username, password } = &s.auth else {
        return Err(Error::NotConfigured(
            "a password sign-in needs `imanage_auth = service_account`".into(),
        ));
    };
    let grant = grants::password(p, s, username, password).map_err(|r| match r {
        Refusal::InvalidGrant(why) => Error::NotConnected(format!(
            "iManage refused the service account sign-in ({why}); check imanage_username, imanage_password and imanage_client_id"
        )),
        Refusal::Failed(e) => e,
    })?;
    let now = p.now();
    let next = record_from(
        grant,
        now,
        Origin::Password,
        generation(current).unwrap_or(0) + 1,
        now,
    );
    record::store(p, &next)?;
    // A new sign-in may be another account (the username changed): discover it afresh.
    p.kv_delete(keys::DISCOVERY)?;
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::{HttpRequest, HttpResponse};
    use crate::testing::FakePlatform;
    use std::cell::Cell;
    use std::rc::Rc;

    fn form(r: &HttpRequest) -> std::collections::HashMap<String, String> {
        url::form_urlencoded::parse(&r.body).into_owned().collect()
    }

    fn json(status: u16, body: serde_json::Value) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![],
            body: body.to_string().into_bytes(),
        }
    }

    /// A token endpoint that rotates refresh tokens (`r1`, `r2`, ...) and counts grants.
    fn token_endpoint(p: &FakePlatform, refresh_answer: u16) -> Rc<Cell<u32>> {
        let grants = Rc::new(Cell::new(0));
        let count = grants.clone();
        p.respond_with(move |r| {
            let f = form(r);
            count.set(count.get() + 1);
            let n = count.get();
            match (f["grant_type"].as_str(), refresh_answer) {
                ("refresh_token", 400) => json(
                    400,
                    serde_json::json!({"error": "invalid_grant", "error_description": "the refresh token has expired"}),
                ),
                ("refresh_token", 503) => json(503, serde_json::json!({})),
                _ => json(
                    200,
                    serde_json::json!({"access_token": format!("a{n}"), "refresh_token": format!("r{n}"),
                        "expires_in": 5400, "refresh_token_expires_in": 31_536_000}),
                ),
            }
        });
        grants
    }

    fn oauth_connected(p: &FakePlatform) {
        p.set_config("imanage_auth", "oauth");
        let now = p.now();
        let grant = Grant {
            access_token: "a0".into(),
            refresh_token: Some("r0".into()),
            expires_in: 5400,
            refresh_expires_in: None,
        };
        record::store(
            p,
            &record_from(grant, now, Origin::AuthorizationCode, 1, now),
        )
        .unwrap();
    }

    #[test]
    fn a_due_token_is_refreshed_once_and_the_rotated_token_kept() {
        let p = FakePlatform::configured();
        oauth_connected(&p);
        let grants = token_endpoint(&p, 200);
        let s = Settings::load(&p).unwrap();
        assert_eq!(access_token(&p, &s).unwrap(), "a0");
        p.advance(5400 - 200);
        assert_eq!(access_token(&p, &s).unwrap(), "a1");
        assert_eq!(access_token(&p, &s).unwrap(), "a1");
        assert_eq!(grants.get(), 1);
        let r = current(&p).unwrap().unwrap();
        assert_eq!(r.refresh_token.as_deref(), Some("r1"));
        assert_eq!(r.generation, 2);
        assert_eq!(r.refresh_lifetime_s, Some(31_536_000));
        assert_eq!(form(&p.sent.borrow()[0])["refresh_token"], "r0");
        assert!(
            p.kv_get(keys::TOKEN_RENEWAL_CLAIM).unwrap().is_none(),
            "claim released"
        );
    }

    #[test]
    fn while_another_call_renews_a_still_valid_token_is_used() {
        let p = FakePlatform::configured();
        oauth_connected(&p);
        let grants = token_endpoint(&p, 200);
        let s = Settings::load(&p).unwrap();
        p.advance(5400 - 200);
        let Attempt::Taken(other) =
            claim::try_take_key(&p, keys::TOKEN_RENEWAL_CLAIM.into(), claim_ttl_s(&s)).unwrap()
        else {
            panic!("claim")
        };
        assert_eq!(access_token(&p, &s).unwrap(), "a0");
        assert_eq!(grants.get(), 0);
        // A claim left by a renewer that crashed is taken over once stale.
        p.advance(claim_ttl_s(&s) + 1);
        drop(other);
        let fresh = after_rejection(&p, &s, "a0").unwrap();
        assert_eq!(fresh, "a1");
        assert_eq!(grants.get(), 1);
    }

    #[test]
    fn a_slow_renewer_is_not_overtaken_within_what_its_timeouts_allow() {
        let p = FakePlatform::configured();
        p.set_config("imanage_timeout_seconds", "300");
        p.set_config("event_deadline_seconds", "600");
        p.set_config("claim_ttl_seconds", "600");
        oauth_connected(&p);
        let grants = token_endpoint(&p, 200);
        let s = Settings::load(&p).unwrap();
        p.advance(5400 - 200);
        let Attempt::Taken(renewer) =
            claim::try_take_key(&p, keys::TOKEN_RENEWAL_CLAIM.into(), claim_ttl_s(&s)).unwrap()
        else {
            panic!("claim")
        };
        // Seven minutes into a renewal whose token request may wait 5 minutes for an answer,
        // and retry for 10: it may still be running, holding the only good refresh token.
        p.advance(420);
        let waited = after_rejection(&p, &s, "a0");
        assert!(matches!(waited, Err(Error::Unavailable(_))), "{waited:?}");
        assert_eq!(grants.get(), 0, "the renewer was overtaken");
        // Past the longest renewal the settings allow, its claim is taken over.
        p.advance(claim_ttl_s(&s));
        drop(renewer);
        assert_eq!(after_rejection(&p, &s, "a0").unwrap(), "a1");
        assert_eq!(grants.get(), 1);
    }

    #[test]
    fn a_refused_refresh_token_ends_an_oauth_connection() {
        let p = FakePlatform::configured();
        oauth_connected(&p);
        token_endpoint(&p, 400);
        let s = Settings::load(&p).unwrap();
        p.advance(5400);
        let err = access_token(&p, &s).unwrap_err();
        assert!(
            matches!(&err, Error::NotConnected(m) if m.contains("matterlink connect") && m.contains("expired")),
            "{err}"
        );
        let r = current(&p).unwrap().unwrap();
        assert!(r.ended.is_some() && r.refresh_token.is_none());
        let sent = p.sent.borrow().len();
        assert!(matches!(access_token(&p, &s), Err(Error::NotConnected(_))));
        assert_eq!(
            p.sent.borrow().len(),
            sent,
            "an ended connection asks nobody"
        );
    }

    #[test]
    fn a_service_account_signs_in_again_when_its_refresh_token_is_refused() {
        let p = FakePlatform::configured();
        let grants = token_endpoint(&p, 400);
        let s = Settings::load(&p).unwrap();
        assert_eq!(access_token(&p, &s).unwrap(), "a1", "first use signs in");
        p.advance(5400);
        assert_eq!(access_token(&p, &s).unwrap(), "a3");
        let kinds: Vec<String> = p
            .sent
            .borrow()
            .iter()
            .map(|r| form(r)["grant_type"].clone())
            .collect();
        assert_eq!(kinds, vec!["password", "refresh_token", "password"]);
        assert_eq!(grants.get(), 3);
        assert_eq!(current(&p).unwrap().unwrap().origin, Origin::Password);
    }

    #[test]
    fn refreshing_ahead_survives_a_failing_token_endpoint() {
        let p = FakePlatform::configured();
        oauth_connected(&p);
        token_endpoint(&p, 503);
        let s = Settings::load(&p).unwrap();
        p.advance(5400 - 200);
        assert_eq!(access_token(&p, &s).unwrap(), "a0", "still valid");
        assert_eq!(
            p.sent.borrow().len(),
            1,
            "a refresh is not repeated after a 5xx"
        );
        p.advance(200);
        assert!(matches!(access_token(&p, &s), Err(Error::Unavailable(_))));
        assert!(
            current(&p).unwrap().unwrap().is_live(),
            "not ended by an outage"
        );
    }

    #[test]
    fn an_oauth_integration_never_connected_asks_to_connect() {
        let p = FakePlatform::configured();
        p.set_config("imanage_auth", "oauth");
        let s = Settings::load(&p).unwrap();
        let err = access_token(&p, &s).unwrap_err();
        assert!(
            matches!(&err, Error::NotConnected(m) if m.contains("not connected") && m.contains("matterlink connect")),
            "{err}"
        );
        assert!(p.sent.borrow().is_empty());
    }
}
