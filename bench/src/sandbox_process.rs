//! The sandbox in a process of its own (the `imanage-sandbox` binary built beside this one), so
//! that the emulator's CPU is not charged to matterlink: what the backfill figure runs against.
//! It is driven over its admin routes, as anyone running it would.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context, Result};

pub struct SandboxProcess {
    child: tokio::process::Child,
    pub base_url: String,
    http: reqwest::Client,
}

/// `imanage-sandbox` next to this executable, built with the same profile. Under `cargo run`
/// (`CARGO` set) it is built every time: a no-op when it is fresh, and a sandbox changed since
/// its last build is not measured as it was. Run directly, it is built only if it is missing.
fn binary() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().context("the benchmark's directory")?;
    let path = dir.join(format!("imanage-sandbox{}", std::env::consts::EXE_SUFFIX));
    if std::env::var_os("CARGO").is_some() || !path.exists() {
        let profile = match dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") => "dev".to_string(),
            Some(other) => other.to_string(),
            None => bail!("cannot tell the profile of {}", exe.display()),
        };
        eprintln!("building imanage-sandbox (--profile {profile}) ...");
        let status = std::process::Command::new(std::env::var("CARGO").unwrap_or("cargo".into()))
            .args([
                "build",
                "--profile",
                &profile,
                "-p",
                "imanage-sandbox",
                "--bin",
                "imanage-sandbox",
            ])
            .status()?;
        if !status.success() || !path.exists() {
            bail!("building imanage-sandbox failed; run `cargo build --profile {profile} -p imanage-sandbox`");
        }
    }
    Ok(path)
}

impl SandboxProcess {
    pub async fn start() -> Result<SandboxProcess> {
        // A port that was free a moment ago; the sandbox says if it is not.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = tokio::process::Command::new(binary()?)
            .args(["--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let sandbox = SandboxProcess {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        for _ in 0..200 {
            if sandbox.stats().await.is_ok() {
                return Ok(sandbox);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("imanage-sandbox did not start on port {port}")
    }

    async fn stats(&self) -> Result<serde_json::Value> {
        Ok(self
            .http
            .get(format!("{}/sandbox/admin/stats", self.base_url))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// Requests outside the admin routes since the last reset.
    pub async fn request_count(&self) -> Result<u64> {
        self.stats().await?["requests"]
            .as_u64()
            .context("the sandbox's stats have no request count")
    }

    pub async fn reset_request_count(&self) -> Result<()> {
        self.http
            .post(format!("{}/sandbox/admin/reset-counters", self.base_url))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    pub async fn set_latency(&self, ms: u64) -> Result<()> {
        self.http
            .put(format!("{}/sandbox/admin/faults", self.base_url))
            .json(&serde_json::json!({ "latency_ms": ms }))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
