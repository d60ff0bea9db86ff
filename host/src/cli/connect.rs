//! `matterlink connect`: an administrator signs in to iManage (or, with `--actionstep`, to
//! Actionstep) in a browser; the events kept while disconnected are then replayed.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use matterlink_host::connect;

use super::{load_runtime, Global};

/// The loopback listener and how long to wait.
#[derive(clap::Args)]
pub struct Args {
    /// Loopback port for iManage's redirect (0: any free port).
    #[arg(long, default_value_t = 8765)]
    port: u16,
    /// Also open the sign-in page in the default browser.
    #[arg(long)]
    open: bool,
    /// Give up after this many seconds without an answer.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// Connect to Actionstep instead (its OAuth application: actionstep_client_id and
    /// actionstep_client_secret), so hooks get real names.
    #[arg(long)]
    actionstep: bool,
}

/// Runs one sign-in.
pub async fn run(g: &Global, a: Args) -> Result<ExitCode> {
    let runtime = load_runtime(g).await?;
    let (service, name) = if a.actionstep {
        (connect::Service::Actionstep, "Actionstep")
    } else {
        (connect::Service::Imanage, "iManage")
    };
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], a.port)))
        .await
        .with_context(|| format!("binding 127.0.0.1:{} for {name}'s redirect", a.port))?;
    let redirect = connect::redirect_uri(&listener)?;
    let outcome = connect::run_for(
        service,
        &runtime,
        listener,
        Duration::from_secs(a.timeout),
        |request| {
            println!(
                "Sign in to {name} in a browser:\n\n  {}\n",
                request.authorize_url
            );
            println!("Waiting for {name} to redirect to {redirect} …");
            if a.open {
                connect::open_browser(&request.authorize_url);
            }
        },
    )
    .await?;
    let account = match outcome {
        Ok(account) => account,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    if a.actionstep {
        println!("connected to Actionstep: {account}");
    } else {
        println!("connected as {account}");
    }
    // Events that failed while disconnected were kept: now they can go through.
    match runtime.replay_events().await? {
        Ok(report) if report.replayed > 0 => println!(
            "replayed {} failed events: {} succeeded, {} still failing (see `matterlink replay --list`)",
            report.replayed,
            report.succeeded,
            report.still_failing.len() + report.still_held.len(),
        ),
        Ok(_) => {}
        Err(e) => eprintln!("warning: replaying failed events: {e}"),
    }
    Ok(ExitCode::SUCCESS)
}
