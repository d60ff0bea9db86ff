//! `matterlink replay`: the failed events run again (or listed).

use std::process::ExitCode;

use anyhow::Result;

use matterlink_component::events::DeadLetter;
use matterlink_component::held::HeldDelivery;
use matterlink_host::keyvalue::runtime_config::COMPONENT_STORE;

use super::{load_runtime, print_outcome, Global};

/// Replay, or only list.
#[derive(clap::Args)]
pub struct Args {
    /// Only list the failed events (and, as text, the held hook deliveries).
    #[arg(long)]
    list: bool,
    #[arg(long)]
    json: bool,
}

/// Runs `replay`: exit 1 when events still fail (or hook deliveries are still held)
/// afterwards, for scripts to notice.
pub async fn run(g: &Global, a: Args) -> Result<ExitCode> {
    let runtime = load_runtime(g).await?;
    if a.list {
        return match runtime.failed_events().await? {
            Ok(list) if !a.json => {
                print!("{}", failed_table(&list));
                // The hook deliveries a replay also runs, read from the same store (the JSON
                // stays the list of failed events: `status` and the metrics count these).
                let kv = runtime
                    .stores()
                    .get(COMPONENT_STORE)
                    .ok_or_else(|| anyhow::anyhow!("no component store"))?;
                print!(
                    "{}",
                    held_table(&matterlink_host::metrics::held_deliveries(kv.as_ref()).await?)
                );
                Ok(ExitCode::SUCCESS)
            }
            answer => print_outcome(answer.map(|list| serde_json::json!(list)), a.json),
        };
    }
    let answer = runtime.replay_events().await?;
    let still_failing = answer
        .as_ref()
        .is_ok_and(|report| !report.still_failing.is_empty() || !report.still_held.is_empty());
    let code = print_outcome(answer.map(|report| serde_json::json!(report)), a.json)?;
    Ok(if still_failing {
        ExitCode::from(1)
    } else {
        code
    })
}

/// The held hook deliveries for people, one line each, oldest first; nothing when none is held.
fn held_table(list: &[HeldDelivery]) -> String {
    if list.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\n{:<45} {:<11} {:>8}  {:<20}  {}\n",
        "HELD DELIVERY", "SOURCE", "ATTEMPTS", "LAST FAILED", "WHY"
    );
    for h in list {
        out.push_str(&format!(
            "{:<45} {:<11} {:>8}  {:<20}  {}: {}\n",
            h.id,
            h.source,
            h.attempts,
            rfc3339(h.last_failed_at),
            h.kind,
            h.reason,
        ));
    }
    out
}

fn rfc3339(at: u64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(at);
    humantime::format_rfc3339_seconds(at).to_string()
}

/// The failed events as a table for people, one line each, oldest first.
fn failed_table(list: &[DeadLetter]) -> String {
    if list.is_empty() {
        return "no failed events\n".to_string();
    }
    let mut out = format!(
        "{:<24} {:<18} {:<10} {:>8}  {:<20}  {}\n",
        "EVENT", "TYPE", "MATTER", "ATTEMPTS", "LAST FAILED", "ERROR"
    );
    for d in list {
        let kind = serde_json::to_value(d.event.kind)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        out.push_str(&format!(
            "{:<24} {:<18} {:<10} {:>8}  {:<20}  {}: {}\n",
            d.event.id,
            kind,
            d.event.matter.id,
            d.attempts,
            rfc3339(d.last_failed_at),
            d.kind,
            d.reason,
        ));
    }
    out
}
