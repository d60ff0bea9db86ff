//! Exactly once across hosts: three `matterlink serve` processes, each with its own data
//! directory (as on three machines), sharing one Redis, behind a "load balancer" that spreads
//! the events across them and sends the copies of one event to different hosts at once. The
//! sandbox injects faults of every kind; one host is SIGKILLed mid-run and restarted. Afterwards
//! `replay` and `drift`, run from a fourth machine against the same Redis, finish the job and
//! find nothing to repair: exactly one workspace per matter, every matter linked, every event
//! done, no failed event left. Size with MATTERLINK_CHAOS_HOSTS_MATTERS (60 by default).
//!
//! Needs `redis-server` (CI installs it); says it skipped without one.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use imanage_sandbox::{Faults, Sandbox, SandboxConfig};
use matterlink_host::keyvalue::redis::{Redis, RedisUrl};
use matterlink_host::keyvalue::Backend;
use serde_json::{json, Value};
use tokio::sync::RwLock;

mod common;
use common::chaos::{deliver, faults, matter, replay_until_done, start_server, Counts, Rng};
use common::redis::RedisServer;

const HOSTS: usize = 3;

/// Every key of the component's store with `prefix`.
async fn keys_with(kv: &Redis, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let (keys, next) = kv
            .list_keys("default", cursor.as_deref(), 1000)
            .await
            .unwrap();
        out.extend(keys.into_iter().filter(|k| k.starts_with(prefix)));
        match next {
            Some(n) => cursor = Some(n),
            None => return out,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_hosts_on_one_redis_make_each_workspace_once() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let store = redis.url();
    let matters: usize = std::env::var("MATTERLINK_CHAOS_HOSTS_MATTERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let started = Instant::now();
    let sandbox = Sandbox::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        SandboxConfig::default(),
    )
    .await
    .unwrap();
    let state = sandbox.state();
    state.set_faults(faults());
    let dirs: Vec<tempfile::TempDir> = (0..=HOSTS).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut servers = Vec::new();
    let mut urls = Vec::new();
    for dir in &dirs[..HOSTS] {
        let (child, url) = start_server(&sandbox, dir.path(), Some(&store)).await;
        servers.push(child);
        urls.push(Arc::new(RwLock::new(url)));
    }

    // Created for every matter (1–3 copies, every 10th 6 copies at once), closed for every
    // 5th; shuffled. Copy k of the n-th delivery goes to host (n + k) % 3, so copies of one
    // event race on different hosts.
    let mut rng = Rng(0x7ee5);
    let mut plan: Vec<(Vec<u8>, usize)> = Vec::new();
    let mut events = Vec::new();
    for i in 0..matters {
        let id = format!("created-{i}");
        let body = json!({"id": id, "type": "matter.created", "matter": matter(i)});
        let copies = if i % 10 == 0 {
            6
        } else {
            1 + rng.below(3) as usize
        };
        plan.push((serde_json::to_vec(&body).unwrap(), copies));
        events.push(id);
    }
    for i in (0..matters).step_by(5) {
        let id = format!("closed-{i}");
        let body = json!({"id": id, "type": "matter.closed", "matter": matter(i)});
        plan.push((
            serde_json::to_vec(&body).unwrap(),
            1 + rng.below(2) as usize,
        ));
        events.push(id);
    }
    // Creations first (shuffled among themselves), then the closes: a close that overtakes its
    // creation is kept for replay, which the end of the run covers too.
    let creations = matters;
    for k in (1..creations).rev() {
        plan.swap(k, rng.below(k as u64 + 1) as usize);
    }

    let counts = Arc::new(Counts::default());
    let per_host: Arc<Vec<AtomicU64>> = Arc::new((0..HOSTS).map(|_| AtomicU64::new(0)).collect());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let lanes = Arc::new(tokio::sync::Semaphore::new(12));
    let mut tasks = Vec::new();
    let kill_at = plan.len() * 2 / 3;
    for (n, (body, copies)) in plan.iter().enumerate() {
        if n == kill_at {
            // Mid-run: host 1 dies with requests in flight and comes back on its own data.
            tokio::time::sleep(Duration::from_millis(300)).await;
            servers[1].start_kill().unwrap();
            servers[1].wait().await.unwrap();
            let (child, url) = start_server(&sandbox, dirs[1].path(), Some(&store)).await;
            servers[1] = child;
            *urls[1].write().await = url;
        }
        for copy in 0..*copies {
            let host = (n + copy) % HOSTS;
            let permit = lanes.clone().acquire_owned().await.unwrap();
            let (client, url, counts, body, per_host) = (
                client.clone(),
                urls[host].clone(),
                counts.clone(),
                body.clone(),
                per_host.clone(),
            );
            tasks.push(tokio::spawn(async move {
                deliver(&client, &url, &body, copy as u64, &counts).await;
                per_host[host].fetch_add(1, Ordering::Relaxed);
                drop(permit);
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    let faults_injected = state.stats().faults;

    // iManage recovers; a fourth machine replays what failed, on the same Redis.
    state.set_faults(Faults::default());
    let replay_dir = dirs[HOSTS].path();
    let replays = replay_until_done(&sandbox, replay_dir, Some(&store)).await;
    for s in &mut servers {
        s.start_kill().unwrap();
        s.wait().await.unwrap();
    }

    // Exactly one workspace per matter, linked in the shared store, named as its events say.
    let kv = Redis::open(&RedisUrl::parse(&store).unwrap(), "").unwrap();
    let workspaces = state.workspaces();
    let mut per_matter: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for w in &workspaces {
        if let Some(m) = w.custom_text("custom2") {
            per_matter.entry(m).or_default().push(w.id.clone());
        }
    }
    for i in 0..matters {
        let id = format!("M{i:05}");
        let ws = per_matter
            .get(&id)
            .unwrap_or_else(|| panic!("matter {id} has no workspace"));
        assert_eq!(ws.len(), 1, "matter {id} has workspaces {ws:?}");
        let link = kv
            .get("default", &format!("link/matter/{id}"))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{id} not linked"));
        let link: Value = serde_json::from_slice(&link.value).unwrap();
        assert_eq!(link["workspace"]["id"], ws[0].as_str());
        let expected = if i % 5 == 0 {
            format!("CLOSED - Chaos matter {i}")
        } else {
            format!("Chaos matter {i}")
        };
        let workspace = state.workspace(&ws[0]).unwrap();
        assert_eq!(workspace.name, expected);
        common::chaos::assert_template_security(&workspace);
    }
    assert_eq!(workspaces.len(), matters, "no stray workspaces");
    let mut ids: Vec<String> = state
        .custom_values("custom2")
        .into_iter()
        .map(|v| v.id)
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), matters, "one matter lookup value each");
    for id in &events {
        assert!(
            kv.get("default", &format!("event/done/{id}"))
                .await
                .unwrap()
                .is_some(),
            "event {id} not accounted for"
        );
    }
    let dead = keys_with(&kv, "event/dead/").await;
    assert!(dead.is_empty(), "failed events left: {dead:?}");

    // Drift, from the fourth machine too, finds every matter as its workspace says.
    let file = replay_dir.join("matters.jsonl");
    let lines: Vec<String> = (0..matters)
        .filter(|i| i % 5 != 0)
        .map(|i| matter(i).to_string())
        .collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let drift = common::matterlink(&sandbox, replay_dir)
        .env("MATTERLINK_STORE", &store)
        .args(["drift", "--json"])
        .arg(&file)
        .output()
        .await
        .unwrap();
    let report = String::from_utf8_lossy(&drift.stdout);
    assert_eq!(drift.status.code(), Some(0), "drift: {report}");

    // The run proved something only if every host took deliveries, faults were injected, and
    // the kill cut deliveries short.
    for (h, n) in per_host.iter().enumerate() {
        assert!(n.load(Ordering::Relaxed) > 0, "host {h} got no delivery");
    }
    assert!(faults_injected.errors + faults_injected.timeouts + faults_injected.dropped > 0);
    let c = &counts;
    assert!(
        c.redeliveries_after_connection_loss.load(Ordering::Relaxed) > 0,
        "the kill cut no delivery short"
    );
    println!(
        "chaos across {HOSTS} hosts on one Redis: {matters} matters, {} events, {} deliveries (per host {:?}), \
         {} answered 200 ({} duplicates), {} kept for replay, {} redelivered; faults: {} errors, {} rate-limited, \
         {} timeouts, {} dropped, {} commit-then-fail; replay rounds {replays}; {} workspaces; {:.1} s",
        events.len(),
        c.deliveries.load(Ordering::Relaxed),
        per_host.iter().map(|n| n.load(Ordering::Relaxed)).collect::<Vec<_>>(),
        c.answered_ok.load(Ordering::Relaxed),
        c.duplicates.load(Ordering::Relaxed),
        c.kept_for_replay.load(Ordering::Relaxed),
        c.redeliveries_after_connection_loss.load(Ordering::Relaxed),
        faults_injected.errors,
        faults_injected.rate_limited,
        faults_injected.timeouts,
        faults_injected.dropped,
        faults_injected.commit_then_fail,
        workspaces.len(),
        started.elapsed().as_secs_f64(),
    );
}
