//! The `matterlink` command line as scripts use it: exit codes, `--json`, configuration from a
//! file and `MATTERLINK_<KEY>` variables, standard input, and several processes on one data
//! directory.

use std::path::Path;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

mod common;

use common::{fixture, Setup, BIN};

/// `webhook_secret` for the servers these tests start (at least 32 characters).
const CLI_SECRET: &str = "cli-webhook-secret-0123456789abcdef";

impl Setup {
    /// `matterlink` configured entirely through the environment, as a deployment would.
    fn cmd(&self) -> Command {
        let mut c = common::matterlink(&self.sandbox, self.data.path());
        c.env("MATTERLINK_WEBHOOK_SECRET", CLI_SECRET);
        c
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn run(mut cmd: Command) -> Run {
    let out = cmd.output().await.unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn success_prints_the_result_and_exits_0() {
    let s = Setup::new().await;
    let mut c = s.cmd();
    c.args(["call", "on-matter-created", "--json", "--matter"])
        .arg(fixture("matter-basic.json"));
    let r = run(c).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ws: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(ws["name"], "Smith v Jones");
    assert_eq!(s.sandbox.state().workspaces().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_typed_error_exits_1_as_json_or_text() {
    let s = Setup::new().await;
    let mut c = s.cmd();
    c.args(["call", "on-matter-created", "--json", "--matter"])
        .arg(fixture("matter-no-client.json"));
    let r = run(c).await;
    assert_eq!(r.code, 1);
    let e: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(e["error"]["kind"], "invalid-matter");

    let mut c = s.cmd();
    c.args(["call", "on-matter-closed", "--matter"])
        .arg(fixture("matter-basic.json"));
    let r = run(c).await;
    assert_eq!(r.code, 1);
    assert!(r.stderr.starts_with("error: not-linked:"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_errors_exit_2() {
    let s = Setup::new().await;
    let bad_json = s.data.path().join("bad.json");
    std::fs::write(&bad_json, r#"{"id": 5, "title": []}"#).unwrap();
    let cases: Vec<Vec<String>> = vec![
        vec!["call".into(), "make-coffee".into()],
        vec!["call".into(), "on-matter-created".into()],
        vec![
            "call".into(),
            "on-matter-created".into(),
            "--matter".into(),
            bad_json.display().to_string(),
        ],
        vec![
            "call".into(),
            "on-matter-created".into(),
            "--matter".into(),
            "/no/such/file.json".into(),
        ],
        vec![
            "call".into(),
            "map-metadata".into(),
            "--matter".into(),
            fixture("matter-basic.json").display().to_string(),
            "--url".into(),
            "https://x/".into(),
        ],
        vec!["frobnicate".into()],
    ];
    for args in cases {
        let mut c = s.cmd();
        c.args(&args);
        let r = run(c).await;
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(!r.stderr.is_empty(), "{args:?} says why");
    }
    assert_eq!(s.sandbox.state().request_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn config_file_with_environment_overrides_and_matter_on_stdin() {
    let s = Setup::new().await;
    let file = s.data.path().join("matterlink.toml");
    std::fs::write(
        &file,
        "imanage_library = \"NOPE\"\nclose_prefix = \"ARCHIVED\"\n[field_map]\n\"File Reference\" = \"custom13\"\n",
    )
    .unwrap();
    let mut c = s.cmd();
    // The environment (ACTIVE) wins over the file's NOPE.
    c.arg("--config")
        .arg(&file)
        .args(["call", "map-metadata", "--json", "--matter", "-"]);
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(&std::fs::read(fixture("matter-basic.json")).unwrap())
        .await
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fields: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        fields
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "custom13"),
        "{fields}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn several_processes_on_one_data_directory_create_one_workspace() {
    let s = Setup::new().await;
    let mut children = Vec::new();
    for _ in 0..4 {
        let mut c = s.cmd();
        c.args(["call", "on-matter-created", "--json", "--matter"])
            .arg(fixture("matter-basic.json"));
        children.push(tokio::spawn(run(c)));
    }
    let mut ids = Vec::new();
    for child in children {
        let r = child.await.unwrap();
        assert_eq!(r.code, 0, "{}", r.stderr);
        let ws: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
        ids.push(ws["id"].as_str().unwrap().to_string());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(s.sandbox.state().workspaces().len(), 1);
}

/// `--store redis://…` (or `MATTERLINK_STORE`): the state is in Redis, not in the data
/// directory, so a process with another data directory sees the same link; and the link is
/// under the component's bare key, where Spin's Redis store would read it.
#[tokio::test(flavor = "multi_thread")]
async fn on_redis_two_processes_with_their_own_data_dirs_share_one_workspace() {
    let Some(redis) = common::redis::RedisServer::start() else {
        return;
    };
    let s = Setup::new().await;
    let other_data = tempfile::tempdir().unwrap();
    let mut ids = Vec::new();
    for first in [true, false] {
        let mut c = s.cmd();
        if first {
            c.args(["--store", &redis.url()]);
        } else {
            c.env("MATTERLINK_DATA_DIR", other_data.path())
                .env("MATTERLINK_STORE", redis.url());
        }
        c.args(["call", "on-matter-created", "--json", "--matter"])
            .arg(fixture("matter-basic.json"));
        let r = run(c).await;
        assert_eq!(r.code, 0, "{}", r.stderr);
        let ws: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
        ids.push(ws["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids[0], ids[1]);
    assert_eq!(s.sandbox.state().workspaces().len(), 1);
    for dir in [s.data.path(), other_data.path()] {
        assert!(!dir
            .join(matterlink_host::keyvalue::runtime_config::KEY_VALUE_FILE)
            .exists());
    }
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let link: Option<Vec<u8>> = redis::cmd("GET")
        .arg("link/matter/1042")
        .query_async(&mut conn)
        .await
        .unwrap();
    let link = String::from_utf8(link.expect("the link under the bare key")).unwrap();
    assert!(link.contains(&ids[0]), "{link}");

    // A dry run on Redis reads the state (the claim and token records) and writes nothing.
    let dump = |conn: redis::aio::MultiplexedConnection| async move {
        let mut conn = conn;
        let mut keys: Vec<String> = redis::cmd("KEYS")
            .arg("*")
            .query_async(&mut conn)
            .await
            .unwrap();
        keys.sort();
        let mut all = Vec::new();
        for k in keys {
            let kind: String = redis::cmd("TYPE")
                .arg(&k)
                .query_async(&mut conn)
                .await
                .unwrap();
            let read = if kind == "hash" { "HGETALL" } else { "GET" };
            let value: redis::Value = redis::cmd(read)
                .arg(&k)
                .query_async(&mut conn)
                .await
                .unwrap();
            all.push((k, format!("{value:?}")));
        }
        all
    };
    let before = dump(conn.clone()).await;
    let mut c = s.cmd();
    c.args(["--store", &redis.url()])
        .args([
            "call",
            "on-matter-created",
            "--dry-run",
            "--json",
            "--matter",
        ])
        .arg(fixture("matter-multi-client.json"));
    let r = run(c).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(dump(conn).await, before, "the dry run wrote to Redis");
    assert_eq!(s.sandbox.state().workspaces().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_health_beside_a_call_and_stops_on_sigterm() {
    let s = Setup::new().await;
    let mut c = s.cmd();
    c.args(["serve", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut server = c.spawn().unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let banner = lines
        .next_line()
        .await
        .unwrap()
        .expect("serve prints its address");
    let url = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("an http URL in the banner")
        .to_string();
    let health: serde_json::Value = reqwest::get(format!("{url}/v1/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");

    // A `call` on the same data directory while `serve` holds it open.
    let mut c = s.cmd();
    c.args(["call", "on-matter-created", "--json", "--matter"])
        .arg(fixture("matter-basic.json"));
    assert_eq!(run(c).await.code, 0);

    let pid = server.id().unwrap() as libc::pid_t;
    // SAFETY: sending SIGTERM to our own child process, which is still running.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = server.wait().await.unwrap();
    assert_eq!(status.code(), Some(0), "graceful shutdown exits 0");
}

/// The README's signing example, taken from README.md by its marker and run as it stands with
/// bash, openssl and curl against `matterlink serve`: a known answer for the signing string that
/// does not go through the component's own `sign()`.
#[tokio::test(flavor = "multi_thread")]
async fn the_readme_signing_example_is_accepted_by_serve() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let (_, after) = readme
        .split_once("<!-- tested: signed-request-example -->")
        .expect("the marker in README.md");
    let block = after
        .trim_start()
        .strip_prefix("```sh\n")
        .expect("a sh block right after the marker");
    let block = &block[..block.find("\n```").expect("the block is closed")];

    let s = Setup::new().await;
    let mut c = s.cmd();
    c.args(["serve", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut server = c.spawn().unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let banner = lines
        .next_line()
        .await
        .unwrap()
        .expect("serve prints its address");
    let url = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("an http URL in the banner")
        .to_string();

    let mut sh = Command::new("bash");
    sh.args(["-e", "-o", "pipefail", "-c", block])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MATTERLINK_URL", &url)
        .env("MATTERLINK_WEBHOOK_SECRET", CLI_SECRET);
    let r = run(sh).await;
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    let answer: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    assert_eq!(answer["duplicate"], false, "{answer}");
    assert_eq!(answer["workspace"]["name"], "Smith v Jones", "{answer}");
    assert_eq!(s.sandbox.state().workspaces().len(), 1);
    server.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn sandbox_prints_its_base_url_and_demo_runs_end_to_end() {
    let mut c = Command::new(BIN);
    c.args(["sandbox", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let mut sandbox = c.spawn().unwrap();
    let mut lines = BufReader::new(sandbox.stdout.take().unwrap()).lines();
    let url = lines.next_line().await.unwrap().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let discovery = reqwest::get(format!("{url}/api")).await.unwrap();
    assert_eq!(
        discovery.status(),
        401,
        "the sandbox wants a token like iManage"
    );
    sandbox.kill().await.unwrap();

    let mut c = Command::new(BIN);
    let data = tempfile::tempdir().unwrap();
    c.arg("demo").env("MATTERLINK_DATA_DIR", data.path());
    let r = run(c).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    for expected in [
        "workspace ACTIVE!1000",
        "custom2 = 1042",
        "Generated Documents",
        "(same: true)",
        // The Actionstep half: an action made there reaches iManage with its client's name.
        "hook was answered 200",
        "client    custom1 = 5122 (Zoë Brontë-O'Connor)",
        "template ACTIVE!100",
        "hooks switched off by Actionstep: 0",
    ] {
        assert!(
            r.stdout.contains(expected),
            "demo output lacks {expected:?}:\n{}",
            r.stdout
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_invoice_example_files_a_pdf() {
    let s = Setup::new().await;
    let mut c = s.cmd();
    c.args(["call", "on-matter-created", "--matter"])
        .arg(fixture("matter-basic.json"));
    assert_eq!(run(c).await.code, 0);

    let mut c = s.cmd();
    c.args(["call", "file-document", "--matter-id", "1042", "--file"])
        .arg(fixture("invoice-2026-001.pdf"));
    let r = run(c).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc_id = r.stdout.trim();
    let doc = s
        .sandbox
        .state()
        .document(doc_id)
        .expect("the printed id is the stored document");
    assert_eq!(
        doc.content,
        std::fs::read(fixture("invoice-2026-001.pdf")).unwrap()
    );
    assert_eq!(
        (doc.name.as_str(), doc.extension.as_str()),
        ("invoice-2026-001", "pdf")
    );

    let mut c = s.cmd();
    c.args(["call", "list-folders", "--matter-id", "1042", "--json"]);
    let r = run(c).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("\"path\":\"Documents/Generated Documents\""),
        "{}",
        r.stdout
    );

    let mut c = s.cmd();
    c.args(["call", "check-connection"]);
    let r = run(c).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("✓ token"), "{}", r.stdout);

    let mut c = s.cmd();
    c.args(["call", "file-document", "--matter-id", "1042"]);
    assert_eq!(
        run(c).await.code,
        2,
        "file-document without --file is a usage error"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn log_reads_the_audit_trail_with_filters() {
    let s = Setup::new().await;
    for (function, matter) in [
        ("on-matter-created", "matter-basic.json"),
        ("on-matter-closed", "matter-basic.json"),
        ("on-matter-created", "matter-legacy.json"),
    ] {
        let mut c = s.cmd();
        c.args(["call", function, "--matter"]).arg(fixture(matter));
        assert_eq!(run(c).await.code, 0);
    }
    let mut c = s.cmd();
    c.args(["log", "--json"]);
    let r = run(c).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let all: Vec<serde_json::Value> = serde_json::from_str(r.stdout.trim()).unwrap();
    let actions: Vec<(&str, &str)> = all
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap(),
                r["matter_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            ("provision", "88231"),
            ("close", "1042"),
            ("provision", "1042")
        ],
        "newest first"
    );

    let mut c = s.cmd();
    c.args(["log", "--matter", "1042", "--since", "1h"]);
    let r = run(c).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.stdout);
    assert!(
        lines[0].contains("close") && lines[0].contains("CLOSED - Smith v Jones"),
        "{}",
        lines[0]
    );

    let mut c = s.cmd();
    c.args(["log", "--outcome", "unavailable", "--json"]);
    assert_eq!(run(c).await.stdout.trim(), "[]");
    let mut c = s.cmd();
    c.args(["log", "--since", "yesterday-ish"]);
    assert_eq!(run(c).await.code, 2, "an unreadable time is a usage error");
}

/// `matterlink` for an OAuth integration: no service account in its environment.
fn oauth_cmd(s: &Setup) -> Command {
    let mut c = s.cmd();
    c.env("MATTERLINK_IMANAGE_AUTH", "oauth")
        .env_remove("MATTERLINK_IMANAGE_USERNAME")
        .env_remove("MATTERLINK_IMANAGE_PASSWORD");
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_signs_in_through_the_loopback_redirect_and_check_verifies() {
    let s = Setup::new().await;
    s.sandbox.state().set_auto_approve(Some("LWONG"));

    // Before connecting, `check` says what to do and exits 1.
    let mut c = oauth_cmd(&s);
    c.arg("check");
    let r = run(c).await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("✗ connected"), "{}", r.stdout);
    assert!(
        r.stdout.contains("run `matterlink connect`"),
        "{}",
        r.stdout
    );

    let mut c = oauth_cmd(&s);
    c.args(["connect", "--port", "0", "--timeout", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut authorize = None;
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(url) = line.trim().strip_prefix("http") {
            authorize = Some(format!("http{url}"));
        }
        if line.starts_with("Waiting for iManage") {
            break;
        }
    }
    let authorize = authorize.expect("connect prints the sign-in URL");
    assert!(
        authorize.contains("/auth/oauth2/authorize?") && authorize.contains("code_challenge="),
        "{authorize}"
    );
    // The browser: iManage's page redirects to the loopback listener with a code.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = http.get(&authorize).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    let location = answer.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("http://127.0.0.1:"), "{location}");
    let page = http.get(&location).send().await.unwrap();
    assert!(page.status().is_success());
    assert!(page.text().await.unwrap().contains("Signed in as LWONG"));
    let rest = lines.next_line().await.unwrap().unwrap_or_default();
    let status = child.wait().await.unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(rest, "connected as LWONG");

    let mut c = oauth_cmd(&s);
    c.arg("check");
    let r = run(c).await;
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    for line in [
        "✓ connected: LWONG (OAuth)",
        "✓ token: access 90 minutes, refresh 365 days",
        "✓ library: ACTIVE is available to LWONG",
        "✓ template Litigation: ACTIVE!100 exists",
    ] {
        assert!(r.stdout.contains(line), "{line} missing:\n{}", r.stdout);
    }

    // The connected account owns what it provisions.
    let mut c = oauth_cmd(&s);
    c.args(["call", "on-matter-created", "--json", "--matter"])
        .arg(fixture("matter-basic.json"));
    let r = run(c).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ws: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let stored = s
        .sandbox
        .state()
        .workspace(ws["id"].as_str().unwrap())
        .unwrap();
    assert_eq!(stored.owner, "LWONG");
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_refuses_a_service_account_setup_and_check_passes_for_it() {
    let s = Setup::new().await;
    let mut c = s.cmd();
    c.args(["connect", "--port", "0"]);
    let r = run(c).await;
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("imanage_auth = oauth"), "{}", r.stderr);

    let mut c = s.cmd();
    c.arg("check");
    let r = run(c).await;
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("✓ connected: sandbox-admin (service account)"),
        "{}",
        r.stdout
    );

    let mut c = s.cmd();
    c.env("MATTERLINK_IMANAGE_PASSWORD", "wrong").arg("check");
    let r = run(c).await;
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("✗ token"), "{}", r.stdout);
    assert!(!r.stdout.contains("wrong"), "the password is not echoed");
}

// ---- Operations at firm scale: backfill, dry run, drift -------------------------------------

/// The sandbox as another system (or a person) changes it: signed in as the service account.
struct Imanage {
    http: reqwest::Client,
    lib: String,
    token: String,
}

impl Imanage {
    async fn sign_in(base: &str) -> Imanage {
        let http = reqwest::Client::new();
        let form = format!(
            "grant_type=password&username={}&password={}&client_id={}&client_secret={}",
            imanage_sandbox::SERVICE_USER,
            imanage_sandbox::SERVICE_PASSWORD,
            imanage_sandbox::CLIENT_ID,
            imanage_sandbox::CLIENT_SECRET
        );
        let grant: serde_json::Value = http
            .post(format!("{base}/auth/oauth2/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Imanage {
            http,
            lib: format!(
                "{base}/work/api/v2/customers/{}/libraries/{}",
                imanage_sandbox::CUSTOMER_ID,
                imanage_sandbox::LIBRARY
            ),
            token: grant["access_token"].as_str().unwrap().to_string(),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> serde_json::Value {
        let r = self
            .http
            .request(method, format!("{}{path}", self.lib))
            .header("x-auth-token", &self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success() || r.status() == 409,
            "{path}: {}",
            r.status()
        );
        r.json().await.unwrap_or_default()
    }

    /// A workspace made before matterlink: client C-1, matter `matter_id`, maybe a file reference.
    async fn legacy_workspace(
        &self,
        name: &str,
        matter_id: &str,
        reference: Option<&str>,
    ) -> String {
        use reqwest::Method;
        let c1 = serde_json::json!({"id": "C-1", "description": "Client One", "enabled": true});
        self.send(Method::POST, "/customs/custom1", c1).await;
        let c2 = serde_json::json!({"id": matter_id, "description": name, "enabled": true, "parent": {"id": "C-1"}});
        self.send(Method::POST, "/customs/custom2", c2).await;
        let mut ws = serde_json::json!({"name": name, "custom1": "C-1", "custom2": matter_id});
        if let Some(r) = reference {
            ws["custom13"] = serde_json::json!(r);
        }
        let made = self.send(Method::POST, "/workspaces", ws).await;
        made["data"]["id"].as_str().unwrap().to_string()
    }
}

/// Everything the sandbox holds that matterlink could change.
fn sandbox_snapshot(s: &Setup) -> serde_json::Value {
    let state = s.sandbox.state();
    let workspaces = state.workspaces();
    let folders: Vec<_> = workspaces
        .iter()
        .map(|w| serde_json::to_value(state.folders_of(&w.id)).unwrap())
        .collect();
    let customs: Vec<_> = ["custom1", "custom2", "custom3"]
        .iter()
        .map(|f| serde_json::to_value(state.custom_values(f)).unwrap())
        .collect();
    serde_json::json!({"workspaces": workspaces, "folders": folders, "customs": customs})
}

/// Every key and value of both stores of the data directory (empty when there is none).
fn kv_snapshot(dir: &Path) -> Vec<(String, String, Vec<u8>)> {
    let file = dir.join(matterlink_host::runtime::KEY_VALUE_FILE);
    if !file.exists() {
        return Vec::new();
    }
    let kv = matterlink_host::keyvalue::sqlite::Sqlite::open(&file).unwrap();
    let mut all = Vec::new();
    for store in ["default", matterlink_host::runtime::HOST_STORE] {
        let (keys, _) = kv.list_keys(store, None, 100_000).unwrap();
        for k in keys {
            let v = kv.get(store, &k).unwrap().unwrap().value;
            all.push((store.to_string(), k, v));
        }
    }
    all
}

const FIELD_MAP: &str = r#"{"File Reference": "custom13"}"#;

#[tokio::test(flavor = "multi_thread")]
async fn backfill_links_creates_reports_and_resumes() {
    let s = Setup::new().await;
    let imanage = Imanage::sign_in(&s.sandbox.base_url()).await;
    let legacy = imanage.legacy_workspace("Acme v Legacy", "L-1", None).await;
    let dup1 = imanage
        .legacy_workspace("Dup one", "X-1", Some("REF-9"))
        .await;
    let dup2 = imanage
        .legacy_workspace("Dup two", "X-2", Some("REF-9"))
        .await;
    let before = s.sandbox.state().workspaces().len();
    let file = s.data.path().join("matters.csv");
    std::fs::write(
        &file,
        "id,title,matter_type,client_id,client_name,file_reference\n\
         L-1,Acme v Legacy,Litigation,C-1,Client One,\n\
         L-2,Two candidates,Litigation,C-1,Client One,REF-9\n\
         L-3,Brand new,Litigation,C-1,Client One,\n\
         ,no id,Litigation,C-1,Client One,\n\
         ../x,Hostile,Litigation,C-1,Client One,\n",
    )
    .unwrap();

    // A first run cut short after one matter (as an interrupted one would be).
    let first = s.data.path().join("first.json");
    let mut c = s.cmd();
    c.env("MATTERLINK_FIELD_MAP", FIELD_MAP)
        .args(["backfill", "--create-missing", "--limit", "1", "--report"])
        .arg(&first)
        .arg(&file);
    let r = run(c).await;
    assert_eq!(
        r.code, 1,
        "a bad row is a failure: {}{}",
        r.stdout, r.stderr
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&first).unwrap()).unwrap();
    assert_eq!(report["summary"]["linked"], 1, "{report}");
    assert_eq!(report["summary"]["not_run"], 3, "{report}");
    assert_eq!(report["linked"][0]["workspace"]["id"], legacy.as_str());
    assert_eq!(report["failed"][0]["line"], 5);

    // The rerun skips L-1 and does the rest.
    let second = s.data.path().join("second.csv");
    let mut c = s.cmd();
    c.env("MATTERLINK_FIELD_MAP", FIELD_MAP)
        .args([
            "backfill",
            "--create-missing",
            "--concurrency",
            "4",
            "--report",
        ])
        .arg(&second)
        .arg(&file);
    let r = run(c).await;
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("already done by an earlier run (skipped): 1"),
        "{}",
        r.stdout
    );
    let mut csv = csv::Reader::from_path(&second).unwrap();
    let rows: Vec<csv::StringRecord> = csv.records().map(|r| r.unwrap()).collect();
    let row = |id: &str| rows.iter().find(|r| &r[1] == id).unwrap().clone();
    assert_eq!((&row("L-1")[2], &row("L-1")[9]), ("linked", "true"));
    assert_eq!(&row("L-2")[2], "needs-url");
    for dup in [&dup1, &dup2] {
        assert!(
            row("L-2")[6].contains(dup.as_str()),
            "candidate {dup}: {:?}",
            row("L-2")
        );
    }
    assert_eq!(&row("L-3")[2], "created");
    assert_eq!(&row("../x")[2], "failed");
    assert_eq!(&row("../x")[7], "invalid-matter");
    assert_eq!(&row("")[7], "invalid-row");
    assert_eq!(
        s.sandbox.state().workspaces().len(),
        before + 1,
        "only L-3 was provisioned"
    );

    // Each backfilled matter is audited as such.
    let mut c = s.cmd();
    c.args(["log", "--json"]);
    let log: Vec<serde_json::Value> = serde_json::from_str(run(c).await.stdout.trim()).unwrap();
    let backfill: Vec<(&str, &str)> = log
        .iter()
        .filter(|r| r["action"] == "backfill")
        .map(|r| {
            (
                r["matter_id"].as_str().unwrap(),
                r["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    for expected in [("L-1", "ok"), ("L-2", "several"), ("L-3", "ok")] {
        assert!(backfill.contains(&expected), "{expected:?} in {backfill:?}");
    }
    // Once: a matter linked or left for a person has its `backfill` record and no other (the
    // search it ran is not recorded again as resolve-legacy).
    for id in ["L-1", "L-2"] {
        let actions: Vec<&str> = log
            .iter()
            .filter(|r| r["matter_id"] == id)
            .map(|r| r["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["backfill"], "{id}'s records");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_changes_nothing_and_prints_the_plan() {
    let s = Setup::new().await;
    let sandbox_before = sandbox_snapshot(&s);
    let mut c = s.cmd();
    c.args([
        "call",
        "on-matter-created",
        "--dry-run",
        "--json",
        "--matter",
    ])
    .arg(fixture("matter-basic.json"));
    let r = run(c).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let plan = out["plan"].as_array().unwrap();
    let posts = |suffix: &str| {
        plan.iter()
            .filter(|p| p["method"] == "POST" && p["path"].as_str().unwrap().ends_with(suffix))
            .count()
    };
    assert_eq!(posts("/workspaces"), 1, "{plan:?}");
    // Litigation: Correspondence, Pleadings/{Filed, Drafts}, Evidence, Court/Hearings (the
    // folder in the tab), Documents/Generated Documents; the tab and search folder as theirs.
    assert_eq!(posts("/folders") + posts("/subfolders"), 8, "{plan:?}");
    assert_eq!(posts("/tabs"), 1, "{plan:?}");
    assert_eq!(posts("/search-folders"), 1, "{plan:?}");
    let create = plan
        .iter()
        .find(|p| p["path"].as_str().unwrap().ends_with("/workspaces"))
        .unwrap();
    assert_eq!(create["body"]["name"], "Smith v Jones");
    assert_eq!(create["body"]["custom2"], "1042");
    assert!(out["result"]["id"].as_str().unwrap().contains("dry-run"));
    assert!(!r.stdout.contains("oauth2") && !r.stdout.contains(imanage_sandbox::SERVICE_PASSWORD));
    assert_eq!(
        sandbox_snapshot(&s),
        sandbox_before,
        "the sandbox is unchanged"
    );
    assert!(
        std::fs::read_dir(s.data.path()).unwrap().next().is_none(),
        "not even the data directory was written"
    );

    // On an installation with history: closing and a backfill are planned, and nothing moves.
    let mut c = s.cmd();
    c.args(["call", "on-matter-created", "--matter"])
        .arg(fixture("matter-basic.json"));
    assert_eq!(run(c).await.code, 0);
    let (sandbox_before, kv_before) = (sandbox_snapshot(&s), kv_snapshot(s.data.path()));
    s.sandbox.state().reset_request_count();
    let mut c = s.cmd();
    c.args(["call", "on-matter-closed", "--dry-run", "--matter"])
        .arg(fixture("matter-basic.json"));
    let r = run(c).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(r#""name":"CLOSED - Smith v Jones""#),
        "{}",
        r.stdout
    );
    assert!(s.sandbox.state().request_count() > 0, "reads went through");

    let file = s.data.path().join("new.jsonl");
    std::fs::write(
        &file,
        std::fs::read_to_string(fixture("matter-legacy.json"))
            .unwrap()
            .replace('\n', " ")
            + "\n",
    )
    .unwrap();
    let mut c = s.cmd();
    c.args(["backfill", "--dry-run", "--create-missing"])
        .arg(&file);
    let r = run(c).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("matter 88231 (line 1): would be created"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("POST   /workspaces  {"), "{}", r.stdout);
    assert_eq!(
        sandbox_snapshot(&s),
        sandbox_before,
        "the sandbox is unchanged"
    );
    assert_eq!(
        kv_snapshot(s.data.path()),
        kv_before,
        "key-value is unchanged"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_lists_a_renamed_workspace_and_a_changed_field_and_fix_repairs_them() {
    let s = Setup::new().await;
    let mut c = s.cmd();
    c.env("MATTERLINK_FIELD_MAP", FIELD_MAP)
        .args(["call", "on-matter-created", "--json", "--matter"])
        .arg(fixture("matter-basic.json"));
    let r = run(c).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let id = serde_json::from_str::<serde_json::Value>(r.stdout.trim()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Someone renames the workspace in iManage, and the matter's file reference changes.
    let imanage = Imanage::sign_in(&s.sandbox.base_url()).await;
    imanage
        .send(
            reqwest::Method::PATCH,
            &format!("/workspaces/{id}"),
            serde_json::json!({"name": "Smith v Jones (renamed in iManage)"}),
        )
        .await;
    let file = s.data.path().join("matters.jsonl");
    let matter = std::fs::read_to_string(fixture("matter-basic.json"))
        .unwrap()
        .replace("LIT-2026-0042", "LIT-2026-0099")
        .replace('\n', " ");
    std::fs::write(&file, matter + "\n").unwrap();

    let mut c = s.cmd();
    c.env("MATTERLINK_FIELD_MAP", FIELD_MAP)
        .arg("drift")
        .arg(&file);
    let r = run(c).await;
    assert_eq!(r.code, 1, "drift is a difference: {}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().filter(|l| l.starts_with("1042")).collect();
    assert_eq!(lines.len(), 2, "{}", r.stdout);
    assert!(
        lines[0].contains("name")
            && lines[0].contains(r#"actual "Smith v Jones (renamed in iManage)""#),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("custom13") && lines[1].contains(r#"expected "LIT-2026-0099""#),
        "{}",
        lines[1]
    );

    let mut c = s.cmd();
    c.env("MATTERLINK_FIELD_MAP", FIELD_MAP)
        .args(["drift", "--fix"])
        .arg(&file);
    let r = run(c).await;
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("1 fixed"), "{}", r.stdout);
    let ws = s.sandbox.state().workspace(&id).unwrap();
    assert_eq!(ws.name, "Smith v Jones");
    assert_eq!(ws.custom["custom13"], "LIT-2026-0099");

    let mut c = s.cmd();
    c.env("MATTERLINK_FIELD_MAP", FIELD_MAP)
        .args(["drift", "--json"])
        .arg(&file);
    let r = run(c).await;
    assert_eq!(r.code, 0, "{}", r.stdout);
    let out: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(out["entries"][0]["state"], "in-step");
    let mut c = s.cmd();
    c.args(["log", "--matter", "1042", "--json"]);
    let log: Vec<serde_json::Value> = serde_json::from_str(run(c).await.stdout.trim()).unwrap();
    assert_eq!(
        (log[0]["action"].as_str(), log[0]["outcome"].as_str()),
        (Some("drift-fix"), Some("ok"))
    );
}

// ---- The walkthrough's sandbox and the CLI's own messages -----------------------------------

/// `matterlink sandbox` as the README starts it: the legacy workspaces are there for
/// resolve-legacy, `sandbox wall` walls a user off through the admin route (and the feed sees
/// it), and the banner says how to stop it.
#[tokio::test(flavor = "multi_thread")]
async fn the_walkthrough_sandbox_has_legacy_workspaces_and_walls() {
    let mut c = Command::new(BIN);
    c.args(["sandbox", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut sandbox = c.spawn().unwrap();
    // Both readers live as long as the sandbox: a pipe closed under it would fail its next line
    // (it prints its banner in several), and the sandbox with it.
    let mut stdout = BufReader::new(sandbox.stdout.take().unwrap()).lines();
    let url = stdout.next_line().await.unwrap().unwrap();
    let mut stderr = BufReader::new(sandbox.stderr.take().unwrap()).lines();
    let banner = stderr.next_line().await.unwrap().unwrap();
    assert!(banner.contains("kill %1"), "{banner}");
    let emulators = stderr.next_line().await.unwrap().unwrap();
    assert!(emulators.contains("Actionstep emulator"), "{emulators}");
    let data = tempfile::tempdir().unwrap();
    let cmd = || {
        let mut c = Command::new(BIN);
        c.env_clear()
            .env("MATTERLINK_DATA_DIR", data.path())
            .env("MATTERLINK_IMANAGE_BASE_URL", &url)
            .env("MATTERLINK_IMANAGE_LIBRARY", "ACTIVE")
            .env("MATTERLINK_IMANAGE_CLIENT_ID", imanage_sandbox::CLIENT_ID)
            .env(
                "MATTERLINK_IMANAGE_CLIENT_SECRET",
                imanage_sandbox::CLIENT_SECRET,
            )
            .env("MATTERLINK_IMANAGE_USERNAME", imanage_sandbox::SERVICE_USER)
            .env(
                "MATTERLINK_IMANAGE_PASSWORD",
                imanage_sandbox::SERVICE_PASSWORD,
            )
            .env("MATTERLINK_FIELD_MAP", r#"{"File Reference": "custom13"}"#);
        c
    };
    let mut c = cmd();
    c.args(["call", "resolve-legacy", "--json", "--matter"])
        .arg(fixture("matter-legacy.json"));
    let r = run(c).await;
    assert!(r.stdout.contains(r#""id":"ACTIVE!501""#), "{}", r.stdout);

    let mut c = cmd();
    c.args(["call", "poll-changes", "--json"]);
    let first: serde_json::Value = serde_json::from_str(run(c).await.stdout.trim()).unwrap();
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let mut c = cmd();
    c.args(["sandbox", "wall", "ACTIVE!501", "LWONG"]);
    let r = run(c).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains(r#"{"access_level":"no_access","id":"LWONG","type":"user"}"#),
        "{}",
        r.stdout
    );
    let mut c = cmd();
    c.args(["call", "poll-changes", "--json", "--cursor", &cursor]);
    let batch: serde_json::Value = serde_json::from_str(run(c).await.stdout.trim()).unwrap();
    let change = &batch["changes"][0];
    assert_eq!(
        (
            change["trustee_id"].as_str(),
            change["access_level"].as_str(),
            change["matter_id"].as_str()
        ),
        (Some("LWONG"), Some("no_access"), Some("88231")),
        "{batch}"
    );
    let mut c = cmd();
    c.args(["sandbox", "wall", "ACTIVE!501", "NOBODY"]);
    let r = run(c).await;
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("unknown user NOBODY"), "{}", r.stderr);
    sandbox.kill().await.unwrap();
}

/// What the CLI says about input it cannot use: usage errors (exit 2) that say what is wrong.
#[tokio::test(flavor = "multi_thread")]
async fn usage_errors_say_what_is_wrong() {
    let s = Setup::new().await;
    let mut c = s.cmd();
    c.args(["call", "on-matter-create"]);
    let r = run(c).await;
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("'on-matter-created'"), "{}", r.stderr);

    let mut c = s.cmd();
    c.args(["call", "--help"]);
    let help = run(c).await.stdout;
    for f in matterlink_host::Function::ALL {
        assert!(help.contains(f.name()), "call --help lacks {f}: {help}");
    }

    let mut c = s.cmd();
    c.args(["call", "map-metadata", "--matter"])
        .arg(fixture("invoice-2026-001.pdf"));
    let r = run(c).await;
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("invoice-2026-001.pdf is not JSON"),
        "{}",
        r.stderr
    );

    let mut c = s.cmd();
    c.args(["log", "--outcome", "bogus"]);
    let r = run(c).await;
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("unchanged") && r.stderr.contains("several"),
        "{}",
        r.stderr
    );

    let mut c = s.cmd();
    c.args(["replay", "--list"]);
    let r = run(c).await;
    assert_eq!((r.code, r.stdout.as_str()), (0, "no failed events\n"));
}

/// Logs read from a pipe carry no colour codes.
#[tokio::test(flavor = "multi_thread")]
async fn logs_off_a_terminal_have_no_ansi_codes() {
    let s = Setup::new().await;
    let mut c = s.cmd();
    c.args(["--log", "debug", "call", "check-connection"]);
    let r = run(c).await;
    assert!(r.stderr.contains("outgoing request"), "{}", r.stderr);
    assert!(!r.stderr.contains('\u{1b}'), "{:?}", r.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_password_is_read_from_stdin_only_and_stored_hashed() {
    let s = Setup::new().await;
    let password = "a long console password";
    let set = |stdin: &'static [u8], args: &'static [&'static str]| {
        let mut c = s.cmd();
        c.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        async move {
            let mut child = c.spawn().unwrap();
            child.stdin.take().unwrap().write_all(stdin).await.unwrap();
            let out = child.wait_with_output().await.unwrap();
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        }
    };
    // Never as an argument: without --stdin it is a usage error and nothing is stored.
    let (code, _, err) = set(b"", &["admin", "password"]).await;
    assert_eq!(code, 2, "{err}");
    assert!(kv_snapshot(s.data.path())
        .iter()
        .all(|(_, k, _)| k != "console/admin-password"));
    // Too short: the typed error, exit 1, nothing stored, the password not echoed.
    let (code, out, err) = set(b"short\n", &["admin", "password", "--stdin"]).await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("12 to 256 characters") && !err.contains("short"),
        "{err}"
    );
    assert!(kv_snapshot(s.data.path())
        .iter()
        .all(|(_, k, _)| k != "console/admin-password"));
    // One line from stdin (its newline is not part of it), stored as an Argon2id hash.
    let (code, out, err) = set(
        b"a long console password\n",
        &["admin", "password", "--stdin"],
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains(password) && !err.contains(password));
    let stored = kv_snapshot(s.data.path())
        .into_iter()
        .find(|(_, k, _)| k == "console/admin-password")
        .expect("stored")
        .2;
    let stored = String::from_utf8(stored).unwrap();
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert!(!stored.contains(password));
}
