//! Backfill from an uploaded CSV (`/admin/ops/backfill`). The upload is read with the CLI's own
//! CSV reading (`matters_csv`) and stored as a job (`backfill_job`); the job's page shows its
//! progress, and each `POST …/step` runs the next matters within a few seconds — posted again
//! and again by the page's script, or by the administrator's button without it. When every
//! row is done, the report downloads as CSV with the CLI's report's columns.

use askama::Template;
use serde_json::json;

use crate::backfill_job::{self, Job, Kind, Progress, Step};
use crate::console::multipart;
use crate::console::page::{self, Chrome};
use crate::console::{Ctx, Request};
use crate::http_parts::Reply;
use crate::model::Error;
use crate::platform::Platform;

use super::time;

/// How long one step runs matters, by the platform's clock: well inside a browser's and a
/// proxy's patience, and a host's request deadline.
pub const STEP_BUDGET_S: u64 = 5;

/// How many recorded outcomes the job's page lists (the report has them all).
const SHOWN_ENTRIES: usize = 200;

/// A job in the list of backfills.
struct JobLine {
    id: String,
    file_name: String,
    started_by: String,
    started_at: String,
    done: u64,
    total: u64,
}

#[derive(Template)]
#[template(path = "console/ops_backfill.html")]
struct UploadPage {
    chrome: Chrome,
    create_missing: bool,
    file_error: Option<String>,
    jobs: Vec<JobLine>,
}

/// A recorded outcome as the job's page lists it.
struct EntryLine {
    line: u64,
    matter: String,
    outcome: &'static str,
    good: bool,
    workspace: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "console/ops_backfill_job.html")]
struct JobPage {
    chrome: Chrome,
    job: Job,
    started_at: String,
    progress: Progress,
    finished: bool,
    busy: bool,
    entries: Vec<EntryLine>,
    more: usize,
}

fn upload_page(
    p: &dyn Platform,
    ctx: &Ctx,
    create_missing: bool,
    file_error: Option<String>,
) -> Reply {
    let jobs = match backfill_job::list(p) {
        Ok(j) => j,
        Err(e) => return page::error(ctx, &e),
    };
    let mut lines = Vec::new();
    for j in jobs {
        let done = match backfill_job::progress(p, &j.id) {
            Ok(pr) => pr.done,
            Err(e) => return page::error(ctx, &e),
        };
        lines.push(JobLine {
            started_at: time::iso(j.started_at),
            id: j.id,
            file_name: j.file_name,
            started_by: j.started_by,
            done,
            total: j.total,
        });
    }
    let status = if file_error.is_some() { 422 } else { 200 };
    page::render(
        status,
        &UploadPage {
            chrome: Chrome::new(ctx, "ops"),
            create_missing,
            file_error,
            jobs: lines,
        },
    )
}

/// `GET /admin/ops/backfill`: the upload form and the backfills so far.
pub fn page(p: &dyn Platform, ctx: &Ctx) -> Reply {
    upload_page(p, ctx, false, None)
}

/// `POST /admin/ops/backfill` (multipart): reads the CSV, stores the job, and sends the browser
/// to its page. A file that cannot be read is refused beside the file field.
pub fn upload(p: &dyn Platform, ctx: &Ctx, req: &Request<'_>) -> Reply {
    let content_type = req.head.header("content-type").unwrap_or_default();
    let parts = match multipart::parse(content_type, &req.body) {
        Ok(parts) => parts,
        Err(e) => {
            return upload_page(
                p,
                ctx,
                false,
                Some(format!("The upload could not be read: {e}.")),
            )
        }
    };
    let create_missing = multipart::field(&parts, "create_missing").is_some();
    let refuse = |why: String| upload_page(p, ctx, create_missing, Some(why));
    let Some(file) = multipart::field(&parts, "file").filter(|f| !f.data.is_empty()) else {
        return refuse("Choose a CSV file of matters.".into());
    };
    // As the browser names it, shown back on the pages (escaped); a long one is cut.
    let name: String = file
        .filename
        .as_deref()
        .unwrap_or("upload.csv")
        .chars()
        .take(200)
        .collect();
    match backfill_job::start(p, &file.data, create_missing, ctx.user(), &name) {
        Ok(job) => page::redirect(&ctx.url(&format!("/ops/backfill/{}", job.id))),
        // The file's refusal, as the CLI words it, beside the file field.
        Err(Error::InvalidMatter(why)) => refuse(format!("This file cannot be used: {why}.")),
        Err(e) => page::error(ctx, &e),
    }
}

fn find(p: &dyn Platform, ctx: &Ctx, id: &str) -> Result<Job, Reply> {
    match backfill_job::load(p, id) {
        Ok(Some(job)) => Ok(job),
        Ok(None) => Err(page::status(
            ctx,
            404,
            "Not found",
            "There is no such backfill.",
        )),
        Err(e) => Err(page::error(ctx, &e)),
    }
}

/// `GET /admin/ops/backfill/{job}`: progress, what has been done, the next step or the report.
pub fn job_page(p: &dyn Platform, ctx: &Ctx, req: &Request<'_>, id: &str) -> Reply {
    let job = match find(p, ctx, id) {
        Ok(j) => j,
        Err(reply) => return reply,
    };
    let (progress, entries) = match backfill_job::progress(p, &job.id)
        .and_then(|pr| backfill_job::entries(p, &job).map(|es| (pr, es)))
    {
        Ok(v) => v,
        Err(e) => return page::error(ctx, &e),
    };
    let more = entries.len().saturating_sub(SHOWN_ENTRIES);
    let entries = entries
        .into_iter()
        .take(SHOWN_ENTRIES)
        .map(|e| EntryLine {
            line: e.line,
            good: matches!(e.kind, Kind::AlreadyLinked | Kind::Linked | Kind::Created),
            outcome: e.kind.as_str(),
            workspace: e
                .workspace
                .map(|w| format!("{} ({})", w.name, w.id))
                .unwrap_or_default(),
            detail: match (e.error, e.reason) {
                (Some(k), Some(r)) => format!("{k}: {r}"),
                (None, Some(r)) => r,
                _ if !e.candidates.is_empty() => format!(
                    "candidates: {}",
                    e.candidates
                        .iter()
                        .map(|c| format!("{} ({})", c.name, c.id))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                _ => String::new(),
            },
            matter: e.matter_id,
        })
        .collect();
    let finished = progress.done >= job.total;
    page::render(
        200,
        &JobPage {
            chrome: Chrome::new(ctx, "ops"),
            started_at: time::iso(job.started_at),
            finished,
            busy: req.head.query("busy").is_some() && !finished,
            job,
            progress,
            entries,
            more,
        },
    )
}

/// `POST /admin/ops/backfill/{job}/step`: runs the next matters for up to `STEP_BUDGET_S`.
/// The page's script asks for JSON (`Accept: application/json`) and posts again until the job
/// is finished; without it, the answer is the job's page again (303).
pub fn step(p: &dyn Platform, ctx: &Ctx, req: &Request<'_>, id: &str) -> Reply {
    let job = match find(p, ctx, id) {
        Ok(j) => j,
        Err(reply) => return reply,
    };
    let wants_json = req
        .head
        .header("accept")
        .is_some_and(|a| a.contains("application/json"));
    let result = backfill_job::step(p, &job, STEP_BUDGET_S)
        .and_then(|s| backfill_job::progress(p, &job.id).map(|pr| (s, pr)));
    if wants_json {
        let (status, body) = match result {
            Ok((s, pr)) => (
                200,
                json!({
                    "busy": s == Step::Busy,
                    "finished": pr.done >= job.total,
                    "total": job.total,
                    "progress": pr,
                }),
            ),
            Err(e) => (503, json!({"error": e.kind(), "message": e.message()})),
        };
        return Reply::new(status, "application/json", body.to_string().into_bytes());
    }
    match result {
        Ok((Step::Busy, _)) => {
            page::redirect(&ctx.url(&format!("/ops/backfill/{}?busy=1", job.id)))
        }
        Ok(_) => page::redirect(&ctx.url(&format!("/ops/backfill/{}", job.id))),
        Err(e) => page::error(ctx, &e),
    }
}

/// `GET /admin/ops/backfill/{job}/report.csv`: every outcome recorded so far, as a download.
pub fn report(p: &dyn Platform, ctx: &Ctx, id: &str) -> Reply {
    let job = match find(p, ctx, id) {
        Ok(j) => j,
        Err(reply) => return reply,
    };
    match backfill_job::report_csv(p, &job) {
        Ok(csv) => Reply::new(200, "text/csv; charset=utf-8", csv).with_header(
            "content-disposition",
            format!("attachment; filename=\"backfill-{}.csv\"", job.id),
        ),
        Err(e) => page::error(ctx, &e),
    }
}
