//! `matterlink serve` under load: signed duplicate events (already handled, so no iManage work:
//! routing, the signature, the replay record, the done record) from 1, 16 and 64 concurrent
//! clients on keep-alive connections, against the same host serving the minimal component
//! (`bench/minimal`: reads the request, answers 200), the floor of the host itself, and serving
//! its `store-floor` build, which does a signed duplicate's key-value work first and nothing else
//! of it: the store's share of matterlink's difference, the rest being its own computing and
//! imports. The servers are measured in turns, level by level, in this process, so the load
//! generator's CPU is charged to all alike. Then new events (each a provisioning) against the
//! sandbox with latency added, whose floor is the event's iManage requests one after another.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Result};
use matterlink_component::webhooks::signature;
use matterlink_host::serve::{serve_with, ServeOptions};
use matterlink_host::{Function, Runtime, RuntimeOptions, EMBEDDED_COMPONENT};

use crate::setup;

/// The minimal component, built by build.rs.
const MINIMAL: &[u8] = include_bytes!(env!("MATTERLINK_MINIMAL_WASM"));
/// The minimal component built with `store-floor`, by build.rs.
const MINIMAL_STORE: &[u8] = include_bytes!(env!("MATTERLINK_MINIMAL_STORE_WASM"));
const SECRET: &str = "bench-webhook-secret-0123456789abcdef0123456789";
/// Numbers every delivery of the run, so that no two share a signature.
static DELIVERY: AtomicU64 = AtomicU64::new(0);

/// What one load level achieved.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub clients: usize,
    pub requests: usize,
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
}

/// One load level: the same duplicates sent to each server in turn.
pub struct Level {
    /// matterlink answering signed duplicates.
    pub ours: Load,
    /// The minimal component answering 200.
    pub minimal: Load,
    /// The minimal component's `store-floor` build: a duplicate's key-value work first.
    pub store_floor: Load,
}

pub struct Serve {
    pub levels: Vec<Level>,
    /// New events against the sandbox at `latency_ms`.
    pub new_events: Load,
    pub latency_ms: u64,
    /// iManage requests per new event, as the sandbox counted them.
    pub requests_per_event: f64,
}

/// One server on a loopback port until the returned sender is dropped.
struct Server {
    url: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(runtime: Arc<Runtime>) -> Result<Server> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/v1/events", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(e) = serve_with(runtime, listener, ServeOptions::default(), shutdown).await {
            eprintln!("serve failed: {e:#}");
        }
    });
    Ok(Server { url, _stop: stop })
}

fn runtime(
    component: &[u8],
    sandbox: &imanage_sandbox::Sandbox,
    dir: &std::path::Path,
) -> Result<Runtime> {
    let mut config = setup::config(sandbox);
    config.set("webhook_secret", SECRET);
    Runtime::new(RuntimeOptions {
        component,
        data_dir: dir,
        config,
        allowed_base_url: None,
    })
}

/// `POST /v1/events` with `body`, signed now; `delivery` goes in the query so that every copy
/// has its own signature (a signature is accepted once).
fn event_request(
    client: &reqwest::Client,
    url: &str,
    body: &[u8],
    delivery: u64,
) -> reqwest::RequestBuilder {
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .to_string();
    let target = format!("/v1/events?delivery={delivery}");
    let sig = signature::sign(SECRET, &ts, "POST", &target, body);
    client
        .post(format!("{url}?delivery={delivery}"))
        .header(signature::TIMESTAMP_HEADER, ts)
        .header(signature::SIGNATURE_HEADER, sig)
        .header("content-type", "application/json")
        .body(body.to_vec())
}

fn event_body(id: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "id": format!("evt-{id}"),
        "type": "matter.created",
        "matter": setup::matter(id),
    }))
    .unwrap_or_default()
}

/// `clients` tasks sending for `duration`, each waiting for its answer before the next; every
/// answer must be 200. `body(n)` is the n-th request's body.
async fn load(
    url: &str,
    clients: usize,
    duration: Duration,
    body: Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync>,
) -> Result<Load> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;
    let sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (client, url, sent, body) =
            (client.clone(), url.to_string(), sent.clone(), body.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            while started.elapsed() < duration {
                let n = sent.fetch_add(1, Ordering::Relaxed);
                let delivery = DELIVERY.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                let response = event_request(&client, &url, &body(n), delivery)
                    .send()
                    .await?;
                let status = response.status();
                let text = response.text().await?;
                ensure!(status == 200, "{status}: {text}");
                latencies.push(t.elapsed());
            }
            anyhow::Ok(latencies)
        });
    }
    let mut latencies = Vec::new();
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done??);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Ok(Load {
        clients,
        requests: latencies.len(),
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    })
}

pub async fn measure(levels: &[usize], duration: Duration, latency_ms: u64) -> Result<Serve> {
    let sandbox = setup::sandbox().await?;
    let dirs = [
        tempfile::tempdir()?,
        tempfile::tempdir()?,
        tempfile::tempdir()?,
    ];
    let ours = Arc::new(runtime(EMBEDDED_COMPONENT, &sandbox, dirs[0].path())?);
    let ours_server = start(ours.clone()).await?;
    let minimal_server = start(Arc::new(runtime(MINIMAL, &sandbox, dirs[1].path())?)).await?;
    let store_server = start(Arc::new(runtime(MINIMAL_STORE, &sandbox, dirs[2].path())?)).await?;

    // The event the duplicates repeat, handled once.
    let duplicate = event_body("S-DUP");
    let delivery = DELIVERY.fetch_add(1, Ordering::Relaxed);
    let first = event_request(
        &reqwest::Client::new(),
        &ours_server.url,
        &duplicate,
        delivery,
    )
    .send()
    .await?;
    if first.status() != 200 {
        bail!("the first delivery failed: {}", first.text().await?);
    }
    let same: Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync> = Arc::new(move |_| duplicate.clone());
    // Warm every server: connections, the instance pool's first slots, and the store floor's
    // store (its first request writes the done record).
    for server in [&ours_server, &minimal_server, &store_server] {
        load(&server.url, 4, Duration::from_millis(300), same.clone()).await?;
    }

    let mut measured = Vec::new();
    for &clients in levels {
        measured.push(Level {
            ours: load(&ours_server.url, clients, duration, same.clone()).await?,
            minimal: load(&minimal_server.url, clients, duration, same.clone()).await?,
            store_floor: load(&store_server.url, clients, duration, same.clone()).await?,
        });
    }

    // New events: each a provisioning, iManage `latency_ms` away.
    if let Err(e) = ours
        .call(Function::CheckConnection, matterlink_host::Args::default())
        .await?
    {
        bail!("check-connection failed: {e}");
    }
    setup::set_latency(&sandbox, latency_ms);
    sandbox.state().reset_request_count();
    let fresh: Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync> =
        Arc::new(|n| event_body(&format!("S-NEW-{n}")));
    let clients = levels.iter().copied().find(|&c| c >= 16).unwrap_or(16);
    let new_events = load(&ours_server.url, clients, duration * 2, fresh).await?;
    setup::set_latency(&sandbox, 0);
    let requests_per_event = sandbox.state().request_count() as f64 / new_events.requests as f64;
    Ok(Serve {
        levels: measured,
        new_events,
        latency_ms,
        requests_per_event,
    })
}
