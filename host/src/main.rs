//! `matterlink`: the command line over the host library.
//!
//! Exit codes (a public interface): 0 success; 1 the component returned a typed error;
//! 2 usage error (bad arguments, unreadable or invalid matter file); 3 the host failed
//! (component did not load or trapped, data directory unusable, port taken).
//!
//! This file is the table of contents: one module per command under `cli/`, each with its
//! clap arguments and its `run`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

use cli::Global;

#[derive(Parser)]
#[command(
    name = "matterlink",
    version,
    about = "Bridge a matter-management system to iManage Work"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Call an exported function once and print its result.
    Call(cli::call::Args),
    /// Serve the component's HTTP routes (webhooks, health).
    Serve(cli::serve::Args),
    /// Start the iManage sandbox (an emulator of the iManage Work API) and print its base URL.
    #[cfg(feature = "sandbox")]
    Sandbox(cli::sandbox::Args),
    /// Provision a sample matter against an in-process sandbox and show what happened.
    #[cfg(feature = "sandbox")]
    Demo,
    /// Read the audit trail (newest first).
    Log(cli::log::Args),
    /// Run the failed (dead-letter) events again, oldest first.
    Replay(cli::replay::Args),
    /// Connect to iManage by signing in in a browser (`imanage_auth = oauth`): prints (and with
    /// --open opens) iManage's sign-in page and receives its answer on
    /// http://127.0.0.1:PORT/callback, the redirect URI to register with the application.
    Connect(cli::connect::Args),
    /// Actionstep: `hooks install URL | list | remove` (matterlink's REST hooks).
    Actionstep(cli::actionstep::Args),
    /// Verify the setup: connection, token lifetimes, libraries, templates, fields, each ✓ or ✗
    /// with its fix. Exits 0 when everything is ✓, 1 otherwise.
    Check,
    /// Link (or, with --create-missing, provision) every legacy matter of a file; resumable.
    Backfill(cli::backfill::Args),
    /// Compare every matter of a file with its workspace; --fix repairs the differences.
    Drift(cli::drift::Args),
    /// One screen for an operator: the instance pool of a running serve (--metrics-url), the
    /// failed events, the change feed's lag and the token's lifetime. Changes nothing.
    Status(cli::status::Args),
    /// The firms this host serves: add, update, list, show, remove, rotate-secret. Each has its
    /// own configuration and data, served under /t/{tenant}/v1/…; commands take --tenant NAME.
    Tenant(cli::tenant::Args),
    /// The admin console: `password --stdin` sets its local administrator password.
    Admin(cli::admin::Args),
    /// Print a fresh random secret (256 bits, URL-safe) for `webhook_secret` or
    /// `actionstep_token`.
    Secret,
}

/// Rust ignores SIGPIPE, so printing into a closed pipe (`matterlink log | head -1`) would panic
/// with "failed printing to stdout". Like any Unix tool, a command should end quietly instead.
/// Not the servers: a reader of their logs going away must not stop them.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to its default at start-up, before any thread.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let g = &cli.global;
    match cli.command {
        Command::Call(args) => cli::call::run(g, args).await,
        Command::Serve(args) => cli::serve::run(g, args).await,
        #[cfg(feature = "sandbox")]
        Command::Sandbox(args) => cli::sandbox::run(args).await,
        #[cfg(feature = "sandbox")]
        Command::Demo => cli::demo::run(g).await,
        Command::Log(args) => cli::log::run(g, args).await,
        Command::Admin(args) => cli::admin::run(g, args).await,
        Command::Replay(args) => cli::replay::run(g, args).await,
        Command::Connect(args) => cli::connect::run(g, args).await,
        Command::Actionstep(args) => cli::actionstep::run(g, args).await,
        Command::Check => cli::check::run(g).await,
        Command::Backfill(args) => cli::backfill::run(g, args).await,
        Command::Drift(args) => cli::drift::run(g, args).await,
        Command::Status(args) => cli::status::run(g, args).await,
        Command::Secret => cli::secret::run(),
        Command::Tenant(args) => cli::tenant::run(g, args).await,
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap uses 0 for --help/--version and 2 for usage errors.
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    #[cfg(feature = "sandbox")]
    let server = matches!(cli.command, Command::Serve(_) | Command::Sandbox(_));
    #[cfg(not(feature = "sandbox"))]
    let server = matches!(cli.command, Command::Serve(_));
    if !server {
        restore_sigpipe();
    }
    cli::init_logging(&cli.global);
    // A server runs its requests side by side on a worker per core; any other command runs
    // on one worker (see `command_runtime`).
    let runtime = if server {
        tokio::runtime::Runtime::new()
    } else {
        matterlink_host::batch::command_runtime()
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(3)
        }
    }
}
