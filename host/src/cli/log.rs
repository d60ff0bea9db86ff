//! `matterlink log`: the audit trail, newest first.

use std::process::ExitCode;

use anyhow::Result;
use matterlink_component::audit::OUTCOMES;
use matterlink_host::domain::AuditQuery;

use super::{load_runtime, print_outcome, Global};

/// Which records to show.
#[derive(clap::Args)]
pub struct Args {
    /// Only this matter's records.
    #[arg(long)]
    matter: Option<String>,
    /// Only records with this outcome: ok, unchanged, none, several or an error kind.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(OUTCOMES))]
    outcome: Option<String>,
    /// From this time: RFC 3339 (`2026-11-25T09:00:00Z`), a date, or an age such as `2h`.
    #[arg(long, value_parser = parse_time)]
    since: Option<u64>,
    /// Up to this time, in the same forms.
    #[arg(long, value_parser = parse_time)]
    until: Option<u64>,
    #[arg(long, default_value_t = 100)]
    limit: u32,
    #[arg(long)]
    json: bool,
}

/// A point in time as Unix seconds: RFC 3339, a bare date (midnight UTC), or an age before now
/// (`90m`, `2h`, `7d`).
fn parse_time(text: &str) -> Result<u64, String> {
    let now = std::time::SystemTime::now();
    let at = if let Ok(age) = humantime::parse_duration(text) {
        now.checked_sub(age).ok_or("that age reaches before 1970")?
    } else if let Ok(t) = humantime::parse_rfc3339_weak(text) {
        t
    } else if let Ok(t) = humantime::parse_rfc3339_weak(&format!("{text}T00:00:00Z")) {
        t
    } else {
        return Err(format!(
            "{text:?} is not a time: use 2026-11-25T09:00:00Z, 2026-11-25 or an age like 2h"
        ));
    };
    Ok(at
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0))
}

/// Prints one line per record, or JSON with `--json`.
pub async fn run(g: &Global, a: Args) -> Result<ExitCode> {
    let runtime = load_runtime(g).await?;
    let query = AuditQuery {
        matter_id: a.matter,
        outcome: a.outcome,
        since: a.since,
        until: a.until,
        limit: a.limit,
    };
    match runtime.audit_log(&query).await? {
        Ok(records) if !a.json => {
            for r in records {
                let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(r.at);
                println!(
                    "{}  {:<16} {:<12} {:<12} {}",
                    humantime::format_rfc3339_seconds(at),
                    r.action,
                    r.matter_id,
                    r.outcome,
                    r.detail,
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        answer => print_outcome(answer.map(|r| serde_json::json!(r)), a.json),
    }
}
