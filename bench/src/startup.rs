//! The first call after a start: a fresh process (this binary again) loads the runtime and
//! answers one call (`failed-events`: key-value only, so iManage's latency is not in it). With
//! the compiled component cached in the data directory, as every start after an installation's
//! first; the baseline is the same start with an empty cache, which compiles the component.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use matterlink_host::{Function, Runtime, RuntimeOptions, EMBEDDED_COMPONENT};

pub struct Startup {
    /// Runtime loaded, then the call answered, with the compiled component cached.
    pub cached: (Duration, Duration),
    /// The same with an empty cache.
    pub uncached: (Duration, Duration),
}

impl Startup {
    pub fn total(t: (Duration, Duration)) -> Duration {
        t.0 + t.1
    }
}

pub async fn measure(base_url: &str) -> Result<Startup> {
    let dir = tempfile::tempdir()?;
    // The first start fills the cache; the second and third find it.
    let uncached = child(base_url, dir.path()).await?;
    let warm_up = child(base_url, dir.path()).await?;
    let cached = child(base_url, dir.path()).await?;
    let cached = if Startup::total(warm_up) < Startup::total(cached) {
        warm_up
    } else {
        cached
    };
    Ok(Startup { cached, uncached })
}

async fn child(base_url: &str, data_dir: &Path) -> Result<(Duration, Duration)> {
    let out = tokio::process::Command::new(std::env::current_exe()?)
        .arg("child-first-call")
        .arg(base_url)
        .arg(data_dir)
        .output()
        .await?;
    if !out.status.success() {
        bail!(
            "the first-call child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let us = |k: &str| Duration::from_micros(v[k].as_u64().unwrap_or(0));
    Ok((us("load_us"), us("call_us")))
}

/// The child's side: prints `{"load_us": …, "call_us": …}`.
pub async fn child_run(base_url: &str, data_dir: &Path) -> Result<()> {
    let t = Instant::now();
    let rt = Runtime::new(RuntimeOptions {
        component: EMBEDDED_COMPONENT,
        data_dir,
        config: matterlink_host::demo::sandbox_config(base_url),
        allowed_base_url: None,
    })?;
    let load = t.elapsed();
    let t = Instant::now();
    if let Err(e) = rt
        .call(Function::FailedEvents, matterlink_host::Args::default())
        .await?
    {
        bail!("failed-events failed: {e}");
    }
    let call = t.elapsed();
    println!(
        "{}",
        serde_json::json!({"load_us": load.as_micros() as u64, "call_us": call.as_micros() as u64})
    );
    Ok(())
}
