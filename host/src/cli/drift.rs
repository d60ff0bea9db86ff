//! `matterlink drift FILE [--fix]`: matters compared with their workspaces.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use matterlink_host::{batch, drift};

use super::{interrupted, load_runtime_for, print, usage, Global};

/// The file and what to do with differences.
#[derive(clap::Args)]
pub struct Args {
    /// Matters as CSV (with a header) or JSON Lines.
    file: PathBuf,
    /// Repair through on-matter-updated / on-matter-closed / on-matter-reopened.
    #[arg(long)]
    fix: bool,
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: u16,
    /// Change nothing: with --fix, print the repairs' planned iManage requests.
    #[arg(long)]
    dry_run: bool,
    #[arg(long)]
    json: bool,
}

/// Runs `drift`.
pub async fn run(g: &Global, a: Args) -> Result<ExitCode> {
    let runtime = Arc::new(load_runtime_for(g, a.dry_run).await?);
    let opts = drift::Options {
        file: a.file,
        fix: a.fix,
        batch: batch::Options {
            concurrency: usize::from(a.concurrency),
            rate: None,
        },
        show_progress: true,
    };
    match drift::run(runtime, &opts, interrupted()).await {
        Ok(outcome) => print::drift(&outcome, a.fix, a.json),
        Err(e) => Ok(usage(format!("{e:#}"))),
    }
}
