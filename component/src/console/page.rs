//! Turning pages into answers: rendering a template, the headers every console answer carries
//! (a strict Content-Security-Policy among them), redirects and the status pages.

use askama::Template;

use super::Ctx;
use crate::http_parts::Reply;
use crate::model::Error;

/// What the console's pages may load: only their own stylesheet, script and images, nothing
/// inline, no frames, forms only to the console itself. A page that must differ (the matter
/// panel, which a host platform may frame) sets its own policy before `secure` sees it.
pub const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What the header of every page shows: where the console is, who is signed in, the CSRF token
/// its sign-out form carries and the section the page belongs to.
pub struct Chrome {
    /// The console's path (`Ctx::base`).
    pub base: String,
    /// The signed-in user; empty on the open pages.
    pub user: String,
    /// The session's CSRF token.
    pub csrf: String,
    /// `setup`, `ops`, `matters` or `signin`: which navigation link is current.
    pub section: &'static str,
}

impl Chrome {
    /// The chrome of a page of `section` for the request in `ctx`.
    pub fn new(ctx: &Ctx, section: &'static str) -> Chrome {
        Chrome {
            base: ctx.base.clone(),
            user: ctx.user().to_string(),
            csrf: ctx.csrf().to_string(),
            section,
        }
    }
}

/// A rendered page with `status`.
pub fn render(status: u16, page: &impl Template) -> Reply {
    match page.render() {
        Ok(html) => Reply::new(status, "text/html; charset=utf-8", html.into_bytes()),
        // Rendering fails only on a formatting error of a value; say so plainly.
        Err(e) => Reply::new(
            500,
            "text/plain; charset=utf-8",
            format!("the page could not be rendered: {e}").into_bytes(),
        ),
    }
}

/// `303 See Other` to `location` (a path of this console): what every successful POST answers,
/// so that reloading the page does not send the form again.
pub fn redirect(location: &str) -> Reply {
    Reply::new(303, "text/plain; charset=utf-8", Vec::new()).with_header("location", location)
}

#[derive(Template)]
#[template(path = "console/status.html")]
struct StatusPage<'a> {
    chrome: Chrome,
    status: u16,
    title: &'a str,
    message: &'a str,
}

/// A page saying only what happened: `title` and `message` (text, escaped).
pub fn status(ctx: &Ctx, status: u16, title: &str, message: &str) -> Reply {
    render(
        status,
        &StatusPage {
            chrome: Chrome::new(ctx, ""),
            status,
            title,
            message,
        },
    )
}

/// The page for a typed error, with the status the JSON API gives it.
pub fn error(ctx: &Ctx, e: &Error) -> Reply {
    let code = match e {
        Error::InvalidMatter(_) | Error::InvalidUrl(_) => 422,
        Error::NotLinked(_) => 404,
        Error::Rejected(_) | Error::Skipped(_) => 409,
        Error::NotConfigured(_) => 500,
        Error::NotConnected(_) | Error::Unavailable(_) => 503,
    };
    status(ctx, code, e.kind(), e.message())
}

/// Adds the headers every console answer carries, where the answer did not set its own.
/// Assets may be cached; pages never (they show settings and who is signed in).
pub fn secure(mut reply: Reply, rest: &str) -> Reply {
    let cacheable = rest.starts_with("/assets/") && reply.status == 200;
    let defaults = [
        ("content-security-policy", CSP),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
        ("x-frame-options", "DENY"),
        (
            "cache-control",
            if cacheable {
                "public, max-age=3600"
            } else {
                "no-store"
            },
        ),
    ];
    // A page whose own policy lets origins frame it (the matter panel, `panel_frame_ancestors`)
    // gets no `x-frame-options`, which can only deny or allow the same origin.
    let framable = reply
        .header("content-security-policy")
        .is_some_and(|csp| !csp.contains("frame-ancestors 'none'"));
    for (name, value) in defaults {
        if name == "x-frame-options" && framable {
            continue;
        }
        if reply.header(name).is_none() {
            reply.headers.push((name.into(), value.into()));
        }
    }
    reply
}
