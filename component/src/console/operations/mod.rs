//! The operations pages (`/admin/ops/…`): an overview, the audit trail with filters, failed
//! events with their replay, the change feed's state and backfills from an uploaded CSV. Each
//! page reads the domain's own records with the domain's own functions (`audit::read`,
//! `events::failed`, `held::list`, `feed::state`, `backfill_job`); nothing here decides what a
//! replay or a backfill does.

pub mod audit;
pub mod backfill;
pub mod failed;
pub mod feed;
pub mod time;

use askama::Template;

use super::page::{self, Chrome};
use super::{Ctx, Request};
use crate::http_parts::Reply;
use crate::model::Result;
use crate::platform::Platform;
use crate::{backfill_job, events, held};

/// The pages and actions of the section, by path below the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Overview,
    Audit,
    Failed,
    ReplayOne,
    ReplayAll,
    Feed,
    Backfill,
    Job,
    Step,
    Report,
}

/// The section's routes, below the console.
const ROUTES: [(&str, Route); 10] = [
    ("/ops", Route::Overview),
    ("/ops/audit", Route::Audit),
    ("/ops/failed", Route::Failed),
    ("/ops/failed/replay-all", Route::ReplayAll),
    ("/ops/failed/{id}/replay", Route::ReplayOne),
    ("/ops/feed", Route::Feed),
    ("/ops/backfill", Route::Backfill),
    ("/ops/backfill/{job}", Route::Job),
    ("/ops/backfill/{job}/step", Route::Step),
    ("/ops/backfill/{job}/report.csv", Route::Report),
];

/// Answers a page of the operations section.
pub fn handle(p: &dyn Platform, ctx: &mut Ctx, req: &Request<'_>) -> Reply {
    let path = match req.path.trim_end_matches('/') {
        "" => "/ops",
        other => other,
    };
    let Some(found) = super::routes::find(&ROUTES, path) else {
        return not_found(ctx);
    };
    let param = |name: &str| found.param(name);
    let post = req.is_post();
    match (found.route, post) {
        (Route::Overview, false) => overview(p, ctx),
        (Route::Audit, false) => audit::page(p, ctx, req),
        (Route::Failed, false) => failed::page(p, ctx, req),
        (Route::ReplayOne, true) => failed::replay_one(p, ctx, &param("id")),
        (Route::ReplayAll, true) => failed::replay_all(p, ctx),
        (Route::Feed, false) => feed::page(p, ctx),
        (Route::Backfill, false) => backfill::page(p, ctx),
        (Route::Backfill, true) => backfill::upload(p, ctx, req),
        (Route::Job, false) => backfill::job_page(p, ctx, req, &param("job")),
        (Route::Step, true) => backfill::step(p, ctx, req, &param("job")),
        (Route::Report, false) => backfill::report(p, ctx, &param("job")),
        (_, true) => page::status(
            ctx,
            405,
            "Method not allowed",
            "This page is read with GET; its forms post elsewhere.",
        ),
        (_, false) => page::status(
            ctx,
            405,
            "Method not allowed",
            "This is an action: it is taken by its form's button.",
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

#[derive(Template)]
#[template(path = "console/ops.html")]
struct OverviewPage {
    chrome: Chrome,
    failed: usize,
    held: usize,
    feed_last_poll: Option<String>,
    feed_lag: Option<String>,
    feed_unacknowledged: usize,
    backfills: usize,
    backfills_running: usize,
}

fn overview(p: &dyn Platform, ctx: &Ctx) -> Reply {
    let read = || -> Result<OverviewPage> {
        let now = p.now();
        let (_, state) = crate::feed::state::load(p)?;
        let last = state.as_ref().and_then(|s| s.last_polled_at);
        let jobs = backfill_job::list(p)?;
        let mut running = 0;
        for j in &jobs {
            if backfill_job::progress(p, &j.id)?.done < j.total {
                running += 1;
            }
        }
        Ok(OverviewPage {
            chrome: Chrome::new(ctx, "ops"),
            failed: events::failed(p)?.len(),
            held: held::list(p, crate::actionstep::deliver::SOURCE)?.len(),
            feed_last_poll: last.map(time::iso),
            feed_lag: last.map(|t| time::age(now, t)),
            feed_unacknowledged: state
                .and_then(|s| s.pending)
                .map_or(0, |pd| pd.batch.changes.len()),
            backfills: jobs.len(),
            backfills_running: running,
        })
    };
    match read() {
        Ok(page) => page::render(200, &page),
        Err(e) => page::error(ctx, &e),
    }
}

#[cfg(test)]
mod tests;
