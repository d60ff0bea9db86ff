//! Backfill throughput: legacy matters, each with its workspace already in iManage, linked by
//! `backfill` at a given concurrency with latency added to every sandbox request. The limit is
//! what the concurrency allows when each request takes exactly the added latency:
//! concurrency / (requests per matter × latency); the achieved rate is measured against it.
//! The sandbox runs in its own process, so its CPU is not charged to matterlink.
//!
//! Two more things are measured so that the gap can be read: where a matter's time in flight
//! goes (to the response's head, as the host timed its requests, and the rest), and the floor
//! of the sandbox itself: a plain client sending the same search for every matter at the same
//! concurrency, which no host can beat on the same machine.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use matterlink_host::backfill::{self, report::Summary};
use matterlink_host::{batch, Function};

use crate::runtime_metrics::Requests;
use crate::sandbox_process::SandboxProcess;
use crate::setup;

pub struct Backfill {
    pub matters: usize,
    pub concurrency: usize,
    pub latency_ms: u64,
    pub elapsed: Duration,
    pub requests: u64,
    pub summary: Summary,
    pub seeding: Duration,
    /// CPU time (user + system) this process spent during the run: the host's share, the
    /// sandbox being elsewhere.
    pub cpu: Duration,
    /// The run's iManage requests as the host timed them (to the response's head).
    pub imanage: Requests,
    /// What the sandbox process and the loopback allow at the same concurrency and latency: a
    /// plain client sending the search each matter costs, with nothing else to do.
    pub floor: Floor,
}

/// A plain client's run against the same sandbox: `requests` searches, `concurrency` at once.
pub struct Floor {
    pub requests: usize,
    pub elapsed: Duration,
}

impl Floor {
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// How long each search took, the concurrency over the rate.
    pub fn per_request(&self, concurrency: usize) -> Duration {
        self.elapsed
            .mul_f64(concurrency as f64 / self.requests as f64)
    }
}

impl Backfill {
    pub fn requests_per_matter(&self) -> f64 {
        self.requests as f64 / self.matters as f64
    }

    pub fn achieved(&self) -> f64 {
        self.matters as f64 / self.elapsed.as_secs_f64()
    }

    /// Host CPU per matter.
    pub fn cpu_per_matter(&self) -> Duration {
        self.cpu / self.matters as u32
    }

    /// How long each matter was in flight on average: with the batch kept full, the
    /// concurrency over the rate (Little's law).
    pub fn in_flight_per_matter(&self) -> Duration {
        self.elapsed
            .mul_f64(self.concurrency as f64 / self.matters as f64)
    }

    pub fn limit(&self) -> f64 {
        self.concurrency as f64 / (self.requests_per_matter() * self.latency_ms as f64 / 1000.0)
    }
}

pub async fn measure(matters: usize, concurrency: usize, latency_ms: u64) -> Result<Backfill> {
    let sandbox = SandboxProcess::start().await?;
    let ids: Vec<String> = (0..matters).map(|i| format!("L-{i}")).collect();
    let t = Instant::now();
    let base = sandbox.base_url.clone();
    let seed_ids = ids.clone();
    tokio::task::spawn_blocking(move || setup::seed_legacy(&base, &seed_ids, 4)).await??;
    let seeding = t.elapsed();

    let dir = tempfile::tempdir()?;
    let file = dir.path().join("matters.jsonl");
    let mut lines = String::new();
    for id in &ids {
        lines.push_str(&serde_json::to_string(&setup::matter(id))?);
        lines.push('\n');
    }
    std::fs::write(&file, lines)?;
    let rt = Arc::new(matterlink_host::Runtime::new(
        matterlink_host::RuntimeOptions {
            component: matterlink_host::EMBEDDED_COMPONENT,
            data_dir: &dir.path().join("data"),
            config: matterlink_host::demo::sandbox_config(&sandbox.base_url),
            allowed_base_url: None,
        },
    )?);
    // Signed in before the clock starts, as a running installation is.
    if let Err(e) = rt
        .call(Function::CheckConnection, matterlink_host::Args::default())
        .await?
    {
        bail!("check-connection failed: {e}");
    }

    sandbox.set_latency(latency_ms).await?;
    sandbox.reset_request_count().await?;
    let opts = backfill::Options {
        file,
        create_missing: false,
        batch: batch::Options {
            concurrency,
            rate: None,
        },
        limit: None,
        report: None,
        show_progress: false,
    };
    let (t, cpu, imanage) = (Instant::now(), cpu_time(), Requests::of(&rt)?);
    let outcome = backfill::run(rt.clone(), &opts, std::future::pending()).await?;
    let elapsed = t.elapsed();
    let cpu = cpu_time().saturating_sub(cpu);
    let imanage = Requests::of(&rt)?.since(imanage);
    let requests = sandbox.request_count().await?;
    let floor = plain_searches(&sandbox.base_url, &ids, concurrency).await?;
    Ok(Backfill {
        matters,
        concurrency,
        latency_ms,
        elapsed,
        requests,
        summary: outcome.report.summary,
        seeding,
        cpu,
        imanage,
        floor,
    })
}

/// The search the component sends for each legacy matter (its Matter ID in `custom2`), sent
/// for every id by a plain keep-alive client, `concurrency` at once: the rate the sandbox and
/// the loopback allow with no matterlink in the way.
async fn plain_searches(base_url: &str, ids: &[String], concurrency: usize) -> Result<Floor> {
    let base = base_url.to_string();
    let token = tokio::task::spawn_blocking(move || {
        setup::service_token(&ureq::Agent::new_with_defaults(), &base)
    })
    .await??;
    let client = reqwest::Client::new();
    let lib = setup::library_url(base_url);
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut sent = tokio::task::JoinSet::new();
    let t = Instant::now();
    for id in ids {
        let permit = permits.clone().acquire_owned().await?;
        let request = client
            .get(format!("{lib}/workspaces"))
            .query(&[("custom2", id.as_str()), ("offset", "0"), ("limit", "500")])
            .header("x-auth-token", &token);
        sent.spawn(async move {
            let answer = request.send().await?.error_for_status()?.bytes().await;
            drop(permit);
            answer.map(|_| ())
        });
    }
    while let Some(done) = sent.join_next().await {
        done??;
    }
    Ok(Floor {
        requests: ids.len(),
        elapsed: t.elapsed(),
    })
}

/// User and system CPU time of this process so far.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}
