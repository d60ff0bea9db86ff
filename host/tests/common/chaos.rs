//! What the exactly-once tests share (chaos.rs: one host on SQLite; chaos_hosts.rs: three hosts
//! on one Redis): the faults, the matters, a deterministic generator, and a webhook sender that
//! redelivers as a real one does.

use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use imanage_sandbox::{Faults, RateLimitBurst, Sandbox};
use matterlink_component::webhooks::signature;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;
use tokio::sync::RwLock;

// At least 32 characters, as the component requires of `webhook_secret`.
/// A claim left by a killed host is taken over after this; it is also each event's deadline,
/// which the component requires the TTL to cover (a holder still inside one slow write when its
/// claim goes stale is overtaken, and both may create the same folder). With a 3 s TTL and a
/// 30 s deadline that happened about once a run once outgoing requests went over the keep-alive
/// pool, whose wait for a head counts the connect timeout too.
pub const CLAIM_TTL: &str = "12";
pub const SECRET: &str = "chaos-webhook-secret-0123456789abcdef";

/// A small deterministic generator, so a failing run can be repeated.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub fn faults() -> Faults {
    // About one request in five fails, spread over every kind the sandbox can inject.
    Faults {
        error_rate: 0.07,
        timeout_rate: 0.03,
        timeout_ms: 1_500,
        drop_rate: 0.05,
        commit_then_fail_rate: 0.05,
        rate_limit_burst: Some(RateLimitBurst {
            every: 40,
            count: 2,
            retry_after_secs: 1,
        }),
        seed: Some(7),
        ..Faults::default()
    }
}

/// `matterlink serve` on a free port with the chaos run's short limits, and its URL; `store`
/// (a `redis://` URL) shares its state with other hosts.
pub async fn start_server(sandbox: &Sandbox, data: &Path, store: Option<&str>) -> (Child, String) {
    let mut c = super::matterlink(sandbox, data);
    if let Some(store) = store {
        c.env("MATTERLINK_STORE", store);
    }
    c.env("MATTERLINK_WEBHOOK_SECRET", SECRET)
        // Short limits keep the run bounded: a hung request fails after 1 s, and a claim left
        // by the killed process is taken over after CLAIM_TTL.
        .env("MATTERLINK_IMANAGE_TIMEOUT_SECONDS", "1")
        .env("MATTERLINK_EVENT_DEADLINE_SECONDS", CLAIM_TTL)
        .env("MATTERLINK_CLAIM_TTL_SECONDS", CLAIM_TTL)
        .args(["serve", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let mut child = c.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let banner = lines
        .next_line()
        .await
        .unwrap()
        .expect("serve prints its address");
    let url = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_string();
    (child, url)
}

#[derive(Default)]
pub struct Counts {
    pub deliveries: AtomicU64,
    pub answered_ok: AtomicU64,
    pub kept_for_replay: AtomicU64,
    pub duplicates: AtomicU64,
    pub redeliveries_after_connection_loss: AtomicU64,
}

/// Delivers until the server answers at all, as a webhook sender redelivers on a lost
/// connection (the server may be down for its restart). Each delivery is signed anew, as a
/// sender does; copy `copy` of an event signs `copy` seconds back, so that copies sent in the
/// same second are distinct requests racing inside the component rather than one request
/// refused as a replay.
pub async fn deliver(
    client: &reqwest::Client,
    url: &RwLock<String>,
    body: &[u8],
    copy: u64,
    counts: &Counts,
) {
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let ts = (now - copy).to_string();
        let target = format!("{}/v1/events", url.read().await);
        counts.deliveries.fetch_add(1, Ordering::Relaxed);
        let sent = client
            .post(&target)
            .header(signature::TIMESTAMP_HEADER, &ts)
            .header(
                signature::SIGNATURE_HEADER,
                signature::sign(SECRET, &ts, "POST", "/v1/events", body),
            )
            .body(body.to_vec())
            .send()
            .await;
        match sent {
            Ok(r) => {
                let status = r.status().as_u16();
                let answer: Value = r.json().await.unwrap_or(Value::Null);
                match status {
                    200 => {
                        counts.answered_ok.fetch_add(1, Ordering::Relaxed);
                        if answer["duplicate"] == true {
                            counts.duplicates.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    // Kept for replay: iManage failing (503), or a close that overtook its
                    // matter's creation (404 not-linked).
                    503 | 404 => {
                        counts.kept_for_replay.fetch_add(1, Ordering::Relaxed);
                    }
                    // The same signed request reached the server before (a delivery whose
                    // connection was lost after it arrived, or another copy signed in the same
                    // second): sign it anew a second later, as a sender would.
                    409 if answer["error"]["kind"] == "replayed" => {
                        counts
                            .redeliveries_after_connection_loss
                            .fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(1_000)).await;
                        continue;
                    }
                    other => panic!("unexpected answer {other}: {answer}"),
                }
                return;
            }
            Err(_) => {
                counts
                    .redeliveries_after_connection_loss
                    .fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

pub fn matter(i: usize) -> Value {
    json!({
        "id": format!("M{i:05}"),
        "title": format!("Chaos matter {i}"),
        "matter_type": "Litigation",
        "clients": [{"id": format!("C{:03}", i % 37), "name": format!("Client {}", i % 37)}],
        "file_reference": format!("CH-{i}"),
    })
}

/// Runs `matterlink replay` on `data` (and `store`, when the state is shared) until it exits 0,
/// as an operator would once iManage is back: claims left by a killed host expire meanwhile.
/// How many rounds it took; fails after five.
pub async fn replay_until_done(sandbox: &Sandbox, data: &Path, store: Option<&str>) -> usize {
    let mut rounds = 0;
    loop {
        rounds += 1;
        let mut c = super::matterlink(sandbox, data);
        if let Some(store) = store {
            c.env("MATTERLINK_STORE", store);
        }
        let out = c
            .env("MATTERLINK_CLAIM_TTL_SECONDS", CLAIM_TTL)
            .env("MATTERLINK_EVENT_DEADLINE_SECONDS", CLAIM_TTL)
            .args(["replay", "--json"])
            .output()
            .await
            .unwrap();
        if out.status.code() == Some(0) {
            return rounds;
        }
        assert!(
            rounds < 5,
            "replay keeps failing: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        tokio::time::sleep(Duration::from_secs(4)).await;
    }
}

/// The Litigation template's security is on `w` (its LITIGATION group, read-write), whatever
/// failed between the workspace's create and the write of its members: the next attempt
/// finishes what the failed one began.
pub fn assert_template_security(w: &imanage_sandbox::Workspace) {
    let members = serde_json::to_value(&w.members).unwrap();
    assert!(
        members
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "LITIGATION" && m["access_level"] == "read_write"),
        "{} lacks the template's security: {members}",
        w.id
    );
}
