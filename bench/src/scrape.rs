//! A `/metrics` scrape with many tenants registered. Each scrape reads every registered
//! tenant's record (which says where its namespace is) and stored state (failed events, held
//! deliveries, the feed's state, the token record),
//! so its time grows with the tenants; on Redis each read is a round trip. Measured against a
//! scrape of the same host with no tenant registered, on SQLite and on a private Redis.

use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use imanage_sandbox::Sandbox;
use matterlink_host::tenants::{Registry, TenantName, TenantRecord};

use crate::hosts;

/// Scrapes per measurement; the median is the figure.
pub const SCRAPES: usize = 5;

pub struct Scrape {
    pub backend: &'static str,
    /// Median scrape with no tenant registered.
    pub alone: Duration,
    /// Median scrape with every tenant registered.
    pub all: Duration,
}

pub fn backend(on_redis: bool) -> &'static str {
    if on_redis {
        "Redis"
    } else {
        "SQLite"
    }
}

pub async fn measure(sandbox: &Sandbox, tenants: usize, on_redis: bool) -> Result<Scrape> {
    let redis = on_redis.then(hosts::start_redis).transpose()?;
    let dir = tempfile::tempdir()?;
    let rt = hosts::runtime(
        sandbox,
        dir.path(),
        redis.as_ref().map(|r| r.url()).as_deref(),
    )?;
    let alone = median_scrape(&rt).await?;
    let registry = Registry::new(rt.key_value());
    for i in 0..tenants {
        let name = TenantName::parse(&format!("firm-{i:05}")).expect("a valid name");
        let mut record = TenantRecord::default();
        record.set(
            "webhook_secret",
            &format!("bench-scrape-secret-{i:05}-0123456789"),
        );
        registry.create(&name, record).await?;
    }
    let all = median_scrape(&rt).await?;
    Ok(Scrape {
        backend: backend(on_redis),
        alone,
        all,
    })
}

async fn median_scrape(rt: &matterlink_host::Runtime) -> Result<Duration> {
    let mut times = Vec::with_capacity(SCRAPES);
    for _ in 0..SCRAPES {
        let start = Instant::now();
        let text = rt.metrics().scrape(rt).await?;
        times.push(start.elapsed());
        ensure!(
            text.contains("token_connected"),
            "a scrape without the stored state"
        );
    }
    times.sort();
    Ok(times[SCRAPES / 2])
}
