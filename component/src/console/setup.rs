//! The set-up page (`/admin`): where a firm's administrator connects iManage and sets the
//! integration up.

use askama::Template;

use super::page::{self, Chrome};
use super::{Ctx, Request};
use crate::http_parts::Reply;
use crate::platform::Platform;

#[derive(Template)]
#[template(path = "console/setup.html")]
struct SetupPage {
    chrome: Chrome,
}

/// Answers a page of the set-up section.
pub fn handle(_p: &dyn Platform, ctx: &mut Ctx, req: &Request<'_>) -> Reply {
    match (req.path, req.is_post()) {
        ("" | "/", false) => page::render(
            200,
            &SetupPage {
                chrome: Chrome::new(ctx, "setup"),
            },
        ),
        _ => page::status(
            ctx,
            404,
            "Not found",
            "There is no such page in the console.",
        ),
    }
}
