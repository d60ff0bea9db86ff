//! `matterlink check`: the connection report, exit 1 when a check fails.

use std::process::ExitCode;

use anyhow::Result;

use super::{load_runtime, Global};

/// Prints the ✓/✗ report.
pub async fn run(g: &Global) -> Result<ExitCode> {
    let runtime = load_runtime(g).await?;
    Ok(match runtime.check_connection().await? {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        // The report with its ✗ lines is the message of the typed error.
        Err(e) => {
            println!("{}", e.message());
            ExitCode::from(1)
        }
    })
}
