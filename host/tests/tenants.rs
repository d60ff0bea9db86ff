//! Many firms in one host, through the `matterlink` binary: tenants added, listed, shown,
//! changed, rotated and removed with `matterlink tenant`, served under `/t/{tenant}/v1/…` by
//! one `serve` that picks changes up while it runs, and isolated from each other in every way
//! the issue names: workspaces and links, signatures, tokens, key-value keys, removal.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use imanage_sandbox::{Sandbox, SandboxConfig};
use matterlink_component::webhooks::signature;
use matterlink_host::keyvalue::sqlite::Sqlite;
use matterlink_host::runtime::KEY_VALUE_FILE;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

mod common;

const SECRET_A: &str = "tenant-a-webhook-secret-0123456789abcdef";
const SECRET_B: &str = "tenant-b-webhook-secret-0123456789abcdef";

async fn sandbox() -> Sandbox {
    Sandbox::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        SandboxConfig::default(),
    )
    .await
    .unwrap()
}

/// `matterlink` with only a data directory: everything a tenant runs with comes from its
/// record, nothing from this environment.
fn bare(data: &Path) -> Command {
    let mut c = Command::new(common::BIN);
    c.env_clear()
        .env("MATTERLINK_DATA_DIR", data)
        .kill_on_drop(true);
    c
}

struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn run(mut c: Command) -> Ran {
    let out = c.output().await.unwrap();
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

async fn matterlink(data: &Path, args: &[&str]) -> Ran {
    let mut c = bare(data);
    c.args(args);
    run(c).await
}

/// A tenant's settings and secrets files for `sandbox`.
fn tenant_files(dir: &Path, name: &str, sandbox: &Sandbox, webhook_secret: &str) {
    std::fs::write(
        dir.join(format!("{name}.toml")),
        format!(
            "imanage_base_url = \"{}\"\nimanage_library = \"{}\"\nimanage_client_id = \"{}\"\n\
             imanage_username = \"{}\"\n[templates]\nLitigation = \"ACTIVE!100\"\n",
            sandbox.base_url(),
            imanage_sandbox::LIBRARY,
            imanage_sandbox::CLIENT_ID,
            imanage_sandbox::SERVICE_USER,
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join(format!("{name}-secrets.toml")),
        format!(
            "imanage_client_secret = \"{}\"\nimanage_password = \"{}\"\nwebhook_secret = \"{webhook_secret}\"\n",
            imanage_sandbox::CLIENT_SECRET,
            imanage_sandbox::SERVICE_PASSWORD,
        ),
    )
    .unwrap();
}

async fn add(data: &Path, dir: &Path, name: &str) -> Ran {
    let config = dir.join(format!("{name}.toml"));
    let secrets = dir.join(format!("{name}-secrets.toml"));
    matterlink(
        data,
        &[
            "tenant",
            "add",
            name,
            "--config",
            config.to_str().unwrap(),
            "--secrets",
            secrets.to_str().unwrap(),
        ],
    )
    .await
}

/// `serve` on free ports: its URL and its metrics URL.
async fn start_serve(data: &Path) -> (Child, String, String) {
    let mut c = bare(data);
    c.args(["serve", "--port", "0", "--metrics-addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let banner = lines.next_line().await.unwrap().expect("a banner");
    let url = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_string();
    let metrics = lines
        .next_line()
        .await
        .unwrap()
        .expect("the metrics address");
    let metrics = metrics
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_string();
    (child, url, metrics)
}

/// A signed request to `path` under `prefix` (`/t/NAME` or empty), signed over the path the
/// component sees (`path`), with `secret`.
async fn signed(
    url: &str,
    prefix: &str,
    method: &str,
    path: &str,
    body: &[u8],
    secret: &str,
    copy: u64,
) -> (u16, Value) {
    let ts = (common_now() - copy).to_string();
    let client = reqwest::Client::new();
    let r = client
        .request(method.parse().unwrap(), format!("{url}{prefix}{path}"))
        .header(signature::TIMESTAMP_HEADER, &ts)
        .header(
            signature::SIGNATURE_HEADER,
            signature::sign(secret, &ts, method, path, body),
        )
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn common_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn created(matter_id: &str, event: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": event,
        "type": "matter.created",
        "matter": {
            "id": matter_id,
            "title": "Smith v Jones",
            "matter_type": "Litigation",
            "clients": [{"id": "C-1", "name": "Smith Holdings"}],
        }
    }))
    .unwrap()
}

/// Whether an answer to an event says it made a workspace now (not a duplicate).
fn made(answer: &Value) -> bool {
    answer["workspace"]["id"].is_string() && answer["duplicate"] == false
}

/// The metrics' text as a scrape reads it.
async fn scrape(metrics_url: &str) -> String {
    let response = reqwest::get(metrics_url).await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// The value of the sample whose name and labels are exactly `series`, if there is one.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

async fn health(url: &str, prefix: &str) -> u16 {
    reqwest::get(format!("{url}{prefix}/v1/health"))
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Waits (a running serve looks at the registry every second) until `check` holds.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: not within 10 s");
}

/// Every key of every label of the tenant's (any registration's) in the SQLite file, as
/// `(label, key, value)`.
fn tenant_entries(data: &Path, tenant: &str) -> Vec<(String, String, Vec<u8>)> {
    let conn = rusqlite::Connection::open(data.join(KEY_VALUE_FILE)).unwrap();
    let mut stmt = conn
        .prepare("SELECT store, key, value FROM kv WHERE store LIKE ?1 OR store LIKE ?2")
        .unwrap();
    stmt.query_map(
        [format!("tenant/{tenant}/%"), format!("tenant/{tenant}@%/%")],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// What a tenant's administrator saved in the console wins over the tenant's record for every
/// caller of the component, so `tenant list` and `tenant show` say so (the saved password only
/// as set). Saved here as the console saves it, into tenant `a`'s own store, and taken away
/// again so that the rest of the test runs on the record.
async fn console_settings_are_shown_over_the_record(data: &Path) {
    use matterlink_component::saved_settings::Saved;
    use matterlink_host::keyvalue::runtime_config::{RuntimeConfig, COMPONENT_STORE, HOST_STORE};
    use matterlink_host::tenants::{Registry, TenantName};
    const PASSWORD: &str = "a password saved in the console";
    let stores = RuntimeConfig::for_data_dir(data, false).build().unwrap();
    let name = TenantName::parse("a").unwrap();
    let record = Registry::new(stores.get(HOST_STORE).unwrap())
        .get(&name)
        .await
        .unwrap()
        .unwrap();
    let stores = stores.for_tenant(&record.namespace(&name));
    let kv = stores.get(COMPONENT_STORE).unwrap();
    let saved = Saved {
        version: 3,
        values: [
            ("imanage_library", "CONSOLELIB"),
            ("imanage_password", PASSWORD),
            ("close_prefix", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        saved_by: "records-admin".into(),
        saved_at: 1,
    };
    let doc = serde_json::to_vec(&saved).unwrap();
    kv.set(COMPONENT_STORE, "console/settings", &doc)
        .await
        .unwrap();

    let list = matterlink(data, &["tenant", "list"]).await;
    assert_eq!(list.code, 0, "{}", list.stderr);
    let row = |name: &str| {
        list.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no row for {name}: {}", list.stdout))
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string()
    };
    assert_eq!(row("a"), "CONSOLELIB*");
    assert_eq!(row("b"), "ACTIVE", "{}", list.stdout);
    assert!(list.stdout.contains("* saved in the tenant's console"));

    let show = matterlink(data, &["tenant", "show", "a"]).await;
    assert!(
        show.stdout
            .contains("saved in the console (version 3, by records-admin), over the record:"),
        "{}",
        show.stdout
    );
    assert!(show.stdout.contains("  imanage_library = CONSOLELIB"));
    assert!(show.stdout.contains("  imanage_password = ******** (set)"));
    assert!(show
        .stdout
        .contains("  close_prefix = (unset: the default)"));
    let json = matterlink(data, &["tenant", "list", "--json"]).await;
    let listed: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        listed[0]["console"]["values"]["imanage_library"],
        "CONSOLELIB"
    );
    assert_eq!(listed[0]["console"]["saved_by"], "records-admin");
    assert!(listed[1]["console"].is_null());
    for out in [&list.stdout, &show.stdout, &json.stdout] {
        assert!(!out.contains(PASSWORD), "{out}");
    }

    kv.delete(COMPONENT_STORE, "console/settings")
        .await
        .unwrap();
    let list = matterlink(data, &["tenant", "list"]).await;
    assert!(!list.stdout.contains('*'), "{}", list.stdout);

    // A damaged document: `list` warns and goes on with the record, `show` says why it fails
    // (exit 3, the host's own failure: its store holds what it cannot read).
    kv.set(COMPONENT_STORE, "console/settings", b"{not json")
        .await
        .unwrap();
    let list = matterlink(data, &["tenant", "list"]).await;
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(
        list.stderr
            .contains("warning: tenant a: the settings saved in the console cannot be read"),
        "{}",
        list.stderr
    );
    assert!(
        list.stdout.lines().any(|l| l.starts_with("a ")),
        "{}",
        list.stdout
    );
    let show = matterlink(data, &["tenant", "show", "a"]).await;
    assert_eq!(show.code, 3, "{}", show.stdout);
    assert!(show.stderr.contains("cannot be read"), "{}", show.stderr);
    kv.delete(COMPONENT_STORE, "console/settings")
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_are_served_side_by_side_and_isolated() {
    let (sa, sb) = (sandbox().await, sandbox().await);
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let (data, dir) = (data.path(), files.path());
    tenant_files(dir, "a", &sa, SECRET_A);
    tenant_files(dir, "b", &sb, SECRET_B);
    // B's second configuration names A's iManage.
    tenant_files(dir, "b-at-a", &sa, SECRET_B);

    // Adding: secrets never echoed; names checked; a shared secret refused.
    let added = add(data, dir, "a").await;
    assert_eq!(added.code, 0, "{}", added.stderr);
    assert!(added.stdout.contains("added tenant a"), "{}", added.stdout);
    for secret in [
        SECRET_A,
        imanage_sandbox::SERVICE_PASSWORD,
        imanage_sandbox::CLIENT_SECRET,
    ] {
        assert!(!added.stdout.contains(secret) && !added.stderr.contains(secret));
    }
    let again = add(data, dir, "a").await;
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    let bad = matterlink(
        data,
        &[
            "tenant",
            "add",
            "a/b",
            "--config",
            dir.join("a.toml").to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("tenant name"), "{}", bad.stderr);
    tenant_files(dir, "copy", &sb, SECRET_A);
    let copy = add(data, dir, "copy").await;
    assert_eq!(copy.code, 2);
    assert!(copy.stderr.contains("also tenant a's"), "{}", copy.stderr);
    // A secret in the settings file is refused: it belongs in --secrets or the environment.
    std::fs::write(dir.join("leaky.toml"), "imanage_password = \"x\"\n").unwrap();
    let leaky = matterlink(
        data,
        &[
            "tenant",
            "add",
            "leaky",
            "--config",
            dir.join("leaky.toml").to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(leaky.code, 2);
    assert!(leaky.stderr.contains("is a secret"), "{}", leaky.stderr);
    assert_eq!(add(data, dir, "b").await.code, 0);

    let list = matterlink(data, &["tenant", "list", "--json"]).await;
    let listed: Value = serde_json::from_str(&list.stdout).unwrap();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert!(!list.stdout.contains(SECRET_A) && !list.stdout.contains(SECRET_B));
    let show = matterlink(data, &["tenant", "show", "a"]).await;
    assert!(
        show.stdout.contains("webhook_secret = ******** (set)"),
        "{}",
        show.stdout
    );
    assert!(show.stdout.contains(&sa.base_url()));
    assert!(!show.stdout.contains(SECRET_A));
    console_settings_are_shown_over_the_record(data).await;

    let (mut server, url, metrics_url) = start_serve(data).await;

    // The same matter id in two tenants: two workspaces (one in each iManage), two links.
    let (status, answer) = signed(
        &url,
        "/t/a",
        "POST",
        "/v1/events",
        &created("M-1", "e-a-1"),
        SECRET_A,
        0,
    )
    .await;
    assert!(status == 200 && made(&answer), "{status} {answer}");
    let (status, answer) = signed(
        &url,
        "/t/b",
        "POST",
        "/v1/events",
        &created("M-1", "e-b-1"),
        SECRET_B,
        0,
    )
    .await;
    assert!(status == 200 && made(&answer), "{status} {answer}");
    let in_a = sa
        .state()
        .workspaces()
        .into_iter()
        .filter(|w| w.custom_text("custom2").as_deref() == Some("M-1"))
        .count();
    let in_b = sb
        .state()
        .workspaces()
        .into_iter()
        .filter(|w| w.custom_text("custom2").as_deref() == Some("M-1"))
        .count();
    assert_eq!((in_a, in_b), (1, 1));
    let (sa_ws, sb_ws) = (
        signed(
            &url,
            "/t/a",
            "GET",
            "/v1/matters/M-1/workspace",
            b"",
            SECRET_A,
            0,
        )
        .await,
        signed(
            &url,
            "/t/b",
            "GET",
            "/v1/matters/M-1/workspace",
            b"",
            SECRET_B,
            0,
        )
        .await,
    );
    assert_eq!((sa_ws.0, sb_ws.0), (200, 200), "{} {}", sa_ws.1, sb_ws.1);
    assert_ne!(sa_ws.1["id"], Value::Null);
    assert!(sa_ws.1["url"].as_str().unwrap().starts_with(&sa.base_url()));
    assert!(sb_ws.1["url"].as_str().unwrap().starts_with(&sb.base_url()));
    // The default tenant (the host's own configuration, none here) never saw the matter.
    let (status, _) = signed(
        &url,
        "",
        "GET",
        "/v1/matters/M-1/workspace",
        b"",
        SECRET_A,
        0,
    )
    .await;
    assert_ne!(status, 200);

    // Each tenant's events and iManage requests are counted under its own name.
    let metrics = scrape(&metrics_url).await;
    for tenant in ["a", "b"] {
        let counted = |name: &str| {
            metrics
                .lines()
                .any(|l| l.starts_with(name) && l.contains(&format!("tenant=\"{tenant}\"")))
        };
        assert!(counted("matterlink_events_total"), "{tenant}: {metrics}");
        assert!(counted("matterlink_imanage_requests_total"), "{tenant}");
        assert!(counted("matterlink_http_requests_total"), "{tenant}");
    }

    // What the metrics read from the stores is each tenant's own: an event that failed in B
    // waits under B; A has none waiting and is connected.
    sb.state().set_faults(imanage_sandbox::Faults {
        error_rate: 1.0,
        ..Default::default()
    });
    let (status, answer) = signed(
        &url,
        "/t/b",
        "POST",
        "/v1/events",
        &created("M-F", "e-b-f"),
        SECRET_B,
        0,
    )
    .await;
    assert_eq!(status, 503, "{answer}");
    sb.state().set_faults(imanage_sandbox::Faults::default());
    let metrics = scrape(&metrics_url).await;
    let waiting = |tenant: &str, kind: &str| {
        sample(
            &metrics,
            &format!("matterlink_failed_events_waiting{{tenant=\"{tenant}\",kind=\"{kind}\"}}"),
        )
    };
    assert_eq!(waiting("b", "unavailable"), Some(1.0), "{metrics}");
    assert_eq!(waiting("a", "none"), Some(0.0), "{metrics}");
    assert_eq!(waiting("a", "unavailable"), None, "{metrics}");
    // The host's own configuration has none, and no connection.
    assert_eq!(waiting("default", "none"), Some(0.0), "{metrics}");
    let connected = |tenant: &str| {
        sample(
            &metrics,
            &format!("matterlink_token_connected{{tenant=\"{tenant}\"}}"),
        )
    };
    assert_eq!(connected("a"), Some(1.0), "{metrics}");
    assert_eq!(connected("default"), Some(0.0), "{metrics}");

    // A's signature on B's routes is refused.
    let (status, answer) = signed(
        &url,
        "/t/b",
        "POST",
        "/v1/events",
        &created("M-2", "e-x"),
        SECRET_A,
        0,
    )
    .await;
    assert_eq!(status, 401, "{answer}");

    // An unknown tenant gets the component's own 404 for a path it has no route for; it
    // says nothing of which tenants exist.
    let unknown = reqwest::get(format!("{url}/t/nobody/v1/health"))
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
    let body = unknown.text().await.unwrap();
    let plain = reqwest::get(format!("{url}/nowhere/nobody/v1/health"))
        .await
        .unwrap();
    assert_eq!(plain.status().as_u16(), 404);
    assert_eq!(
        body.replace("/t/", "/nowhere/"),
        plain.text().await.unwrap()
    );
    assert!(
        !body.contains("\"a\"") && !body.contains("tenant"),
        "{body}"
    );

    // A's tokens stay A's: B, pointed at A's iManage, signs in for itself.
    let token_a: Vec<(String, String, Vec<u8>)> = tenant_entries(data, "a")
        .into_iter()
        .filter(|(_, k, _)| k.contains("token"))
        .collect();
    assert!(!token_a.is_empty(), "A keeps a token");
    let grants_before = sa.state().token_grants("password");
    let updated = matterlink(
        data,
        &[
            "tenant",
            "update",
            "b",
            "--config",
            dir.join("b-at-a.toml").to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(updated.code, 0, "{}", updated.stderr);
    // Each try is a new matter: one that reached B's old iManage is done there for good.
    let mut tries = 0;
    eventually("B moved to A's iManage", async || {
        tries += 1;
        let matter = format!("M-3-{tries}");
        let (_, answer) = signed(
            &url,
            "/t/b",
            "POST",
            "/v1/events",
            &created(&matter, &format!("e-b-3-{tries}")),
            SECRET_B,
            0,
        )
        .await;
        made(&answer)
            && sa
                .state()
                .workspaces()
                .iter()
                .any(|w| w.custom_text("custom2").as_deref() == Some(matter.as_str()))
    })
    .await;
    assert_eq!(
        sa.state().token_grants("password"),
        grants_before + 1,
        "B signed in itself"
    );
    let b_values: Vec<Vec<u8>> = tenant_entries(data, "b")
        .into_iter()
        .map(|(_, _, v)| v)
        .collect();
    for (_, _, token) in &token_a {
        let token = String::from_utf8_lossy(token);
        let access = serde_json::from_str::<Value>(&token)
            .ok()
            .and_then(|v| v["access_token"].as_str().map(String::from));
        if let Some(access) = access {
            assert!(b_values
                .iter()
                .all(|v| !String::from_utf8_lossy(v).contains(&access)));
        }
    }

    // --tenant reads each tenant's own state.
    let log_a = matterlink(data, &["--tenant", "a", "log", "--json"]).await;
    assert_eq!(log_a.code, 0, "{}", log_a.stderr);
    assert!(
        log_a.stdout.contains("M-1") && !log_a.stdout.contains("M-3"),
        "{}",
        log_a.stdout
    );
    let log_b = matterlink(data, &["--tenant", "b", "log", "--json"]).await;
    assert!(log_b.stdout.contains("M-3-"), "{}", log_b.stdout);
    let none = matterlink(data, &["--tenant", "nobody", "log"]).await;
    assert_ne!(none.code, 0);
    assert!(none.stderr.contains("no tenant nobody"), "{}", none.stderr);

    // Added while serving: served within a second or so, without a restart.
    tenant_files(dir, "c", &sb, "tenant-c-webhook-secret-0123456789abcdef");
    assert_eq!(health(&url, "/t/c").await, 404);
    assert_eq!(add(data, dir, "c").await.code, 0);
    eventually("tenant c served", async || {
        health(&url, "/t/c").await == 200
    })
    .await;

    // A rotated secret: the new one works, the old one stops, with no restart; a request in
    // flight during the change still finishes.
    sa.state().set_faults(imanage_sandbox::Faults {
        latency_ms: 1_500,
        ..Default::default()
    });
    let slow_url = url.clone();
    let in_flight = tokio::spawn(async move {
        signed(
            &slow_url,
            "/t/a",
            "POST",
            "/v1/events",
            &created("M-4", "e-a-4"),
            SECRET_A,
            0,
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rotated = matterlink(data, &["tenant", "rotate-secret", "a"]).await;
    assert_eq!(rotated.code, 0, "{}", rotated.stderr);
    let new_secret = rotated.stdout.lines().last().unwrap().trim().to_string();
    assert!(new_secret.len() >= 32);
    let (status, answer) = in_flight.await.unwrap();
    assert!(status == 200 && made(&answer), "{status} {answer}");
    sa.state().set_faults(imanage_sandbox::Faults::default());
    eventually("the new secret works", async || {
        signed(&url, "/t/a", "GET", "/v1/check", b"", &new_secret, 0)
            .await
            .0
            != 401
    })
    .await;
    let (status, _) = signed(&url, "/t/a", "GET", "/v1/check", b"", SECRET_A, 0).await;
    assert_eq!(status, 401, "the old secret is refused");

    // Removed: no longer served, and not one key of it left behind.
    assert!(!tenant_entries(data, "b").is_empty());
    let removed = matterlink(data, &["tenant", "remove", "b"]).await;
    assert_eq!(removed.code, 0, "{}", removed.stderr);
    assert!(
        removed.stdout.contains("removed tenant b"),
        "{}",
        removed.stdout
    );
    assert_eq!(tenant_entries(data, "b"), vec![]);
    eventually("tenant b gone", async || health(&url, "/t/b").await == 404).await;
    // And what was read from its store is gone from the metrics with it.
    let metrics = scrape(&metrics_url).await;
    for read in [
        "matterlink_failed_events_waiting{tenant=\"b\"",
        "matterlink_token_connected{tenant=\"b\"",
    ] {
        assert!(!metrics.contains(read), "{read}: {metrics}");
    }
    assert!(
        metrics.contains("matterlink_token_connected{tenant=\"a\"}"),
        "{metrics}"
    );
    assert!(
        !tenant_entries(data, "a").is_empty(),
        "A's data is untouched"
    );
    let gone = matterlink(data, &["tenant", "show", "b"]).await;
    assert_eq!(gone.code, 2);
    // The registry itself is the host's: no tenant can open it.
    let file = Sqlite::open(&data.join(KEY_VALUE_FILE)).unwrap();
    assert!(file.get("default", "tenant/a").unwrap().is_none());

    server.kill().await.unwrap();
}
