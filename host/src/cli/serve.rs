//! `matterlink serve`: the component's HTTP routes.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use matterlink_host::serve;

use super::{load_runtime, shutdown_signal, Global};

/// Where to listen.
#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 8080)]
    port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
}

/// Runs `serve` until Ctrl-C or SIGTERM, then drains.
pub async fn run(g: &Global, a: Args) -> Result<ExitCode> {
    let runtime = Arc::new(load_runtime(g)?);
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(a.host, a.port))
        .await
        .with_context(|| format!("binding {}:{}", a.host, a.port))?;
    let addr = listener.local_addr()?;
    println!("matterlink serving on http://{addr} (health: http://{addr}/v1/health)");
    serve::serve(runtime, listener, shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}
