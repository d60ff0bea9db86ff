//! `matterlink sandbox`: the iManage emulator on a local port (and the Actionstep emulator under
//! `/actionstep` on the same port), and `matterlink sandbox wall`,
//! which changes a running sandbox the way a records manager would in iManage.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{shutdown_signal, usage};

/// Where to listen, or what to do to a running sandbox.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[arg(long, default_value_t = 8099)]
    port: u16,
    /// Address to listen on. The sandbox has well-known credentials and no protection: keep it
    /// on loopback.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Start without the legacy workspaces ACTIVE!501..504 (made "before matterlink", for
    /// resolve-legacy and link-workspace to find).
    #[arg(long)]
    no_legacy: bool,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Wall a user (or group) off a workspace in a running sandbox, as a records manager would
    /// in iManage (access no_access; --lift takes the trustee off again). The change feed sees
    /// it like any change made in iManage. Sends POST /sandbox/admin/workspace-security.
    Wall(Wall),
}

#[derive(clap::Args)]
struct Wall {
    /// The workspace, e.g. ACTIVE!1000 (quote it in bash: 'ACTIVE!1000').
    workspace: String,
    /// The user (or, with --group, the group) to wall off.
    trustee: String,
    /// The running sandbox.
    #[arg(
        long,
        env = "MATTERLINK_IMANAGE_BASE_URL",
        default_value = "http://127.0.0.1:8099"
    )]
    url: String,
    /// The trustee is a group.
    #[arg(long)]
    group: bool,
    /// Take the trustee off the workspace instead (lifts the wall).
    #[arg(long)]
    lift: bool,
    /// Another access level than no_access: read, read_write or full_access.
    #[arg(long, conflicts_with = "lift", default_value = "no_access")]
    access: String,
}

/// Runs the sandbox until Ctrl-C or SIGTERM, or a subcommand against a running one.
pub async fn run(a: Args) -> Result<ExitCode> {
    if let Some(Command::Wall(w)) = a.command {
        return wall(w).await;
    }
    let sandbox =
        imanage_sandbox::Sandbox::start(SocketAddr::new(a.host, a.port), Default::default())
            .await
            .with_context(|| format!("starting the sandbox on {}:{}", a.host, a.port))?;
    if !a.host.is_loopback() {
        eprintln!(
            "warning: the sandbox listens on {}, beyond this machine: anyone who reaches it can \
             sign in with its published credentials. It is a test emulator; keep it on 127.0.0.1.",
            a.host
        );
    }
    if !a.no_legacy {
        sandbox.state().seed_legacy_workspaces();
    }
    println!("{}", sandbox.base_url());
    eprintln!(
        "iManage sandbox: customer {}, library {}, service account {} / {}, client {}{}. \
         Stop it with Ctrl-C, or `kill %1` when started in the background with `&`.",
        imanage_sandbox::CUSTOMER_ID,
        imanage_sandbox::LIBRARY,
        imanage_sandbox::SERVICE_USER,
        imanage_sandbox::SERVICE_PASSWORD,
        imanage_sandbox::CLIENT_ID,
        if a.no_legacy {
            ""
        } else {
            ", legacy workspaces ACTIVE!501..504"
        },
    );
    eprintln!(
        "Actionstep emulator: {} (OAuth client {} / {}; admin routes under /actionstep/admin).",
        sandbox.actionstep_url(),
        imanage_sandbox::actionstep::CLIENT_ID,
        imanage_sandbox::actionstep::CLIENT_SECRET,
    );
    shutdown_signal().await;
    sandbox.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// `sandbox wall`: one admin request; the sandbox's answer (the workspace's members) on stdout.
async fn wall(w: Wall) -> Result<ExitCode> {
    let body = serde_json::json!({
        "workspace": w.workspace,
        "trustee": w.trustee,
        "type": if w.group { "group" } else { "user" },
        "access_level": if w.lift { None } else { Some(w.access.as_str()) },
    });
    let url = format!(
        "{}/sandbox/admin/workspace-security",
        w.url.trim_end_matches('/')
    );
    let response = match reqwest::Client::new().post(&url).json(&body).send().await {
        Ok(r) => r,
        Err(e) => return Ok(usage(format!("no sandbox answers at {}: {e}", w.url))),
    };
    let status = response.status();
    let answer: serde_json::Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        // The sandbox's error envelope names the field at fault (an unknown user, workspace).
        let why = answer["error"]["messages"][0]["code_message"]
            .as_str()
            .or(answer["error"]["code_message"].as_str())
            .unwrap_or("refused");
        eprintln!("error: the sandbox refused: {status}: {why}");
        return Ok(ExitCode::from(1));
    }
    println!("{answer}");
    Ok(ExitCode::SUCCESS)
}
