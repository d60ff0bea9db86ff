//! Many tenants in one host: the memory each loaded, idle tenant costs with 1,000 registered,
//! and the first call of a tenant not yet loaded against a call of one already loaded.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use imanage_sandbox::Sandbox;
use matterlink_host::tenants::{LiveTenants, Registry, TenantName, TenantRecord};

use crate::setup;

pub struct Tenants {
    pub registered: usize,
    /// Resident memory with the runtime loaded and every tenant registered, none loaded.
    pub rss_before: u64,
    /// With every tenant loaded (each called once, then idle).
    pub rss_after: u64,
    /// Median first call of a tenant (registry read, runtime derived, instance, call).
    pub cold: Duration,
    /// Median call of a loaded tenant.
    pub warm: Duration,
}

impl Tenants {
    pub fn per_tenant(&self) -> f64 {
        self.rss_after.saturating_sub(self.rss_before) as f64 / self.registered as f64
    }
}

/// Resident set size of this process, from /proc/self/statm.
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub async fn measure(registered: usize, sandbox: &Sandbox) -> Result<Tenants> {
    let dir = tempfile::tempdir()?;
    let base = Arc::new(setup::runtime(sandbox, dir.path())?);
    let registry = Registry::new(base.key_value());
    let config = setup::config(sandbox);
    let names: Vec<TenantName> = (0..registered)
        .map(|i| TenantName::parse(&format!("firm-{i:05}")).expect("a valid name"))
        .collect();
    for (i, name) in names.iter().enumerate() {
        let mut record = TenantRecord::default();
        for (k, v) in config.iter() {
            record.set(k, v);
        }
        record.set(
            "webhook_secret",
            &format!("bench-webhook-secret-{i:05}-0123456789abcdef"),
        );
        registry.create(name, record).await?;
    }
    // One call first, so the allocator and the instance pool are warm before measuring.
    base.instance().await?.failed_events().await??;
    let rss_before = rss();
    let live = LiveTenants::new(base.clone());
    let mut cold = Vec::with_capacity(registered);
    for name in &names {
        let start = Instant::now();
        let rt = live.get(name.as_str()).await?.expect("registered");
        rt.instance().await?.failed_events().await??;
        cold.push(start.elapsed());
    }
    let rss_after = rss();
    let mut warm = Vec::with_capacity(registered);
    for name in &names {
        let start = Instant::now();
        let rt = live.get(name.as_str()).await?.expect("loaded");
        rt.instance().await?.failed_events().await??;
        warm.push(start.elapsed());
    }
    assert_eq!(live.loaded(), registered);
    Ok(Tenants {
        registered,
        rss_before,
        rss_after,
        cold: median(cold),
        warm: median(warm),
    })
}
