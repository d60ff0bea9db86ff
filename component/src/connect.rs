//! Connecting an OAuth integration: the authorization-code grant with PKCE (RFC 7636), in two
//! halves around the administrator's browser sign-in.
//!
//! `connect_begin` makes a `state` and a PKCE verifier, keeps them in key-value (never anywhere
//! else) for ten minutes, and returns the authorize URL, which carries only the verifier's S256
//! challenge. `connect_complete` takes the code iManage redirected back with, checks the `state`,
//! exchanges the code with the verifier, stores the tokens, and finds out through discovery who
//! connected: that account is the integration's account from then on.

use serde::{Deserialize, Serialize};

use crate::auth::grants::{self, Refusal};
use crate::auth::record::{self, Origin};
use crate::auth::{pkce, session};
use crate::imanage::Imanage;
use crate::keys;
use crate::model::{ConnectRequest, Error, Result};
use crate::platform::Platform;
use crate::settings::{Auth, Settings};
use crate::{audit, random};

/// How long a sign-in may take, from the URL to the code: the lifetime iManage's codes have
/// too (ten minutes, RFC 6749's recommended maximum).
pub const PENDING_TTL_S: u64 = 600;

/// A sign-in in progress. Holds the verifier: no `Debug`.
#[derive(Serialize, Deserialize)]
struct Pending {
    state: String,
    verifier: String,
    redirect_uri: String,
    expires_at: u64,
}

fn oauth_settings(p: &dyn Platform) -> Result<Settings> {
    let s = Settings::load(p)?;
    if s.auth != Auth::OAuth {
        return Err(Error::NotConfigured(
            "connecting through a browser sign-in needs `imanage_auth = oauth`; with the default `service_account`, matterlink signs in with imanage_username and imanage_password".into(),
        ));
    }
    Ok(s)
}

/// Where iManage may send the code: an absolute https URL, or http on a loopback address (the
/// `matterlink connect` listener, as RFC 8252 §7.3 describes for native apps).
pub(crate) fn check_redirect_uri(raw: &str) -> Result<()> {
    let bad = |why: &str| Error::InvalidUrl(format!("the redirect URI {why}"));
    let url = url::Url::parse(raw).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    let loopback = matches!(
        url.host(),
        Some(url::Host::Ipv4(ip)) if ip.is_loopback()
    ) || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
        || url.host_str() == Some("localhost");
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(bad("must be https, or http on a loopback address")),
    }
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry a fragment or credentials"));
    }
    Ok(())
}

/// iManage's sign-in page for one authorization-code flow (`matterlink connect`, the console's
/// "Sign in with iManage" and its Connect button): the flow's `state` and only the S256
/// challenge of its verifier, which stays in key-value.
pub fn authorize_url(
    s: &Settings,
    redirect_uri: &str,
    state: &str,
    verifier: &str,
) -> Result<String> {
    let mut url = url::Url::parse(&format!("{}/auth/oauth2/authorize", s.base_url))
        .map_err(|e| Error::NotConfigured(format!("`imanage_base_url`: {e}")))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &s.client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", "user")
        .append_pair("state", state)
        .append_pair("code_challenge", &pkce::challenge(verifier))
        .append_pair("code_challenge_method", "S256");
    Ok(url.into())
}

/// connect-begin: the authorize URL to send the administrator's browser to, with the `state`
/// the redirect must carry back.
pub fn connect_begin(p: &dyn Platform, redirect_uri: &str) -> Result<ConnectRequest> {
    let s = oauth_settings(p)?;
    check_redirect_uri(redirect_uri)?;
    let pending = Pending {
        state: random::secret()?,
        verifier: random::secret()?,
        redirect_uri: redirect_uri.to_string(),
        expires_at: p.now() + PENDING_TTL_S,
    };
    let url = authorize_url(&s, redirect_uri, &pending.state, &pending.verifier)?;
    let raw = serde_json::to_vec(&pending).map_err(|e| Error::Unavailable(e.to_string()))?;
    // One sign-in at a time: a newer one replaces an abandoned one, so nothing accumulates.
    p.kv_set(keys::CONNECT_PENDING, &raw)?;
    Ok(ConnectRequest {
        authorize_url: url,
        state: pending.state,
        expires_in: PENDING_TTL_S,
    })
}

fn again(why: &str) -> Error {
    Error::NotConnected(format!("{why}; run `matterlink connect` again to sign in"))
}

/// Returns the account that connected.
pub fn connect_complete(
    p: &dyn Platform,
    code: &str,
    state: &str,
    redirect_uri: &str,
) -> Result<String> {
    let s = oauth_settings(p)?;
    let pending: Option<Pending> = p
        .kv_get(keys::CONNECT_PENDING)?
        .and_then(|raw| serde_json::from_slice(&raw).ok());
    let Some(pending) = pending else {
        return Err(again(
            "no sign-in is in progress (or it was already completed)",
        ));
    };
    // Left in place: an answer that is not this sign-in's must not cancel the real one.
    // Compared in constant time: how long a wrong guess took must not say how close it was.
    if !random::same_secret(state, &pending.state) {
        return Err(again(
            "the sign-in answer does not belong to the sign-in in progress (its state differs)",
        ));
    }
    // A code is good once: so is the verifier that goes with it.
    p.kv_delete(keys::CONNECT_PENDING)?;
    let now = p.now();
    if pending.expires_at <= now {
        return Err(again(&format!(
            "the sign-in took longer than {} minutes",
            PENDING_TTL_S / 60
        )));
    }
    if pending.redirect_uri != redirect_uri {
        return Err(again(
            "the redirect URI differs from the one the sign-in began with",
        ));
    }
    if code.trim().is_empty() {
        return Err(again("iManage sent no authorization code"));
    }
    let grant =
        grants::authorization_code(p, &s, code, redirect_uri, &pending.verifier).map_err(|r| {
            match r {
                Refusal::InvalidGrant(why) => {
                    again(&format!("iManage refused the sign-in ({why})"))
                }
                Refusal::Failed(e) => e,
            }
        })?;
    let previous = record::load(p)?.map_or(0, |l| l.record.generation);
    let tokens = session::record_from(grant, now, Origin::AuthorizationCode, previous + 1, now);
    // A new connection replaces whatever was stored, an ended one included.
    record::store(p, &tokens)?;
    p.kv_delete(keys::DISCOVERY)?;
    let api = Imanage::new(p, &s);
    let d = api.discover()?;
    audit::record(
        p,
        "connect",
        "",
        "ok",
        format!("connected as {} (customer {})", d.account, d.customer_id),
    )?;
    let missing: Vec<&str> = s
        .libraries()
        .into_iter()
        .filter(|l| !d.has_library(l))
        .collect();
    if !missing.is_empty() {
        return Err(Error::NotConfigured(format!(
            "connected as {}, but the configuration names libraries the account does not see: {} (it sees {}); fix `imanage_library` / `library_routes` — the connection is kept",
            d.account,
            missing.join(", "),
            d.libraries.join(", ")
        )));
    }
    Ok(d.account)
}

/// Who signed in through a browser to prove who they are (the console's "Sign in with
/// iManage"), and whether they may administer matterlink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Their iManage user id (`data.user.id` of discovery).
    pub user: String,
    /// Whether they are a member of the administrators' group in the configured library.
    pub member: bool,
}

/// Exchanges a sign-in's code (with its PKCE verifier) and finds out who signed in and whether
/// they are in `group`. The token is the person's, not the integration's: it is used for these
/// reads only (never written to key-value, never renewed), then revoked, so signing in to the
/// console never changes who matterlink is connected as.
pub fn identify(
    p: &dyn Platform,
    s: &Settings,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
    group: &str,
) -> Result<Identity> {
    if code.trim().is_empty() {
        return Err(Error::NotConnected(
            "iManage sent no authorization code".into(),
        ));
    }
    let grant =
        grants::authorization_code(p, s, code, redirect_uri, verifier).map_err(|r| match r {
            Refusal::InvalidGrant(why) => {
                Error::NotConnected(format!("iManage refused the sign-in ({why})"))
            }
            Refusal::Failed(e) => e,
        })?;
    let api = Imanage::with_token(p, s, grant.access_token.clone());
    let found = who_and_member(&api, s, group);
    // Whatever the reads said, the person's token is done with.
    if let Some(refresh) = &grant.refresh_token {
        grants::revoke(p, s, refresh);
    }
    grants::revoke(p, s, &grant.access_token);
    found
}

fn who_and_member(api: &Imanage<'_>, s: &Settings, group: &str) -> Result<Identity> {
    let d = api.discover()?;
    // Groups are a library's: someone who does not see the configured library administers
    // nothing in it.
    if !d.has_library(&s.library) {
        return Ok(Identity {
            user: d.account,
            member: false,
        });
    }
    let path = format!("/groups/{}/members", crate::imanage::api::seg(group));
    let members = api.list_all_if_any(&path, &[])?.unwrap_or_default();
    let member = members.iter().any(|m| {
        crate::imanage::json::str_field(m, "id")
            .is_some_and(|id| id.eq_ignore_ascii_case(&d.account))
    });
    Ok(Identity {
        user: d.account,
        member,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePlatform;

    fn oauth() -> FakePlatform {
        let p = FakePlatform::configured();
        p.set_config("imanage_auth", "oauth");
        p
    }

    #[test]
    fn begin_keeps_the_verifier_and_sends_its_challenge() {
        let p = oauth();
        let r = connect_begin(&p, "http://127.0.0.1:8765/callback").unwrap();
        let url = url::Url::parse(&r.authorize_url).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(url.path(), "/auth/oauth2/authorize");
        assert_eq!(q["state"], r.state);
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["redirect_uri"], "http://127.0.0.1:8765/callback");
        let pending: Pending =
            serde_json::from_slice(&p.kv_get(keys::CONNECT_PENDING).unwrap().unwrap()).unwrap();
        assert_eq!(q["code_challenge"], pkce::challenge(&pending.verifier));
        assert!(!r.authorize_url.contains(&pending.verifier));
    }

    #[test]
    fn begin_refuses_service_accounts_and_unsafe_redirects() {
        let p = FakePlatform::configured();
        assert!(matches!(
            connect_begin(&p, "http://127.0.0.1:1/cb"),
            Err(Error::NotConfigured(_))
        ));
        let p = oauth();
        for bad in [
            "http://example.com/cb",
            "ftp://127.0.0.1/",
            "nope",
            "https://x/#f",
        ] {
            assert!(
                matches!(connect_begin(&p, bad), Err(Error::InvalidUrl(_))),
                "{bad}"
            );
        }
        assert!(connect_begin(&p, "https://firm.example/matterlink/callback").is_ok());
        assert!(connect_begin(&p, "http://localhost:9/cb").is_ok());
    }

    #[test]
    fn complete_checks_state_expiry_and_redirect_before_any_request() {
        let p = oauth();
        let cb = "http://127.0.0.1:8765/callback";
        assert!(matches!(
            connect_complete(&p, "code", "state", cb),
            Err(Error::NotConnected(m)) if m.contains("no sign-in")
        ));
        let r = connect_begin(&p, cb).unwrap();
        assert!(matches!(
            connect_complete(&p, "code", "forged", cb),
            Err(Error::NotConnected(m)) if m.contains("state")
        ));
        // The forged answer left the real sign-in in place; a wrong redirect ends it.
        assert!(matches!(
            connect_complete(&p, "code", &r.state, "http://127.0.0.1:1/other"),
            Err(Error::NotConnected(m)) if m.contains("redirect URI")
        ));
        assert!(p.kv_get(keys::CONNECT_PENDING).unwrap().is_none());
        let r = connect_begin(&p, cb).unwrap();
        p.advance(PENDING_TTL_S + 1);
        assert!(matches!(
            connect_complete(&p, "code", &r.state, cb),
            Err(Error::NotConnected(m)) if m.contains("10 minutes")
        ));
        assert!(p.sent.borrow().is_empty(), "nothing was sent to iManage");
    }
}
