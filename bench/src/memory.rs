//! Host peak memory with many concurrent events: measured in a child process (this binary again),
//! so that the sandbox and the benchmark's own data are not counted. The child loads the runtime
//! from the compiled-code cache the parent filled (as a restarted `matterlink serve` does), runs
//! the events at once against the parent's sandbox, and reports its peak resident set (VmHWM).

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use matterlink_host::{Function, Runtime, RuntimeOptions, EMBEDDED_COMPONENT};

use crate::setup;

pub struct Memory {
    pub events: usize,
    /// Peak resident set once the runtime is loaded, before any event.
    pub loaded: u64,
    /// Peak resident set after the concurrent events.
    pub peak: u64,
}

/// `VmHWM` of this process, in bytes.
pub fn peak_rss() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM in /proc/self/status")?;
    Ok(kib * 1024)
}

pub async fn measure(events: usize, latency_ms: u64) -> Result<Memory> {
    let sandbox = setup::sandbox().await?;
    let dir = tempfile::tempdir()?;
    {
        // Compile once into the cache, and sign in: the child starts as a warm installation.
        let rt = setup::runtime(&sandbox, dir.path())?;
        if let Err(e) = rt
            .call(Function::OnMatterCreated, setup::matter("P-0"))
            .await?
        {
            bail!("warm-up failed: {e}");
        }
    }
    // Latency keeps every event in flight at once.
    setup::set_latency(&sandbox, latency_ms);
    let out = tokio::process::Command::new(std::env::current_exe()?)
        .arg("child-memory")
        .arg(sandbox.base_url())
        .arg(dir.path())
        .arg(events.to_string())
        .output()
        .await?;
    setup::set_latency(&sandbox, 0);
    if !out.status.success() {
        bail!(
            "the memory child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    Ok(Memory {
        events,
        loaded: v["loaded"].as_u64().unwrap_or(0),
        peak: v["peak"].as_u64().unwrap_or(0),
    })
}

/// The child's side: prints `{"loaded": bytes, "peak": bytes}`.
pub async fn child(base_url: &str, data_dir: &Path, events: usize) -> Result<()> {
    let rt = Arc::new(Runtime::new(RuntimeOptions {
        component: EMBEDDED_COMPONENT,
        data_dir,
        config: matterlink_host::demo::sandbox_config(base_url),
        allowed_base_url: None,
    })?);
    let loaded = peak_rss()?;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..events {
        let rt = rt.clone();
        tasks.spawn(async move {
            rt.call(
                Function::OnMatterCreated,
                setup::matter(&format!("P-{}", i + 1)),
            )
            .await
        });
    }
    while let Some(done) = tasks.join_next().await {
        if let Err(e) = done?? {
            bail!("an event failed: {e}");
        }
    }
    let peak = peak_rss()?;
    println!("{}", serde_json::json!({"loaded": loaded, "peak": peak}));
    Ok(())
}
