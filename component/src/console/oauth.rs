//! The console's OAuth flows with iManage, both through the console's own callback
//! (`{base}/oauth/callback`):
//!
//! - **Sign in with iManage** (`{base}/signin/imanage`, open): the authorization-code flow with
//!   PKCE, only to learn who the person is. Their token is used once, to ask discovery who they
//!   are and whether they are in the administrators' group (`admin_group`), then revoked; it is
//!   never the integration's (`keys::TOKENS` is not touched). A member gets a session
//!   (`Via::Imanage`); anyone else a refusal page.
//! - **Connect** (`{base}/oauth/connect`, for a signed-in administrator): what `matterlink
//!   connect` does (`crate::connect_begin` / `crate::connect_complete`), with the console's
//!   callback as the redirect URI: the tokens become the integration's.
//!
//! Each flow in progress is kept in key-value under the SHA-256 of its `state` (`Pending`), for
//! ten minutes, and is bound to the browser that began it by a short-lived cookie holding the
//! `state`: an answer arriving in another browser (a link an attacker had someone open) is
//! refused. Every refusal is a page saying what happened, and is audited.

use askama::Template;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::page::{self, Chrome};
use super::{cookies, session, Ctx, Request};
use crate::connect::PENDING_TTL_S;
use crate::http_parts::Reply;
use crate::model::{Error, Result};
use crate::platform::Platform;
use crate::settings::{Auth, Settings};
use crate::webhooks::Head;
use crate::{audit, keys, random};

/// The cookie binding a flow's `state` to the browser that began it.
pub const BINDING_COOKIE: &str = "matterlink_oauth";
/// The path of the callback below the console.
pub const CALLBACK: &str = "/oauth/callback";

/// Whether `rest` (the path below `/admin`) is one of this module's open pages: the start of
/// a sign-in, and the callback (which iManage's redirect reaches without the session cookie).
pub fn owns_open(rest: &str) -> bool {
    matches!(rest, "/signin/imanage" | CALLBACK)
}

/// What a flow in progress is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Purpose {
    /// Signing in to the console.
    SignIn,
    /// Connecting the integration (its tokens).
    Connect,
}

/// A flow in progress, under the digest of its `state`. Holds the verifier: no `Debug`.
#[derive(Serialize, Deserialize)]
struct Pending {
    purpose: Purpose,
    /// The PKCE verifier of a sign-in; empty for a connect, whose verifier `crate::connect`
    /// keeps where `matterlink connect`'s is.
    verifier: String,
    redirect_uri: String,
    /// The console page to go to afterwards.
    next: String,
    /// Who began a connect (a signed-in administrator); empty for a sign-in.
    user: String,
    expires_at: u64,
}

fn pending_key(state: &str) -> String {
    keys::console_oauth(&hex::encode(Sha256::digest(state.as_bytes())))
}

/// The most flows kept in progress at once. Starting a sign-in is open to anyone, and an
/// abandoned one is never called back: without a bound, a loop fetching the sign-in link would
/// fill the store. Past it, expired flows are swept; if that frees nothing, new flows wait
/// (at most ten minutes, while the password still works).
pub const MAX_PENDING: usize = 100;

/// Makes room for one more flow, or says why there is none.
fn make_room(p: &dyn Platform) -> Result<()> {
    let prefix = keys::console_oauth("");
    let keys = p.kv_keys(&prefix)?;
    if keys.len() < MAX_PENDING {
        return Ok(());
    }
    let now = p.now();
    let live = super::expiring::sweep(p, keys, |f: &Pending| f.expires_at > now)?;
    if live >= MAX_PENDING {
        return Err(Error::Unavailable(format!(
            "{live} sign-ins with iManage are in progress, the most the console keeps; try again in a few minutes, or sign in with the administrator password"
        )));
    }
    Ok(())
}

/// The browser's origin, `scheme://host[:port]`, as the request shows it: the `Host` header,
/// and https unless the host is a loopback address, or unless a proxy in front says otherwise
/// in `x-forwarded-proto`. `None` when the `Host` header is missing or not a plain host.
pub fn origin(head: &Head) -> Option<String> {
    let host = head.header("host")?.trim();
    let plain = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    if !plain {
        return None;
    }
    let forwarded = head
        .header("x-forwarded-proto")
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_ascii_lowercase());
    let scheme = match forwarded.as_deref() {
        Some("http") => "http",
        Some("https") => "https",
        _ if cookies::is_loopback(Some(host)) => "http",
        _ => "https",
    };
    Some(format!("{scheme}://{host}"))
}

/// The console's callback as iManage must send the browser to it.
pub fn redirect_uri(ctx: &Ctx, head: &Head) -> Option<String> {
    Some(format!("{}{}{CALLBACK}", origin(head)?, ctx.url("")))
}

/// `Set-Cookie` for the binding cookie. `SameSite=Lax`, not the console's usual Strict: the
/// callback arrives by a top-level navigation from iManage's site, and a Strict cookie is not
/// sent on a request that a redirect chain from another site started, so a Strict binding
/// would refuse every real sign-in. Lax is still not sent on cross-site subrequests or POSTs;
/// the cookie holds only the `state` (useless without the code iManage gives the browser
/// itself), lives ten minutes and is sent only to `{base}/oauth`.
fn binding_cookie(ctx: &Ctx, state: &str, max_age: u64) -> String {
    format!(
        "{BINDING_COOKIE}={state}; Path={}/oauth; Max-Age={max_age}; HttpOnly; SameSite=Lax{}",
        ctx.base,
        if ctx.cookies.secure { "; Secure" } else { "" }
    )
}

/// Whether "Sign in with iManage" can be offered: iManage is configured.
pub fn available(p: &dyn Platform) -> bool {
    Settings::load(p).is_ok()
}

/// Answers an open page of this module.
pub fn handle_open(p: &dyn Platform, ctx: &mut Ctx, req: &Request<'_>) -> Reply {
    match (req.path, req.head.method.as_str()) {
        ("/signin/imanage", "GET") => begin_sign_in(p, ctx, req),
        (CALLBACK, "GET") => callback(p, ctx, req),
        _ => page::status(ctx, 405, "Method not allowed", "Use the console's links."),
    }
}

/// Answers `{base}/oauth/…` for a signed-in administrator.
pub fn handle(p: &dyn Platform, ctx: &mut Ctx, req: &Request<'_>) -> Reply {
    match (req.path, req.head.method.as_str()) {
        ("/oauth/connect", "GET") => begin_connect(p, ctx, req),
        _ => page::status(
            ctx,
            404,
            "Not found",
            "There is no such page in the console.",
        ),
    }
}

fn no_origin(ctx: &Ctx) -> Reply {
    page::status(
        ctx,
        400,
        "No host",
        "The request did not say which host it was sent to, so there is no address iManage could send you back to.",
    )
}

/// Keeps the flow and sends the browser to iManage's sign-in page.
fn start(
    p: &dyn Platform,
    ctx: &Ctx,
    state: &str,
    pending: &Pending,
    authorize_url: &str,
) -> Result<Reply> {
    make_room(p)?;
    let raw = serde_json::to_vec(pending).map_err(|e| Error::Unavailable(e.to_string()))?;
    p.kv_set(&pending_key(state), &raw)?;
    Ok(page::redirect(authorize_url)
        .with_header("set-cookie", binding_cookie(ctx, state, PENDING_TTL_S)))
}

fn begin_sign_in(p: &dyn Platform, ctx: &Ctx, req: &Request<'_>) -> Reply {
    let s = match Settings::load(p) {
        Ok(s) => s,
        Err(e) => {
            return page::status(
                ctx,
                503,
                "iManage is not configured",
                &format!(
                    "Sign in with iManage needs matterlink's iManage settings, and they are not complete: {} Sign in with the administrator password instead.",
                    e.message()
                ),
            )
        }
    };
    match session::locked_for(p) {
        Ok(None) => {}
        Ok(Some(wait)) => {
            return page::status(
                ctx,
                429,
                "Too many sign-ins",
                &format!(
                    "Too many failed sign-ins. Try again in {} minute(s).",
                    wait.div_ceil(60)
                ),
            )
            .with_header("retry-after", wait.to_string())
        }
        Err(e) => return page::error(ctx, &e),
    }
    let Some(redirect_uri) = redirect_uri(ctx, req.head) else {
        return no_origin(ctx);
    };
    let next = super::signin::next_page(ctx, &req.head.query("next").unwrap_or_default());
    let begun = (|| -> Result<Reply> {
        let state = random::secret()?;
        let pending = Pending {
            purpose: Purpose::SignIn,
            verifier: random::secret()?,
            redirect_uri: redirect_uri.clone(),
            next,
            user: String::new(),
            expires_at: p.now() + PENDING_TTL_S,
        };
        let url = crate::connect::authorize_url(&s, &redirect_uri, &state, &pending.verifier)?;
        start(p, ctx, &state, &pending, &url)
    })();
    begun.unwrap_or_else(|e| page::error(ctx, &e))
}

fn begin_connect(p: &dyn Platform, ctx: &Ctx, req: &Request<'_>) -> Reply {
    match Settings::load(p) {
        Ok(s) if s.auth != Auth::OAuth => {
            return page::status(
                ctx,
                409,
                "Connected by a service account",
                "This integration signs in to iManage with a service account (imanage_auth = service_account): its credentials are set on the set-up page or by the deployment, and there is nothing to connect in a browser.",
            )
        }
        Ok(_) => {}
        Err(e) => return page::error(ctx, &e),
    }
    let Some(redirect_uri) = redirect_uri(ctx, req.head) else {
        return no_origin(ctx);
    };
    let begun = (|| -> Result<Reply> {
        let request = crate::connect_begin(p, &redirect_uri)?;
        let pending = Pending {
            purpose: Purpose::Connect,
            verifier: String::new(),
            redirect_uri,
            next: format!("{}?connected=1", ctx.base),
            user: ctx.user().to_string(),
            expires_at: p.now() + request.expires_in,
        };
        start(p, ctx, &request.state, &pending, &request.authorize_url)
    })();
    begun.unwrap_or_else(|e| page::error(ctx, &e))
}

#[derive(Template)]
#[template(path = "console/continue.html")]
struct ContinuePage<'a> {
    chrome: Chrome,
    title: &'a str,
    message: &'a str,
    next: &'a str,
}

/// The page a successful callback answers: a 200 that moves on by itself. Not a redirect: the
/// chain began on iManage's site, and the browser would not send the session's Strict cookie on
/// the next page of such a chain; a page of our own that moves on starts a new, same-site one.
fn continue_page(ctx: &Ctx, title: &str, message: &str, next: &str) -> Reply {
    page::render(
        200,
        &ContinuePage {
            chrome: Chrome::new(ctx, ""),
            title,
            message,
            next,
        },
    )
    .with_header("set-cookie", binding_cookie(ctx, "", 0))
}

/// A refusal: the page, and the audit record (never a code, state or token in either).
fn refuse(
    p: &dyn Platform,
    ctx: &Ctx,
    action: &str,
    status: u16,
    title: &str,
    message: &str,
) -> Reply {
    if let Err(e) = audit::record(p, action, "", "rejected", format!("{title}: {message}")) {
        return page::error(ctx, &e);
    }
    page::status(ctx, status, title, message).with_header("set-cookie", binding_cookie(ctx, "", 0))
}

fn callback(p: &dyn Platform, ctx: &mut Ctx, req: &Request<'_>) -> Reply {
    const ACTION: &str = "console-signin";
    let state = req.head.query("state").unwrap_or_default();
    let bound = cookies::get(req.head.header("cookie"), BINDING_COOKIE).unwrap_or_default();
    if state.is_empty() || bound.is_empty() || !random::same_secret(&state, bound) {
        return refuse(
            p,
            ctx,
            ACTION,
            400,
            "Sign-in not recognised",
            "This answer from iManage does not belong to a sign-in begun in this browser (or the sign-in took longer than 10 minutes). Start again from the console.",
        );
    }
    let key = pending_key(&state);
    let pending: Option<Pending> = match p.kv_get(&key) {
        Ok(raw) => raw.and_then(|raw| serde_json::from_slice(&raw).ok()),
        Err(e) => return page::error(ctx, &e),
    };
    let Some(pending) = pending else {
        return refuse(
            p,
            ctx,
            ACTION,
            400,
            "Sign-in not recognised",
            "No sign-in with this answer is in progress: it was already used, or never begun. Start again from the console.",
        );
    };
    // Good once, whatever happens next.
    if let Err(e) = p.kv_delete(&key) {
        return page::error(ctx, &e);
    }
    let action = match pending.purpose {
        Purpose::SignIn => ACTION,
        Purpose::Connect => "connect",
    };
    if pending.expires_at <= p.now() {
        return refuse(
            p,
            ctx,
            action,
            400,
            "Sign-in expired",
            &format!(
                "The sign-in took longer than {} minutes. Start again from the console.",
                PENDING_TTL_S / 60
            ),
        );
    }
    if let Some(error) = req.head.query("error") {
        let why = req.head.query("error_description").unwrap_or(error);
        return refuse(
            p,
            ctx,
            action,
            400,
            "iManage did not sign you in",
            &format!("iManage answered: {why}"),
        );
    }
    let code = req.head.query("code").unwrap_or_default();
    match pending.purpose {
        Purpose::SignIn => finish_sign_in(p, ctx, &pending, &code),
        Purpose::Connect => finish_connect(p, ctx, &pending, &code, &state),
    }
}

fn finish_sign_in(p: &dyn Platform, ctx: &mut Ctx, pending: &Pending, code: &str) -> Reply {
    const ACTION: &str = "console-signin";
    let found = (|| -> Result<(crate::connect::Identity, String)> {
        let s = Settings::load(p)?;
        let group = crate::settings::admin_group(p)?;
        let who = crate::connect::identify(
            p,
            &s,
            code,
            &pending.redirect_uri,
            &pending.verifier,
            &group,
        )?;
        Ok((who, group))
    })();
    let (who, group) = match found {
        Ok(found) => found,
        Err(e) => {
            return refuse(
                p,
                ctx,
                ACTION,
                502,
                "Sign-in with iManage failed",
                e.message(),
            )
        }
    };
    if !who.member {
        if let Err(e) = session::failed(p) {
            return page::error(ctx, &e);
        }
        return refuse(
            p,
            ctx,
            ACTION,
            403,
            "Not an administrator",
            &format!(
                "{} is not in the administrators' group {group}, so may not sign in to the console. An iManage administrator can add them to the group.",
                who.user
            ),
        );
    }
    let opened = session::open(p, &who.user, session::Via::Imanage).and_then(|(token, s)| {
        audit::record(
            p,
            ACTION,
            "",
            "ok",
            format!("{} signed in with iManage", who.user),
        )?;
        Ok((token, s))
    });
    match opened {
        Ok((token, s)) => {
            ctx.session = Some(s);
            let message = format!("Signed in as {}.", who.user);
            continue_page(ctx, "Signed in", &message, &pending.next).with_header(
                "set-cookie",
                ctx.cookies
                    .set(session::COOKIE, &token, session::LIFETIME_S),
            )
        }
        Err(e) => page::error(ctx, &e),
    }
}

fn finish_connect(
    p: &dyn Platform,
    ctx: &Ctx,
    pending: &Pending,
    code: &str,
    state: &str,
) -> Reply {
    // Only a signed-in administrator can have begun a connect; the record says who.
    if pending.user.is_empty() {
        return refuse(
            p,
            ctx,
            "connect",
            403,
            "Not connected",
            "This connection was not begun by a signed-in administrator.",
        );
    }
    // Which connection was stored before, to tell whether this one was stored.
    let generation = |p: &dyn Platform| {
        crate::auth::record::load(p)
            .ok()
            .flatten()
            .map(|l| l.record.generation)
    };
    let before = generation(p);
    match crate::connect_complete(p, code, state, &pending.redirect_uri) {
        Ok(account) => {
            let message = format!(
                "matterlink is connected to iManage as {account} (begun by {}).",
                pending.user
            );
            continue_page(ctx, "Connected", &message, &pending.next)
        }
        // Connected, but the configuration names a library the account does not see: the
        // connection is kept, and the fix is in the settings.
        Err(e @ Error::NotConfigured(_)) if generation(p) != before => refuse(
            p,
            ctx,
            "connect",
            409,
            "Connected, but the settings need a fix",
            e.message(),
        ),
        Err(e) => refuse(
            p,
            ctx,
            "connect",
            502,
            "Not connected",
            &format!(
                "Connecting to iManage failed: {} Start again from the set-up page.",
                e.message()
            ),
        ),
    }
}

#[cfg(test)]
mod tests;
