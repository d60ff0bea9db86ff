//! The hostile-input corpus (tests/hostile/): every malformed event body, every pasted link
//! that cannot be used and every route path naming a matter that cannot be one is answered with a typed error (a 4xx with a JSON body over HTTP), never
//! a trap or a panic, and neither key-value nor the sandbox changes: after each case, every
//! workspace, folder, document and lookup value is as it was, and the sandbox saw look-ups only.

use std::path::Path;
use std::time::Duration;

use matterlink_e2e::{
    call, fixture, raw_exchange, raw_signed, signed, unix_now, without_signatures, Env, Server,
    WEBHOOK_SECRET,
};
use matterlink_host::{Args, Event, Function};
use reqwest::Method;

fn corpus_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/hostile"))
}

fn events() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(corpus_dir().join("events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

fn urls(base: &str) -> Vec<String> {
    let host = base.trim_start_matches("http://");
    std::fs::read_to_string(corpus_dir().join("urls.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            l.replace("BASEHOST", host)
                .replace("BASE", base)
                .replace("\\n", "\n")
                .replace("\\0", "\0")
        })
        .collect()
}

#[tokio::test]
async fn the_corpus_is_refused_cleanly_and_changes_nothing() {
    let env = Env::start().await;
    let mut config = env.config();
    config.set("webhook_secret", WEBHOOK_SECRET);
    let rt = env.runtime_with(config.clone());
    // Something to protect: matter 1042 owns ACTIVE!1000.
    call(
        &rt,
        Function::OnMatterCreated,
        &fixture("matter-basic.json"),
    )
    .await
    .unwrap();
    let unchanged = Unchanged::from(&env);

    let corpus = events();
    let links = urls(&env.sandbox.base_url());
    assert!(
        corpus.len() + links.len() >= 200,
        "{} cases",
        corpus.len() + links.len()
    );

    // Directly through the component, for every body the host can read as an event.
    let mut direct = 0;
    for (name, body) in &corpus {
        if let Ok(e) = serde_json::from_slice::<Event>(body) {
            direct += 1;
            let outcome = rt
                .call(Function::HandleEvent, e)
                .await
                .unwrap_or_else(|e| panic!("{name}: host failure {e:#}"));
            let err = outcome.expect_err(name);
            assert_eq!(err.kind(), "invalid-matter", "{name}: {err}");
            unchanged.check(&env, name);
        }
    }
    // Over HTTP, every body.
    let server = Server::start(env.runtime_with(config)).await;
    let client = reqwest::Client::new();
    let mut statuses = std::collections::BTreeMap::new();
    for (name, body) in &corpus {
        let r = signed(
            &client,
            Method::POST,
            &format!("{}/v1/events", server.url),
            body.clone(),
            unix_now(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("{name}: no answer ({e}), did the component trap?"));
        let status = r.status().as_u16();
        let answer: serde_json::Value = r
            .json()
            .await
            .unwrap_or_else(|e| panic!("{name}: answer is not JSON: {e}"));
        assert!(
            (400..500).contains(&status),
            "{name}: status {status} {answer}"
        );
        assert!(
            answer["error"]["kind"].is_string() && answer["error"]["message"].is_string(),
            "{name}: {answer}"
        );
        *statuses.entry(status).or_insert(0) += 1;
        unchanged.check(&env, name);
    }
    // Pasted links, through the component and over HTTP.
    let legacy = fixture("matter-legacy.json");
    for url in &links {
        let args = Args {
            matter: Some(legacy.clone()),
            url: Some(url.clone()),
            ..Args::default()
        };
        let err = rt
            .call(Function::LinkWorkspace, args)
            .await
            .unwrap()
            .expect_err(url);
        assert_eq!(err.kind(), "invalid-url", "{url:?}: {err}");
        unchanged.check(&env, url);
        let body = serde_json::to_vec(&serde_json::json!({"matter": legacy, "url": url})).unwrap();
        let r = signed(
            &client,
            Method::POST,
            &format!("{}/v1/legacy/link", server.url),
            body,
            unix_now(),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(r.status().as_u16(), 422, "{url:?}");
        unchanged.check(&env, url);
    }
    server.stop().await;
    // Links to real workspaces are looked up: the look-ups-only check above saw requests.
    assert!(unchanged.look_ups.get() > 0, "no link was looked up");
    println!(
        "hostile corpus: {} event bodies ({direct} also through the component) and {} links refused; statuses {statuses:?}; {} read-only iManage look-ups",
        corpus.len(),
        links.len(),
        unchanged.look_ups.get()
    );
}

/// What a hostile case must leave as it was, checked after each case: key-value (but the memory
/// of accepted signatures, which every accepted signed request adds to), and every workspace,
/// folder, document and lookup value in the sandbox; and the sandbox may have seen look-ups
/// (GETs: the workspace or folder a link points at) and nothing else.
struct Unchanged {
    kv: std::collections::BTreeMap<String, Vec<u8>>,
    sandbox: imanage_sandbox::Content,
    look_ups: std::cell::Cell<u64>,
}

impl Unchanged {
    fn from(env: &Env) -> Unchanged {
        env.state().reset_request_count();
        Unchanged {
            kv: env.kv().snapshot(),
            sandbox: env.state().content(),
            look_ups: std::cell::Cell::new(0),
        }
    }

    fn check(&self, env: &Env, case: &str) {
        let state = env.state();
        assert_eq!(
            without_signatures(env.kv().snapshot()),
            self.kv,
            "{case:?}: key-value changed"
        );
        assert!(
            state.content() == self.sandbox,
            "{case:?}: the sandbox changed"
        );
        let methods = state.request_methods();
        assert!(
            methods.keys().all(|m| m == "GET"),
            "{case:?}: the sandbox saw {methods:?}, where only look-ups may reach it"
        );
        self.look_ups
            .set(self.look_ups.get() + methods.values().sum::<u64>());
        state.reset_request_count();
    }
}

/// `paths.txt` as the exact bytes of each request target (`\xHH` is the raw byte HH).
fn paths() -> Vec<(String, Vec<u8>)> {
    std::fs::read(corpus_dir().join("paths.txt"))
        .unwrap()
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && !l.starts_with(b"#"))
        .map(|line| {
            let line = String::from_utf8(line.to_vec()).expect("the file itself is ASCII");
            let (method, target) = line.split_once(' ').expect("METHOD TARGET");
            let mut bytes = Vec::new();
            let mut rest = target;
            while let Some(at) = rest.find("\\x") {
                bytes.extend_from_slice(&rest.as_bytes()[..at]);
                bytes.push(u8::from_str_radix(&rest[at + 2..at + 4], 16).expect("\\xHH"));
                rest = &rest[at + 4..];
            }
            bytes.extend_from_slice(rest.as_bytes());
            (method.to_string(), bytes)
        })
        .collect()
}

#[tokio::test]
async fn route_paths_naming_no_matter_are_refused_cleanly_and_change_nothing() {
    let env = Env::start().await;
    let mut config = env.config();
    config.set("webhook_secret", WEBHOOK_SECRET);
    let rt = env.runtime_with(config.clone());
    call(
        &rt,
        Function::OnMatterCreated,
        &fixture("matter-basic.json"),
    )
    .await
    .unwrap();
    let unchanged = Unchanged::from(&env);
    let server = Server::start(env.runtime_with(config)).await;

    let cases = paths();
    assert!(cases.len() >= 60, "{} cases", cases.len());
    let mut statuses = std::collections::BTreeMap::new();
    for (method, target) in &cases {
        let shown = String::from_utf8_lossy(target);
        let body: &[u8] = if method == "POST" { b"%PDF-1.4" } else { b"" };
        let (status, answer) = raw_exchange(
            &server.url,
            &raw_signed(method, target, body),
            Duration::from_secs(10),
        )
        .await;
        assert!(
            (400..500).contains(&status),
            "{method} {shown}: {status} {}",
            String::from_utf8_lossy(&answer)
        );
        // What the component answers is typed; a target the HTTP server itself cannot parse
        // never reaches it, and gets the server's own 400.
        if let Ok(answer) = serde_json::from_slice::<serde_json::Value>(&answer) {
            assert!(
                answer["error"]["kind"].is_string(),
                "{method} {shown}: {answer}"
            );
        }
        *statuses.entry(status).or_insert(0) += 1;
        unchanged.check(&env, &format!("{method} {shown}"));
    }
    server.stop().await;
    assert_eq!(unchanged.look_ups.get(), 0, "nothing reached iManage");
    println!(
        "hostile paths: {} targets refused; statuses {statuses:?}",
        cases.len()
    );
}
