//! Signing in to iManage and staying signed in.
//!
//! Two ways in (`imanage_auth`): a service account through the password grant, or an
//! administrator's own sign-in through the authorization-code grant with PKCE (begun and
//! finished by `crate::connect`, which sits above this module). Either way the tokens live in one
//! key-value record (`record`), are refreshed ahead of expiry and after a 401, and concurrent
//! calls share one refresh (`session`). When iManage refuses the refresh
//! token of an OAuth connection, the connection has ended: every call answers `not-connected`
//! until an administrator connects again.
//!
//! Secrets (passwords, tokens, the client secret, PKCE verifiers, authorization codes) go to the
//! token endpoint and to key-value, never into a message, log line or `Debug` output.

pub mod grants;
pub mod pkce;
pub mod record;
pub mod session;

use crate::model::Error;

/// The `not-connected` error of an OAuth integration that has no live connection: what the
/// administrator must do is the whole point of the message.
pub fn reconnect(why: &str) -> Error {
    Error::NotConnected(format!(
        "{why}; an administrator must run `matterlink connect` to connect matterlink to iManage again"
    ))
}
