//! `imanage-sandbox [--port N] [--host 127.0.0.1]`: run the iManage sandbox until Ctrl-C.

use std::net::{IpAddr, SocketAddr};

use clap::Parser;
use imanage_sandbox::{
    Sandbox, SandboxConfig, CLIENT_ID, CLIENT_SECRET, CUSTOMER_ID, LIBRARY, SERVICE_PASSWORD,
    SERVICE_USER,
};

#[derive(Debug, Parser)]
#[command(
    name = "imanage-sandbox",
    version,
    about = "In-memory emulator of the iManage Work API v2"
)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "IMANAGE_SANDBOX_PORT", default_value_t = 8181)]
    port: u16,
    /// Address to listen on; loopback by default, since the sandbox has no real security.
    #[arg(long, env = "IMANAGE_SANDBOX_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let sandbox = Sandbox::start(
        SocketAddr::new(args.host, args.port),
        SandboxConfig::default(),
    )
    .await?;
    println!("iManage sandbox listening on {}", sandbox.base_url());
    println!("  customer {CUSTOMER_ID}, library {LIBRARY}");
    println!("  service account {SERVICE_USER} / {SERVICE_PASSWORD}");
    println!("  OAuth client {CLIENT_ID} / {CLIENT_SECRET}");
    tokio::signal::ctrl_c().await?;
    println!("shutting down");
    sandbox.shutdown().await;
    Ok(())
}
