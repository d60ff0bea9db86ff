//! `matterlink serve`'s limits one at a time: the request deadline really stops the guest (its
//! instance freed, the epoch deadline traps a computing guest), the in-flight cap, the
//! connection cap. Against 127.0.0.1 only.

use std::time::{Duration, Instant};

use matterlink_e2e::{signed, unix_now, Env};
use matterlink_host::serve::ServeOptions;
use reqwest::{Method, StatusCode};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use matterlink_e2e::serve_attack::{
    all_slots_free, event, fresh_client, read_status, server, upload_head,
};

/// A request whose guest waits on a slow iManage past the request deadline gets 504, and its
/// instance is freed at once rather than when iManage finally answers.
#[tokio::test]
async fn a_request_past_its_deadline_is_stopped_and_its_instance_freed() {
    let env = Env::start().await;
    env.state().set_faults(imanage_sandbox::Faults {
        latency_ms: 4000,
        ..Default::default()
    });
    let options = ServeOptions {
        request_timeout: Duration::from_secs(1),
        ..ServeOptions::default()
    };
    let s = server(&env, options).await;
    let started = Instant::now();
    let answer = signed(
        &fresh_client(),
        Method::POST,
        &format!("{}/v1/events", s.url),
        event("e-slow"),
        unix_now(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(answer.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        all_slots_free(&s, Duration::from_millis(500)).await,
        "the instance outlived its deadline"
    );
    s.stop().await;
}

/// A guest still computing at its deadline traps: the engine's epoch ticker interrupts a loop
/// that never yields, which no timer on the calling task could stop.
#[test]
fn a_guest_computing_past_its_deadline_traps() {
    let env = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(Env::start());
    let rt = env.runtime();
    let module = wasmtime::Module::new(
        rt.engine(),
        wat::parse_str(r#"(module (func (export "spin") (loop (br 0))))"#).unwrap(),
    )
    .unwrap();
    let (done, finished) = std::sync::mpsc::channel();
    // On a thread of its own: without interruption the loop would never give it back.
    std::thread::spawn(move || {
        let started = Instant::now();
        let outcome = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let mut store = rt.new_store_with_deadline(Some(Duration::from_millis(200)));
                let instance = wasmtime::Linker::new(rt.engine())
                    .instantiate_async(&mut store, &module)
                    .await?;
                let spin = instance.get_typed_func::<(), ()>(&mut store, "spin")?;
                spin.call_async(&mut store, ()).await
            });
        let _ = done.send((outcome, started.elapsed(), rt.instances_in_use()));
    });
    let (outcome, took, in_use) = finished
        .recv_timeout(Duration::from_secs(10))
        .expect("the guest was not interrupted");
    let err = outcome.expect_err("an endless loop cannot finish");
    assert_eq!(
        err.downcast_ref::<wasmtime::Trap>(),
        Some(&wasmtime::Trap::Interrupt),
        "{err:#}"
    );
    assert!(took >= Duration::from_millis(200), "{took:?}");
    assert_eq!(in_use, 0, "the store is gone with its call");
}

/// Beyond the in-flight cap a request gets 503 at once, and the held ones are freed at their
/// body deadline.
#[tokio::test]
async fn beyond_the_in_flight_cap_requests_get_503_at_once() {
    let env = Env::start().await;
    let options = ServeOptions {
        max_in_flight: 2,
        body_timeout: Duration::from_secs(2),
        ..ServeOptions::default()
    };
    let s = server(&env, options).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(s.addr()).await.unwrap();
        stream.write_all(&upload_head(true)).await.unwrap();
        held.push(stream);
    }
    // A generous wait: only a loaded machine takes more than a moment.
    let until = Instant::now() + Duration::from_secs(10);
    while s.runtime.instances_in_use() < 2 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(s.runtime.instances_in_use(), 2);
    let client = fresh_client();
    let busy = tokio::time::timeout(
        Duration::from_millis(500),
        client.get(format!("{}/v1/health", s.url)).send(),
    )
    .await
    .expect("refused at once")
    .unwrap();
    assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(busy.headers()["retry-after"], "1");
    let body: serde_json::Value = busy.json().await.unwrap();
    assert_eq!(body["error"]["kind"], "unavailable");
    assert!(s.runtime.instances_in_use() <= 2);
    for stream in &mut held {
        assert_eq!(read_status(stream).await, Some(408));
    }
    assert!(all_slots_free(&s, Duration::from_secs(1)).await);
    let health = client
        .get(format!("{}/v1/health", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    s.stop().await;
}

/// Beyond the connection cap a new connection waits (in the listen backlog) until one closes.
#[tokio::test]
async fn beyond_the_connection_cap_new_connections_wait_their_turn() {
    let env = Env::start().await;
    let options = ServeOptions {
        max_connections: 3,
        ..ServeOptions::default()
    };
    let s = server(&env, options).await;
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(TcpStream::connect(s.addr()).await.unwrap());
    }
    let client = fresh_client();
    let url = format!("{}/v1/health", s.url);
    let waiting = tokio::spawn({
        let client = client.clone();
        async move { client.get(url).send().await.map(|r| r.status()) }
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!waiting.is_finished(), "answered beyond the connection cap");
    drop(idle.pop());
    let status = tokio::time::timeout(Duration::from_secs(2), waiting)
        .await
        .expect("served once a connection closed")
        .unwrap()
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    s.stop().await;
}
