//! `matterlink sandbox`: the iManage emulator on a local port.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::shutdown_signal;

/// Where to listen.
#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 8099)]
    port: u16,
    /// Address to listen on. The sandbox has well-known credentials and no protection: keep it
    /// on loopback.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
}

/// Runs the sandbox until Ctrl-C or SIGTERM.
pub async fn run(a: Args) -> Result<ExitCode> {
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
    println!("{}", sandbox.base_url());
    eprintln!(
        "iManage sandbox: customer {}, library {}, service account {} / {}, client {} (Ctrl-C stops it)",
        imanage_sandbox::CUSTOMER_ID,
        imanage_sandbox::LIBRARY,
        imanage_sandbox::SERVICE_USER,
        imanage_sandbox::SERVICE_PASSWORD,
        imanage_sandbox::CLIENT_ID,
    );
    shutdown_signal().await;
    sandbox.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
