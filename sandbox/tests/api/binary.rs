//! The `imanage-sandbox` binary: its flags reach the running sandbox.

use std::process::Stdio;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

#[tokio::test]
async fn flags_configure_lifetimes_and_faults() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_imanage-sandbox"))
        .args([
            "--port",
            "0",
            "--access-token-ttl",
            "120",
            "--refresh-token-ttl",
            "600",
            "--latency-ms",
            "5",
            "--error-rate",
            "0.25",
            "--commit-then-fail-rate",
            "0.5",
            "--drop-rate",
            "0",
            "--rate-limit-every",
            "10",
            "--rate-limit-count",
            "2",
            "--retry-after-secs",
            "4",
            "--seed",
            "9",
            "--auto-approve",
        ])
        .env_remove("IMANAGE_SANDBOX_PORT")
        .env_remove("IMANAGE_SANDBOX_HOST")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().expect("a line on stdout");
    let base = first
        .rsplit_once(" on ")
        .map(|(_, url)| url.trim().to_owned())
        .expect("listening on URL");

    let http = reqwest::Client::new();
    let faults: Value = http
        .get(format!("{base}/sandbox/admin/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(faults["latency_ms"], 5);
    assert_eq!(faults["error_rate"], 0.25);
    assert_eq!(faults["commit_then_fail_rate"], 0.5);
    assert_eq!(faults["seed"], 9);
    assert_eq!(
        faults["rate_limit_burst"],
        serde_json::json!({"every": 10, "count": 2, "retry_after_secs": 4})
    );

    // Off again, then the token lifetime is observable.
    let off = http
        .put(format!("{base}/sandbox/admin/faults"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), StatusCode::OK);
    let grant: Value = http
        .post(format!("{base}/auth/oauth2/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", imanage_sandbox::SERVICE_USER),
            ("password", imanage_sandbox::SERVICE_PASSWORD),
            ("client_id", imanage_sandbox::CLIENT_ID),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(grant["expires_in"], 120);

    // --auto-approve with no user approves as the service account, without the form.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let approved = browser
        .get(format!("{base}/auth/oauth2/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", imanage_sandbox::CLIENT_ID),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), StatusCode::FOUND);
    assert!(approved.headers()["location"]
        .to_str()
        .unwrap()
        .contains("code="));

    child.kill().await.unwrap();
}

#[tokio::test]
async fn out_of_range_rates_are_refused() {
    let output = Command::new(env!("CARGO_BIN_EXE_imanage-sandbox"))
        .args(["--port", "0", "--error-rate", "1.5"])
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("between 0 and 1"));
}
