//! Time to a usable workspace: one on-matter-created, from the call to its answer, with iManage
//! `latency_ms` away (a real iManage answers in 100–200 ms), the cache warm. Its floor is the
//! round trips that must follow one another: the workspace, then its security and every
//! top-level container together, then each deeper level of the template — (depth + 2) round
//! trips, counting the matter's lookup value before the workspace. The sequential time is every
//! request in turn.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use matterlink_host::Function;

use crate::{requests, setup};

pub struct TimeToWorkspace {
    pub latency_ms: u64,
    /// Median over the events.
    pub measured: Duration,
    pub events: usize,
    /// Deepest container in the template's plan (1: all at the top).
    pub depth: usize,
    pub requests_per_event: f64,
}

impl TimeToWorkspace {
    pub fn floor(&self) -> Duration {
        Duration::from_millis(self.latency_ms) * (self.depth as u32 + 2)
    }

    pub fn sequential(&self) -> Duration {
        Duration::from_secs_f64(self.requests_per_event * self.latency_ms as f64 / 1000.0)
    }
}

pub async fn measure(events: usize, latency_ms: u64) -> Result<TimeToWorkspace> {
    let sandbox = setup::sandbox().await?;
    let dir = tempfile::tempdir()?;
    let rt = setup::runtime(&sandbox, dir.path())?;
    let warm = setup::matter("T-0");
    if let Err(e) = rt.call(Function::OnMatterCreated, warm.clone()).await? {
        bail!("warm-up provisioning failed: {e}");
    }
    let (settings, template) = requests::cached_template(&rt, &sandbox, &warm).await?;
    let depth = matterlink_component::provision::folder_plan(template.as_ref(), &settings)
        .iter()
        .map(|p| p.path.len())
        .max()
        .unwrap_or(0);

    setup::set_latency(&sandbox, latency_ms);
    sandbox.state().reset_request_count();
    let mut times = Vec::new();
    for i in 1..=events {
        let t = Instant::now();
        if let Err(e) = rt
            .call(Function::OnMatterCreated, setup::matter(&format!("T-{i}")))
            .await?
        {
            bail!("provisioning failed: {e}");
        }
        times.push(t.elapsed());
    }
    setup::set_latency(&sandbox, 0);
    times.sort();
    Ok(TimeToWorkspace {
        latency_ms,
        measured: times[times.len() / 2],
        events,
        depth,
        requests_per_event: sandbox.state().request_count() as f64 / events as f64,
    })
}
