//! The operations pages (`/admin/ops/…`): the audit trail, failed events, the change feed and
//! backfills.

use super::page;
use super::{Ctx, Request};
use crate::http_parts::Reply;
use crate::platform::Platform;

/// Answers a page of the operations section.
pub fn handle(_p: &dyn Platform, ctx: &mut Ctx, _req: &Request<'_>) -> Reply {
    page::status(
        ctx,
        404,
        "Not found",
        "There is no such page in the console.",
    )
}
