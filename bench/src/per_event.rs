//! Per-event cost of on-matter-created, sandbox at zero latency: the `.wasm` in the host against
//! the same logic compiled natively. Each side has its own sandbox and store and provisions the
//! same matters, in alternating rounds so that neither gets the quieter moments of the machine;
//! the figures are the medians over rounds, so a burst of another process's work on this shared
//! machine moves one round, not the result.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use matterlink_host::Function;

use crate::native::NativePlatform;
use crate::setup;

pub struct PerEvent {
    pub events: usize,
    /// Median per-event time over the rounds.
    pub wasm: Duration,
    pub native: Duration,
    /// Median over the rounds of the round's wasm ÷ native.
    pub ratio: f64,
    /// iManage requests per event, as the sandbox counted them (the same on both sides).
    pub requests_per_event: f64,
    /// The same count on the native side: equal, or the two did not run the same logic.
    pub native_requests_per_event: f64,
}

const ROUND: usize = 20;

pub async fn measure(events: usize) -> Result<PerEvent> {
    let (wasm_sandbox, native_sandbox) = (setup::sandbox().await?, setup::sandbox().await?);
    let (wasm_dir, native_dir) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let rt = setup::runtime(&wasm_sandbox, wasm_dir.path())?;
    let native = Arc::new(NativePlatform::new(
        setup::config(&native_sandbox),
        native_dir.path(),
    )?);

    // Warm-up: sign-in, discovery, the template's structure and the client's lookup value are
    // cached after the first matter, on both sides.
    for i in 0..2 {
        let id = format!("W-{i}");
        if let Err(e) = rt
            .call(Function::OnMatterCreated, setup::matter(&id))
            .await?
        {
            bail!("wasm warm-up failed: {e}");
        }
        let n = native.clone();
        tokio::task::spawn_blocking(move || {
            matterlink_component::on_matter_created(&*n, &setup::matter(&id))
        })
        .await?
        .map_err(|e| anyhow::anyhow!("native warm-up failed: {e}"))?;
    }

    let ids: Vec<String> = (0..events).map(|i| format!("E-{i}")).collect();
    let (mut wasm_rounds, mut native_rounds, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    wasm_sandbox.state().reset_request_count();
    native_sandbox.state().reset_request_count();
    for round in ids.chunks(ROUND) {
        let t = Instant::now();
        for id in round {
            if let Err(e) = rt
                .call(Function::OnMatterCreated, setup::matter(id))
                .await?
            {
                bail!("wasm event {id} failed: {e}");
            }
        }
        let wasm = t.elapsed() / round.len() as u32;

        let (n, round, count) = (native.clone(), round.to_vec(), round.len() as u32);
        let t = Instant::now();
        tokio::task::spawn_blocking(move || -> Result<()> {
            for id in &round {
                let m = setup::matter(id);
                matterlink_component::on_matter_created(&*n, &m)
                    .map_err(|e| anyhow::anyhow!("native event {id} failed: {e}"))?;
            }
            Ok(())
        })
        .await??;
        let native = t.elapsed() / count;
        ratios.push(wasm.as_secs_f64() / native.as_secs_f64());
        wasm_rounds.push(wasm);
        native_rounds.push(native);
    }
    let per_event = |n: u64| n as f64 / events as f64;
    Ok(PerEvent {
        events,
        wasm: median(&mut wasm_rounds),
        native: median(&mut native_rounds),
        ratio: median(&mut ratios),
        requests_per_event: per_event(wasm_sandbox.state().request_count()),
        native_requests_per_event: per_event(native_sandbox.state().request_count()),
    })
}

fn median<T: PartialOrd + Copy>(v: &mut [T]) -> T {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v[v.len() / 2]
}
