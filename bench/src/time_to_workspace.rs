//! Time to a usable workspace: one on-matter-created, from the call to its answer, with iManage
//! `latency_ms` away (a real iManage answers in 100–200 ms), the cache warm. Its floor is the
//! round trips that must follow one another: the workspace, then its security and every
//! top-level container together, then each deeper level of the template — (depth + 2) round
//! trips, counting the matter's lookup value before the workspace. The sequential time is measured
//! in the same run: the same component with `imanage_max_in_flight = 1`, which sends every
//! request in turn, its events interleaved with the concurrent ones so that both see the same
//! machine. The round trips are counted from the times: the same event at zero latency (the
//! component's own work, measured in the same run) taken from the time at the latency, over the
//! latency. The floor is met when that count, rounded, is the floor's.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use matterlink_host::Function;

use crate::{requests, setup};

pub struct TimeToWorkspace {
    pub latency_ms: u64,
    /// Median over the events.
    pub measured: Duration,
    /// Median over as many events with one request in flight at a time.
    pub sequential: Duration,
    /// Median over as many events at zero latency: the time that is not waiting for iManage.
    pub at_zero: Duration,
    pub events: usize,
    /// Deepest container in the template's plan (1: all at the top).
    pub depth: usize,
    /// iManage requests per event (both ways send the same ones).
    pub requests_per_event: f64,
}

impl TimeToWorkspace {
    pub fn floor(&self) -> Duration {
        Duration::from_millis(self.latency_ms) * (self.depth as u32 + 2)
    }

    /// Round trips waited for, from the times: (measured − at zero latency) ÷ latency.
    pub fn round_trips(&self) -> f64 {
        self.measured.saturating_sub(self.at_zero).as_secs_f64() * 1000.0 / self.latency_ms as f64
    }

    /// Whether the event waits for no more round trips than the floor's.
    pub fn at_floor(&self) -> bool {
        self.round_trips().round() <= (self.depth + 2) as f64
    }

    /// Every request in turn at the latency, nothing else: what the sequential time is made of.
    pub fn requests_in_turn(&self) -> Duration {
        Duration::from_secs_f64(self.requests_per_event * self.latency_ms as f64 / 1000.0)
    }
}

pub async fn measure(events: usize, latency_ms: u64) -> Result<TimeToWorkspace> {
    let sandbox = setup::sandbox().await?;
    let dir = tempfile::tempdir()?;
    let rt = setup::runtime(&sandbox, dir.path())?;
    let sequential_dir = tempfile::tempdir()?;
    let sequential_rt = setup::runtime_with(
        &sandbox,
        sequential_dir.path(),
        &[("imanage_max_in_flight", "1")],
    )?;
    let warm = setup::matter("T-0");
    for (rt, id) in [(&rt, "T-0"), (&sequential_rt, "S-0")] {
        if let Err(e) = rt
            .call(Function::OnMatterCreated, setup::matter(id))
            .await?
        {
            bail!("warm-up provisioning failed: {e}");
        }
    }
    let (settings, template) = requests::cached_template(&rt, &sandbox, &warm).await?;
    let depth = matterlink_component::provision::folder_plan(template.as_ref(), &settings)
        .iter()
        .map(|p| p.path.len())
        .max()
        .unwrap_or(0);

    let mut at_zero = Vec::new();
    for i in 1..=events {
        let t = Instant::now();
        if let Err(e) = rt
            .call(Function::OnMatterCreated, setup::matter(&format!("Z-{i}")))
            .await?
        {
            bail!("provisioning failed: {e}");
        }
        at_zero.push(t.elapsed());
    }
    at_zero.sort();

    setup::set_latency(&sandbox, latency_ms);
    let mut times = Vec::new();
    let mut sequential = Vec::new();
    let mut requests = 0;
    for i in 1..=events {
        for (rt, id, out) in [
            (&rt, format!("T-{i}"), &mut times),
            (&sequential_rt, format!("S-{i}"), &mut sequential),
        ] {
            sandbox.state().reset_request_count();
            let t = Instant::now();
            if let Err(e) = rt
                .call(Function::OnMatterCreated, setup::matter(&id))
                .await?
            {
                bail!("provisioning failed: {e}");
            }
            out.push(t.elapsed());
            if id.starts_with('T') {
                requests += sandbox.state().request_count();
            }
        }
    }
    setup::set_latency(&sandbox, 0);
    times.sort();
    sequential.sort();
    Ok(TimeToWorkspace {
        latency_ms,
        measured: times[times.len() / 2],
        sequential: sequential[sequential.len() / 2],
        at_zero: at_zero[at_zero.len() / 2],
        events,
        depth,
        requests_per_event: requests as f64 / events as f64,
    })
}
