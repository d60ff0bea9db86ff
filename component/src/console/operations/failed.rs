//! Failed events (`/admin/ops/failed`): the dead letters with their reason, each with its own
//! Replay button (`events::replay_one`), "Replay all" (`crate::replay_events`, which also runs
//! the held Actionstep deliveries listed below them) and, after a replay, a notice of what
//! happened. Each replay from here is in the audit trail with who asked for it.

use askama::Template;

use super::time;
use crate::console::page::{self, Chrome};
use crate::console::{Ctx, Request};
use crate::events::{self, EventType, Replayed};
use crate::held;
use crate::http_parts::Reply;
use crate::platform::Platform;
use crate::{audit, validate};

/// One dead letter as the table shows it.
struct Letter {
    id: String,
    kind: &'static str,
    matter: String,
    error: String,
    reason: String,
    attempts: u32,
    first: String,
    last: String,
}

/// One held delivery as the table shows it.
struct Held {
    id: String,
    kind: String,
    reason: String,
    attempts: u32,
    first: String,
    truncated: bool,
}

/// What the last replay did, from the redirect's query.
struct Notice {
    ok: bool,
    text: String,
}

#[derive(Template)]
#[template(path = "console/ops_failed.html")]
struct FailedPage {
    chrome: Chrome,
    notice: Option<Notice>,
    letters: Vec<Letter>,
    held: Vec<Held>,
}

fn event_type(k: EventType) -> &'static str {
    match k {
        EventType::Created => "matter.created",
        EventType::Updated => "matter.updated",
        EventType::Closed => "matter.closed",
        EventType::Reopened => "matter.reopened",
    }
}

/// The notice the redirect after a replay asks for. Only counts and an event id (checked) come
/// from the query; the reason of a failure is read again from its dead letter, so nothing a
/// link could carry is shown as the console's word.
fn notice(req: &Request<'_>, letters: &[Letter]) -> Option<Notice> {
    let q = |name: &str| req.head.query(name);
    let count = |name: &str| q(name).and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
    if q("all").is_some() {
        let (succeeded, failing, held) = (count("succeeded"), count("failing"), count("held"));
        let mut text = format!("Replayed all: {succeeded} went through, {failing} still failing");
        if held > 0 {
            text.push_str(&format!(", {held} Actionstep deliveries still held"));
        }
        text.push('.');
        return Some(Notice {
            ok: failing == 0 && held == 0,
            text,
        });
    }
    let id = q("replayed")?;
    validate::id("event id", &id).ok()?;
    Some(match q("result").as_deref() {
        Some("succeeded") => Notice {
            ok: true,
            text: format!("Event {id} was replayed and went through."),
        },
        Some("done") => Notice {
            ok: true,
            text: format!("Event {id} had gone through meanwhile; its failure is cleared."),
        },
        Some("failing") => {
            let reason = letters
                .iter()
                .find(|l| l.id == id)
                .map_or_else(String::new, |l| format!(": {} — {}", l.error, l.reason));
            Notice {
                ok: false,
                text: format!("Event {id} was replayed and still fails{reason}"),
            }
        }
        _ => Notice {
            ok: true,
            text: format!("Event {id} is no longer waiting: it was replayed meanwhile."),
        },
    })
}

/// `GET /admin/ops/failed`.
pub fn page(p: &dyn Platform, ctx: &Ctx, req: &Request<'_>) -> Reply {
    let letters = match events::failed(p) {
        Ok(l) => l,
        Err(e) => return page::error(ctx, &e),
    };
    let held = match held::list(p, crate::actionstep::deliver::SOURCE) {
        Ok(h) => h,
        Err(e) => return page::error(ctx, &e),
    };
    let letters: Vec<Letter> = letters
        .into_iter()
        .map(|d| Letter {
            kind: event_type(d.event.kind),
            matter: d.event.matter.id,
            id: d.event.id,
            error: d.kind,
            reason: d.reason,
            attempts: d.attempts,
            first: time::iso(d.first_failed_at),
            last: time::iso(d.last_failed_at),
        })
        .collect();
    let page = FailedPage {
        chrome: Chrome::new(ctx, "ops"),
        notice: notice(req, &letters),
        letters,
        held: held
            .into_iter()
            .map(|h| Held {
                id: h.id,
                kind: h.kind,
                reason: h.reason,
                attempts: h.attempts,
                first: time::iso(h.first_held_at),
                truncated: h.truncated,
            })
            .collect(),
    };
    page::render(200, &page)
}

/// `POST /admin/ops/failed/{id}/replay`: that event only.
pub fn replay_one(p: &dyn Platform, ctx: &Ctx, id: &str) -> Reply {
    if validate::id("event id", id).is_err() {
        return page::status(ctx, 404, "Not found", "There is no such failed event.");
    }
    let back = |result: &str| {
        page::redirect(&ctx.url(&format!(
            "/ops/failed?replayed={id}&result={result}#replay-notice"
        )))
    };
    // The matter, for the audit record: read before the replay clears the letter.
    let matter = events::failed(p)
        .ok()
        .and_then(|ls| ls.into_iter().find(|l| l.event.id == id))
        .map(|l| l.event.matter.id)
        .unwrap_or_default();
    let by = ctx.user();
    let (result, outcome, detail) = match events::replay_one(p, id) {
        Ok(None) => return back("gone"),
        Ok(Some(Replayed::Succeeded)) => (
            "succeeded",
            "ok".to_string(),
            format!("event {id} replayed from the console by {by}: it went through"),
        ),
        Ok(Some(Replayed::AlreadyDone)) => (
            "done",
            "unchanged".to_string(),
            format!("event {id} replayed from the console by {by}: it had gone through already"),
        ),
        Ok(Some(Replayed::StillFailing(d))) => {
            let (kind, reason) = d.map_or_else(
                || ("unavailable".to_string(), String::new()),
                |d| (d.kind, d.reason),
            );
            (
                "failing",
                kind,
                format!("event {id} replayed from the console by {by}: still failing: {reason}"),
            )
        }
        Err(e) => return page::error(ctx, &e),
    };
    // The replay happened whatever the audit trail says; a record that cannot be written is
    // not a reason to report the replay as failed.
    let _ = audit::record(p, "replay", &matter, &outcome, detail);
    back(result)
}

/// `POST /admin/ops/failed/replay-all`: every failed event and held delivery, as
/// `matterlink replay` does.
pub fn replay_all(p: &dyn Platform, ctx: &Ctx) -> Reply {
    let report = match crate::replay_events(p) {
        Ok(r) => r,
        Err(e) => return page::error(ctx, &e),
    };
    let failing = report.still_failing.len();
    let held = report.still_held.len();
    // The action's outcome: `ok` when everything went through, else why the first still
    // fails (each event's own record says more); held deliveries alone leave it `unchanged`.
    let outcome = match report.still_failing.first() {
        Some(d) => d.kind.clone(),
        None if held > 0 => "unchanged".into(),
        None => "ok".into(),
    };
    let _ = audit::record(
        p,
        "replay",
        "",
        &outcome,
        format!(
            "all failed events replayed from the console by {}: {} replayed, {} went through, {failing} still failing, {held} still held",
            ctx.user(),
            report.replayed,
            report.succeeded
        ),
    );
    page::redirect(&ctx.url(&format!(
        "/ops/failed?all=1&succeeded={}&failing={failing}&held={held}#replay-notice",
        report.succeeded
    )))
}
