//! Per-event cost of on-matter-created, sandbox at zero latency: the `.wasm` in the host against
//! the same logic compiled natively. Each side has its own sandbox and store and provisions the
//! same matters, in alternating rounds so that neither gets the quieter moments of the machine;
//! the figures are the medians over rounds, so a burst of another process's work on this shared
//! machine moves one round, not the result.
//!
//! Where the time goes is measured on both sides over the whole run: HTTP is the time from
//! handing a request over to its response's head (the wasm side's from the host's
//! `imanage_request_duration_seconds` histogram, the native side's around its client; both add
//! up each request's own time, so requests sent together count once each), key-value
//! the time in the backend's calls (the same SQLite code on both sides), and the rest is the
//! guest's own work (on the wasm side with instantiation and the boundary crossings).
//!
//! Both sides send one request at a time (`imanage_max_in_flight = 1`): the figure is what
//! running as a component costs, and requests in flight together would hide some of it behind
//! one another (and make the HTTP time, added up per request, more than the time it took). The
//! time to a usable workspace measures what sending together saves.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use matterlink_host::Function;

use crate::native::NativePlatform;
use crate::runtime_metrics::Requests;
use crate::setup;
use crate::timed_kv::TimedBackend;

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
    /// Mean per-event time by where it went.
    pub wasm_split: Split,
    pub native_split: Split,
}

/// One side's mean time per event, by where it went.
#[derive(Debug, Clone, Copy)]
pub struct Split {
    pub total: Duration,
    pub http: Duration,
    pub key_value: Duration,
}

impl Split {
    /// What is neither HTTP nor key-value: the guest's (or the native code's) own work.
    pub fn own(&self) -> Duration {
        self.total.saturating_sub(self.http + self.key_value)
    }

    pub fn describe(&self) -> String {
        let ms = |d: Duration| format!("{:.2}", d.as_secs_f64() * 1e3);
        format!(
            "{} ms = {} HTTP + {} key-value + {} own work",
            ms(self.total),
            ms(self.http),
            ms(self.key_value),
            ms(self.own())
        )
    }
}

const ROUND: usize = 20;

/// One request in flight at a time, on both sides.
const ONE_AT_A_TIME: [(&str, &str); 1] = [("imanage_max_in_flight", "1")];

pub async fn measure(events: usize) -> Result<PerEvent> {
    let (wasm_sandbox, native_sandbox) = (setup::sandbox().await?, setup::sandbox().await?);
    let (wasm_dir, native_dir) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let kv = Arc::new(TimedBackend::new(Arc::new(
        matterlink_host::keyvalue::sqlite::Sqlite::open(
            &wasm_dir
                .path()
                .join(matterlink_host::keyvalue::runtime_config::KEY_VALUE_FILE),
        )?,
    )));
    let rt = setup::runtime_with_kv(&wasm_sandbox, wasm_dir.path(), kv.clone(), &ONE_AT_A_TIME)?;
    let mut native_config = setup::config(&native_sandbox);
    for (key, value) in ONE_AT_A_TIME {
        native_config.set(key, value);
    }
    let native = Arc::new(NativePlatform::new(native_config, native_dir.path())?);

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
    let (wasm_http0, wasm_kv0) = (Requests::of(&rt)?, kv.spent());
    let (native_http0, native_kv0) = (native.http_time(), native.kv_time());
    let (mut wasm_total, mut native_total) = (Duration::ZERO, Duration::ZERO);
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
        wasm_total += t.elapsed();
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
        native_total += t.elapsed();
        let native = t.elapsed() / count;
        ratios.push(wasm.as_secs_f64() / native.as_secs_f64());
        wasm_rounds.push(wasm);
        native_rounds.push(native);
    }
    let per_event = |n: u64| n as f64 / events as f64;
    let mean = |d: Duration| d / events as u32;
    let wasm_split = Split {
        total: mean(wasm_total),
        http: mean(Requests::of(&rt)?.since(wasm_http0).time),
        key_value: mean(kv.spent() - wasm_kv0),
    };
    let native_split = Split {
        total: mean(native_total),
        http: mean(native.http_time() - native_http0),
        key_value: mean(native.kv_time() - native_kv0),
    };
    Ok(PerEvent {
        events,
        wasm: median(&mut wasm_rounds),
        native: median(&mut native_rounds),
        ratio: median(&mut ratios),
        requests_per_event: per_event(wasm_sandbox.state().request_count()),
        native_requests_per_event: per_event(native_sandbox.state().request_count()),
        wasm_split,
        native_split,
    })
}

fn median<T: PartialOrd + Copy>(v: &mut [T]) -> T {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v[v.len() / 2]
}
