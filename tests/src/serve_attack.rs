//! What the tests of `serve`'s limits share: a server with given limits, raw uploads, and a
//! check that every instance slot was given back.

use std::time::{Duration, Instant};

use matterlink_host::serve::ServeOptions;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::{fixture, Env, Server, WEBHOOK_SECRET};

/// A `matter.created` event of the basic fixture matter, with its own id.
pub fn event(id: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "id": id, "type": "matter.created", "matter": fixture("matter-basic.json")
    }))
    .unwrap()
}

/// A server with `options`, its component configured against the sandbox with the test secret.
pub async fn server(env: &Env, options: ServeOptions) -> Server {
    let mut config = env.config();
    config.set("webhook_secret", WEBHOOK_SECRET);
    Server::start_with(env.runtime_with(config), options).await
}

/// A client that opens a fresh connection for every request, so each one goes through accept.
pub fn fresh_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// The head of an upload that claims 60 MiB of document.
///
/// The component refuses an unsigned upload on its head alone, so an upload that is to hold an
/// instance while its body trickles carries what looks like a signature: a fresh timestamp and a
/// well-formed (but wrong) HMAC, which can only be found wrong once the whole body is in.
pub fn upload_head(looks_signed: bool) -> Vec<u8> {
    let signature = if looks_signed {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        format!(
            "X-Matterlink-Timestamp: {now}\r\nX-Matterlink-Signature: sha256={}\r\n",
            "0".repeat(64)
        )
    } else {
        String::new()
    };
    format!(
        "POST /v1/matters/1042/documents?name=a.pdf HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/octet-stream\r\n{signature}Content-Length: {}\r\n\r\n",
        60 << 20
    )
    .into_bytes()
}

/// The status code of the response on `stream`, or `None` if it closed without one.
pub async fn read_status(stream: &mut TcpStream) -> Option<u16> {
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
pub async fn all_slots_free(server: &Server, within: Duration) -> bool {
    let until = Instant::now() + within;
    while Instant::now() < until {
        if server.runtime.instances_in_use() == 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.runtime.instances_in_use() == 0
}
