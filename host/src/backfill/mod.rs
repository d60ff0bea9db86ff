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
use matterlink_component::backfill::Outcome as BackfillOutcome;
use matterlink_component::model::Error;

use crate::batch::{self, Progress};
use crate::dry_run::PlannedRequest;
use crate::matters_file;
use crate::runtime::Runtime;
use report::{Entry, Kind, Report, WorkspaceRef};
use resume::Resume;

/// How to run a backfill.
#[derive(Debug, Clone)]
pub struct Options {
    /// The matters file (CSV with a header, or JSON Lines).
    pub file: PathBuf,
    /// Provision matters that have no workspace.
    pub create_missing: bool,
    /// Concurrency and rate.
    pub batch: batch::Options,
    /// Run at most this many matters now (the rest wait for a rerun).
    pub limit: Option<usize>,
    /// Where to write the report (`.json` or `.csv`).
    pub report: Option<PathBuf>,
    /// Show a progress bar or lines.
    pub show_progress: bool,
}

/// What a backfill did.
pub struct Outcome {
    /// The report: every matter and what happened to it.
    pub report: Report,
    /// In a dry run: each matter run (input order) with the requests it would have made.
    pub plans: Vec<(Entry, Vec<PlannedRequest>)>,
    /// Whether `stop` cut the run short.
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
                let ran = match rt.instance().await {
                    Ok(mut call) => call
                        .backfill_matter(&m, create_missing)
                        .await
                        .map(|answer| (answer, call.plan())),
                    Err(e) => Err(e),
                };
                let (entry, plan) = match ran {
                    Ok((Ok(outcome), plan)) => (Entry::from_outcome(line, &id, outcome), plan),
                    Ok((Err(e), plan)) => (Entry::from_error(line, &id, e), plan),
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
    fn from_outcome(line: u64, id: &str, outcome: BackfillOutcome) -> Entry {
        let (kind, workspace, candidates) = match outcome {
            BackfillOutcome::AlreadyLinked { workspace } => {
                (Kind::AlreadyLinked, Some(workspace), vec![])
            }
            BackfillOutcome::Linked { workspace } => (Kind::Linked, Some(workspace), vec![]),
            BackfillOutcome::Created { workspace } => (Kind::Created, Some(workspace), vec![]),
            BackfillOutcome::NeedsUrl { candidates } => (Kind::NeedsUrl, None, candidates),
        };
        let mut e = Entry::new(line, id, kind);
        e.workspace = workspace.map(WorkspaceRef::from);
        e.candidates = candidates.into_iter().map(WorkspaceRef::from).collect();
        e
    }

    fn from_error(line: u64, id: &str, error: Error) -> Entry {
        let (kind, reason) = (error.kind(), error.message().to_string());
        if let Error::Skipped(_) = error {
            let mut e = Entry::new(line, id, Kind::Skipped);
            e.reason = Some(reason);
            return e;
        }
        Entry::failed(line, id, kind, reason)
    }
}
