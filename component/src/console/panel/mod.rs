//! The matter panel (`/admin/matters/…`): a matter's workspace, its folders and documents and
//! an upload form; for a legacy matter without a link, the resolve result (candidates to pick
//! from, or a box to paste a workspace link). Served to the console's administrators, and
//! embeddable by a host platform: the origins in `panel_frame_ancestors` may frame it.
//!
//! Routes (below the console's base, matched with `matchit`):
//!
//! | route | what |
//! |---|---|
//! | `GET /matters` | open a matter by id; the most recently linked matters |
//! | `GET /matters/{id}` | the panel: the workspace, or the resolve result (see `resolve`) |
//! | `POST /matters/{id}/documents` | upload a document (multipart) into a folder |
//! | `POST /matters/{id}/link` | link a workspace: a candidate picked, or a pasted link |
//!
//! A host platform embedding the panel for an unlinked matter passes what it knows of the
//! matter in the query, so that resolving can search: `client_id`, `client_name`,
//! `file_reference`, `title` (required to resolve), `matter_type`. Example:
//! `/admin/matters/M-1001?client_id=C-200&file_reference=SMI-1&title=Smith%20v%20Jones&matter_type=Litigation`.
//!
//! Framed by a host platform on another site, the console's `SameSite=Strict` session cookie is
//! never sent (by design: it keeps other sites from acting with an administrator's session, and
//! it is not weakened for framing), so such a platform serves matterlink on its own site (e.g.
//! `practice.example.com` and `matterlink.example.com`: same-site framing works) or opens the
//! panel in a window of its own.

mod resolve;
mod workspace;

use askama::Template;

use super::page::{self, Chrome};
use super::{Ctx, Request};
use crate::http_parts::Reply;
use crate::keys;
use crate::links::{self, Link};
use crate::platform::Platform;
use crate::validate;

/// How many linked matters the index lists.
const RECENT: usize = 20;
/// The most link records the index reads to find the most recent (one key-value read each).
const RECENT_SCAN: usize = 500;

#[derive(Clone, Copy)]
enum Route {
    Index,
    Matter,
    Documents,
    Link,
}

/// The section's routes, below the console.
const ROUTES: [(&str, Route); 5] = [
    ("/matters", Route::Index),
    ("/matters/", Route::Index),
    ("/matters/{id}", Route::Matter),
    ("/matters/{id}/documents", Route::Documents),
    ("/matters/{id}/link", Route::Link),
];

/// Answers a page of the matters section, with the panel's own framing policy.
pub fn handle(p: &dyn Platform, ctx: &mut Ctx, req: &Request<'_>) -> Reply {
    let reply = route(p, ctx, req);
    framing(p, reply)
}

fn route(p: &dyn Platform, ctx: &mut Ctx, req: &Request<'_>) -> Reply {
    let Some(found) = super::routes::find(&ROUTES, req.path) else {
        return not_found(ctx);
    };
    let id = found.param("id");
    match (found.route, req.is_post()) {
        (Route::Index, false) => index(p, ctx, req),
        (Route::Matter, false) => matter(p, ctx, req, &id),
        (Route::Documents, true) => workspace::upload(p, ctx, req, &id),
        (Route::Link, true) => resolve::link(p, ctx, req, &id),
        (Route::Documents | Route::Link, false) => {
            page::redirect(&ctx.url(&format!("/matters/{}", url_segment(&id))))
        }
        _ => page::status(
            ctx,
            405,
            "Method not allowed",
            "This page takes another method.",
        ),
    }
}

fn not_found(ctx: &Ctx) -> Reply {
    page::status(
        ctx,
        404,
        "Not found",
        "There is no such page in the console.",
    )
}

/// `GET /matters/{id}`: the workspace of a linked matter, the resolve result otherwise.
fn matter(p: &dyn Platform, ctx: &Ctx, req: &Request<'_>, id: &str) -> Reply {
    if let Err(e) = validate::id("matter id", id) {
        return page::error(ctx, &e);
    }
    match links::get(p, id) {
        Ok(Some(_)) => workspace::show(p, ctx, req, id, None),
        Ok(None) => resolve::show(p, ctx, req, id),
        Err(e) => page::error(ctx, &e),
    }
}

/// The panel's Content-Security-Policy: the console's, but framable by the origins of
/// `panel_frame_ancestors`; then without `x-frame-options` (which can only deny or allow the
/// same origin, and would overrule the policy in older browsers).
fn framing(p: &dyn Platform, mut reply: Reply) -> Reply {
    // A wrong value is refused when the deployment checks its settings; here it frames nothing.
    let origins = crate::settings::panel_frame_ancestors(p).unwrap_or_default();
    reply
        .headers
        .push(("content-security-policy".into(), policy(&origins)));
    // `page::secure` adds no `x-frame-options` beside a policy that allows frames.
    reply
}

/// `page::CSP` with `frame-ancestors` naming `origins` (`'none'` for none).
pub fn policy(origins: &[String]) -> String {
    let ancestors = if origins.is_empty() {
        "'none'".to_string()
    } else {
        origins.join(" ")
    };
    page::CSP.replace(
        "frame-ancestors 'none'",
        &format!("frame-ancestors {ancestors}"),
    )
}

/// A matter id in a path: ids hold letters, digits and `-_.:` only (`validate::id`), but one
/// that failed validation is still shown in a link: encoded.
fn url_segment(id: &str) -> String {
    crate::imanage::api::seg(id)
}

/// One linked matter in the index.
struct Recent {
    matter_id: String,
    workspace: String,
    how: String,
}

#[derive(Template)]
#[template(path = "console/matters.html")]
struct IndexPage {
    chrome: Chrome,
    id: String,
    error: Option<String>,
    recent: Vec<Recent>,
    total: usize,
}

/// `GET /matters`: the form to open a matter (`?id=` sends the browser to its panel) and the
/// most recently linked matters.
fn index(p: &dyn Platform, ctx: &Ctx, req: &Request<'_>) -> Reply {
    let id = req.head.query("id").unwrap_or_default().trim().to_string();
    let mut error = None;
    if !id.is_empty() {
        match validate::id("matter id", &id) {
            Ok(()) => return page::redirect(&ctx.url(&format!("/matters/{}", url_segment(&id)))),
            Err(e) => error = Some(e.message().to_string()),
        }
    }
    let (recent, total) = match recent(p) {
        Ok(r) => r,
        Err(e) => return page::error(ctx, &e),
    };
    let status = if error.is_some() { 422 } else { 200 };
    page::render(
        status,
        &IndexPage {
            chrome: Chrome::new(ctx, "matters"),
            id,
            error,
            recent,
            total,
        },
    )
}

/// The most recently linked matters (of the first `RECENT_SCAN` link records) and how many
/// links there are.
fn recent(p: &dyn Platform) -> crate::model::Result<(Vec<Recent>, usize)> {
    let prefix = keys::link("");
    let all = p.kv_keys(&prefix)?;
    let mut read: Vec<Link> = Vec::new();
    for key in all.iter().take(RECENT_SCAN) {
        if let Some(link) = links::get(p, &key[prefix.len()..])? {
            read.push(link);
        }
    }
    read.sort_unstable_by(|a, b| (b.linked_at, &b.matter_id).cmp(&(a.linked_at, &a.matter_id)));
    let recent = read
        .into_iter()
        .take(RECENT)
        .map(|l| Recent {
            matter_id: l.matter_id,
            workspace: l.workspace.name,
            how: l.how,
        })
        .collect();
    Ok((recent, all.len()))
}

#[cfg(test)]
mod tests;
