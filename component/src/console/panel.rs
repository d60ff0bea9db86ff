//! The matter panel (`/admin/matters/{id}`): a matter's workspace, folders and documents.

use super::page;
use super::{Ctx, Request};
use crate::http_parts::Reply;
use crate::platform::Platform;

/// Answers a page of the matters section.
pub fn handle(_p: &dyn Platform, ctx: &mut Ctx, _req: &Request<'_>) -> Reply {
    page::status(
        ctx,
        404,
        "Not found",
        "There is no such page in the console.",
    )
}
