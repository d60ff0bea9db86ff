//! Authorization codes: issued by the authorization endpoint, exchanged once at the token
//! endpoint (RFC 6749 §4.1, with PKCE when the client asked for it).

use std::time::{Duration, SystemTime};

use crate::error::OAuthError;
use crate::pkce::Challenge;
use crate::store::Inner;
use crate::tokens::{expiry, new_token, AuthCode};

/// How long a code may wait to be exchanged: ten minutes, the RFC's recommended maximum.
pub(crate) const CODE_TTL: Duration = Duration::from_secs(10 * 60);

/// What an approved authorization request binds its code to.
pub(crate) struct Grant {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub challenge: Option<Challenge>,
}

pub(crate) fn issue(inner: &mut Inner, user: String, grant: Grant, now: SystemTime) -> String {
    let code = new_token();
    inner.codes.insert(
        code.clone(),
        AuthCode {
            user,
            client_id: grant.client_id,
            redirect_uri: grant.redirect_uri,
            scope: grant.scope,
            challenge: grant.challenge,
            expires_at: expiry(now, CODE_TTL),
            redeemed: None,
        },
    );
    code
}

/// The token request's side of the exchange.
pub(crate) struct Exchange<'a> {
    pub code: &'a str,
    pub redirect_uri: &'a str,
    pub verifier: Option<&'a str>,
    pub client_id: &'a str,
    /// Whether the request carried the client's (correct) secret.
    pub client_authenticated: bool,
}

/// The user and scope the code was issued for, and the token family to issue into. A code that
/// fails any check is spent, so that a verifier cannot be guessed by retrying; a code presented
/// again after a successful exchange also ends the tokens it gave (RFC 6749 §4.1.2).
pub(crate) fn redeem(
    inner: &mut Inner,
    exchange: &Exchange<'_>,
    now: SystemTime,
) -> Result<(String, String, u64), OAuthError> {
    let Some(found) = inner.codes.get(exchange.code).cloned() else {
        return Err(OAuthError::invalid_grant(
            "the authorization code is not valid",
        ));
    };
    if let Some(family) = found.redeemed {
        inner.codes.remove(exchange.code);
        inner.revoke_family(family);
        return Err(OAuthError::invalid_grant(
            "the authorization code has already been used; the tokens it gave are revoked",
        ));
    }
    if let Err(err) = check(&found, exchange, now) {
        inner.codes.remove(exchange.code);
        return Err(err);
    }
    let family = inner.allocate_family();
    if let Some(entry) = inner.codes.get_mut(exchange.code) {
        entry.redeemed = Some(family);
    }
    Ok((found.user, found.scope, family))
}

fn check(code: &AuthCode, exchange: &Exchange<'_>, now: SystemTime) -> Result<(), OAuthError> {
    if code.expires_at <= now {
        return Err(OAuthError::invalid_grant(
            "the authorization code has expired",
        ));
    }
    if code.client_id != exchange.client_id {
        return Err(OAuthError::invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    if code.redirect_uri != exchange.redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&code.challenge, exchange.verifier) {
        (Some(challenge), Some(verifier)) if challenge.verify(verifier) => Ok(()),
        (Some(_), Some(_)) => Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        )),
        (Some(_), None) => Err(OAuthError::invalid_grant(
            "code_verifier is required: the authorization request sent a code_challenge",
        )),
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "code_verifier sent, but the authorization request had no code_challenge",
        )),
        // Without PKCE only the client secret proves the caller is the client.
        (None, None) if !exchange.client_authenticated => Err(OAuthError::invalid_client(
            "client_secret is required for a code issued without code_challenge",
        )),
        (None, None) => Ok(()),
    }
}
