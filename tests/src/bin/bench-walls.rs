//! bench-walls: what the change feed costs per poll, and how soon a change appears, for each
//! source, with 1,000 linked workspaces and 10 security changes against the sandbox.
//!
//!   cargo run -p matterlink-e2e --profile host --bin bench-walls [-- --latency-ms N]
//!
//! Prints figures and ratios; asserts nothing about time. Requests are counted by the sandbox.
//! "change → seen" is measured with a consumer polling back to back (acknowledging each batch)
//! while the changes are made 50 ms apart: the time from iManage accepting a change to the
//! poll that returns it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use imanage_sandbox::{Faults, Sandbox, SandboxConfig, SharedState};
use matterlink_e2e::imanage::Admin;
use matterlink_e2e::runtime_at;
use matterlink_host::{Args, Function, Matter, Runtime};
use serde_json::{json, Value};

const WORKSPACES: usize = 1000;
const CHANGES: usize = 10;
const DEFAULT_LATENCY_MS: u64 = 5;

struct Figures {
    label: &'static str,
    start: (u64, Duration),
    idle: (u64, Duration),
    busy: (u64, Duration),
    seen_mean: Duration,
    seen_max: Duration,
}

fn latency_arg() -> Result<u64> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == "--latency-ms") {
        None => Ok(DEFAULT_LATENCY_MS),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .context("--latency-ms takes a number"),
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<()> {
    let latency_ms = latency_arg()?;
    let sandbox = Sandbox::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        SandboxConfig::default(),
    )
    .await?;
    let env = matterlink_e2e::Env {
        sandbox,
        data: tempfile::tempdir()?,
    };
    let state = env.state();
    let admin = Arc::new(Admin::sign_in(&env).await);
    let began = Instant::now();

    // 1,000 workspaces made straight in the sandbox, then linked through the component.
    let mut ids = Vec::with_capacity(WORKSPACES);
    for i in 0..WORKSPACES {
        ids.push(
            admin
                .create_workspace(
                    json!({"name": format!("Matter {i:04}"), "default_security": "private"}),
                )
                .await,
        );
    }
    {
        let rt = Arc::new(env.runtime());
        let base = env.sandbox.base_url();
        let gate = Arc::new(tokio::sync::Semaphore::new(4));
        let mut tasks = tokio::task::JoinSet::new();
        for (i, ws) in ids.iter().enumerate() {
            let (rt, gate) = (rt.clone(), gate.clone());
            let url = format!("{base}/work/link/w/{ws}");
            tasks.spawn(async move {
                let _permit = gate.acquire().await;
                let m = matter(i);
                let args = Args {
                    matter: Some(m),
                    url: Some(url),
                    ..Args::default()
                };
                rt.call(Function::LinkWorkspace, args).await
            });
        }
        while let Some(done) = tasks.join_next().await {
            if let Err(e) = done?? {
                bail!("linking failed: {e}");
            }
        }
    }
    println!(
        "bench-walls: {WORKSPACES} linked workspaces, {CHANGES} security changes, sandbox latency {latency_ms} ms per request (setup {:.1} s)",
        began.elapsed().as_secs_f64()
    );
    state.set_faults(Faults {
        latency_ms,
        ..Faults::default()
    });

    let mut all = Vec::new();
    for (n, (source, label)) in [
        ("event_queue", "event queue"),
        ("sync", "Sync API crawl"),
        ("polling", "per-workspace polling"),
    ]
    .into_iter()
    .enumerate()
    {
        // Each source on its own copy of the linked store, so that none starts from another's
        // snapshots; each walls off its own user so that every change is a real one.
        let data = tempfile::tempdir()?;
        copy_dir(env.data_dir(), data.path())?;
        let mut config = env.config();
        config.set("change_source", source);
        let rt = Arc::new(runtime_at(data.path(), config, None));
        let user = ["LWONG", "APATEL", "MCHEN"][n];
        all.push(measure(label, &rt, &state, &admin, &ids, user).await?);
    }

    println!();
    println!(
        "{:<23} {:>20} {:>20} {:>24} {:>26}",
        "source",
        "start poll",
        "idle poll",
        format!("poll with {CHANGES} changes"),
        "change → seen mean / max"
    );
    for f in &all {
        let cell = |(n, d): (u64, Duration)| format!("{n} req, {}", ms(d));
        println!(
            "{:<23} {:>20} {:>20} {:>24} {:>26}",
            f.label,
            cell(f.start),
            cell(f.idle),
            cell(f.busy),
            format!("{} / {}", ms(f.seen_mean), ms(f.seen_max)),
        );
    }
    let queue = &all[0];
    println!();
    for other in &all[1..] {
        println!(
            "{} / event queue: {:.0}× the requests per poll with {CHANGES} changes, {:.1}× the time from change to appearance",
            other.label,
            other.busy.0 as f64 / queue.busy.0.max(1) as f64,
            other.seen_mean.as_secs_f64() / queue.seen_mean.as_secs_f64().max(1e-6),
        );
    }
    println!(
        "event queue: {} request(s) per poll for {CHANGES} changes across {WORKSPACES} workspaces: it pages by changes, not by workspaces",
        queue.busy.0
    );
    println!("total {:.1} s", began.elapsed().as_secs_f64());
    Ok(())
}

fn matter(i: usize) -> Matter {
    serde_json::from_value(json!({
        "id": format!("M-{i:04}"),
        "title": format!("Matter {i:04}"),
        "matter_type": "General",
        "clients": [{"id": "C-1", "name": "Bench Client"}],
    }))
    .expect("a matter")
}

fn ms(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{:.2} s", d.as_secs_f64())
    } else {
        format!("{} ms", d.as_millis())
    }
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

async fn poll(rt: &Runtime, cursor: &str) -> Result<Value> {
    let cursor = (!cursor.is_empty()).then(|| cursor.to_string());
    let args = Args {
        cursor,
        ..Args::default()
    };
    match rt.call(Function::PollChanges, args).await? {
        Ok(v) => Ok(v),
        Err(e) => bail!("poll-changes: {e}"),
    }
}

/// One poll, with the requests it made and how long it took.
async fn counted(
    rt: &Runtime,
    state: &SharedState,
    cursor: &str,
) -> Result<(Value, u64, Duration)> {
    state.reset_request_count();
    let t = Instant::now();
    let batch = poll(rt, cursor).await?;
    Ok((batch, state.request_count(), t.elapsed()))
}

fn next(batch: &Value) -> String {
    batch["next_cursor"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn count(batch: &Value) -> usize {
    batch["changes"].as_array().map_or(0, Vec::len)
}

async fn measure(
    label: &'static str,
    rt: &Arc<Runtime>,
    state: &SharedState,
    admin: &Arc<Admin>,
    ids: &[String],
    user: &str,
) -> Result<Figures> {
    let (batch, n, d) = counted(rt, state, "").await?;
    let start = (n, d);
    let (batch, n, d) = counted(rt, state, &next(&batch)).await?;
    let idle = (n, d);
    if count(&batch) != 0 {
        bail!("{label}: an idle poll reported {}", count(&batch));
    }

    // Cost: 10 changes, then one poll.
    let step = ids.len() / CHANGES;
    for k in 0..CHANGES {
        admin.wall_off(&ids[k * step], user).await;
    }
    let (batch, n, d) = counted(rt, state, &next(&batch)).await?;
    let busy = (n, d);
    if count(&batch) != CHANGES {
        bail!(
            "{label}: {} of {CHANGES} changes in one poll",
            count(&batch)
        );
    }

    // Latency: a consumer polls back to back while the changes are made 50 ms apart.
    let cursor = next(&batch);
    let poller = {
        let rt = rt.clone();
        tokio::spawn(async move {
            let mut cursor = cursor;
            let mut seen: HashMap<String, Instant> = HashMap::new();
            let deadline = Instant::now() + Duration::from_secs(120);
            while seen.len() < CHANGES && Instant::now() < deadline {
                let batch = poll(&rt, &cursor).await?;
                let at = Instant::now();
                for c in batch["changes"].as_array().into_iter().flatten() {
                    let ws = c["workspace_id"].as_str().unwrap_or_default().to_string();
                    if seen.insert(ws, at).is_some() {
                        bail!("a change was reported twice");
                    }
                }
                cursor = next(&batch);
            }
            Ok(seen)
        })
    };
    let mut made = HashMap::new();
    for k in 0..CHANGES {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let ws = &ids[k * step + step / 2];
        admin.wall_off(ws, user).await;
        made.insert(ws.clone(), Instant::now());
    }
    let seen = poller.await??;
    let mut delays = Vec::new();
    for (ws, at) in &made {
        let Some(seen_at) = seen.get(ws) else {
            bail!("{label}: the change on {ws} never appeared");
        };
        delays.push(seen_at.saturating_duration_since(*at));
    }
    let total: Duration = delays.iter().sum();
    Ok(Figures {
        label,
        start,
        idle,
        busy,
        seen_mean: total / delays.len() as u32,
        seen_max: delays.into_iter().max().unwrap_or_default(),
    })
}
