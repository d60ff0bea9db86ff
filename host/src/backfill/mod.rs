//! `matterlink backfill FILE`: every matter of a file through the component's `backfill-matter`.
//!
//! The host only schedules (`batch`), remembers what is done (`resume`), and reports
//! (`report`); what happens to each matter is the component's decision. A matter counts as done
//! once linked or created: a rerun of the same file skips it and says so, while matters that
//! needed a URL, were skipped or failed are tried again (a person may have fixed them since).

pub mod report;
pub mod resume;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;

use crate::batch::{self, Progress};
use crate::calls::{Args, Function};
use crate::dry_run::PlannedRequest;
use crate::matters_file;
use crate::runtime::Runtime;
use report::{Entry, Kind, Report, WorkspaceRef};
use resume::Resume;

#[derive(Debug, Clone)]
pub struct Options {
    pub file: PathBuf,
    pub create_missing: bool,
    pub batch: batch::Options,
    /// Run at most this many matters now (the rest wait for a rerun).
    pub limit: Option<usize>,
    pub report: Option<PathBuf>,
    /// Show a progress bar or lines.
    pub show_progress: bool,
}

/// What a backfill did.
pub struct Outcome {
    pub report: Report,
    /// In a dry run: each matter run (input order) with the requests it would have made.
    pub plans: Vec<(Entry, Vec<PlannedRequest>)>,
    pub interrupted: bool,
}

/// Runs the backfill; when `stop` resolves (Ctrl-C in the CLI) no further matter starts.
pub async fn run(
    runtime: Arc<Runtime>,
    opts: &Options,
    stop: impl std::future::Future<Output = ()>,
) -> Result<Outcome> {
    let file = matters_file::read(&opts.file)?;
    let resume = Resume::new(runtime.key_value(), &file.identity);
    let mut entries = Vec::new();
    let mut jobs = Vec::new();
    for row in file.rows {
        let id = row.matter_id.clone().unwrap_or_default();
        match row.matter {
            Err(reason) => entries.push(Entry::failed(row.line, &id, "invalid-row", reason)),
            Ok(m) => match resume.done(&m.id).await? {
                Some(mut earlier) => {
                    earlier.earlier_run = true;
                    earlier.line = row.line;
                    entries.push(earlier);
                }
                None => jobs.push((row.line, m)),
            },
        }
    }
    let not_run = opts.limit.map_or(0, |l| jobs.len().saturating_sub(l));
    jobs.truncate(jobs.len() - not_run);
    let planned = jobs.len();
    let progress = Arc::new(if opts.show_progress {
        Progress::new("backfill", jobs.len() as u64)
    } else {
        Progress::hidden(jobs.len() as u64)
    });
    let create_missing = opts.create_missing;
    let rt = runtime.clone();
    let resume = Arc::new(resume);
    let store = resume.clone();
    let ran = batch::run(
        jobs.into_iter().enumerate().collect(),
        &opts.batch,
        progress,
        stop,
        move |(line, m)| {
            let (rt, store) = (rt.clone(), store.clone());
            async move {
                let id = m.id.clone();
                let args = Args {
                    matter: Some(m),
                    create_missing,
                    ..Args::default()
                };
                let (entry, plan) = match rt.call_planned(Function::BackfillMatter, args).await {
                    Ok((Ok(v), plan)) => (Entry::from_outcome(line, &id, &v), plan),
                    Ok((Err(e), plan)) => (Entry::from_error(line, &id, &e.kind, e.message), plan),
                    // The host itself failed (a trap): reported, and the others carry on.
                    Err(e) => (
                        Entry::failed(line, &id, "host-error", format!("{e:#}")),
                        Vec::new(),
                    ),
                };
                if entry.kind.is_done() {
                    if let Err(e) = store.record(&entry).await {
                        tracing::warn!(matter = %id, error = %e, "could not record backfill progress");
                    }
                }
                let label = entry.kind.label();
                ((entry, plan), label)
            }
        },
    )
    .await;
    let interrupted = ran.interrupted;
    let ran_count = ran.results.len();
    let mut plans = Vec::new();
    for (_, (entry, plan)) in ran.results {
        if runtime.is_dry_run() {
            plans.push((entry.clone(), plan));
        }
        entries.push(entry);
    }
    entries.sort_by_key(|e| e.line);
    let report = Report::new(
        &opts.file,
        runtime.is_dry_run(),
        entries,
        // Left for a rerun: beyond `--limit`, or never started after Ctrl-C.
        not_run + (planned - ran_count),
    );
    Ok(Outcome {
        report,
        plans,
        interrupted,
    })
}

/// The report file's format, from its extension; checked before anything runs.
pub fn check_report_path(path: &Path) -> Result<(), String> {
    report::Format::of(path).map(|_| ())
}

impl Entry {
    fn from_outcome(line: u64, id: &str, v: &serde_json::Value) -> Entry {
        let ws = |v: &serde_json::Value| WorkspaceRef {
            id: v["id"].as_str().unwrap_or_default().into(),
            name: v["name"].as_str().unwrap_or_default().into(),
            url: v["url"].as_str().unwrap_or_default().into(),
        };
        let kind = match v["kind"].as_str() {
            Some("already-linked") => Kind::AlreadyLinked,
            Some("linked") => Kind::Linked,
            Some("created") => Kind::Created,
            _ => Kind::NeedsUrl,
        };
        let mut e = Entry::new(line, id, kind);
        if kind == Kind::NeedsUrl {
            e.candidates = v["candidates"]
                .as_array()
                .map(|c| c.iter().map(ws).collect())
                .unwrap_or_default();
        } else {
            e.workspace = Some(ws(&v["workspace"]));
        }
        e
    }

    fn from_error(line: u64, id: &str, kind: &str, reason: String) -> Entry {
        if kind == "skipped" {
            let mut e = Entry::new(line, id, Kind::Skipped);
            e.reason = Some(reason);
            return e;
        }
        Entry::failed(line, id, kind, reason)
    }
}
