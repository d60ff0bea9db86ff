//! Three hosts on one Redis against one host on SQLite: signed duplicate events (answered from
//! the event's done record, so iManage is not what is measured) spread round-robin over the
//! hosts by a pool of clients. All in this process and on this machine: the three hosts share
//! its cores, so the figure shows what the shared store costs, not what more machines add.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use imanage_sandbox::Sandbox;
use matterlink_component::webhooks::signature;
use matterlink_host::keyvalue::redis::RedisUrl;
use matterlink_host::keyvalue::runtime_config::RuntimeConfig;
use matterlink_host::{Runtime, RuntimeOptions, EMBEDDED_COMPONENT};

use crate::setup;

const SECRET: &str = "bench-hosts-webhook-secret-0123456789abcdef";

pub struct Hosts {
    pub events: usize,
    pub clients: usize,
    pub sqlite: f64,
    pub redis: f64,
}

/// A private `redis-server` on a free loopback port, killed on drop.
pub(crate) struct RedisServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start_redis() -> Result<RedisServer> {
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(["--appendonly", "no"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting redis-server (apt-get install redis-server)")?;
    let server = RedisServer {
        child,
        port,
        _dir: dir,
    };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(server);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("redis-server did not start")
}

pub(crate) fn runtime(sandbox: &Sandbox, dir: &Path, redis: Option<&str>) -> Result<Runtime> {
    let mut config = setup::config(sandbox);
    config.set("webhook_secret", SECRET);
    let opts = RuntimeOptions {
        component: EMBEDDED_COMPONENT,
        data_dir: dir,
        config,
        allowed_base_url: None,
    };
    match redis {
        None => Runtime::new(opts),
        Some(url) => Runtime::with_stores(
            opts,
            RuntimeConfig::for_redis(&RedisUrl::parse(url)?, false),
        ),
    }
}

/// Serves `runtime` on a loopback port until the process ends; its address.
async fn serve(runtime: Runtime) -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(matterlink_host::serve::serve(
        Arc::new(runtime),
        listener,
        std::future::pending(),
    ));
    Ok(addr)
}

/// One delivery of the event: the `delivery` field makes each body (and so each signature)
/// its own, so the replay guard lets it through to the event's done record.
fn deliver(agent: &ureq::Agent, addr: SocketAddr, delivery: usize) -> Result<()> {
    let body = serde_json::json!({
        "id": "bench-duplicate",
        "type": "matter.created",
        "matter": serde_json::to_value(setup::matter("BENCH-DUP"))?,
        "delivery": delivery,
    })
    .to_string();
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs()
        .to_string();
    let sig = signature::sign(SECRET, &ts, "POST", "/v1/events", body.as_bytes());
    let status = agent
        .post(&format!("http://{addr}/v1/events"))
        .header(signature::TIMESTAMP_HEADER, &ts)
        .header(signature::SIGNATURE_HEADER, &sig)
        .send(body.as_bytes())?
        .status();
    if status != 200 {
        bail!("a duplicate event was answered {status}");
    }
    Ok(())
}

/// Events per second over `events` deliveries from `clients` threads, round-robin over `addrs`.
fn drive(addrs: &[SocketAddr], events: usize, clients: usize) -> Result<f64> {
    // The first delivery makes the workspace; the rest are duplicates.
    deliver(&ureq::Agent::new_with_defaults(), addrs[0], 0)?;
    let start = Instant::now();
    let per = events / clients;
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let addrs = addrs.to_vec();
            std::thread::spawn(move || -> Result<()> {
                let agent = ureq::Agent::new_with_defaults();
                for n in 0..per {
                    let i = c * per + n + 1;
                    deliver(&agent, addrs[i % addrs.len()], i)?;
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join().expect("a client thread")?;
    }
    Ok((per * clients) as f64 / start.elapsed().as_secs_f64())
}

pub async fn measure(sandbox: &Sandbox, events: usize, clients: usize) -> Result<Hosts> {
    let redis = start_redis()?;
    let url = redis.url();
    let one = tempfile::tempdir()?;
    let sqlite = [serve(runtime(sandbox, one.path(), None)?).await?];
    let dirs: Vec<tempfile::TempDir> = (0..3)
        .map(|_| tempfile::tempdir())
        .collect::<Result<_, _>>()?;
    let mut three = Vec::new();
    for d in &dirs {
        three.push(serve(runtime(sandbox, d.path(), Some(&url))?).await?);
    }
    let (sqlite_rate, redis_rate) = tokio::task::spawn_blocking(move || -> Result<(f64, f64)> {
        Ok((
            drive(&sqlite, events, clients)?,
            drive(&three, events, clients)?,
        ))
    })
    .await??;
    Ok(Hosts {
        events,
        clients,
        sqlite: sqlite_rate,
        redis: redis_rate,
    })
}
