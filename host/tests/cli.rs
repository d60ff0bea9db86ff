//! The `matterlink` command line as scripts use it: exit codes, `--json`, configuration from a
//! file and `MATTERLINK_<KEY>` variables, standard input, and several processes on one data
//! directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use imanage_sandbox::{Sandbox, SandboxConfig};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_matterlink");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
}

struct Setup {
    sandbox: Sandbox,
    data: tempfile::TempDir,
}

impl Setup {
    async fn new() -> Setup {
        Setup {
            sandbox: Sandbox::start(
                SocketAddr::from(([127, 0, 0, 1], 0)),
                SandboxConfig::default(),
            )
            .await
            .unwrap(),
            data: tempfile::tempdir().unwrap(),
        }
    }

    /// `matterlink` configured entirely through the environment, as a deployment would.
    fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env_clear()
            .env("MATTERLINK_DATA_DIR", self.data.path())
            .env("MATTERLINK_IMANAGE_BASE_URL", self.sandbox.base_url())
            .env("MATTERLINK_IMANAGE_LIBRARY", imanage_sandbox::LIBRARY)
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
            .env("MATTERLINK_TEMPLATES", r#"{"Litigation": "ACTIVE!100"}"#)
            .env("MATTERLINK_WEBHOOK_SECRET", "cli-secret")
            .kill_on_drop(true);
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
