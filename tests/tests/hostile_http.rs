//! Hostile HTTP below JSON (tests/hostile/http/): each raw request, sent as bytes over TCP to a
//! real `serve`, gets a clean 4xx (and a closed connection where HTTP says so); the server
//! answers afterwards, and neither key-value nor the sandbox changes.

use std::path::Path;
use std::time::Duration;

use matterlink_e2e::{fixture, Env, Server, ACTIONSTEP_TOKEN, WEBHOOK_SECRET};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Each case: its file, the status it gets, and whether the server then closes the connection.
/// tests/hostile/http/README.md says why.
const CASES: &[(&str, u16, bool)] = &[
    ("content-length-not-a-number.http", 400, true),
    ("duplicate-content-length.http", 400, true),
    ("headers-10000.http", 431, true),
    ("headers-64-kib.http", 431, true),
    ("path-dot-dot-encoded.http", 404, false),
    ("path-dot-dot-to-actionstep.http", 404, false),
    ("path-dot-dot-to-signed-route.http", 404, false),
    ("path-invalid-utf8.http", 400, true),
    ("request-line-garbage.http", 400, true),
    ("transfer-encoding-and-content-length.http", 401, true),
    ("transfer-encoding-not-chunked.http", 400, true),
];

/// Sends `request` on a fresh connection; the status line's code and whether the server
/// closed the connection after answering (within two seconds).
async fn send_raw(addr: &str, request: &[u8]) -> (Option<u16>, bool) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may stop reading once it has seen enough; what it answers still counts.
    let _ = stream.write_all(request).await;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => break false,
        }
    };
    let status = String::from_utf8_lossy(&got)
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok());
    (status, closed)
}

#[tokio::test]
async fn hostile_http_gets_clean_4xx_and_changes_nothing() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/hostile/http"));
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".http"))
        .collect();
    files.sort();
    let listed: Vec<&str> = CASES.iter().map(|c| c.0).collect();
    assert_eq!(
        files, listed,
        "every file has its expectation here and in the README"
    );

    let env = Env::start().await;
    let mut config = env.config();
    config.set("webhook_secret", WEBHOOK_SECRET);
    config.set("actionstep_token", ACTIONSTEP_TOKEN);
    let rt = env.runtime_with(config);
    // Something to protect: matter 1042 owns a workspace.
    matterlink_e2e::call(
        &rt,
        matterlink_host::Function::OnMatterCreated,
        &fixture("matter-basic.json"),
    )
    .await
    .unwrap();
    let s = Server::start(rt).await;
    let kv_before = env.kv().snapshot();
    let workspaces_before = env.state().workspaces();
    env.state().reset_request_count();
    let health = format!("{}/v1/health", s.url);
    let client = reqwest::Client::new();

    for (name, status, closes) in CASES {
        let request = std::fs::read(dir.join(name)).unwrap();
        let (got, closed) = send_raw(s.addr(), &request).await;
        assert_eq!(got, Some(*status), "{name}");
        assert_eq!(closed, *closes, "{name}: connection closed?");
        let after = client.get(&health).send().await.unwrap();
        assert_eq!(after.status(), 200, "{name}: the server answers afterwards");
    }
    assert_eq!(env.kv().snapshot(), kv_before, "key-value unchanged");
    assert_eq!(env.state().workspaces(), workspaces_before);
    assert_eq!(env.state().request_count(), 0, "iManage never called");
    assert!(
        tokio::time::timeout(Duration::from_secs(2), async {
            while s.runtime.instances_in_use() > 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .is_ok(),
        "no instance left behind"
    );
    s.stop().await;
}
