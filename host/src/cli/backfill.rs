//! `matterlink backfill FILE`: every legacy matter of a file linked (or provisioned); resumable.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use matterlink_host::{backfill, batch};

use super::{interrupted, load_runtime_for, print, usage, Global};

/// The file and how to run through it.
#[derive(clap::Args)]
pub struct Args {
    /// Matters as CSV (with a header) or JSON Lines (one matter record per line).
    file: PathBuf,
    /// Provision matters that have no workspace instead of reporting them.
    #[arg(long)]
    create_missing: bool,
    /// Matters in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: u16,
    /// At most this many matters started per second.
    #[arg(long)]
    rate: Option<f64>,
    /// Run at most this many matters now; a rerun continues.
    #[arg(long)]
    limit: Option<usize>,
    /// Write the report here: `.json` or `.csv`.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Change nothing: print each matter's planned iManage requests.
    #[arg(long)]
    dry_run: bool,
    /// Print the report as JSON on stdout instead of the summary.
    #[arg(long)]
    json: bool,
}

/// Runs `backfill`.
pub async fn run(g: &Global, a: Args) -> Result<ExitCode> {
    if let Some(Err(e)) = a.report.as_deref().map(backfill::check_report_path) {
        return Ok(usage(e));
    }
    if a.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        return Ok(usage(
            "--rate must be a positive number of matters per second",
        ));
    }
    let runtime = Arc::new(load_runtime_for(g, a.dry_run).await?);
    let opts = backfill::Options {
        file: a.file,
        create_missing: a.create_missing,
        batch: batch::Options {
            concurrency: usize::from(a.concurrency),
            rate: a.rate,
        },
        limit: a.limit,
        report: a.report,
        show_progress: true,
    };
    match backfill::run(runtime, &opts, interrupted()).await {
        Ok(outcome) => print::backfill(&outcome, &opts, a.json),
        // An unreadable file or header is the caller's to fix.
        Err(e) => Ok(usage(format!("{e:#}"))),
    }
}
