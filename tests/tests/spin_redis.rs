//! Many firms' processes on one Redis: two real `spin up` (Spin's own Redis key-value store)
//! and one `matterlink serve` (our Redis backend, Spin's key layout) share a Redis database and
//! one iManage. The same signed events go to all three at once; every matter must get exactly
//! one workspace, every event must end done, and nothing may be left claimed or dead.
//!
//! Spin's Redis store reports every compare-and-swap as failed (its `swap` sends an `UNWATCH`
//! with an argument, which Redis refuses), so this is the test that shows matterlink's claims
//! and records do not rest on compare-and-swap.

#[path = "../../host/tests/common/redis.rs"]
mod redis;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::time::Duration;

use matterlink_component::webhooks::signature;
use matterlink_e2e::{spin, unix_now, Env, Server};
use matterlink_host::keyvalue::redis::RedisUrl;
use matterlink_host::keyvalue::runtime_config::RuntimeConfig;
use matterlink_host::{Runtime, RuntimeOptions, EMBEDDED_COMPONENT};
use serde_json::{json, Value};

/// As long as a real deployment's would be (32 characters or more).
const SECRET: &str = "spin-redis-webhook-secret-0123456789abcdef";
const MATTERS: usize = 4;

fn matter(i: usize) -> Value {
    json!({
        "id": format!("SR{i:03}"),
        "title": format!("Shared store matter {i}"),
        "matter_type": "Litigation",
        "clients": [{"id": format!("SRC{i}"), "name": format!("Client {i}")}],
    })
}

/// Posts a signed event, signed at `at` (Unix seconds): every copy of one event a test sends is
/// signed at a second of its own, so that each is a delivery of its own (a signature is accepted
/// once: the same signed request twice is a replay, refused with 409).
async fn post_event(client: &reqwest::Client, base: &str, body: &[u8], at: u64) -> (u16, Value) {
    let ts = at.to_string();
    let r = client
        .post(format!("{base}/v1/events"))
        .header(signature::TIMESTAMP_HEADER, &ts)
        .header(
            signature::SIGNATURE_HEADER,
            signature::sign(SECRET, &ts, "POST", "/v1/events", body),
        )
        .body(body.to_vec())
        .timeout(Duration::from_secs(90))
        .send()
        .await
        .expect("the event is answered");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Every key in database 0, with a plain RESP `KEYS *`: what is left behind, whoever wrote it.
fn redis_keys(port: u16) -> Vec<String> {
    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"*2\r\n$4\r\nKEYS\r\n$1\r\n*\r\n").unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let n: usize = line.trim().trim_start_matches('*').parse().unwrap();
    let mut keys = Vec::with_capacity(n);
    for _ in 0..n {
        line.clear();
        r.read_line(&mut line).unwrap();
        let len: usize = line.trim().trim_start_matches('$').parse().unwrap();
        let mut buf = vec![0; len + 2];
        r.read_exact(&mut buf).unwrap();
        buf.truncate(len);
        keys.push(String::from_utf8_lossy(&buf).into_owned());
    }
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_spins_and_a_serve_on_one_redis_provision_each_matter_once() {
    let Some(spin_binary) = spin::binary("two_spins_and_a_serve_on_one_redis") else {
        return;
    };
    let Some(redis) = redis::RedisServer::start() else {
        return;
    };
    let env = Env::start().await;
    let base = env.sandbox.base_url();

    let app = spin::App::new(
        spin_binary,
        Some(&format!("redis://127.0.0.1:{}", redis.port())),
    );
    let variables = [
        ("imanage_base_url", base.as_str()),
        ("imanage_library", imanage_sandbox::LIBRARY),
        ("imanage_client_id", imanage_sandbox::CLIENT_ID),
        ("imanage_client_secret", imanage_sandbox::CLIENT_SECRET),
        ("imanage_username", imanage_sandbox::SERVICE_USER),
        ("imanage_password", imanage_sandbox::SERVICE_PASSWORD),
        ("templates", r#"{"Litigation": "ACTIVE!100"}"#),
        ("webhook_secret", SECRET),
    ];
    let mut spin_a = app.up("spin A", &variables);
    let mut spin_b = app.up("spin B", &variables);

    let mut config = env.config();
    config.set("templates", r#"{"Litigation": "ACTIVE!100"}"#);
    config.set("webhook_secret", SECRET);
    let runtime = Runtime::with_stores(
        RuntimeOptions {
            component: EMBEDDED_COMPONENT,
            data_dir: env.data_dir(),
            config,
            allowed_base_url: None,
        },
        RuntimeConfig::for_redis(&RedisUrl::parse(&redis.url()).unwrap(), false),
    )
    .expect("runtime on redis");
    let serve = Server::start(runtime).await;
    spin_a.ready().await;
    spin_b.ready().await;

    let hosts = [spin_a.url.clone(), spin_b.url.clone(), serve.url.clone()];
    let client = reqwest::Client::new();
    let bodies: Vec<Vec<u8>> = (0..MATTERS)
        .map(|i| {
            serde_json::to_vec(&json!({"id": format!("sr-evt-{i}"), "type": "matter.created", "matter": matter(i)}))
                .unwrap()
        })
        .collect();

    // Every event to every home at the same moment. Each copy is signed at its own second, fixed
    // now (t0 - 0..2 here, t0 - 10..12 for the repeats below), so no two copies share a signature
    // however long the test takes.
    let t0 = unix_now();
    let mut deliveries = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        for (h, host) in hosts.iter().enumerate() {
            let (client, host, body) = (client.clone(), host.clone(), body.clone());
            deliveries.push(tokio::spawn(async move {
                let (status, answer) = post_event(&client, &host, &body, t0 - h as u64).await;
                (i, host, status, answer)
            }));
        }
    }
    let mut workspace_of = vec![None::<String>; MATTERS];
    for d in deliveries {
        let (i, host, status, answer) = d.await.unwrap();
        assert_eq!(status, 200, "matter {i} at {host}: {answer}");
        let ws = answer["workspace"]["id"].as_str().unwrap().to_string();
        match &workspace_of[i] {
            None => workspace_of[i] = Some(ws),
            Some(seen) => assert_eq!(seen, &ws, "matter {i}: every home names one workspace"),
        }
    }

    // One workspace per matter in iManage.
    let workspaces = env.state().workspaces();
    assert_eq!(
        workspaces.len(),
        MATTERS,
        "{:?}",
        workspaces.iter().map(|w| &w.id).collect::<Vec<_>>()
    );

    // Every event is done: a repeat to any home is a duplicate.
    for body in &bodies {
        for (h, host) in hosts.iter().enumerate() {
            let (status, answer) = post_event(&client, host, body, t0 - 10 - h as u64).await;
            assert_eq!(status, 200, "{host}: {answer}");
            assert_eq!(answer["duplicate"], true, "{host}: {answer}");
        }
    }

    // Nothing stuck: no claim and no dead letter left, every event done, every matter linked.
    let keys = redis_keys(redis.port());
    let stuck: Vec<_> = keys
        .iter()
        .filter(|k| k.starts_with("claim/") || k.starts_with("event/dead"))
        .collect();
    assert!(
        stuck.is_empty(),
        "left in Redis: {stuck:?}\nall keys: {keys:?}"
    );
    for i in 0..MATTERS {
        assert!(keys.contains(&format!("event/done/sr-evt-{i}")), "{keys:?}");
        assert!(keys.contains(&format!("link/matter/SR{i:03}")), "{keys:?}");
    }

    serve.stop().await;
    drop(spin_a);
    drop(spin_b);
}
