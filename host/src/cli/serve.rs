//! `matterlink serve`: the component's HTTP routes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use matterlink_host::serve::{self, ServeOptions};

use super::{load_runtime, shutdown_signal, Global};

/// Where to listen, and how long and how many clients may hold it.
#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Address to listen on. Beyond loopback, put TLS in front (or use --tls-cert/--tls-key).
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// PEM certificate chain: serve HTTPS instead of HTTP (with --tls-key).
    #[arg(long, requires = "tls_key", value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert", value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// Time a client has to send the request line and headers (and an idle connection stays
    /// open); then the connection is closed.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, default_value = "10s")]
    header_timeout: Duration,
    /// Time a client has to send the body after the headers; then 408.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, default_value = "60s")]
    body_timeout: Duration,
    /// Time one request may take in all; then 504 and its instance is stopped.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, default_value = "120s")]
    request_timeout: Duration,
    /// Connections open at once; more wait in the listen backlog.
    #[arg(long, value_name = "N", default_value_t = serve::MAX_CONNECTIONS)]
    max_connections: usize,
    /// Requests handled at once (at most 256, the instance pool); more get 503 at once.
    #[arg(long, value_name = "N", default_value_t = serve::MAX_IN_FLIGHT)]
    max_in_flight: usize,
    /// Serve Prometheus metrics at http://IP:PORT/metrics, apart from the webhooks. Off unless
    /// given; keep it on loopback or a private network (the metrics have no authentication).
    #[arg(long, value_name = "IP:PORT")]
    metrics_addr: Option<SocketAddr>,
}

/// Runs `serve` until Ctrl-C or SIGTERM, then drains.
pub async fn run(g: &Global, a: Args) -> Result<ExitCode> {
    let tls = match (&a.tls_cert, &a.tls_key) {
        (Some(cert), Some(key)) => Some(serve::tls_config(cert, key)?),
        _ => None,
    };
    let options = ServeOptions {
        header_timeout: a.header_timeout,
        body_timeout: a.body_timeout,
        request_timeout: a.request_timeout,
        max_connections: a.max_connections,
        max_in_flight: a.max_in_flight,
        tls,
    };
    if g.tenant.is_some() {
        return Ok(super::usage(
            "serve serves every tenant (under /t/{tenant}/v1/…); drop --tenant",
        ));
    }
    let runtime = Arc::new(load_runtime(g).await?);
    // Before the metrics listener opens, so that no scrape sees a limit of 0.
    runtime.metrics().set_in_flight_limit(options.max_in_flight);
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(a.host, a.port))
        .await
        .with_context(|| format!("binding {}:{}", a.host, a.port))?;
    let addr = listener.local_addr()?;
    let scheme = if options.tls.is_some() {
        "https"
    } else {
        "http"
    };
    if options.tls.is_none() && !a.host.is_loopback() {
        eprintln!(
            "warning: serving plain HTTP on {addr}, beyond this machine: requests and their \
             signatures cross the network unencrypted. Use --tls-cert/--tls-key or a TLS proxy."
        );
    }
    println!("matterlink serving on {scheme}://{addr} (health: {scheme}://{addr}/v1/health)");
    let metrics = match a.metrics_addr {
        None => None,
        Some(at) => {
            let listener = tokio::net::TcpListener::bind(at)
                .await
                .with_context(|| format!("binding the metrics address {at}"))?;
            let at = listener.local_addr()?;
            if !at.ip().is_loopback() {
                eprintln!(
                    "warning: metrics on {at}, beyond this machine: anyone who reaches it reads \
                     them. Keep it on a private network."
                );
            }
            println!("matterlink metrics on http://{at}/metrics");
            // Stopped below, once the webhooks have drained: a scrape during the drain still
            // shows the requests finishing.
            Some(tokio::spawn(serve::serve_metrics(
                runtime.clone(),
                listener,
                std::future::pending(),
            )))
        }
    };
    serve::serve_with(runtime, listener, options, shutdown_signal()).await?;
    if let Some(task) = metrics {
        task.abort();
    }
    Ok(ExitCode::SUCCESS)
}
