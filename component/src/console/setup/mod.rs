//! The set-up page (`/admin`): where a firm's administrator connects iManage and sets the
//! integration up. Values are saved in key-value (`saved_settings`), where they override
//! `wasi:config` for every caller of the component.
//!
//! - `GET {base}`: the page (`?library=X` shows the templates of library X; `?verify=1` runs the
//!   checks; `?saved=N` after a save says so, and runs them too);
//! - `GET {base}/setup/verify`: the page with the checks run;
//! - `POST {base}/setup/settings`: `action=save` validates and saves; `show-library`,
//!   `add-template` and `remove=<type>` re-render the form with the change, unsaved.

pub mod connection;
pub mod draft;
pub mod view;

use super::{Ctx, Request};
use crate::http_parts::Reply;
use crate::platform::Platform;
use draft::Draft;

use super::page;

/// Answers a page of the set-up section.
pub fn handle(p: &dyn Platform, ctx: &mut Ctx, req: &Request<'_>) -> Reply {
    match (req.path, req.is_post()) {
        ("" | "/", false) => {
            let saved = req.head.query("saved").and_then(|v| v.parse().ok());
            let verify = saved.is_some() || req.head.query("verify").as_deref() == Some("1");
            show_current(p, ctx, req.head.query("library"), verify, saved)
        }
        ("/setup/verify", false) => show_current(p, ctx, req.head.query("library"), true, None),
        ("/setup/settings", true) => post(p, ctx, req),
        _ => page::status(
            ctx,
            404,
            "Not found",
            "There is no such page in the console.",
        ),
    }
}

fn show_current(
    p: &dyn Platform,
    ctx: &Ctx,
    library: Option<String>,
    verify: bool,
    saved: Option<u64>,
) -> Reply {
    let mut d = match Draft::current(p) {
        Ok(d) => d,
        Err(e) => return page::error(ctx, &e),
    };
    if let Some(lib) = library.filter(|l| !l.is_empty()) {
        d.values.insert("imanage_library".into(), lib);
    }
    view::render(p, ctx, &d, &[], 200, verify, saved)
}

fn post(p: &dyn Platform, ctx: &Ctx, req: &Request<'_>) -> Reply {
    let form = req.form();
    let mut d = Draft::posted(&form);
    if let Some(matter_type) = form.get("remove") {
        d.remove_template(matter_type);
        return view::render(p, ctx, &d, &[], 200, false, None);
    }
    match form.get("action") {
        Some("show-library") => return view::render(p, ctx, &d, &[], 200, false, None),
        Some("add-template") => {
            d.add_template(form.text("new_matter_type"), form.text("new_template"));
            return view::render(p, ctx, &d, &[], 200, false, None);
        }
        _ => {}
    }
    let errors = match d.check(p) {
        Ok(e) => e,
        Err(e) => return page::error(ctx, &e),
    };
    if !errors.is_empty() {
        return view::render(p, ctx, &d, &errors, 422, false, None);
    }
    let saved = d
        .to_save(p)
        .and_then(|values| crate::saved_settings::save(p, values, ctx.user()));
    match saved {
        Ok(s) => page::redirect(&ctx.url(&format!("?saved={}", s.version))),
        Err(e) => page::error(ctx, &e),
    }
}

#[cfg(test)]
mod tests;
