//! `matterlink drift FILE [--fix]`: every matter of a file compared with its workspace through
//! the component's `drift` export, which also makes the repairs; this module only schedules and
//! collects.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use matterlink_component::drift::{Difference, Report as DriftReport};
use matterlink_component::model::Error;
use serde::Serialize;

use crate::batch::{self, Progress};
use crate::dry_run::PlannedRequest;
use crate::matters_file;
use crate::runtime::Runtime;

/// How to run a drift comparison.
#[derive(Debug, Clone)]
pub struct Options {
    /// The matters file (CSV with a header, or JSON Lines).
    pub file: PathBuf,
    /// Repair the differences through the normal paths.
    pub fix: bool,
    /// Concurrency.
    pub batch: batch::Options,
    /// Show a progress bar or lines.
    pub show_progress: bool,
}

/// Where one matter stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Matter and workspace agree.
    InStep,
    /// They differ (after `--fix`: something the normal paths do not repair remains).
    Drift,
    /// Every difference was repaired.
    Fixed,
    /// The matter has no workspace linked.
    NotLinked,
    /// The integration does not apply to it.
    Skipped,
    /// The comparison failed; `error` and `reason` say why.
    Failed,
}

impl State {
    /// The label progress and the summary count it under.
    pub fn label(self) -> &'static str {
        match self {
            State::InStep => "in step",
            State::Drift => "drift",
            State::Fixed => "fixed",
            State::NotLinked => "not linked",
            State::Skipped => "skipped",
            State::Failed => "failed",
        }
    }
}

/// One matter's line of the result.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// The line of the file the matter came from.
    pub line: u64,
    /// The matter's id.
    pub matter_id: String,
    /// Where it stands.
    pub state: State,
    /// What differs (before any repair).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<Difference>,
    /// After `--fix`, what still differs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remaining: Vec<Difference>,
    /// The error kind of a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why it failed or was skipped, for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Entry {
    fn new(line: u64, matter_id: &str, state: State) -> Entry {
        Entry {
            line,
            matter_id: matter_id.to_string(),
            state,
            differences: Vec::new(),
            remaining: Vec::new(),
            error: None,
            reason: None,
        }
    }

    fn failed(line: u64, matter_id: &str, state: State, error: &str, reason: String) -> Entry {
        let mut e = Entry::new(line, matter_id, state);
        e.error = Some(error.to_string());
        e.reason = Some(reason);
        e
    }

    fn from_report(line: u64, matter_id: &str, report: DriftReport) -> Entry {
        let state = match (report.differences.is_empty(), report.remaining.is_empty()) {
            (true, _) => State::InStep,
            (false, true) => State::Fixed,
            (false, false) => State::Drift,
        };
        let mut e = Entry::new(line, matter_id, state);
        e.differences = report.differences;
        if report.fixed {
            e.remaining = report.remaining;
        }
        e
    }

    fn from_error(line: u64, matter_id: &str, error: Error) -> Entry {
        let state = match error {
            Error::NotLinked(_) => State::NotLinked,
            Error::Skipped(_) => State::Skipped,
            _ => State::Failed,
        };
        let reason = error.message().to_string();
        Entry::failed(line, matter_id, state, error.kind(), reason)
    }
}

/// What a drift run found (and repaired).
pub struct Outcome {
    /// Whether nothing was changed.
    pub dry_run: bool,
    /// Every matter, in file order.
    pub entries: Vec<Entry>,
    /// In a dry run: the requests each matter would have made (input order).
    pub plans: Vec<(String, Vec<PlannedRequest>)>,
    /// Whether `stop` cut the run short.
    pub interrupted: bool,
}

/// Compares (and repairs) every matter; when `stop` resolves no further matter starts.
pub async fn run(
    runtime: Arc<Runtime>,
    opts: &Options,
    stop: impl std::future::Future<Output = ()>,
) -> Result<Outcome> {
    let file = matters_file::read(&opts.file)?;
    let mut entries = Vec::new();
    let mut jobs = Vec::new();
    for row in file.rows {
        match row.matter {
            Ok(m) => jobs.push((row.line, m)),
            Err(reason) => entries.push(Entry::failed(
                row.line,
                &row.matter_id.unwrap_or_default(),
                State::Failed,
                "invalid-row",
                reason,
            )),
        }
    }
    let total = jobs.len() as u64;
    let progress = Arc::new(if opts.show_progress {
        Progress::new("drift", total)
    } else {
        Progress::hidden(total)
    });
    let (rt, fix) = (runtime.clone(), opts.fix);
    let ran = batch::run(
        jobs.into_iter().enumerate().collect(),
        &opts.batch,
        progress,
        stop,
        move |(line, m)| {
            let rt = rt.clone();
            async move {
                let id = m.id.clone();
                let ran = match rt.instance().await {
                    Ok(mut call) => call.drift(&m, fix).await.map(|a| (a, call.plan())),
                    Err(e) => Err(e),
                };
                let (entry, plan) = match ran {
                    Ok((Ok(report), plan)) => (Entry::from_report(line, &id, report), plan),
                    Ok((Err(e), plan)) => (Entry::from_error(line, &id, e), plan),
                    Err(e) => (
                        Entry::failed(line, &id, State::Failed, "host-error", format!("{e:#}")),
                        Vec::new(),
                    ),
                };
                let label = entry.state.label();
                ((entry, plan), label)
            }
        },
    )
    .await;
    let mut plans = Vec::new();
    for (_, (entry, plan)) in ran.results {
        if runtime.is_dry_run() {
            plans.push((entry.matter_id.clone(), plan));
        }
        entries.push(entry);
    }
    entries.sort_by_key(|e| e.line);
    Ok(Outcome {
        dry_run: runtime.is_dry_run(),
        entries,
        plans,
        interrupted: ran.interrupted,
    })
}

/// Counts by state, for the summary.
pub fn counts(entries: &[Entry]) -> Vec<(State, usize)> {
    [
        State::InStep,
        State::Drift,
        State::Fixed,
        State::NotLinked,
        State::Skipped,
        State::Failed,
    ]
    .into_iter()
    .map(|s| (s, entries.iter().filter(|e| e.state == s).count()))
    .filter(|(_, n)| *n > 0)
    .collect()
}
