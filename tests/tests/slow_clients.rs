//! `matterlink serve` under slow and greedy clients at scale: deadlines on the head and the
//! body keep the health route and signed events answering. Alone in its test binary so that no
//! other test (compiling the component, say) competes for the CPU while it measures answers.
//! Against 127.0.0.1 only, bounded in count and time.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use matterlink_e2e::{signed, unix_now, Env};
use matterlink_host::serve::ServeOptions;
use reqwest::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use matterlink_e2e::serve_attack::{
    all_slots_free, event, fresh_client, read_status, server, upload_head,
};

/// 512 connections sending their head a byte a second, 100 unsigned uploads claiming 60 MiB
/// (refused on their head alone) and 50 that look signed and trickle their body (held until the
/// body deadline), for 10 s: the health route answers every time within a
/// second, a signed event is processed, the server closes the slow ones itself, and afterwards
/// no instance is held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_cannot_stop_the_server() {
    const SLOW_HEADS: usize = 512;
    const UPLOADS: usize = 100;
    /// Besides them, uploads that look signed, so that their bodies are read and they hold
    /// instances until the body deadline.
    const HELD: usize = 50;
    const ATTACK: Duration = Duration::from_secs(10);
    let env = Env::start().await;
    let options = ServeOptions {
        header_timeout: Duration::from_secs(2),
        body_timeout: Duration::from_secs(3),
        // Room for the signed event's real provisioning on a loaded machine; the uploads end at
        // the body deadline long before.
        request_timeout: Duration::from_secs(30),
        ..ServeOptions::default()
    };
    let s = server(&env, options).await;
    let addr = s.addr().to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let closed_by_server = Arc::new(AtomicUsize::new(0));
    let uploads_408 = Arc::new(AtomicUsize::new(0));
    let uploads_other = Arc::new(AtomicUsize::new(0));
    let uploads_401 = Arc::new(AtomicUsize::new(0));

    // Each attacker starts at its own moment in the first 1.5 s, as independent clients would.
    let stagger = |i: usize, of: usize| Duration::from_millis((i * 1500 / of) as u64);
    let mut attackers = Vec::new();
    for i in 0..SLOW_HEADS {
        let (addr, stop, closed) = (addr.clone(), stop.clone(), closed_by_server.clone());
        let start = stagger(i, SLOW_HEADS);
        attackers.push(tokio::spawn(async move {
            tokio::time::sleep(start).await;
            let head = b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaa";
            while !stop.load(Ordering::SeqCst) {
                let Ok(mut stream) = TcpStream::connect(&addr).await else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                let mut buf = [0u8; 256];
                for byte in head.iter().cycle() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    if stream.write_all(&[*byte]).await.is_err() {
                        closed.fetch_add(1, Ordering::SeqCst);
                        break;
                    }
                    tokio::select! {
                        read = stream.read(&mut buf) => {
                            // The server gave up on this head (closed, maybe after a 408).
                            let _ = read;
                            closed.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }));
    }
    for i in 0..UPLOADS + HELD {
        let (addr, stop) = (addr.clone(), stop.clone());
        let (timed_out, other) = (uploads_408.clone(), uploads_other.clone());
        let refused = uploads_401.clone();
        let start = stagger(i, UPLOADS + HELD);
        attackers.push(tokio::spawn(async move {
            tokio::time::sleep(start).await;
            while !stop.load(Ordering::SeqCst) {
                let Ok(mut stream) = TcpStream::connect(&addr).await else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                // The unsigned ones send no body and are refused on their head alone; the
                // signed-looking ones trickle their body, holding an instance until the body
                // deadline.
                let trickle = i >= UPLOADS;
                if stream.write_all(&upload_head(trickle)).await.is_err() {
                    continue;
                }
                let status = loop {
                    tokio::select! {
                        status = read_status(&mut stream) => break status,
                        () = tokio::time::sleep(Duration::from_secs(1)) => {
                            if trickle && stream.write_all(b"x").await.is_err() {
                                break None;
                            }
                        }
                    }
                };
                match (trickle, status) {
                    (true, Some(408)) => timed_out.fetch_add(1, Ordering::SeqCst),
                    (false, Some(401)) => refused.fetch_add(1, Ordering::SeqCst),
                    _ => other.fetch_add(1, Ordering::SeqCst),
                };
            }
        }));
    }

    // Meanwhile: health on a fresh connection every 200 ms, and one signed event.
    let client = fresh_client();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let began = Instant::now();
    let mut probes = 0;
    let mut most_in_use = 0;
    let mut event_done = false;
    let mut slowest = Duration::ZERO;
    while began.elapsed() < ATTACK {
        let t = Instant::now();
        let health = tokio::time::timeout(
            Duration::from_secs(1),
            client.get(format!("{}/v1/health", s.url)).send(),
        )
        .await
        .unwrap_or_else(|_| panic!("health took over a second, {probes} probes in"))
        .expect("health answers");
        assert_eq!(health.status(), StatusCode::OK);
        slowest = slowest.max(t.elapsed());
        probes += 1;
        most_in_use = most_in_use.max(s.runtime.instances_in_use());
        if !event_done && began.elapsed() > Duration::from_secs(3) {
            // Provisioning takes a couple of seconds of real work; the bound only keeps a hung
            // server from hanging the test.
            let answer = tokio::time::timeout(
                Duration::from_secs(30),
                signed(
                    &client,
                    Method::POST,
                    &format!("{}/v1/events", s.url),
                    event("e-under-load"),
                    unix_now(),
                )
                .send(),
            )
            .await
            .expect("the event is answered in time")
            .expect("the event is answered");
            assert_eq!(answer.status(), StatusCode::OK);
            let body: serde_json::Value = answer.json().await.unwrap();
            assert_eq!(body["workspace"]["name"], "Smith v Jones", "{body}");
            event_done = true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for a in attackers {
        a.abort();
    }

    assert!(event_done);
    eprintln!("{probes} health probes, the slowest in {slowest:?}");
    // Probed all along (every 200 ms when the machine is idle; fewer when it is busy): each
    // probe above had to answer within a second.
    assert!(probes >= 5, "{probes} health probes");
    assert_eq!(env.state().workspaces().len(), 1);
    // The attack was real: the uploads held instances, and the server itself ended the slow
    // heads and the slow bodies.
    assert!(most_in_use >= 20, "at most {most_in_use} instances in use");
    let closed = closed_by_server.load(Ordering::SeqCst);
    assert!(
        closed >= SLOW_HEADS,
        "{closed} slow heads closed by the server"
    );
    let (timed_out, other) = (
        uploads_408.load(Ordering::SeqCst),
        uploads_other.load(Ordering::SeqCst),
    );
    let refused = uploads_401.load(Ordering::SeqCst);
    assert!(
        timed_out >= HELD,
        "{timed_out} signed-looking uploads answered 408, {other} otherwise"
    );
    assert!(
        refused >= UPLOADS,
        "{refused} unsigned uploads refused on their head, {other} otherwise"
    );
    assert_eq!(
        other, 0,
        "every signed-looking upload got 408 and every unsigned one 401"
    );
    assert!(
        all_slots_free(&s, Duration::from_secs(6)).await,
        "{} instances still in use",
        s.runtime.instances_in_use()
    );
    s.stop().await;
}
