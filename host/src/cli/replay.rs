//! `matterlink replay`: the failed events run again (or listed).

use std::process::ExitCode;

use anyhow::Result;

use super::{load_runtime, print_outcome, Global};

/// Replay, or only list.
#[derive(clap::Args)]
pub struct Args {
    /// Only list the failed events.
    #[arg(long)]
    list: bool,
    #[arg(long)]
    json: bool,
}

/// Runs `replay`: exit 1 when events still fail afterwards, for scripts to notice.
pub async fn run(g: &Global, a: Args) -> Result<ExitCode> {
    let runtime = load_runtime(g)?;
    if a.list {
        let answer = runtime.failed_events().await?;
        return print_outcome(answer.map(|list| serde_json::json!(list)), a.json);
    }
    let answer = runtime.replay_events().await?;
    let still_failing = answer
        .as_ref()
        .is_ok_and(|report| !report.still_failing.is_empty());
    let code = print_outcome(answer.map(|report| serde_json::json!(report)), a.json)?;
    Ok(if still_failing {
        ExitCode::from(1)
    } else {
        code
    })
}
