//! `matterlink demo`: a sample matter provisioned against an in-process sandbox.

use std::process::ExitCode;

use anyhow::Result;
use matterlink_host::demo;

use super::{component_bytes, Global};

/// Runs the demo in a throwaway data directory unless `--data-dir` names one: the demo must not
/// touch a real installation's links.
pub async fn run(g: &Global) -> Result<ExitCode> {
    let component = component_bytes(g)?;
    let temp = tempfile::tempdir()?;
    let data_dir = g
        .data_dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    demo::run(&component, &data_dir, &mut std::io::stdout()).await?;
    Ok(ExitCode::SUCCESS)
}
