//! The change feed's state (`/admin/ops/feed`): the source configured and the one last read,
//! the last read of iManage and the lag since, the acknowledged cursor and the batch delivered
//! but not yet acknowledged. Read from the feed's own record with the feed's own types, as the
//! host's metrics read it at scrape time; the page changes nothing (polling is the consumer's).

use askama::Template;

use super::time;
use crate::console::page::{self, Chrome};
use crate::console::Ctx;
use crate::feed::source::Mode;
use crate::feed::state;
use crate::http_parts::Reply;
use crate::platform::Platform;

#[derive(Template)]
#[template(path = "console/ops_feed.html")]
struct FeedPage {
    chrome: Chrome,
    /// `change_source` as configured, or why it cannot be used.
    configured: String,
    configured_ok: bool,
    started: bool,
    last_source: String,
    last_poll: Option<String>,
    lag: Option<String>,
    cursor: String,
    queue_position: String,
    unacknowledged: usize,
    batch_cursor: String,
    oldest: Option<Oldest>,
    restart: Option<(String, String)>,
}

/// The oldest change of the unacknowledged batch.
struct Oldest {
    id: String,
    matter: String,
    workspace: String,
    observed: String,
    waiting: String,
}

fn mode_label(m: Mode) -> &'static str {
    match m {
        Mode::Auto => "auto: the event queue, else the Sync API, else polling",
        Mode::EventQueue => "event queue",
        Mode::Sync => "Sync API",
        Mode::Polling => "per-workspace polling",
    }
}

/// `GET /admin/ops/feed`.
pub fn page(p: &dyn Platform, ctx: &Ctx) -> Reply {
    let now = p.now();
    let (configured, configured_ok) = match Mode::load(p) {
        Ok(m) => (mode_label(m).to_string(), true),
        Err(e) => (e.message().to_string(), false),
    };
    let st = match state::load(p) {
        Ok((_, st)) => st,
        Err(e) => return page::error(ctx, &e),
    };
    let mut page = FeedPage {
        chrome: Chrome::new(ctx, "ops"),
        configured,
        configured_ok,
        started: st.is_some(),
        last_source: String::new(),
        last_poll: None,
        lag: None,
        cursor: String::new(),
        queue_position: String::new(),
        unacknowledged: 0,
        batch_cursor: String::new(),
        oldest: None,
        restart: None,
    };
    if let Some(st) = st {
        page.last_source = st.last_source.map_or("none yet", |s| s.label()).to_string();
        page.last_poll = st.last_polled_at.map(time::iso);
        page.lag = st.last_polled_at.map(|t| time::age(now, t));
        page.cursor = st.cursor(st.acked);
        page.queue_position = st.queue_position.clone().unwrap_or_default();
        page.restart = st
            .last_restart
            .as_ref()
            .map(|r| (time::iso(r.at), r.why.clone()));
        if let Some(pd) = &st.pending {
            page.unacknowledged = pd.batch.changes.len();
            page.batch_cursor = pd.batch.next_cursor.clone();
            page.oldest = pd
                .batch
                .changes
                .iter()
                .min_by_key(|c| c.observed_at)
                .map(|c| Oldest {
                    id: c.id.clone(),
                    matter: c.matter_id.clone(),
                    workspace: c.workspace_id.clone(),
                    observed: time::iso(c.observed_at),
                    waiting: time::age(now, c.observed_at),
                });
        }
    }
    page::render(200, &page)
}
