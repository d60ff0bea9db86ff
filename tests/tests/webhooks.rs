//! The HTTP API over real TCP, served by `matterlink serve`'s code from the real `.wasm`,
//! against the sandbox: every route, every status, signatures and replay protection, and the
//! Actionstep hooks.

use std::time::Duration;

use matterlink_e2e::{
    fixture, raw_exchange, signed, unix_now, without_signatures, Env, Server, ACTIONSTEP_TOKEN,
    WEBHOOK_SECRET,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn server(env: &Env) -> Server {
    let mut config = env.config();
    config.set("webhook_secret", WEBHOOK_SECRET);
    config.set("actionstep_token", ACTIONSTEP_TOKEN);
    config.set("actionstep_matter_types", r#"{"12": "Litigation"}"#);
    Server::start(env.runtime_with(config)).await
}

fn event(id: &str, kind: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"id": id, "type": kind, "matter": fixture("matter-basic.json")}))
        .unwrap()
}

async fn send(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let r = req.send().await.unwrap();
    let status = r.status();
    assert_eq!(r.headers()["content-type"], "application/json");
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn events_are_authenticated_idempotent_and_typed() {
    let env = Env::start().await;
    let s = server(&env).await;
    let c = reqwest::Client::new();
    let url = format!("{}/v1/events", s.url);
    let state = env.state();

    // Unsigned, wrong signature, stale timestamp: 401 and nothing done.
    let (st, body) = send(c.post(&url).body(event("e1", "matter.created"))).await;
    assert_eq!(
        (st, body["error"]["kind"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    let forged = c
        .post(&url)
        .header("x-matterlink-timestamp", unix_now().to_string())
        .header("x-matterlink-signature", "sha256=00")
        .body(event("e1", "matter.created"));
    assert_eq!(send(forged).await.0, StatusCode::UNAUTHORIZED);
    let stale = signed(
        &c,
        Method::POST,
        &url,
        event("e1", "matter.created"),
        unix_now() - 3600,
    );
    let (st, body) = send(stale).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("window"));
    assert!(state.workspaces().is_empty());
    assert!(env.kv().keys().is_empty());

    // A valid event; the same signed request replayed within the window is refused; the
    // event redelivered (signed anew) is answered from its record: one workspace.
    let body = event("e1", "matter.created");
    let at = unix_now();
    let (st, first) = send(signed(&c, Method::POST, &url, body.clone(), at)).await;
    assert_eq!(st, StatusCode::OK, "{first}");
    assert_eq!(first["duplicate"], false);
    assert_eq!(first["workspace"]["name"], "Smith v Jones");
    let kv_after_first = env.kv().snapshot();
    let (st, replayed) = send(signed(&c, Method::POST, &url, body.clone(), at)).await;
    assert_eq!(
        (st, replayed["error"]["kind"].as_str()),
        (StatusCode::CONFLICT, Some("replayed"))
    );
    assert_eq!(
        env.kv().snapshot(),
        kv_after_first,
        "a replay changes nothing"
    );
    let (st, again) = send(signed(&c, Method::POST, &url, body, at - 1)).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["workspace"], first["workspace"]);
    assert_eq!(state.workspaces().len(), 1);

    let (st, closed) = send(signed(
        &c,
        Method::POST,
        &url,
        event("e2", "matter.closed"),
        unix_now(),
    ))
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(closed["workspace"]["name"], "CLOSED - Smith v Jones");

    // Malformed JSON, an unknown type, a matter without client: 400, 400, 422.
    let (st, b) = send(signed(
        &c,
        Method::POST,
        &url,
        b"{\"id\": ".to_vec(),
        unix_now(),
    ))
    .await;
    assert_eq!(
        (st, b["error"]["kind"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad-request"))
    );
    let (st, _) = send(signed(
        &c,
        Method::POST,
        &url,
        event("e3", "matter.deleted"),
        unix_now(),
    ))
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let no_client = serde_json::to_vec(
        &json!({"id": "e4", "type": "matter.created", "matter": fixture("matter-no-client.json")}),
    )
    .unwrap();
    let (st, b) = send(signed(&c, Method::POST, &url, no_client, unix_now())).await;
    assert_eq!(
        (st, b["error"]["kind"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid-matter"))
    );
    assert!(env.kv().get_json("event/done/e4").is_none());

    // Too large, unknown route, wrong method.
    let (st, b) = send(signed(
        &c,
        Method::POST,
        &url,
        vec![b' '; (1 << 20) + 1],
        unix_now(),
    ))
    .await;
    assert_eq!(
        (st, b["error"]["kind"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too-large"))
    );
    let (st, _) = send(c.get(format!("{}/v2/nothing", s.url))).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = send(c.delete(format!("{}/v1/events", s.url))).await;
    assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED);
    s.stop().await;
}

#[tokio::test]
async fn legacy_documents_workspace_and_check_routes() {
    let env = Env::start().await;
    // One clock reading for the whole test: a repeat of a request is signed at its own offset
    // from it, so two readings a second apart can never sign two identical requests alike.
    let t = unix_now();
    let s = server(&env).await;
    let c = reqwest::Client::new();
    let matter = serde_json::to_vec(&fixture("matter-basic.json")).unwrap();

    let (st, b) = send(signed(
        &c,
        Method::GET,
        &format!("{}/v1/matters/1042/workspace", s.url),
        vec![],
        t,
    ))
    .await;
    assert_eq!(
        (st, b["error"]["kind"].as_str()),
        (StatusCode::NOT_FOUND, Some("not-linked"))
    );
    let (st, b) = send(signed(
        &c,
        Method::POST,
        &format!("{}/v1/legacy/resolve", s.url),
        matter.clone(),
        t,
    ))
    .await;
    assert_eq!((st, b), (StatusCode::OK, json!({"kind": "none"})));

    let (st, created) = send(signed(
        &c,
        Method::POST,
        &format!("{}/v1/events", s.url),
        event("e1", "matter.created"),
        t,
    ))
    .await;
    assert_eq!(st, StatusCode::OK);
    // The same request as the first, so signed a second later than it could have been: a
    // signature is good once.
    let (st, ws) = send(signed(
        &c,
        Method::GET,
        &format!("{}/v1/matters/1042/workspace", s.url),
        vec![],
        t + 1,
    ))
    .await;
    assert_eq!((st, &ws), (StatusCode::OK, &created["workspace"]));

    let pdf = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/invoice-2026-001.pdf"
    ))
    .unwrap();
    let docs = format!("{}/v1/matters/1042/documents", s.url);
    let named = format!("{docs}?name=Invoice%202026-001.pdf");
    let (st, b) = send(signed(&c, Method::POST, &named, pdf.clone(), t)).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let doc = env
        .state()
        .document(b["document_id"].as_str().unwrap())
        .unwrap();
    assert_eq!(doc.content, pdf);
    assert!(doc.name.starts_with("Invoice 2026-001"), "{}", doc.name);
    let documents_before = env.state().documents_in(&doc.folder_id).len();
    // A redelivery of the upload (signed anew, as every request is) answers the same document.
    let (st, again) = send(signed(&c, Method::POST, &named, pdf.clone(), t - 2)).await;
    assert_eq!((st, &again), (StatusCode::CREATED, &b), "{again}");
    // The caller's idempotency key travels in the signed query: a key of its own files anew,
    // and its repeat answers that filing; in an (unsigned) header it is refused.
    let keyed = format!("{named}&idempotency_key=delivery-9");
    let (st, by_key) = send(signed(&c, Method::POST, &keyed, pdf.clone(), t)).await;
    assert_eq!(st, StatusCode::CREATED, "{by_key}");
    assert_ne!(by_key["document_id"], b["document_id"]);
    let (st, again) = send(signed(&c, Method::POST, &keyed, pdf.clone(), t - 1)).await;
    assert_eq!((st, &again), (StatusCode::CREATED, &by_key), "{again}");
    let (st, refused) = send(
        signed(&c, Method::POST, &named, pdf.clone(), t - 3)
            .header("idempotency-key", "delivery-10"),
    )
    .await;
    assert_eq!(
        (st, refused["error"]["kind"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad-request"))
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("?idempotency_key="),
        "{refused}"
    );
    assert_eq!(
        env.state().documents_in(&doc.folder_id).len(),
        documents_before + 1,
        "the repeats filed nothing"
    );
    let documents_before = documents_before + 1;
    let (st, b) = send(signed(&c, Method::POST, &docs, pdf.clone(), t)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "a document needs a name: {b}");
    // The name in a header is outside the signature, so it is refused, and says where it goes.
    let (st, b) = send(
        signed(&c, Method::POST, &docs, pdf.clone(), t - 1)
            .header("x-document-name", "Invoice 2026-001.pdf"),
    )
    .await;
    assert_eq!(
        (st, b["error"]["kind"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad-request"))
    );
    assert!(
        b["error"]["message"].as_str().unwrap().contains("?name="),
        "{b}"
    );
    // A captured upload re-sent to another matter or under another name is not signed for it.
    let at = t + 2;
    let captured = signed(&c, Method::POST, &named, pdf.clone(), at)
        .build()
        .unwrap();
    for target in [
        format!(
            "{}/v1/matters/2001/documents?name=Invoice%202026-001.pdf",
            s.url
        ),
        format!("{docs}?name=Other.pdf"),
    ] {
        let mut forged = c.post(&target).body(pdf.clone());
        for (k, v) in captured.headers() {
            forged = forged.header(k, v);
        }
        let (st, b) = send(forged).await;
        assert_eq!(
            (st, b["error"]["kind"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthorized")),
            "{target}"
        );
    }
    assert_eq!(
        env.state().documents_in(&doc.folder_id).len(),
        documents_before
    );

    let link = serde_json::to_vec(&json!({"matter": fixture("matter-legacy.json"), "url": "https://evil.example/work/link/w/ACTIVE!1000"})).unwrap();
    let (st, b) = send(signed(
        &c,
        Method::POST,
        &format!("{}/v1/legacy/link", s.url),
        link,
        t,
    ))
    .await;
    assert_eq!(
        (st, b["error"]["kind"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid-url"))
    );

    let (st, b) = send(signed(
        &c,
        Method::GET,
        &format!("{}/v1/check", s.url),
        vec![],
        t,
    ))
    .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert!(b["report"].as_str().unwrap().contains("✓ token"));
    assert_eq!(b["version"], env!("CARGO_PKG_VERSION"));
    // Unsigned health says only that it runs and whether the configuration loads.
    let (st, b) = send(c.get(format!("{}/v1/health", s.url))).await;
    assert_eq!(
        (st, b),
        (StatusCode::OK, json!({"status": "ok", "configured": true}))
    );
    s.stop().await;
}

/// A signed request is accepted once, whichever process sharing the store it reaches.
#[tokio::test]
async fn a_replay_is_refused_by_another_process_on_the_same_store() {
    let env = Env::start().await;
    let first = server(&env).await;
    let second = server(&env).await;
    let c = reqwest::Client::new();
    let at = unix_now();
    let target = "/v1/changes";
    let (st, b) = send(signed(
        &c,
        Method::GET,
        &format!("{}{target}", first.url),
        vec![],
        at,
    ))
    .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let kv = env.kv().snapshot();
    let (st, b) = send(signed(
        &c,
        Method::GET,
        &format!("{}{target}", second.url),
        vec![],
        at,
    ))
    .await;
    assert_eq!(
        (st, b["error"]["kind"].as_str()),
        (StatusCode::CONFLICT, Some("replayed")),
        "{b}"
    );
    assert_eq!(env.kv().snapshot(), kv);
    first.stop().await;
    second.stop().await;
}

/// The signature's headers and timestamp are checked before any of the body is read: an
/// unsigned 60 MiB upload is answered at once, though its body is never sent.
#[tokio::test]
async fn an_unsigned_upload_is_refused_before_its_body_is_read() {
    let env = Env::start().await;
    let s = server(&env).await;
    let kv = without_signatures(env.kv().snapshot());
    let head = |extra: &str| {
        format!(
            "POST /v1/matters/1042/documents?name=big.pdf HTTP/1.1\r\nhost: localhost\r\n\
             content-type: application/pdf\r\ncontent-length: {}\r\n{extra}\r\n",
            60 << 20
        )
    };
    for (why, extra) in [
        ("unsigned", String::new()),
        (
            "signed an hour ago",
            format!(
                "x-matterlink-timestamp: {}\r\nx-matterlink-signature: sha256={}\r\n",
                unix_now() - 3600,
                "0".repeat(64)
            ),
        ),
    ] {
        let (status, body) =
            raw_exchange(&s.url, head(&extra).as_bytes(), Duration::from_secs(10)).await;
        let body: Value = serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{why}: {e}"));
        assert_eq!(
            (status, body["error"]["kind"].as_str()),
            (401, Some("unauthorized")),
            "{why}: {body}"
        );
    }
    assert_eq!(without_signatures(env.kv().snapshot()), kv);
    assert_eq!(env.state().request_count(), 0, "nothing reached iManage");
    s.stop().await;
}

#[tokio::test]
async fn failures_answer_503_and_wait_for_replay() {
    let env = Env::start().await;
    let s = server(&env).await;
    let c = reqwest::Client::new();
    let state = env.state();
    state.set_faults(imanage_sandbox::Faults {
        error_rate: 1.0,
        ..Default::default()
    });
    let (st, b) = send(signed(
        &c,
        Method::POST,
        &format!("{}/v1/events", s.url),
        event("e1", "matter.created"),
        unix_now(),
    ))
    .await;
    assert_eq!(
        (st, b["error"]["kind"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable"))
    );
    let letter = env
        .kv()
        .get_json("event/dead/e1")
        .expect("dead letter kept");
    assert_eq!(letter["attempts"], 1);
    assert_eq!(letter["kind"], "unavailable");

    state.set_faults(imanage_sandbox::Faults::default());
    let rt = env.runtime();
    let report = rt
        .call(
            matterlink_host::Function::ReplayEvents,
            matterlink_host::Args::default(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (report["replayed"].as_u64(), report["succeeded"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(state.workspaces().len(), 1);
    assert!(env.kv().get_json("event/dead/e1").is_none());
    assert!(env.kv().get_json("event/done/e1").is_some());
    s.stop().await;
}

#[tokio::test]
async fn actionstep_hooks_always_answer_200_to_their_token() {
    let env = Env::start().await;
    let s = server(&env).await;
    let c = reqwest::Client::new();
    let hook = format!("{}/v1/actionstep/{ACTIONSTEP_TOKEN}", s.url);
    let created = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/actionstep-action-created.json"
    ))
    .unwrap();
    let closed = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/actionstep-action-closed.json"
    ))
    .unwrap();

    let (st, _) = send(
        c.post(format!("{}/v1/actionstep/wrong-token", s.url))
            .body(created.clone()),
    )
    .await;
    // 404, never 401: Actionstep deletes a hook that answers 401.
    assert_eq!(st, StatusCode::NOT_FOUND);
    // Unreadable: still 200 (any other answer disables the hook), kept whole for replay.
    let (st, b) = send(c.post(&hook).body("{\"actions\": 5}")).await;
    assert_eq!(
        (st, &b["held"]["kind"]),
        (StatusCode::OK, &json!("malformed"))
    );
    let held_key = format!("event/held/{}", b["held"]["id"].as_str().unwrap());
    assert_eq!(
        env.kv().get_json(&held_key).unwrap()["body"],
        "{\"actions\": 5}"
    );
    assert!(env.state().workspaces().is_empty());

    // iManage down: still 200 (Actionstep would disable the hook otherwise), kept for replay.
    env.state().set_faults(imanage_sandbox::Faults {
        error_rate: 1.0,
        ..Default::default()
    });
    let (st, b) = send(c.post(&hook).body(created.clone())).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(b["results"][0]["error"]["kind"], "unavailable");
    env.state().set_faults(imanage_sandbox::Faults::default());

    let (st, b) = send(c.post(&hook).body(created)).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["results"][0]["type"], "matter.created");
    let ws = &b["results"][0]["outcome"]["workspace"];
    assert_eq!(ws["name"], "Smith v Jones");
    let id = ws["id"].as_str().unwrap();
    let custom = serde_json::to_value(&env.state().workspace(id).unwrap().custom).unwrap();
    assert_eq!(custom["custom3"], "Litigation", "action type 12 mapped");
    assert_eq!(custom["custom1"], "5120");

    let (st, b) = send(c.post(&hook).body(closed)).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["results"][0]["type"], "matter.closed");
    assert_eq!(
        env.state().workspace(id).unwrap().name,
        "CLOSED - Smith v Jones"
    );
    // The delivery that failed during the outage had the same event id (the action had not
    // changed), so its later success cleared the dead letter.
    let index = env.kv().get_json("event/dead-index").unwrap_or(json!([]));
    assert_eq!(index, json!([]));
    s.stop().await;
}
