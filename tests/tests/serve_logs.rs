//! No secret in the most verbose logs of `matterlink serve`: every route, its errors, and a
//! request whose guest traps.
//!
//! Alone in its test binary on purpose: it installs the global subscriber (the server's tasks
//! log from every worker thread), which a process can do once.

use std::time::Duration;

use imanage_sandbox::{CLIENT_SECRET, SERVICE_PASSWORD};
use matterlink_e2e::{fixture, signed, unix_now, Env, Server, ACTIONSTEP_TOKEN, WEBHOOK_SECRET};
use matterlink_host::serve::ServeOptions;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_logs_no_secret_on_any_route_error_or_trap() {
    let logs = matterlink_e2e::LogCapture::default();
    tracing::subscriber::set_global_default(logs.subscriber()).expect("the only subscriber");
    let env = Env::start().await;
    let mut config = env.config();
    config.set("webhook_secret", WEBHOOK_SECRET);
    config.set("actionstep_token", ACTIONSTEP_TOKEN);
    config.set("actionstep_matter_types", r#"{"12": "Litigation"}"#);
    let s = Server::start(env.runtime_with(config.clone())).await;
    let c = reqwest::Client::new();
    let at = |path: &str| format!("{}{path}", s.url);
    let matter = fixture("matter-basic.json");
    let event = |id: &str, kind: &str| {
        serde_json::to_vec(&json!({"id": id, "type": kind, "matter": matter})).unwrap()
    };
    let hook = at(&format!("/v1/actionstep/{ACTIONSTEP_TOKEN}"));
    let action = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/actionstep-action-created.json"
    ))
    .unwrap();
    let mut statuses = Vec::new();
    let mut record = |r: reqwest::Response| statuses.push(r.status().as_u16());

    // Every route, answered.
    record(c.get(at("/v1/health")).send().await.unwrap());
    let sign = |method: Method, path: &str, body: Vec<u8>| {
        signed(&c, method, &at(path), body, unix_now()).send()
    };
    record(
        sign(Method::POST, "/v1/events", event("e1", "matter.created"))
            .await
            .unwrap(),
    );
    record(c.post(&hook).body(action.clone()).send().await.unwrap());
    let legacy = serde_json::to_vec(&fixture("matter-legacy.json")).unwrap();
    record(
        sign(Method::POST, "/v1/legacy/resolve", legacy)
            .await
            .unwrap(),
    );
    let link = serde_json::to_vec(&json!({
        "matter": fixture("matter-legacy.json"),
        "url": format!("{}/work/link/d/ACTIVE!1", env.sandbox.base_url()),
    }))
    .unwrap();
    record(sign(Method::POST, "/v1/legacy/link", link).await.unwrap());
    record(
        sign(Method::GET, "/v1/matters/1042/workspace", vec![])
            .await
            .unwrap(),
    );
    record(
        sign(Method::GET, "/v1/matters/1042/folders", vec![])
            .await
            .unwrap(),
    );
    let document = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/invoice-2026-001.pdf"
    ))
    .unwrap();
    record(
        sign(Method::POST, "/v1/matters/1042/documents", document)
            .await
            .unwrap(),
    );
    record(sign(Method::GET, "/v1/check", vec![]).await.unwrap());
    record(sign(Method::GET, "/v1/audit", vec![]).await.unwrap());
    record(sign(Method::GET, "/v1/changes", vec![]).await.unwrap());

    // Errors: unsigned, forged, wrong method, unknown route, the hook with the token and a
    // bad body or the wrong method, a near miss of the hook's path, too large a body.
    record(
        c.post(at("/v1/events"))
            .body(event("e2", "matter.created"))
            .send()
            .await
            .unwrap(),
    );
    record(
        c.post(at("/v1/events"))
            .header("x-matterlink-timestamp", unix_now().to_string())
            .header("x-matterlink-signature", "sha256=00")
            .body(event("e2", "matter.created"))
            .send()
            .await
            .unwrap(),
    );
    record(c.delete(at("/v1/events")).send().await.unwrap());
    record(c.get(at("/v2/nothing")).send().await.unwrap());
    record(c.post(&hook).body("{\"actions\": 5}").send().await.unwrap());
    record(c.get(&hook).send().await.unwrap());
    record(
        c.post(format!("{hook}/extra"))
            .body(action.clone())
            .send()
            .await
            .unwrap(),
    );
    record(
        c.post(at(&format!("//v1/ActionStep/{ACTIONSTEP_TOKEN}")))
            .send()
            .await
            .unwrap(),
    );
    record(
        c.post(&hook)
            .body(vec![b' '; (1 << 20) + 1])
            .send()
            .await
            .unwrap(),
    );
    // iManage failing under a request to the hook.
    env.state().set_faults(imanage_sandbox::Faults {
        error_rate: 1.0,
        ..Default::default()
    });
    record(c.post(&hook).body(action.clone()).send().await.unwrap());
    env.state().set_faults(imanage_sandbox::Faults::default());
    s.stop().await;

    // A guest that traps: a server whose requests have no time at all, so the engine
    // interrupts the guest at its first instruction.
    let trapping = Server::start_with(
        env.runtime_with(config),
        ServeOptions {
            request_timeout: Duration::ZERO,
            ..ServeOptions::default()
        },
    )
    .await;
    let trapped = c
        .post(format!("{}/v1/actionstep/{ACTIONSTEP_TOKEN}", trapping.url))
        .body(action)
        .send()
        .await
        .unwrap();
    statuses.push(trapped.status().as_u16());
    trapping.stop().await;

    let logged = logs.text();
    assert!(statuses.contains(&200), "{statuses:?}");
    assert!(
        statuses.iter().any(|s| (400..500).contains(s)),
        "{statuses:?}"
    );
    assert_eq!(trapped.status(), 504);
    assert!(logged.contains("interrupt"), "the trap was logged");
    assert!(logged.contains("outgoing request") || logged.contains("TRACE"));
    let tokens = env.kv().get_json("auth/tokens").unwrap_or_default();
    let mut secrets = vec![
        ACTIONSTEP_TOKEN.to_string(),
        WEBHOOK_SECRET.to_string(),
        SERVICE_PASSWORD.to_string(),
        CLIENT_SECRET.to_string(),
    ];
    for key in ["access_token", "refresh_token"] {
        if let Some(t) = tokens[key].as_str().filter(|t| !t.is_empty()) {
            secrets.push(t.to_string());
        }
    }
    assert!(secrets.len() >= 5, "the service account's token was stored");
    for (i, secret) in secrets.iter().enumerate() {
        // Name where it leaked without repeating the secret.
        let lines: Vec<String> = logged
            .lines()
            .filter(|l| l.contains(secret.as_str()))
            .map(|l| l.replace(secret.as_str(), "<SECRET>"))
            .collect();
        assert!(lines.is_empty(), "secret #{i} reached the log: {lines:#?}");
    }
    assert!(
        logged.contains("/v1/actionstep/<redacted>"),
        "the hook was logged"
    );
}
