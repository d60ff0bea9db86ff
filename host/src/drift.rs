//! `matterlink drift FILE [--fix]`: every matter of a file compared with its workspace through
//! the component's `drift` export, which also makes the repairs; this module only schedules and
//! collects.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;

use crate::batch::{self, Progress};
use crate::calls::{Args, Function};
use crate::dry_run::PlannedRequest;
use crate::matters_file;
use crate::runtime::Runtime;

#[derive(Debug, Clone)]
pub struct Options {
    pub file: PathBuf,
    pub fix: bool,
    pub batch: batch::Options,
    pub show_progress: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Matter and workspace agree.
    InStep,
    /// They differ (after `--fix`: something the normal paths do not repair remains).
    Drift,
    /// Every difference was repaired.
    Fixed,
    NotLinked,
    Skipped,
    Failed,
}

impl State {
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

#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub line: u64,
    pub matter_id: String,
    pub state: State,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<Value>,
    /// After `--fix`, what still differs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remaining: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
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

    fn from_report(line: u64, matter_id: &str, v: &Value) -> Entry {
        let list = |k: &str| v[k].as_array().cloned().unwrap_or_default();
        let (differences, remaining) = (list("differences"), list("remaining"));
        let state = match (differences.is_empty(), remaining.is_empty()) {
            (true, _) => State::InStep,
            (false, true) => State::Fixed,
            (false, false) => State::Drift,
        };
        let mut e = Entry::new(line, matter_id, state);
        e.differences = differences;
        if v["fixed"].as_bool() == Some(true) {
            e.remaining = remaining;
        }
        e
    }
}

pub struct Outcome {
    pub dry_run: bool,
    pub entries: Vec<Entry>,
    /// In a dry run: the requests each matter would have made (input order).
    pub plans: Vec<(String, Vec<PlannedRequest>)>,
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
                let args = Args {
                    matter: Some(m),
                    fix,
                    ..Args::default()
                };
                let (entry, plan) = match rt.call_planned(Function::Drift, args).await {
                    Ok((Ok(v), plan)) => (Entry::from_report(line, &id, &v), plan),
                    Ok((Err(e), plan)) => {
                        let state = match e.kind.as_str() {
                            "not-linked" => State::NotLinked,
                            "skipped" => State::Skipped,
                            _ => State::Failed,
                        };
                        (Entry::failed(line, &id, state, &e.kind, e.message), plan)
                    }
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
