//! Exactly once under faults: hundreds of matters through `matterlink serve` against a sandbox
//! injecting 20% faults of every kind, each event delivered 1–3 times, some matters 10 times at
//! once, and the host process killed mid-run and restarted on the same data directory.
//! Afterwards every matter has exactly one workspace and a link, and every event is accounted
//! for. Size with MATTERLINK_CHAOS_MATTERS (200 by default; the soak uses 1000).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use imanage_sandbox::{Faults, Sandbox, SandboxConfig};
use serde_json::{json, Value};
use tokio::sync::RwLock;

mod common;
use common::chaos::{deliver, faults, matter, replay_until_done, start_server, Counts, Rng};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_matter_gets_exactly_one_workspace_under_faults_and_a_crash() {
    let matters: usize = std::env::var("MATTERLINK_CHAOS_MATTERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let started = Instant::now();
    let sandbox = Sandbox::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        SandboxConfig::default(),
    )
    .await
    .unwrap();
    let state = sandbox.state();
    state.set_faults(faults());
    let data = tempfile::tempdir().unwrap();
    let (mut server, url) = start_server(&sandbox, data.path(), None).await;
    let url = Arc::new(RwLock::new(url));

    // The deliveries: created for every matter (1–3 times, every 20th matter 10 times at
    // once), closed for every 5th, shuffled so that redeliveries interleave.
    let mut rng = Rng(0x5eed);
    let mut plan: Vec<(Vec<u8>, usize)> = Vec::new();
    let mut events = BTreeMap::new();
    for i in 0..matters {
        let created = serde_json::to_vec(
            &json!({"id": format!("created-{i}"), "type": "matter.created", "matter": matter(i)}),
        )
        .unwrap();
        events.insert(format!("created-{i}"), i);
        let copies = if i % 20 == 0 {
            10
        } else {
            1 + rng.below(3) as usize
        };
        plan.push((created, copies));
    }
    for i in (0..matters).step_by(5) {
        let closed = serde_json::to_vec(
            &json!({"id": format!("closed-{i}"), "type": "matter.closed", "matter": matter(i)}),
        )
        .unwrap();
        events.insert(format!("closed-{i}"), i);
        plan.push((closed, 1 + rng.below(2) as usize));
    }
    let event_count = plan.len();
    let half = plan.len() / 2;
    let (first, second) = plan.split_at(half);
    let mut first: Vec<_> = first.to_vec();
    for k in (1..first.len()).rev() {
        first.swap(k, rng.below(k as u64 + 1) as usize);
    }

    let counts = Arc::new(Counts::default());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let lanes = Arc::new(tokio::sync::Semaphore::new(16));
    let mut tasks = Vec::new();
    let total_first = first.len();
    for (n, (body, copies)) in first.into_iter().chain(second.iter().cloned()).enumerate() {
        if n == total_first * 2 / 3 {
            // Mid-run: kill the host with requests in flight, restart it on the same data.
            tokio::time::sleep(Duration::from_millis(300)).await;
            server.start_kill().unwrap();
            server.wait().await.unwrap();
            let (restarted, new_url) = start_server(&sandbox, data.path(), None).await;
            server = restarted;
            *url.write().await = new_url;
        }
        for copy in 0..copies as u64 {
            let permit = lanes.clone().acquire_owned().await.unwrap();
            let (client, url, counts, body) =
                (client.clone(), url.clone(), counts.clone(), body.clone());
            tasks.push(tokio::spawn(async move {
                deliver(&client, &url, &body, copy, &counts).await;
                drop(permit);
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }

    // iManage recovers; the failed events are replayed (claims of the killed process expire).
    state.set_faults(Faults::default());
    let replays = replay_until_done(&sandbox, data.path(), None).await;
    server.start_kill().unwrap();
    server.wait().await.unwrap();

    // Documents under the same faults: every 10th matter's invoice filed through `matterlink
    // call`, each filing delivered twice at once, as a platform that delivers at least once may
    // (the idempotency key makes the pair one filing; a commit-then-fail upload must be found,
    // not filed again). A call may still fail when the faults outlast its retries.
    state.set_faults(faults());
    let invoice = common::fixture("invoice-2026-001.pdf");
    let mut filing = tokio::task::JoinSet::new();
    for i in (0..matters).step_by(10) {
        for _ in 0..2 {
            let mut c = common::matterlink(&sandbox, data.path());
            c.env("MATTERLINK_IMANAGE_TIMEOUT_SECONDS", "1")
                .args(["call", "file-document", "--matter-id", &format!("M{i:05}")])
                .args(["--name", &format!("Invoice {i}.pdf"), "--file"])
                .arg(&invoice);
            filing.spawn(async move { (i, c.output().await.unwrap().status.code()) });
        }
    }
    // The matters whose invoice at least one delivery filed.
    let mut filed_for = std::collections::BTreeSet::new();
    while let Some(done) = filing.join_next().await {
        let (i, code) = done.unwrap();
        assert!(matches!(code, Some(0 | 1)), "file-document exit {code:?}");
        if code == Some(0) {
            filed_for.insert(i);
        }
    }
    let filed = filed_for.len();
    // The counts run on from the start: these are the whole run's.
    let faults_injected = state.stats().faults;
    state.set_faults(Faults::default());

    // Exactly one workspace per matter, every matter linked, every event done.
    let kv = matterlink_host::keyvalue::sqlite::Sqlite::open(
        &data.path().join(matterlink_host::runtime::KEY_VALUE_FILE),
    )
    .unwrap();
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
            .unwrap()
            .unwrap_or_else(|| panic!("{id} not linked"));
        let link: Value = serde_json::from_slice(&link.value).unwrap();
        assert_eq!(link["workspace"]["id"], ws[0].as_str());
        let name = &state.workspace(&ws[0]).unwrap().name;
        let expected = if i % 5 == 0 {
            format!("CLOSED - Chaos matter {i}")
        } else {
            format!("Chaos matter {i}")
        };
        assert_eq!(name, &expected);
    }
    assert_eq!(workspaces.len(), matters, "no stray workspaces");

    // Nothing inside them twice either: no two folders of one name under one parent, no
    // document twice in a folder, no lookup value twice.
    let mut documents = 0;
    // Every workspace holds the same folders (the template's, less its optional ones, plus the
    // document folder): as many as the first, which the per-parent check below keeps honest.
    let expected_folders = state.folders_of(&workspaces[0].id).len();
    assert!(expected_folders > 0, "the template's folders were created");
    for w in &workspaces {
        common::chaos::assert_template_security(w);
        let folders = state.folders_of(&w.id);
        let names = |id: &str| {
            let mut n: Vec<String> = state
                .folders_of(id)
                .iter()
                .map(|f| format!("{}/{}", f.parent_id, f.name))
                .collect();
            n.sort();
            n
        };
        assert_eq!(
            folders.len(),
            expected_folders,
            "{}: a folder missing or extra: {:?} against {}'s {:?}",
            w.id,
            names(&w.id),
            workspaces[0].id,
            names(&workspaces[0].id)
        );
        let mut per_parent: BTreeMap<(String, String), usize> = BTreeMap::new();
        for f in &folders {
            *per_parent
                .entry((f.parent_id.clone(), f.name.clone()))
                .or_default() += 1;
            let mut names: BTreeMap<String, usize> = BTreeMap::new();
            for d in state.documents_in(&f.id) {
                *names.entry(d.name.clone()).or_default() += 1;
                documents += 1;
            }
            assert!(
                names.values().all(|n| *n == 1),
                "folder {} holds a document twice: {names:?}",
                f.id
            );
        }
        assert!(
            per_parent.values().all(|n| *n == 1),
            "{}: a folder twice: {per_parent:?}",
            w.id
        );
    }
    assert!(
        documents >= filed && documents <= matters.div_ceil(10),
        "{documents} documents for {filed} filed of {} tried",
        matters.div_ceil(10)
    );
    assert!(filed > 0, "no invoice got through the faults");
    for field in ["custom1", "custom2", "custom3"] {
        let values = state.custom_values(field);
        let mut ids: Vec<&str> = values.iter().map(|v| v.id.as_str()).collect();
        ids.sort();
        let before = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), before, "a {field} lookup value twice");
    }
    assert_eq!(state.custom_values("custom1").len(), 37.min(matters));
    assert_eq!(state.custom_values("custom2").len(), matters);
    assert_eq!(state.custom_values("custom3").len(), 1);
    for id in events.keys() {
        assert!(
            kv.get("default", &format!("event/done/{id}"))
                .unwrap()
                .is_some(),
            "event {id} not accounted for"
        );
    }
    // Failed events are kept one key each under `event/dead/`.
    let dead: Vec<String> = kv
        .list_keys("default", None, 10_000)
        .unwrap()
        .0
        .into_iter()
        .filter(|k| k.starts_with("event/dead/"))
        .collect();
    assert!(dead.is_empty(), "failed events left: {dead:?}");

    let c = &counts;
    // The run proved something only if every kind of fault happened and the kill cut
    // deliveries short.
    for (kind, n) in [
        ("errors", faults_injected.errors),
        ("rate-limited", faults_injected.rate_limited),
        ("timeouts", faults_injected.timeouts),
        ("dropped", faults_injected.dropped),
        ("commit-then-fail", faults_injected.commit_then_fail),
    ] {
        assert!(n > 0, "no {kind} fault was injected");
    }
    assert!(
        c.redeliveries_after_connection_loss.load(Ordering::Relaxed) > 0,
        "the kill cut no delivery short"
    );
    let requests = state.request_count();
    let injected = faults_injected.errors
        + faults_injected.rate_limited
        + faults_injected.timeouts
        + faults_injected.dropped
        + faults_injected.commit_then_fail;
    println!(
        "chaos: {matters} matters, {event_count} events, {} deliveries ({} answered 200, {} kept for replay, {} redelivered after a lost connection or a refused replay), \
         {} extra deliveries suppressed ({} answered from the event record), faults injected: {} errors, {} rate-limited, {} timeouts, {} dropped, {} commit-then-fail; \
         {} iManage requests in all ({:.0}% faulted), replay rounds {replays}, {} workspaces, {:.1} s",
        c.deliveries.load(Ordering::Relaxed),
        c.answered_ok.load(Ordering::Relaxed),
        c.kept_for_replay.load(Ordering::Relaxed),
        c.redeliveries_after_connection_loss.load(Ordering::Relaxed),
        c.deliveries.load(Ordering::Relaxed) - c.redeliveries_after_connection_loss.load(Ordering::Relaxed) - event_count as u64,
        c.duplicates.load(Ordering::Relaxed),
        faults_injected.errors,
        faults_injected.rate_limited,
        faults_injected.timeouts,
        faults_injected.dropped,
        faults_injected.commit_then_fail,
        requests,
        100.0 * injected as f64 / requests.max(1) as f64,
        workspaces.len(),
        started.elapsed().as_secs_f64(),
    );
}
