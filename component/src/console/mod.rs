//! The admin console and the matter panel: HTML pages served by the same
//! `wasi:http/incoming-handler` as the JSON API, so the one `.wasm` brings them to every home
//! (`matterlink serve`, Spin, a host platform). Server-rendered from askama templates compiled
//! into the component (`component/templates/console/`), working without JavaScript, with no
//! asset from the network.
//!
//! Closed by default: only the assets and the sign-in pages are open; every other page needs a
//! session (`session`), and every POST also the session's CSRF token. Each section is a module
//! with its own `handle`, given the request (`Request`) and the signed-in context (`Ctx`):
//! `setup` (`/admin`, `/admin/setup/…`), `operations` (`/admin/ops/…`) and `panel`
//! (`/admin/matters/…`).

pub mod assets;
pub mod cookies;
pub mod expiring;
pub mod form;
pub mod multipart;
pub mod oauth;
pub mod operations;
pub mod page;
pub mod panel;
pub mod password;
pub mod routes;
pub mod session;
pub mod setup;
pub mod signin;

use crate::http_parts::{LimitedBody, Reply};
use crate::platform::Platform;
use crate::webhooks::Head;
use form::Form;
use session::Session;

/// Whether `path` is the console's.
pub fn owns(path: &str) -> bool {
    path == "/admin" || path.starts_with("/admin/")
}

/// The largest form body: settings, template maps and the like are a few kilobytes.
pub const MAX_FORM_BODY: usize = 256 << 10;
/// The largest CSV a backfill may be started from through the console.
pub const MAX_CSV_BODY: usize = 8 << 20;

/// How many body bytes a console POST may bring: documents may be large, a backfill's CSV
/// middling, every other form small.
pub fn body_limit(path: &str) -> usize {
    if path.starts_with("/admin/matters/") && path.ends_with("/documents") {
        crate::documents::MAX_DOCUMENT_BYTES + MAX_FORM_BODY
    } else if path.starts_with("/admin/ops/backfill") {
        MAX_CSV_BODY + MAX_FORM_BODY
    } else {
        MAX_FORM_BODY
    }
}

/// One console request: its head, its path below the console and its body (read only for a
/// POST that passed the session and size checks).
pub struct Request<'a> {
    /// The request's head as received.
    pub head: &'a Head,
    /// The path below `/admin`: `""` for the set-up page, `/ops/audit`, `/matters/M-1`, ….
    pub path: &'a str,
    /// The body (POST only; empty otherwise).
    pub body: Vec<u8>,
}

impl Request<'_> {
    /// Whether this is a POST.
    pub fn is_post(&self) -> bool {
        self.head.method == "POST"
    }

    /// The body as an urlencoded form.
    pub fn form(&self) -> Form {
        Form::parse(&self.body)
    }

    /// The request's `content-type`, without parameters, lower case.
    pub fn content_type(&self) -> String {
        self.head
            .header("content-type")
            .and_then(|v| v.split(';').next())
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    }
}

/// What every page knows of where it is and who is looking.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The console's URL path as the browser sees it: `/admin`, or `/t/{tenant}/admin` when a
    /// host serves tenants below a prefix (`x-forwarded-prefix`). Every link and form starts
    /// with it.
    pub base: String,
    /// How cookies are scoped.
    pub cookies: cookies::Scope,
    /// The signed-in administrator; `None` on the open pages.
    pub session: Option<Session>,
}

impl Ctx {
    /// The path of a console page: `base` + `rest` (which starts with `/`, or is empty).
    pub fn url(&self, rest: &str) -> String {
        format!("{}{rest}", self.base)
    }

    /// The signed-in user's name, for the page's header.
    pub fn user(&self) -> &str {
        self.session.as_ref().map_or("", |s| s.user.as_str())
    }

    /// The session's CSRF token, for forms.
    pub fn csrf(&self) -> &str {
        self.session.as_ref().map_or("", |s| s.csrf.as_str())
    }
}

/// The prefix a host serving the console below a path (`matterlink serve`'s `/t/{tenant}`)
/// says it is under, if it is a plain path: anything else is ignored rather than echoed into
/// links and `Location` headers.
fn prefix(head: &Head) -> String {
    let Some(p) = head.header("x-forwarded-prefix") else {
        return String::new();
    };
    let p = p.trim_end_matches('/');
    let plain = p.starts_with('/')
        && !p.contains("//")
        && p.len() <= 200
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.".contains(&b))
        && !p.split('/').any(|s| s == "." || s == "..");
    if plain {
        p.to_string()
    } else {
        String::new()
    }
}

/// Answers one console request.
pub fn handle(
    p: &dyn Platform,
    head: &Head,
    read_body: impl FnOnce(usize) -> LimitedBody,
) -> Reply {
    let path = head.path();
    let rest = path.strip_prefix("/admin").unwrap_or_default();
    let base = format!("{}/admin", prefix(head));
    let mut ctx = Ctx {
        cookies: cookies::Scope {
            path: base.clone(),
            secure: !cookies::is_loopback(head.header("host")),
        },
        base,
        session: None,
    };
    let reply = route(p, &mut ctx, head, rest, read_body);
    page::secure(reply, rest)
}

fn route(
    p: &dyn Platform,
    ctx: &mut Ctx,
    head: &Head,
    rest: &str,
    read_body: impl FnOnce(usize) -> LimitedBody,
) -> Reply {
    let method = head.method.as_str();
    if !matches!(method, "GET" | "HEAD" | "POST") {
        return page::status(
            ctx,
            405,
            "Method not allowed",
            "The console takes GET and POST.",
        );
    }
    if let Some(file) = rest.strip_prefix("/assets/") {
        return assets::serve(file);
    }
    let open = signin::owns(rest);
    if !open {
        // Every other page needs a session; without one, nothing is read from the body.
        let token = cookies::get(head.header("cookie"), session::COOKIE).unwrap_or_default();
        ctx.session = match session::find(p, token) {
            Ok(s) => s,
            Err(e) => return page::error(ctx, &e),
        };
        if ctx.session.is_none() {
            if method == "POST" {
                return page::status(
                    ctx,
                    401,
                    "Signed out",
                    "Your session has ended. Sign in again, then repeat what you did.",
                );
            }
            let query = head.target.strip_prefix(head.path()).unwrap_or_default();
            let next = format!("{}{rest}{query}", ctx.base);
            let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
            return page::redirect(&ctx.url(&format!("/signin?next={next}")));
        }
    }
    let body = if method == "POST" {
        let body = read_body(body_limit(head.path()));
        if body.too_large {
            return page::status(
                ctx,
                413,
                "Too large",
                "What was sent is larger than this form takes.",
            );
        }
        body.bytes
    } else {
        Vec::new()
    };
    let req = Request {
        head,
        path: rest,
        body,
    };
    if open {
        return signin::handle(p, ctx, &req);
    }
    if req.is_post() && !csrf_passes(ctx, &req) {
        return page::status(
            ctx,
            403,
            "Form expired",
            "This form was not sent from a page of this console, or is from an earlier session. Go back, reload the page and send it again.",
        );
    }
    if rest.starts_with("/ops") {
        operations::handle(p, ctx, &req)
    } else if rest.starts_with("/oauth/") {
        oauth::handle(p, ctx, &req)
    } else if rest.starts_with("/matters") {
        panel::handle(p, ctx, &req)
    } else {
        setup::handle(p, ctx, &req)
    }
}

/// A POST carries the session's CSRF token in its form's `csrf` field: urlencoded, or, for
/// uploads, a part of the multipart body. Any other body carries none and is refused.
fn csrf_passes(ctx: &Ctx, req: &Request<'_>) -> bool {
    let Some(session) = &ctx.session else {
        return false;
    };
    let given = match req.content_type().as_str() {
        "application/x-www-form-urlencoded" => req.form().get("csrf").map(String::from),
        "multipart/form-data" => {
            let content_type = req.head.header("content-type").unwrap_or_default();
            multipart::text_field(content_type, &req.body, "csrf")
                .ok()
                .flatten()
        }
        _ => None,
    };
    session::csrf_ok(session, given.as_deref())
}

#[cfg(test)]
mod tests;
