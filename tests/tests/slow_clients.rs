//! `matterlink serve` under slow and greedy clients at scale: deadlines on the head and the
//! body keep the health route and signed events answering. Alone in its test binary so that no
//! other test (compiling the component, say) competes for the CPU while it measures answers.
//! Against 127.0.0.1 only, bounded in count and time.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use matterlink_e2e::{fixture, signed, unix_now, Env, Server, WEBHOOK_SECRET};
use matterlink_host::serve::ServeOptions;
use reqwest::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn event(id: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "id": id, "type": "matter.created", "matter": fixture("matter-basic.json")
    }))
    .unwrap()
}

async fn server(env: &Env, options: ServeOptions) -> Server {
    let mut config = env.config();
    config.set("webhook_secret", WEBHOOK_SECRET);
    Server::start_with(env.runtime_with(config), options).await
}

/// A client that opens a fresh connection for every request, so each one goes through accept.
fn fresh_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// The head of an upload that claims 60 MiB of document.
fn upload_head() -> Vec<u8> {
    format!(
        "POST /v1/matters/1042/documents HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        60 << 20
    )
    .into_bytes()
}

/// The status code of the response on `stream`, or `None` if it closed without one.
async fn read_status(stream: &mut TcpStream) -> Option<u16> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    std::str::from_utf8(&got)
        .ok()?
        .split(' ')
        .nth(1)?
        .parse()
        .ok()
}

/// Waits (up to `within`) for the runtime to hold no instance.
async fn all_slots_free(server: &Server, within: Duration) -> bool {
    let until = Instant::now() + within;
    while Instant::now() < until {
        if server.runtime.instances_in_use() == 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.runtime.instances_in_use() == 0
}

/// 512 connections sending their head a byte a second and 100 uploads claiming 60 MiB (half
/// trickling, half sending no body), for 10 s: the health route answers every time within a
/// second, a signed event is processed, the server closes the slow ones itself, and afterwards
/// no instance is held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_cannot_stop_the_server() {
    const SLOW_HEADS: usize = 512;
    const UPLOADS: usize = 100;
    const ATTACK: Duration = Duration::from_secs(10);
    let env = Env::start().await;
    let options = ServeOptions {
        header_timeout: Duration::from_secs(2),
        body_timeout: Duration::from_secs(3),
        request_timeout: Duration::from_secs(5),
        ..ServeOptions::default()
    };
    let s = server(&env, options).await;
    let addr = s.addr().to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let closed_by_server = Arc::new(AtomicUsize::new(0));
    let uploads_408 = Arc::new(AtomicUsize::new(0));
    let uploads_other = Arc::new(AtomicUsize::new(0));

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
    for i in 0..UPLOADS {
        let (addr, stop) = (addr.clone(), stop.clone());
        let (timed_out, other) = (uploads_408.clone(), uploads_other.clone());
        let start = stagger(i, UPLOADS);
        attackers.push(tokio::spawn(async move {
            tokio::time::sleep(start).await;
            while !stop.load(Ordering::SeqCst) {
                let Ok(mut stream) = TcpStream::connect(&addr).await else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                if stream.write_all(&upload_head()).await.is_err() {
                    continue;
                }
                let trickle = i % 2 == 0;
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
                match status {
                    Some(408) => timed_out.fetch_add(1, Ordering::SeqCst),
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
            let answer = tokio::time::timeout(
                Duration::from_secs(5),
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
    assert!(probes >= 20, "{probes} health probes");
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
    assert!(
        timed_out >= UPLOADS,
        "{timed_out} uploads answered 408, {other} otherwise"
    );
    assert_eq!(other, 0, "every upload that was answered got 408");
    assert!(
        all_slots_free(&s, Duration::from_secs(6)).await,
        "{} instances still in use",
        s.runtime.instances_in_use()
    );
    s.stop().await;
}
