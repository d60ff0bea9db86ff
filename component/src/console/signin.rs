//! The open pages: signing in with the local administrator password (rate-limited across every
//! process sharing the store) and signing out.

use askama::Template;

use super::page::{self, Chrome};
use super::{cookies, session, Ctx, Request};
use crate::http_parts::Reply;
use crate::platform::Platform;

/// The cookie carrying the sign-in form's CSRF token before there is a session.
pub const FORM_COOKIE: &str = "matterlink_signin";

/// Whether `rest` (the path below `/admin`) is one of the open pages.
pub fn owns(rest: &str) -> bool {
    matches!(rest, "/signin" | "/signout") || super::oauth::owns_open(rest)
}

#[derive(Template)]
#[template(path = "console/signin.html")]
struct SigninPage<'a> {
    chrome: Chrome,
    next: &'a str,
    form_token: &'a str,
    password_set: bool,
    error: &'a str,
    /// "Sign in with iManage", when iManage is configured; empty otherwise.
    imanage_url: &'a str,
    admin_group: &'a str,
}

/// Answers an open page.
pub fn handle(p: &dyn Platform, ctx: &mut Ctx, req: &Request<'_>) -> Reply {
    if super::oauth::owns_open(req.path) {
        return super::oauth::handle_open(p, ctx, req);
    }
    match (req.path, req.is_post()) {
        ("/signin", false) => form(p, ctx, &req.head.query("next").unwrap_or_default(), "", 200),
        ("/signin", true) => sign_in(p, ctx, req),
        ("/signout", true) => sign_out(p, ctx, req),
        _ => page::status(ctx, 405, "Method not allowed", "Use the console's buttons."),
    }
}

/// Where to go after signing in: a page of this console, else its front page (never another
/// site: `next` comes from the URL, which anyone can craft).
pub(super) fn next_page(ctx: &Ctx, next: &str) -> String {
    let inside = next == ctx.base || next.starts_with(&format!("{}/", ctx.base));
    if inside && !next.contains("//") && !next.contains('\\') {
        next.to_string()
    } else {
        ctx.base.clone()
    }
}

fn form(p: &dyn Platform, ctx: &Ctx, next: &str, error: &str, status: u16) -> Reply {
    let token = match crate::random::secret() {
        Ok(t) => t,
        Err(e) => return page::error(ctx, &e),
    };
    let password_set = match super::password::is_set(p) {
        Ok(set) => set,
        Err(e) => return page::error(ctx, &e),
    };
    let next = next_page(ctx, next);
    let imanage_url = if super::oauth::available(p) {
        let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
        ctx.url(&format!("/signin/imanage?next={next}"))
    } else {
        String::new()
    };
    let admin_group = match crate::settings::admin_group(p) {
        Ok(g) => g,
        Err(e) => return page::error(ctx, &e),
    };
    page::render(
        status,
        &SigninPage {
            chrome: Chrome::new(ctx, "signin"),
            next: &next,
            form_token: &token,
            password_set,
            error,
            imanage_url: &imanage_url,
            admin_group: &admin_group,
        },
    )
    .with_header("set-cookie", ctx.cookies.set(FORM_COOKIE, &token, 3600))
}

fn sign_in(p: &dyn Platform, ctx: &mut Ctx, req: &Request<'_>) -> Reply {
    let f = req.form();
    let next = f.text("next").to_string();
    let expected = cookies::get(req.head.header("cookie"), FORM_COOKIE).unwrap_or_default();
    if expected.is_empty() || !crate::random::same_secret(f.text("csrf"), expected) {
        return form(
            p,
            ctx,
            &next,
            "The sign-in form had expired. Enter your password again.",
            403,
        );
    }
    match session::locked_for(p) {
        Ok(None) => {}
        Ok(Some(wait)) => {
            let minutes = wait.div_ceil(60);
            return form(
                p,
                ctx,
                &next,
                &format!("Too many failed sign-ins. Try again in {minutes} minute(s)."),
                429,
            )
            .with_header("retry-after", wait.to_string());
        }
        Err(e) => return page::error(ctx, &e),
    }
    let password = f.get("password").unwrap_or_default();
    match super::password::verify(p, password) {
        Ok(true) => {}
        Ok(false) => {
            if let Err(e) = session::failed(p) {
                return page::error(ctx, &e);
            }
            return form(p, ctx, &next, "That password is not right.", 401);
        }
        Err(e) => return page::error(ctx, &e),
    }
    match session::open(p, "admin", session::Via::Password) {
        Ok((token, _)) => page::redirect(&next_page(ctx, &next))
            .with_header(
                "set-cookie",
                ctx.cookies
                    .set(session::COOKIE, &token, session::LIFETIME_S),
            )
            .with_header("set-cookie", ctx.cookies.clear(FORM_COOKIE)),
        Err(e) => page::error(ctx, &e),
    }
}

fn sign_out(p: &dyn Platform, ctx: &mut Ctx, req: &Request<'_>) -> Reply {
    let token = cookies::get(req.head.header("cookie"), session::COOKIE).unwrap_or_default();
    let current = match session::find(p, token) {
        Ok(s) => s,
        Err(e) => return page::error(ctx, &e),
    };
    if let Some(s) = &current {
        if !session::csrf_ok(s, req.form().get("csrf")) {
            return page::status(
                ctx,
                403,
                "Form expired",
                "Reload the page and sign out again.",
            );
        }
        if let Err(e) = session::close(p, token) {
            return page::error(ctx, &e);
        }
    }
    page::redirect(&ctx.url("/signin"))
        .with_header("set-cookie", ctx.cookies.clear(session::COOKIE))
}
