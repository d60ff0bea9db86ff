//! The audit trail (`/admin/ops/audit`): `audit::read` behind a GET form of filters. A filter
//! that cannot be used is refused beside its field, as `matterlink log` refuses a misspelt
//! outcome, rather than answering an empty (and misleading) table.

use askama::Template;

use super::time;
use crate::audit::{self, Query, OUTCOMES};
use crate::console::page::{self, Chrome};
use crate::console::{Ctx, Request};
use crate::http_parts::Reply;
use crate::platform::Platform;
use crate::validate;

/// How many records a page shows when the limit is left empty, and at most.
const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;

/// An outcome of the filter's drop-down.
struct Choice {
    value: &'static str,
    selected: bool,
}

/// One record as the table shows it.
struct Line {
    at: String,
    action: String,
    matter: String,
    outcome: String,
    failed: bool,
    detail: String,
    request_id: String,
}

/// Why a filter was refused, per field.
#[derive(Default)]
struct Errors {
    matter: Option<String>,
    outcome: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<String>,
}

impl Errors {
    fn any(&self) -> bool {
        self.matter.is_some()
            || self.outcome.is_some()
            || self.since.is_some()
            || self.until.is_some()
            || self.limit.is_some()
    }
}

#[derive(Template)]
#[template(path = "console/ops_audit.html")]
struct AuditPage {
    chrome: Chrome,
    matter: String,
    since: String,
    until: String,
    limit: String,
    outcomes: Vec<Choice>,
    errors: Errors,
    records: Vec<Line>,
}

/// The filters as typed, and the query they make (`None` when one is refused).
fn query(ctx: &Ctx, req: &Request<'_>) -> (AuditPage, Option<Query>) {
    let q = |name: &str| req.head.query(name).unwrap_or_default().trim().to_string();
    let (matter, outcome, since, until, limit) = (
        q("matter"),
        q("outcome"),
        q("since"),
        q("until"),
        q("limit"),
    );
    let mut errors = Errors::default();
    if !matter.is_empty() {
        if let Err(e) = validate::id("matter id", &matter) {
            errors.matter = Some(e.message().to_string());
        }
    }
    if !outcome.is_empty() && !OUTCOMES.contains(&outcome.as_str()) {
        errors.outcome = Some(format!(
            "{outcome:?} is not an outcome; choose one of {}",
            OUTCOMES.join(", ")
        ));
    }
    let date = |text: &str, error: &mut Option<String>| {
        if text.is_empty() {
            return None;
        }
        time::parse(text).map_err(|e| *error = Some(e)).ok()
    };
    let since_at = date(&since, &mut errors.since);
    // A bare date as the end means to the end of that day.
    let until_at =
        date(&until, &mut errors.until).map(|t| if until.len() == 10 { t + 86_399 } else { t });
    if let (Some(s), Some(u)) = (since_at, until_at) {
        if u < s && errors.until.is_none() {
            errors.until = Some("the end is before the start".into());
        }
    }
    let limit_n = if limit.is_empty() {
        DEFAULT_LIMIT
    } else {
        match limit.parse::<u32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                errors.limit = Some(format!("a number from 1 to {MAX_LIMIT}"));
                DEFAULT_LIMIT
            }
        }
    };
    let query = (!errors.any()).then(|| Query {
        matter_id: (!matter.is_empty()).then(|| matter.clone()),
        outcome: (!outcome.is_empty()).then(|| outcome.clone()),
        since: since_at,
        until: until_at,
        limit: limit_n,
    });
    let outcomes = OUTCOMES
        .iter()
        .map(|&value| Choice {
            value,
            selected: value == outcome,
        })
        .collect();
    let page = AuditPage {
        chrome: Chrome::new(ctx, "ops"),
        matter,
        since,
        until,
        limit: if limit.is_empty() {
            DEFAULT_LIMIT.to_string()
        } else {
            limit
        },
        outcomes,
        errors,
        records: Vec::new(),
    };
    (page, query)
}

/// `GET /admin/ops/audit`: the filters, and the records they select, newest first.
pub fn page(p: &dyn Platform, ctx: &Ctx, req: &Request<'_>) -> Reply {
    let (mut page, query) = query(ctx, req);
    let Some(query) = query else {
        return page::render(422, &page);
    };
    match audit::read(p, &query) {
        Ok(records) => {
            page.records = records
                .into_iter()
                .map(|r| Line {
                    at: time::iso(r.at),
                    failed: !matches!(
                        r.outcome.as_str(),
                        "ok" | "unchanged" | "none" | "several" | "skipped"
                    ),
                    action: r.action,
                    matter: r.matter_id,
                    outcome: r.outcome,
                    detail: r.detail,
                    request_id: r.request_id.unwrap_or_default(),
                })
                .collect();
            page::render(200, &page)
        }
        Err(e) => page::error(ctx, &e),
    }
}
